"""edge_of_chaos's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.edge_of_chaos import THRESHOLDS, Params, boundary_per_seed, summarize


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around sorted positive values, halfway on a log scale."""
    v = np.log(np.asarray(values, dtype=float))
    mid = (v[1:] + v[:-1]) / 2
    step = np.diff(v).mean() if len(v) > 1 else 0.5
    return np.exp(np.concatenate([[v[0] - step / 2], mid, [v[-1] + step / 2]]))


def _geo(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if len(v) else math.nan


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    s = summarize(df, params)
    figs = {}
    if s.empty:
        return figs
    acts = sorted(s["activation"].dropna().unique())
    col = colors(acts)

    crit = s[s["part"] == "critical"].drop_duplicates(["activation", "bias_scale"])
    line = df[df["metric"].isin(["critical_line", "critical_line_edge"])]
    if not crit.empty:
        fig, ax = plt.subplots(figsize=(4.6, 3.4))
        for a in acts:
            d = crit[crit["activation"] == a].sort_values("bias_scale")
            g = line[line["activation"] == a]
            for metric, style in (("critical_line", "-"), ("critical_line_edge", ":")):
                h = g[g["metric"] == metric].drop_duplicates("line_bias_scale")
                h = h.sort_values("line_bias_scale")
                ax.plot(h["line_bias_scale"], h["value"], style, color=col[a], lw=1.2)
            ax.plot(d["bias_scale"], d["critical_weight_scale"], "o", color=col[a], label=a)
            jump = d[d["critical_weight_scale"].isna() & d["edge_weight_scale"].notna()]
            ax.scatter(jump["bias_scale"], jump["edge_weight_scale"], marker="o",
                       facecolors="none", edgecolors=col[a], s=45, zorder=3)
        ax.set_xlabel("σ_b")
        ax.set_ylabel("critical σ_w (χ₁ = 1)")
        ax.set_title("Critical σ_w: χ₁ = 1 (solid), or where χ₁ jumps over 1 (dotted,\n"
                     "open: no root); dots: the runs' own σ_b", fontsize=8)
        ax.legend(fontsize=7)
        fig.tight_layout()
        figs["edge_of_chaos_critical_line"] = fig

    sc = s[s["part"] == "scales"]
    if not sc.empty:
        fig, axes = plt.subplots(1, len(acts), figsize=(3.6 * len(acts), 3.3), squeeze=False)
        bcol = colors(sorted(sc["bias_scale"].unique()))
        for ax, a in zip(axes[0], acts):
            d = sc[sc["activation"] == a]
            for b, g in d.groupby("bias_scale"):
                th = g.drop_duplicates("weight_factor").sort_values("weight_factor")
                ax.plot(th["weight_factor"], th["xi_c_theory"], "-", color=bcol[b],
                        label=f"ξ_c theory, σ_b={b:g}")
                ax.plot(th["weight_factor"], th["xi_q_theory"], ":", color=bcol[b], lw=1,
                        label=f"ξ_q theory, σ_b={b:g}")
                m = g.groupby("weight_factor")["xi_c_measured"]
                mid = m.apply(_geo)
                lo, hi = m.min(), m.max()
                ok = np.isfinite(mid.to_numpy())
                ax.errorbar(mid.index[ok], mid[ok], yerr=[(mid - lo)[ok], (hi - mid)[ok]],
                            fmt="o", color=bcol[b], ms=4, capsize=2,
                            label=f"ξ_c measured, σ_b={b:g}")
            ax.axvline(1.0, color="k", lw=0.8, ls="--")
            ax.set_yscale("log")
            # xi diverges at the critical line (xi_q too, at sigma_b = 0): show the measurable
            # range, from the depth the table's networks were measured at (params: older tables)
            md = d["measure_depth"].astype(float).max() if "measure_depth" in d.columns \
                else math.nan
            top = 3.0 * (md if math.isfinite(md) else float((params or Params()).measure_depth))
            ax.set_ylim(0.2, top)
            ax.set_xlabel("σ_w / critical σ_w")
            ax.set_ylabel("depth scale (layers)")
            ax.set_title(a)
        axes[0][0].legend(fontsize=6)
        fig.suptitle("Depth scales: theory (lines), measured in random nets (geo. mean, min-max "
                     "over seeds)", fontsize=9)
        fig.tight_layout()
        figs["edge_of_chaos_depth_scales"] = fig

    tr = s[s["part"] == "train"]
    if not tr.empty:
        settings = list(tr.groupby(["activation", "bias_scale"]).groups)
        fig, axes = plt.subplots(1, len(settings), figsize=(3.8 * len(settings), 3.4),
                                 squeeze=False)
        for ax, (a, b) in zip(axes[0], settings):
            d = tr[(tr["activation"] == a) & (tr["bias_scale"] == b)]
            grid = d.pivot_table(index="depth", columns="weight_scale", values="test_score",
                                 aggfunc="mean")
            xs, ys = grid.columns.to_numpy(float), grid.index.to_numpy(float)
            im = ax.pcolormesh(_edges(xs), _edges(ys), grid.to_numpy(), cmap="viridis",
                               vmin=float(d["chance_score"].min()), vmax=1.0)
            fig.colorbar(im, ax=ax, label="test score (mean over seeds)")
            xi = d.drop_duplicates("weight_scale").set_index("weight_scale")["xi_c_theory"]
            xi = xi.sort_index().astype(float)
            fin = np.isfinite(xi.to_numpy())
            line = np.where(np.isinf(xi), ys.max() * 10, 6 * xi)
            ax.plot(xi.index[fin | np.isinf(xi)], line[fin | np.isinf(xi)], "w-", lw=1.5,
                    label="L = 6 ξ_c")
            c = _geo(boundary_per_seed(d)["c"])
            if math.isfinite(c):
                ax.plot(xi.index[fin], c * xi[fin], "w--", lw=1.2,
                        label=f"L = {c:.2g} ξ_c (fitted)")
            ax.set_xscale("log")
            ax.set_yscale("log", base=2)
            ax.set_ylim(_edges(ys)[0], _edges(ys)[-1])
            ax.set_xlabel("σ_w")
            ax.set_ylabel("depth L")
            ax.set_title(f"{a}, σ_b = {b:g}", fontsize=9)
            ax.legend(fontsize=6, loc="lower left")
        fig.suptitle(f"Trainability after a fixed budget; published boundary "
                     f"L ≈ {THRESHOLDS.published_constant:g} ξ_c", fontsize=9)
        fig.tight_layout()
        figs["edge_of_chaos_trainability"] = fig
    return figs
