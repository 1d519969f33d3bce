"""The gradient of a one-unit chain is a product of local derivatives.

Run the default grid:  actlab -m experiment=gradient_chain
One activation:        actlab experiment=gradient_chain activation=sigmoid model.weight_scale=0.7

Chain of L one-unit layers, in float64: z_1 = w_1 x, z_k = w_k sigma(z_{k-1}) for k >= 2, and
f_L = sigma(z_L). Two forms: `article` (w_k = 1 for k >= 2, the article's f = sigma(sigma(...
sigma(w_1 x)))) and `weighted` (w_k = s = model.weight_scale). The chain rule gives

    df_L/dw_1 = x * prod_{k=1..L} sigma'(z_k) * prod_{k=2..L} w_k,

which autograd must reproduce to 1e-12. Bound: |df_L/dw_1| <= |x| (max|sigma'|)^L |s|^(L-1),
so sigmoid (max slope 1/4) vanishes like 0.25^L. For sigma(z) = a z every factor is a, so
df_L/dw_1 = x a (s a)^(L-1): the log-slope over L is exactly ln(s a).

The same run also trains deep MLPs with this activation at several depths (params.train_depths,
only for params.train_activations) with one learning rate, and records where training diverges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from actlab.activations import get_activation
from actlab.claims import FAIL, NOT_REPRODUCED, PARTLY, PASS, REPRODUCED, Claim, no_data
from actlab.plotting import colors, plt, use_style
from actlab.runner import train_run, train_runs
from actlab.trainer import TrainResult

NAME = "gradient_chain"
FORMS = ("article", "weighted")


@dataclass
class Params:
    max_depth: int = 50
    x: float = 0.5  # the chain's input
    w1: float = 1.0  # the first weight, the one differentiated
    rel_tol: float = 1e-12  # autograd vs analytic product
    train_activations: list[str] = field(default_factory=lambda: ["linear"])
    train_depths: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 24, 32])


def chain_gradient(act, depth: int, x: float, w1: float, w: float) -> tuple[float, float]:
    """(autograd df_L/dw_1, analytic product) for a one-unit chain, in float64."""
    w1_t = torch.tensor(w1, dtype=torch.float64, requires_grad=True)
    z = w1_t * x
    zs = [z]
    h = act(z)
    for _ in range(depth - 1):
        z = w * h
        zs.append(z)
        h = act(z)
    (g,) = torch.autograd.grad(h, w1_t)
    with torch.no_grad():
        product = x * torch.prod(torch.stack([act.deriv(zk) for zk in zs])) * w ** (depth - 1)
    return g.item(), product.item()


def rel_error(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def chain_rows(cfg) -> list[dict]:
    """Autograd vs the analytic product for both forms and every depth (no randomness: the same
    rows for every seed)."""
    p = cfg.params
    act = get_activation(cfg.activation)
    rows = []
    for form in FORMS:
        w = 1.0 if form == "article" else cfg.model.weight_scale
        for depth in range(1, p.max_depth + 1):
            auto, analytic = chain_gradient(act, depth, p.x, p.w1, w)
            bound = abs(p.x) * act.max_slope**depth * abs(w) ** (depth - 1)
            common = {"step": 0, "layer": None, "depth": depth, "form": form, "chain_weight": w}
            rows += [
                {**common, "metric": "dfdw1", "value": abs(auto)},
                {**common, "metric": "dfdw1_analytic", "value": abs(analytic)},
                {**common, "metric": "dfdw1_rel_error", "value": rel_error(auto, analytic)},
                {**common, "metric": "dfdw1_bound", "value": bound},
            ]
    return rows


def _training_rows(r: TrainResult, depth: int) -> list[dict]:
    common = {"layer": None, "depth": depth, "form": "mlp"}
    last_step = max((row["step"] for row in r.rows), default=0)
    return [{**row, **common} for row in r.rows if row["layer"] is None] + [
        {**common, "step": last_step, "metric": "diverged", "value": float(r.status == "diverged")},
        {**common, "step": last_step, "metric": "diverged_step",
         "value": float(r.diverged_step) if r.diverged_step is not None else math.nan}]


def run(cfg, device) -> TrainResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, TrainResult]:
    """The chains are computed once (they do not depend on the seed); the deep MLPs of the
    activations in `params.train_activations` train all seeds together, one depth at a time."""
    p = cfg.params
    chain = chain_rows(cfg)
    out = {s: TrainResult(rows=[dict(r) for r in chain]) for s in seeds}
    if cfg.activation.name in p.train_activations:
        for depth in p.train_depths:
            sub = OmegaConf.merge(cfg, {"model": {"depth": depth}})
            desc = f"{NAME} train d={depth}"
            results = (train_runs(sub, device, seeds, desc=f"{desc} x{len(seeds)}") if batched
                       else {cfg.seed: train_run(sub, device, desc=desc)})
            for s, r in results.items():
                out[s].rows += _training_rows(r, depth)
    return out


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    out: list[Claim] = []
    chain = df[df["form"].isin(FORMS)]
    err = chain[chain["metric"] == "dfdw1_rel_error"]
    statement = "Autograd's df_L/dw_1 equals the chain-rule product x * prod sigma'(z_k) * prod w_k."
    if err.empty:
        out.append(no_data(NAME, "chain_product", statement, "math", f"< {p.rel_tol:g}", "no chain rows"))
    else:
        worst = float(err["value"].max())
        n_act = err["activation"].nunique()
        out.append(Claim(NAME, "chain_product", statement, "math", worst, f"< {p.rel_tol:g}",
                         PASS if worst < p.rel_tol else FAIL,
                         detail=f"worst relative error over {n_act} activations, depths 1.."
                                f"{int(err['depth'].max())}, both forms ({len(err)} chains)"))

    # The bound |x| (max slope)^L |w|^(L-1) holds everywhere.
    wide = chain.pivot_table(index=["run_id", "form", "depth"], columns="metric", values="value")
    if not wide.empty:
        excess = float((wide["dfdw1"] / wide["dfdw1_bound"].where(wide["dfdw1_bound"] > 0)).max())
        out.append(Claim(NAME, "chain_bound",
                         "|df_L/dw_1| never exceeds |x| (max|sigma'|)^L |w|^(L-1) (sigmoid: |x| 0.25^L).",
                         "math", excess, "<= 1", PASS if excess <= 1 + 1e-12 else FAIL,
                         detail="max of |df_L/dw_1| / bound over every chain"))

    # Exploding/vanishing for linear a z: the log-slope over L equals ln(w a) exactly.
    lin = chain[(chain["activation"] == "linear") & (chain["metric"] == "dfdw1")]
    statement = "For sigma(z) = a z with weight w, df_L/dw_1 = x a (w a)^(L-1): log-slope ln(w a)."
    if lin.empty:
        out.append(no_data(NAME, "linear_growth", statement, "math", "ln(w*a)", "no linear chains"))
    for (a, w), g in lin.groupby(["slope", "chain_weight"]):
        fits = [np.polyfit(r["depth"], np.log(r["value"]), 1)[0] for _, r in g.groupby("run_id")]
        expected = math.log(abs(w * a))
        worst = max(abs(f - expected) for f in fits)
        fit = float(np.mean(fits))
        dmax = int(g["depth"].max())
        out.append(Claim(NAME, f"linear_growth[a={a:g},w={w:g}]", statement, "math", fit,
                         f"{expected:.6g} (= ln {abs(w * a):.4g})",
                         PASS if worst <= 1e-9 * max(1.0, abs(expected)) else FAIL,
                         detail=f"fitted d ln|df/dw1| / dL; growth at L={dmax}: "
                                f"{math.exp(fit * (dmax - 1)):.4g} (theory {abs(w * a) ** (dmax - 1):.4g})"))

    # Consequence for training: divergence vs depth at w a > 1 with a rate that is stable at w a = 1.
    div = df[(df["form"] == "mlp") & (df["metric"] == "diverged")].copy()
    statement = ("Deep linear-activation MLPs with s*a > 1 diverge beyond some depth under one SGD "
                 "learning rate that is stable at s*a = 1.")
    if div.empty:
        out.append(no_data(NAME, "training_diverges", statement, "empirical", "diverges deeper",
                           "no training runs"))
        return out
    div["gain"] = (div["weight_scale"] * div["slope"]).round(6)
    stable = div[np.isclose(div["gain"], 1.0)]
    for gain, g in div[div["gain"] > 1.0 + 1e-6].groupby("gain"):
        rate = g.groupby("depth")["value"].mean()
        first = rate[rate > 0.5]
        first_depth = float(first.index.min()) if not first.empty else math.nan
        stable_ok = (not stable.empty) and stable["value"].max() == 0
        if first.empty:
            verdict = NOT_REPRODUCED
        else:
            verdict = REPRODUCED if stable_ok else PARTLY
        out.append(Claim(NAME, f"training_diverges[s*a={gain:g}]", statement, "empirical",
                         first_depth, "a finite depth; none at s*a = 1", verdict,
                         detail=f"shallowest depth where most seeds diverge; divergence rate by depth "
                                f"{ {int(k): round(float(v), 2) for k, v in rate.items()} }; s*a = 1 runs diverged: "
                                f"{int(stable['value'].sum()) if not stable.empty else 'none run'}"))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    figs = {}
    chain = df[df["form"].isin(FORMS) & (df["metric"] == "dfdw1")]
    chain = chain[chain["seed"] == chain["seed"].min()]
    if not chain.empty:
        acts = list(dict.fromkeys(sorted(chain["activation"])))
        col = colors(acts)
        ws = sorted(chain.loc[chain["form"] == "weighted", "chain_weight"].unique())
        panels = [("article", 1.0)] + [("weighted", w) for w in ws if w != 1.0]
        fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3), squeeze=False)
        for ax, (form, w) in zip(axes[0], panels):
            d = chain[(chain["form"] == form) & np.isclose(chain["chain_weight"], w)]
            for act in acts:
                g = d[d["activation"] == act].drop_duplicates("depth").sort_values("depth")
                if not g.empty:
                    ax.plot(g["depth"], g["value"].clip(lower=1e-300), color=col[act], label=act)
            ax.set_yscale("log")
            ax.set_ylim(1e-40, 1e20)
            ax.set_xlabel("chain length L")
            ax.set_ylabel("|df_L/dw_1|")
            ax.set_title("article form (w_k = 1)" if form == "article" else f"weighted form, w_k = {w:g}")
        axes[0][0].legend(ncol=2, loc="lower left")
        fig.suptitle("The gradient of a one-unit chain is a product of local derivatives")
        fig.tight_layout()
        figs["gradient_chain_dfdw1"] = fig

    div = df[(df["form"] == "mlp") & (df["metric"] == "diverged")].copy()
    loss = df[(df["form"] == "mlp") & (df["metric"] == "loss")]
    if not div.empty:
        div["gain"] = (div["weight_scale"] * div["slope"]).round(4)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        gains = sorted(div["gain"].unique())
        col = colors(gains)
        for gain in gains:
            g = div[div["gain"] == gain].groupby("depth")["value"].mean()
            axes[0].plot(g.index, g.values, "o-", color=col[gain], label=f"s·a = {gain:g}")
            lg = loss.assign(gain=(loss["weight_scale"] * loss["slope"]).round(4))
            lg = lg[lg["gain"] == gain]
            final = lg.sort_values("step").groupby(["run_id", "depth"]).tail(1)
            fin = final.groupby("depth")["value"].median()
            axes[1].plot(fin.index, fin.values.clip(max=1e30), "o-", color=col[gain], label=f"s·a = {gain:g}")
            blown = g[g > 0.5].index
            axes[1].scatter(blown, np.full(len(blown), 1e30), marker="x", color=col[gain], s=40)
        axes[0].set_xlabel("depth")
        axes[0].set_ylabel("fraction of seeds diverged")
        axes[0].set_ylim(-0.05, 1.05)
        axes[1].set_yscale("log")
        axes[1].set_xlabel("depth")
        axes[1].set_ylabel("final training loss (x = diverged)")
        axes[0].legend()
        fig.suptitle("Training deep MLPs with σ(z) = a·z: where it blows up")
        fig.tight_layout()
        figs["gradient_chain_divergence"] = fig
    return figs
