"""born_dead's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.born_dead import INITS, Params, _cp, _pooled, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    s = summarize(df, params)
    if s.empty:
        return {}
    g = _pooled(s)
    ci = [_cp(k, n, 0.95) for k, n in zip(g["dead"], g["samples"])]
    g["lo"], g["hi"] = [c[0] for c in ci], [c[1] for c in ci]
    biases = sorted(g["bias_scale"].unique())
    inits = [i for i in INITS if i in set(g["init"])]
    n_panels = len(inits) * len(biases)
    fig, axes = plt.subplots(1, n_panels, figsize=(4.0 * n_panels, 3.4), squeeze=False, sharey=True)
    widths = sorted(g["width"].unique())
    col = colors(widths)
    for ax, (init, b) in zip(axes[0], [(i, b) for b in biases for i in inits]):
        d = g[(g["init"] == init) & (g["bias_scale"] == b)]
        for width in widths:
            t = d[d["width"] == width].sort_values("depth")
            ax.plot(t["depth"], t["probability"], "o-", color=col[width],
                    label=f"width {int(width)}")
            ax.fill_between(t["depth"], t["lo"], t["hi"], color=col[width], alpha=0.2)
            if init == "he" and b == 0:
                ax.plot(t["depth"], t["upper_bound"], "--", color=col[width], lw=0.9)
                ax.plot(t["depth"], t["lower_bound"], ":", color=col[width], lw=0.9)
                ex = t[t["exact"].notna()]
                ax.scatter(ex["depth"], ex["exact"], marker="x", color="k", zorder=5)
        ax.set_title(f"{'He normal' if init == 'he' else 'RAI'}, σ_b = {b:g}")
        ax.set_xlabel("depth")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("P(constant function at birth)")
    axes[0][0].plot([], [], "k--", lw=0.9, label="upper 1 - (1 - 2^-w)^(d-1)")
    axes[0][0].plot([], [], "k:", lw=0.9, label="lower 1 - (1 - 4^-w)^(d-1)")
    axes[0][0].scatter([], [], marker="x", color="k", label="exact at depth 2")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Born dead: deep narrow ReLU nets at initialization (95% Clopper-Pearson bands)")
    fig.tight_layout()
    return {"born_dead": fig}
