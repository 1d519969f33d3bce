"""Without an activation, depth buys nothing: any stack of linear layers is one linear layer.

Run the default grid:  actlab -m experiment=linear_collapse
One point:             actlab experiment=linear_collapse activation=identity model.depth=10

For phi(z) = a z the network is x -> W_eff x + b_eff with W_eff = W_out (a W_L) ... (a W_1) and
the biases folded through. We check that the folded map reproduces the trained network (float64),
that its training loss can never beat the closed-form least-squares linear fit of the same data
(and reaches it), while relu and tanh networks of the same size go far below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.claims import FAIL, NOT_REPRODUCED, PARTLY, PASS, REPRODUCED, Claim, mean_ci, no_data
from actlab.plotting import colors, plt, use_style
from actlab.runner import build, build_task, train_models
from actlab.trainer import loss_fn, train

NAME = "linear_collapse"
LINEAR = ("identity", "linear")


@dataclass
class Params:
    collapse_tol: float = 1e-10  # relative, float64
    reach_tol: float = 0.05  # linear nets' loss within 5% of the least-squares loss
    far_below: float = 0.5  # nonlinear nets below this fraction of the least-squares loss


def fold(model, slope: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(W_eff, b_eff) of a network whose hidden activation is z -> slope * z."""
    first = model.layers[0]
    m = torch.eye(first.in_features, dtype=first.weight.dtype)
    c = torch.zeros(first.in_features, dtype=first.weight.dtype)
    for i, layer in enumerate(model.layers):
        a = slope if i < len(model.layers) - 1 else 1.0
        m = a * layer.weight @ m
        c = a * (layer.weight @ c + layer.bias)
    return m.detach(), c.detach()


def lstsq_loss(x: torch.Tensor, y: torch.Tensor) -> float:
    """MSE of the best affine fit, in closed form (float64)."""
    xd = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], 1)
    sol = torch.linalg.lstsq(xd, y.double()).solution
    return float(((xd @ sol - y.double()) ** 2).mean())


def run(cfg, device):
    model, task = build(cfg, device)
    res = train(model, task, cfg.trainer, seed=cfg.seed, desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth}")
    return _finish(cfg, model, task, res)


def run_seeds(cfg, device, seeds):
    task = build_task(cfg, device)
    desc = f"{NAME} {cfg.activation.name} d={cfg.model.depth} x{len(seeds)}"
    models, results = train_models(cfg, task, seeds, desc=desc)
    return {s: _finish(cfg, m, task, r) for s, m, r in zip(seeds, models, results)}


def _finish(cfg, model, task, res):
    last = max(r["step"] for r in res.rows)
    res.rows.append({"step": last, "layer": None, "metric": "lstsq_loss",
                     "value": lstsq_loss(task.x_train.cpu(), task.y_train.cpu())})
    if cfg.activation.name in LINEAR:
        slope = cfg.activation.slope if cfg.activation.name == "linear" else 1.0
        # The identity is exact for any weights: check it in float64 whatever the training dtype.
        model = model.cpu().double()
        x = task.x_train.cpu().double()
        w, b = fold(model, slope)
        with torch.no_grad():
            f = model(x)
            g = x @ w.T + b
            err = float((f - g).abs().max() / max(1.0, float(f.abs().max())))
            folded_loss = float(loss_fn(task)(g, task.y_train.cpu().double()))
        res.rows += [{"step": last, "layer": None, "metric": "collapse_error", "value": err},
                     {"step": last, "layer": None, "metric": "folded_loss", "value": folded_loss}]
    return res


def _final(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["run_id", "activation", "depth", "seed"]
    d = df[df["metric"].isin(["loss", "lstsq_loss", "collapse_error", "folded_loss"])]
    d = d[d["step"] == d.groupby("run_id")["step"].transform("max")]
    return d.pivot_table(index=keys, columns="metric", values="value").reset_index()


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    f = _final(df)
    out: list[Claim] = []
    lin = f[f["activation"].isin(LINEAR)]
    if lin.empty:
        return [no_data(NAME, "collapse", "", "math", "", "no identity/linear runs")]
    worst = float(lin["collapse_error"].max())
    out.append(Claim(NAME, "collapse", "A linear-activation net of any depth equals the product of its "
                     "weight matrices with the biases folded in.", "math", worst,
                     f"<= {p.collapse_tol:g} (relative, max over inputs)",
                     PASS if worst <= p.collapse_tol else FAIL,
                     detail=f"{len(lin)} nets, depths {sorted(lin['depth'].unique().astype(int).tolist())}"))
    gap = lin["loss"] / lin["lstsq_loss"] - 1
    # the identity is checked in float64 (the folded map's loss): the trainer's float32 loss can sit
    # a rounding error below the float64 least-squares optimum
    below = float((lin["folded_loss"] / lin["lstsq_loss"] - 1).min())
    out.append(Claim(NAME, "never_below_lstsq", "No linear-activation net beats the least-squares "
                     "linear fit of its training data.", "math", below,
                     ">= -1e-9 (float64 loss of the folded map / lstsq - 1)",
                     PASS if below >= -1e-9 else FAIL))
    m, lo, hi = mean_ci(gap)
    out.append(Claim(NAME, "reaches_lstsq", "Trained linear-activation nets reach the least-squares loss.",
                     "empirical", m, f"<= {p.reach_tol:g} (loss / lstsq - 1)",
                     REPRODUCED if gap.max() <= p.reach_tol else PARTLY if m <= p.reach_tol else NOT_REPRODUCED,
                     lo, hi, detail="by depth: " + ", ".join(
                         f"{int(d)}: {g:.3g}" for d, g in (lin.assign(gap=gap).groupby("depth")["gap"].max()).items())))
    for act in ("relu", "tanh"):
        nl = f[f["activation"] == act]
        if nl.empty:
            continue
        ratio = nl["loss"] / nl["lstsq_loss"]
        deep = nl[nl["depth"] >= 2]
        m, lo, hi = mean_ci((deep["loss"] / deep["lstsq_loss"]) if len(deep) else ratio)
        out.append(Claim(NAME, f"nonlinear_below[{act}]", f"{act} nets of the same size go far below the "
                         "least-squares loss (depth >= 2).", "empirical", m, f"< {p.far_below:g} (loss / lstsq)",
                         REPRODUCED if np.isfinite(hi) and hi < p.far_below else PARTLY if m < p.far_below else NOT_REPRODUCED,
                         lo, hi))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    f = _final(df)
    if f.empty:
        return {}
    acts = sorted(f["activation"].unique(), key=lambda a: (a not in LINEAR, a))
    col = colors(acts)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for act in acts:
        s = f[f["activation"] == act].groupby("depth")["loss"].agg(["mean", "min", "max"])
        ax.plot(s.index, s["mean"], "o-", color=col[act], label=act)
        ax.fill_between(s.index, s["min"], s["max"], color=col[act], alpha=0.2)
    ax.axhline(float(f["lstsq_loss"].mean()), color="k", ls="--", lw=1, label="least-squares linear fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel("final training loss (MSE)")
    ax.legend(fontsize=7)
    ax.set_title("Linear collapse: without an activation, depth does not help")
    fig.tight_layout()
    return {"linear_collapse": fig}
