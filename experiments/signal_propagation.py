"""Measured gradient growth in wide random MLPs vs mean-field theory.

Run the default grid:  actlab -m experiment=signal_propagation
One point:             actlab experiment=signal_propagation activation=tanh model.weight_scale=1.5

At initialization (no training), |delta_l|^2 / |delta_{l+1}|^2 in the middle layers is compared
with chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] from actlab.meanfield (Gauss-Hermite quadrature).
chi_1 < 1: gradients vanish with depth scale xi = -1/ln chi_1; chi_1 > 1: they explode; chi_1 = 1
is the edge of chaos (tanh at sigma_b = 0: sigma_w = 1; relu: He's sigma_w = sqrt 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actlab.activations import get_activation
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.meanfield import chi, chi1, fixed_point, q_sequence
from actlab.plotting import colors, plt, use_style
from actlab.runner import build
from actlab.trainer import PROBE_BATCH, train

NAME = "signal_propagation"


@dataclass
class Params:
    rel_tol: float = 0.03  # measured chi_1 within 3% of theory at the widest width
    q_tol: float = 0.01  # the forward length counts as converged within 1% of q*


def middle_layers(depth: int) -> range:
    return range(max(1, depth // 3), max(2, (2 * depth) // 3))


def run(cfg, device):
    model, task = build(cfg, device)
    res = train(model, task, cfg.trainer, seed=cfg.seed, desc=f"{NAME} {cfg.activation.name}")
    act = get_activation(cfg.activation)
    sw, sb, depth = cfg.model.weight_scale, cfg.model.bias_scale, cfg.model.depth
    delta = {r["layer"]: r["value"] for r in res.rows
             if r["step"] == 0 and r["metric"] == "delta_rms" and r["layer"] is not None}
    mids = list(middle_layers(depth))
    ratios = [(delta[k] / delta[k + 1]) ** 2 for k in mids]
    measured = float(np.exp(np.mean(np.log(ratios))))
    # Theory, layer by layer from the actual input's second moment, and at the fixed point.
    x2 = float((task.x_train[:PROBE_BATCH].double() ** 2).mean())
    qs = q_sequence(act, sw**2 * x2 + sb**2, sw, sb, depth)
    layer_theory = float(np.exp(np.mean([math.log(chi(act, qs[k - 1], sw)) for k in mids])))
    q_star = fixed_point(act, sw, sb, q0=qs[0])  # from the network's own first-layer q
    q_mid = qs[mids[len(mids) // 2] - 1]
    chi_q_free = act.piecewise_linear  # chi does not depend on q: any q is "converged"
    converged = chi_q_free or (math.isfinite(q_star) and abs(q_mid - q_star) <= cfg.params.q_tol * q_star)
    chi_star = chi(act, min(q_star, 1e12), sw)
    for metric, value in [("chi1_theory", chi_star), ("chi1_measured", measured),
                          ("chi1_layer_theory", layer_theory), ("q_star", q_star),
                          ("q_converged", float(converged))]:
        res.rows.append({"step": 0, "layer": None, "metric": metric, "value": value})
    return res


def _points(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["run_id", "activation", "weight_scale", "bias_scale", "width", "seed"]
    d = df[df["metric"].isin(["chi1_theory", "chi1_measured", "chi1_layer_theory", "q_converged"])]
    w = d.pivot_table(index=keys, columns="metric", values="value").reset_index()
    w["rel_error"] = (w["chi1_measured"] / w["chi1_theory"] - 1).abs()
    return w


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    pts = _points(df)
    statement = ("In wide random MLPs the per-layer ratio of squared backpropagated signal matches "
                 "mean-field chi_1 (converged points).")
    if pts.empty:
        return [no_data(NAME, "chi1_matches_theory", statement, "empirical", "", "no runs")]
    conv = pts[pts["q_converged"] > 0.5]
    out = []
    widest = int(pts["width"].max())
    w = conv[conv["width"] == widest]
    if w.empty:
        out.append(no_data(NAME, "chi1_matches_theory", statement, "empirical",
                           f"within {p.rel_tol:.0%}", "no converged points at the widest width"))
    else:
        inside = (w["rel_error"] <= p.rel_tol).mean()
        m, lo, hi = mean_ci(w["rel_error"])
        verdict = REPRODUCED if inside == 1 else (PARTLY if inside >= 0.8 else NOT_REPRODUCED)
        worst = w.loc[w["rel_error"].idxmax()]
        out.append(Claim(NAME, f"chi1_matches_theory[width={widest}]", statement, "empirical", m,
                         f"|measured/theory - 1| <= {p.rel_tol:g}", verdict, lo, hi,
                         detail=f"mean relative error over {len(w)} converged points; {inside:.0%} "
                                f"within tolerance; worst {worst['rel_error']:.3f} "
                                f"({worst['activation']}, s_w={worst['weight_scale']:g}, "
                                f"s_b={worst['bias_scale']:g}); {int((pts['q_converged'] < 0.5).sum())}"
                                f" unconverged points excluded"))
    by_width = conv.groupby("width")["rel_error"].mean()
    statement = "The finite-width error of chi_1 shrinks as the width grows."
    if len(by_width) < 2:
        out.append(no_data(NAME, "error_shrinks_with_width", statement, "empirical", "decreasing",
                           "fewer than two widths"))
    else:
        dec = bool(np.all(np.diff(by_width.values) < 0))
        out.append(Claim(NAME, "error_shrinks_with_width", statement, "empirical",
                         float(by_width.iloc[-1] / by_width.iloc[0]), "< 1, decreasing",
                         REPRODUCED if dec else (PARTLY if by_width.iloc[-1] < by_width.iloc[0] else NOT_REPRODUCED),
                         detail="mean relative error by width: "
                                + ", ".join(f"{int(k)}: {v:.4f}" for k, v in by_width.items())))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    pts = _points(df)
    figs = {}
    if pts.empty:
        return figs
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
        sc = ax.scatter(tw["weight_scale"], tw["bias_scale"], c=np.log(tw["chi1_measured"]),
                        cmap="RdBu_r", vmin=-lim, vmax=lim, edgecolors="k", s=45, zorder=3)
        del sc
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
    ax.set_ylabel("χ₁ (line: theory, dots: measured)")
    ax.legend(ncol=2, fontsize=7)
    fig.tight_layout()
    figs["signal_propagation_chi1"] = fig
    return figs


def _act_params(df: pd.DataFrame, name: str) -> dict:
    row = df[df["activation"] == name].iloc[0]
    cols = {"slope": "slope", "beta": "beta", "alpha": "elu_alpha", "approximate": "approximate"}
    return {k: row[c] for k, c in cols.items() if pd.notna(row[c])}
