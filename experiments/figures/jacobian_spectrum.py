"""jacobian_spectrum's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actlab.claims import mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.jacobian_spectrum import HIST_EDGES, THRESHOLDS, Params, summarize

INITS = ("gaussian", "orthogonal")
ROWS = (("sv_log_std", "std of ln s (resolved s)", False),
        ("sv_max_over_mean", "max s / mean s", True),
        ("sv_sq_var", "var(s²) / mean(s²)²  (dashed: theory)", True),
        ("msv_ratio", "mean(s²) / theory  (dotted: margin)", True))


def _label(act: str, sb: float, critical: bool) -> str:
    return f"{act}, σ_b = {sb:g}" + ("" if critical else " (not critical)")


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    s = summarize(df, params)
    figs: dict = {}
    sp = s[s["part"] == "spectrum"] if not s.empty else s
    if sp.empty:
        return figs
    sp = sp.assign(msv_ratio=sp["sv_mean_sq"].astype(float) / sp["msv_theory"].astype(float))
    settings = sp[["activation", "bias_scale", "critical"]].drop_duplicates().sort_values(
        ["activation", "bias_scale"]).itertuples(index=False)
    settings = list(settings)
    col = colors(INITS)
    width = float(sp["width"].max())

    # spread vs depth: one column per setting, one row per statistic; mean and 95% t interval
    # over seeds; an open marker where some singular values were below float64's resolution (the
    # spread shown is then a lower bound)
    fig, axes = plt.subplots(len(ROWS), len(settings), figsize=(3.0 * len(settings), 9.5),
                             squeeze=False, sharex=True)
    for j, (act, sb, crit) in enumerate(settings):
        g = sp[(sp["activation"] == act) & (sp["bias_scale"] == sb)]
        for i, (metric, ylabel, logy) in enumerate(ROWS):
            ax = axes[i, j]
            for init in INITS:
                h = g[g["init"] == init]
                if h.empty:
                    continue
                stats = []
                for d, x in h.groupby("depth"):
                    m, lo, hi = mean_ci(x[metric].astype(float).dropna())
                    stats.append((d, m, lo, hi, float(x["sv_resolved"].min())))
                d, m, lo, hi, res = (np.array(v, dtype=float) for v in zip(*stats))
                ax.plot(d, m, "-", color=col[init], lw=1.2, label=init)
                ax.fill_between(d, np.where(np.isfinite(lo), lo, m),
                                np.where(np.isfinite(hi), hi, m),
                                color=col[init], alpha=0.25, lw=0)
                full = res >= 1.0
                ax.scatter(d[full], m[full], color=col[init], s=14, zorder=3)
                ax.scatter(d[~full], m[~full], facecolors="white", edgecolors=col[init], s=18,
                           zorder=3)
                if metric == "sv_sq_var":
                    th = h.groupby("depth")["sv_sq_var_theory"].first()
                    ax.plot(th.index, th.to_numpy(), "--", color=col[init], lw=0.9)
            if metric == "msv_ratio":
                dd = np.array(sorted(g["depth"].unique()), dtype=float)
                for sign in (-1, 1):
                    ax.plot(dd, np.exp(sign * THRESHOLDS.msv_log_tol * dd / width), ":",
                            color="k", lw=0.8)
                ax.axhline(1.0, color="k", lw=0.6)
            ax.set_xscale("log", base=2)
            if logy:
                ax.set_yscale("log")
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=8)
            if i == 0:
                ax.set_title(_label(act, sb, bool(crit)), fontsize=9)
            if i == len(ROWS) - 1:
                ax.set_xlabel("depth L")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Jacobian singular values at the edge of chaos (width {width:g}); "
                 "open markers: some s below float64 resolution (spread is a lower bound)",
                 fontsize=9)
    fig.tight_layout()
    figs["jacobian_spectrum_spread"] = fig

    # histograms of log10 s at the largest depth, pooled over seeds
    hist = df[df["metric"] == "sv_hist"] if "metric" in df.columns else df.iloc[0:0]
    if not hist.empty:
        fig, axes = plt.subplots(1, len(settings), figsize=(3.0 * len(settings), 2.9),
                                 squeeze=False, sharey=True)
        centers = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
        for j, (act, sb, crit) in enumerate(settings):
            ax = axes[0, j]
            g = hist[(hist["activation"] == act) & (hist["bias_scale"] == sb)]
            top = g["depth"].max()
            for init in INITS:
                h = g[(g["init"] == init) & (g["depth"] == top)]
                if h.empty:
                    continue
                # each row's bin from its centre (robust to a CSV round trip)
                step = HIST_EDGES[1] - HIST_EDGES[0]
                idx = np.rint((h["log10_sv"].astype(float) - centers[0]) / step).astype(int)
                y = np.bincount(idx.clip(0, len(centers) - 1), weights=h["value"].astype(float),
                                minlength=len(centers)) / h["run_id"].nunique()
                ax.step(centers, y, where="mid", color=col[init],
                        label=f"{init} (unresolved {1.0 - y.sum():.0%})")
            ax.set_xlabel("log10 s")
            ax.set_title(f"{_label(act, sb, bool(crit))}, L = {top:g}", fontsize=9)
            ax.legend(fontsize=6)
            if not math.isnan(top):
                ax.axvline(0.0, color="k", lw=0.5, ls=":")
        axes[0, 0].set_ylabel("fraction of singular values")
        fig.tight_layout()
        figs["jacobian_spectrum_histograms"] = fig
    return figs
