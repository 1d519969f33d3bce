"""signal_propagation's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actlab.activations import get_activation
from actlab.meanfield import chi1
from actlab.plotting import colors, plt, use_style
from experiments.signal_propagation import POINT, Params, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
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
        ax.plot(s_line, [chi1(act, s, 0.0) for s in s_line], color=col[act_name], lw=1.2,
                label=act_name)
        d = pts[(pts["activation"] == act_name) & (pts["bias_scale"] == 0)
                & (pts["width"] == pts["width"].max())]
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
