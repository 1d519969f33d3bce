"""Measured gradient growth in wide random MLPs vs mean-field theory.

Run the default grid:  actlab -m experiment=signal_propagation
One point:             actlab experiment=signal_propagation activation=tanh model.weight_scale=1.5

At initialization (no training), |delta_l|^2 / |delta_{l+1}|^2 in the middle layers is compared
with chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] from actlab.meanfield (Gauss-Hermite quadrature of
the mean-field recursion: a computation that never looks at the networks measured).
chi_1 < 1: gradients vanish with depth scale xi = -1/ln chi_1; chi_1 > 1: they explode; chi_1 = 1
is the edge of chaos (tanh at sigma_b = 0: sigma_w = 1; relu: He's sigma_w = sqrt 2).

Only the backpropagated signal is measured (one forward pass and dLoss/dz per hidden layer on the
probe batch; no weight gradients, no training), so several seeds share one job (`run_seeds`: the
task and the theory are computed once, the networks one seed at a time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import Claim, Kind, below, empirical, no_data, over_seeds
from actlab.config import Init
from actlab.meanfield import chi, chi1, fixed_point, q_sequence
from actlab.models import MLP
from actlab.plotting import colors, plt, use_style
from actlab.probes import _rms_each
from actlab.runner import build_model, build_task, seed_everything
from actlab.trainer import PROBE_BATCH, TrainResult, loss_fn, torch_dtype

NAME = "signal_propagation"


@dataclass
class Params:
    """No run parameters of its own: the grid is activation x weight/bias scale x width."""


@dataclass(frozen=True)
class Thresholds:
    # "Matches theory": the mean over converged grid points of |measured / theory - 1| below this
    # at the widest width. Finite width makes the measured ratio fluctuate by O(1/sqrt(width)) per
    # layer; averaged over the middle third of 30 layers at width 1024 that is ~1% per point, so 3%
    # is a match that a wrong theory (a factor sigma_w or phi'(0) off: 10% and more) would miss.
    rel_tol: float = 0.03
    # A grid point counts as converged (the theory's chi_1 at the fixed point q* applies to the
    # middle layers) when q at the middle layer is within this fraction of q*.
    q_tol: float = 0.01


THRESHOLDS = Thresholds()


def middle_layers(depth: int) -> range:
    return range(max(1, depth // 3), max(2, (2 * depth) // 3))


def theory_rows(cfg, x2: float) -> list[dict]:
    """chi_1 at the fixed point, the layer-by-layer theory over the middle layers (from the
    actual input's second moment x2), q* and q at the middle layer: a function of the config
    and the data only, the same for every seed."""
    act = get_activation(cfg.activation)
    sw, sb, depth = cfg.model.weight_scale, cfg.model.bias_scale, cfg.model.depth
    mids = list(middle_layers(depth))
    qs = q_sequence(act, sw**2 * x2 + sb**2, sw, sb, depth)
    layer_theory = float(np.exp(np.mean([math.log(chi(act, qs[k - 1], sw)) for k in mids])))
    q_star = fixed_point(act, sw, sb, q0=qs[0])  # from the network's own first-layer q
    q_mid = qs[mids[len(mids) // 2] - 1]
    chi_star = chi(act, min(q_star, 1e12), sw)
    # chi of a piecewise-linear phi does not depend on q: any q is "converged" for it
    return [{"step": 0, "layer": None, "metric": m, "value": float(v)} for m, v in [
        ("chi1_theory", chi_star), ("chi1_layer_theory", layer_theory), ("q_star", q_star),
        ("q_mid", q_mid), ("chi_depends_on_q", float(not act.piecewise_linear))]]


def build_network(cfg, task, seed: int):
    """The configured network for `seed`. With Gaussian init it is built on the meta device and
    initialized once by MLP.reset: nn.Linear's own default init, which reset overwrites, is half
    the cost of building a width-1024 network. Same distribution, drawn from the seed (not the
    same numbers as runner.build_model, which draws the discarded default init first)."""
    if Init(cfg.model.init) is not Init.gaussian:
        return build_model(cfg, task, seed)
    oa = cfg.model.out_activation
    out_act = get_activation(oa) if oa not in (None, "none") else None
    seed_everything(seed)
    with torch.device("meta"):
        model = MLP(task.in_dim, task.out_dim, cfg.model, get_activation(cfg.activation), out_act)
    model = model.to_empty(device=task.x_train.device).to(torch_dtype(cfg.trainer))
    model.reset(cfg.model)
    return model


def measure(model, task) -> tuple[float, list[float]]:
    """(probe-batch loss, rms of dLoss/dz_l for hidden layers l = 1..depth) at initialization."""
    x, y = task.x_train[:PROBE_BATCH], task.y_train[:PROBE_BATCH]
    record: list = []
    loss = loss_fn(task)(model(x, record=record), y)
    grads = torch.autograd.grad(loss, [z for z, _ in record[:-1]])
    with torch.no_grad():  # one fused norm over the layers (rescaled where squares could underflow)
        deltas = _rms_each(list(grads)).to(torch.float64).tolist()
    return float(loss.item()), deltas


def run(cfg, device) -> TrainResult:
    return run_seeds(cfg, device, [cfg.seed])[cfg.seed]


def run_seeds(cfg, device, seeds) -> dict[int, TrainResult]:
    """Each seed's network measured on the shared task; the theory is computed once."""
    task = build_task(cfg, device)
    x2 = float((task.x_train[:PROBE_BATCH].double() ** 2).mean())
    theory = theory_rows(cfg, x2)
    mids = list(middle_layers(cfg.model.depth))
    out = {}
    for s in seeds:
        model = build_network(cfg, task, s)
        loss, deltas = measure(model, task)
        del model
        res = TrainResult(final={"loss": loss})
        res.rows.append({"step": 0, "layer": None, "metric": "loss", "value": loss})
        res.rows += [{"step": 0, "layer": k, "metric": "delta_rms", "value": d}
                     for k, d in enumerate(deltas, start=1)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.array([(deltas[k - 1] / deltas[k]) ** 2 for k in mids])
            measured = float(np.exp(np.mean(np.log(ratios))))
        res.rows.append({"step": 0, "layer": None, "metric": "chi1_measured", "value": measured})
        res.rows += [dict(r) for r in theory]
        if not math.isfinite(loss):
            res.status, res.diverged_step = "diverged", 0
        out[s] = res
    return out


# ---------------------------------------------------------------------------------------------

POINT = ["activation", "weight_scale", "bias_scale"]


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per (activation, weight_scale, bias_scale, width, seed): measured and theoretical
    chi_1, whether the grid point's middle layers sit at the fixed point (`converged`, from the
    theory's q alone: the same for every seed) and the relative error |measured/theory - 1|
    (nan where the measurement is not finite, e.g. a diverged run whose loss overflowed)."""
    cols = [*POINT, "width", "depth", "seed", "status", "chi1_measured", "chi1_theory",
            "chi1_layer_theory", "q_star", "q_mid", "converged", "rel_error"]
    need = ["chi1_theory", "chi1_measured", "chi1_layer_theory", "q_star", "q_mid", "chi_depends_on_q"]
    d = df[df["metric"].isin(need) & df["layer"].isna()] if not df.empty else df
    if d.empty:
        return pd.DataFrame(columns=cols)
    keys = [*POINT, "width", "depth", "seed"]
    w = d.pivot_table(index="run_id", columns="metric", values="value", aggfunc="first")
    w = w.reindex(columns=need)
    w = df.groupby("run_id")[[*keys, "status"]].first().join(w, how="inner").reset_index(drop=True)
    at_q = (w["q_mid"] - w["q_star"]).abs() <= THRESHOLDS.q_tol * w["q_star"]
    w["converged"] = (w["chi_depends_on_q"] == 0) | (np.isfinite(w["q_star"]) & at_q)
    w["rel_error"] = (w["chi1_measured"] / w["chi1_theory"] - 1).abs()
    w.loc[~np.isfinite(w["rel_error"]), "rel_error"] = np.nan
    return w[cols].sort_values(keys, ignore_index=True)


def _per_seed_error(summary: pd.DataFrame, width) -> pd.Series:
    """Per seed: the mean relative error over the converged grid points at this width (a seed
    with a non-finite point at this width gets nan: left out of the interval and counted)."""
    s = summary[(summary["width"] == width) & summary["converged"].astype(bool)]
    return s.groupby("seed")["rel_error"].agg(lambda v: v.mean() if v.notna().all() else np.nan)


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    T = THRESHOLDS
    out: list[Claim] = []
    statement = ("In wide random MLPs the per-layer ratio of squared backpropagated signal matches "
                 "mean-field chi_1 (grid points whose middle layers sit at the fixed point q*).")
    conv = summary[summary["converged"].astype(bool)] if not summary.empty else summary
    if conv.empty:
        return [no_data(experiment=NAME, claim="chi1_matches_theory", statement=statement,
                        kind=Kind.EMPIRICAL, expected=f"< {T.rel_tol:g}", why="no converged grid points")]
    widths = sorted(conv["width"].unique())
    widest, narrowest = widths[-1], widths[0]
    n_pts = conv[conv["width"] == widest].groupby(POINT).ngroups
    n_all = summary[summary["width"] == widest].groupby(POINT).ngroups
    per_seed = _per_seed_error(summary, widest)
    rule = below(T.rel_tol)
    ev = over_seeds(per_seed, rule)
    by_point = conv[conv["width"] == widest].groupby(POINT)["rel_error"].mean()
    worst = by_point.idxmax() if by_point.notna().any() else None
    out.append(empirical(
        experiment=NAME, claim=f"chi1_matches_theory[width={widest:g}]", statement=statement,
        rule=rule, evidence=ev,
        detail=f"per seed: mean |measured/theory - 1| over the {n_pts} converged of {n_all} grid "
               f"points at width {widest:g}, then the interval over seeds"
               + (f"; worst point (mean over seeds) {by_point.max():.3f} at {worst[0]}, "
                  f"s_w={worst[1]:g}, s_b={worst[2]:g}" if worst is not None else "")))

    statement = "The finite-width error of chi_1 shrinks as the width grows."
    if len(widths) < 2:
        out.append(no_data(experiment=NAME, claim="error_shrinks_with_width", statement=statement,
                           kind=Kind.EMPIRICAL, expected="< 1", why="fewer than two widths"))
        return out
    # the same converged grid points at both widths (convergence is a property of the point)
    lo = _per_seed_error(summary, narrowest)
    both = per_seed.index.intersection(lo.index)
    ratio = (per_seed[both] / lo[both]).sort_index()
    rule = below(1.0)
    by_width = {int(wd): float(_per_seed_error(summary, wd).mean()) for wd in widths}
    out.append(empirical(
        experiment=NAME, claim=f"error_shrinks_with_width[{widest:g}/{narrowest:g}]", statement=statement,
        rule=rule, evidence=over_seeds(ratio, rule, log=True),
        detail="per seed: mean relative error over converged points at the widest width / the same "
               "at the narrowest, geometric mean over seeds; mean error by width: "
               + ", ".join(f"{k}: {v:.4f}" for k, v in by_width.items())))
    return out


# ---------------------------------------------------------------------------------------------


def figures(df: pd.DataFrame, params: Params | None = None) -> dict:
    use_style()
    pts = summarize(df, params)
    figs = {}
    if pts.empty:
        return figs
    # one value per grid point at each width: the geometric mean of chi_1 over seeds
    pts = pts[np.isfinite(pts["chi1_measured"]) & (pts["chi1_measured"] > 0)]
    pts = (pts.assign(log_chi=np.log(pts["chi1_measured"]))
           .groupby([*POINT, "width"], as_index=False)["log_chi"].mean())
    pts["chi1_measured"] = np.exp(pts["log_chi"])
    # Phase diagram for tanh: log chi_1 over (sigma_w, sigma_b), edge of chaos, measured points.
    tanh = get_activation("tanh")
    sws = np.linspace(0.3, 3.0, 55)
    sbs = np.linspace(0.0, 1.0, 41)
    grid = np.array([[math.log(chi1(tanh, a, b)) for a in sws] for b in sbs])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    ax = axes[0]
    lim = np.abs(grid).max()
    im = ax.pcolormesh(sws, sbs, grid, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
    ax.contour(sws, sbs, grid, levels=[0.0], colors="k", linewidths=1.2)
    fig.colorbar(im, ax=ax, label="ln χ₁ (tanh, theory)")
    t = pts[pts["activation"] == "tanh"]
    if not t.empty:
        tw = t[t["width"] == t["width"].max()]
        ax.scatter(tw["weight_scale"], tw["bias_scale"], c=np.log(tw["chi1_measured"]),
                   cmap="RdBu_r", vmin=-lim, vmax=lim, edgecolors="k", s=45, zorder=3)
    ax.set_xlabel("σ_w")
    ax.set_ylabel("σ_b")
    ax.set_title("tanh: ordered (blue) | chaotic (red); line χ₁ = 1")

    ax = axes[1]
    acts = sorted(pts["activation"].unique())
    col = colors(acts)
    s_line = np.linspace(0.3, 2.2, 60)
    for act_name in acts:
        act = get_activation(act_name, **_act_params(df, act_name))
        ax.plot(s_line, [chi1(act, s, 0.0) for s in s_line], color=col[act_name], lw=1.2, label=act_name)
        d = pts[(pts["activation"] == act_name) & (pts["bias_scale"] == 0) & (pts["width"] == pts["width"].max())]
        ax.scatter(d["weight_scale"], d["chi1_measured"], color=col[act_name], s=18, zorder=3)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("σ_w (σ_b = 0)")
    ax.set_ylabel("χ₁ (line: theory, dots: measured, geo. mean over seeds)")
    ax.legend(ncol=2, fontsize=7)
    fig.tight_layout()
    figs["signal_propagation_chi1"] = fig
    return figs


def _act_params(df: pd.DataFrame, name: str) -> dict:
    row = df[df["activation"] == name].iloc[0]
    cols = {"slope": "slope", "beta": "beta", "alpha": "elu_alpha", "approximate": "approximate"}
    return {k: row[c] for k, c in cols.items() if c in row.index and pd.notna(row[c])}
