"""softplus_revival's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.softplus_revival import Params, softplus_lower_bound, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    t = summarize(df, params)
    if t.empty:
        return {}
    labels = sorted(t["label"].unique())
    col = colors(labels)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    budget = float(t["max_steps"].max())
    for lab in labels:
        g = t[t["label"] == lab].sort_values("z0")
        ok = g["revived"]
        axes[0].plot(-g.loc[ok, "z0"], g.loc[ok, "steps"], "o-", color=col[lab], label=lab)
        axes[0].scatter(-g.loc[~ok, "z0"], np.full((~ok).sum(), budget), marker="^", color=col[lab])
        axes[1].plot(-g["z0"], g["slope_at_z0"].abs().clip(lower=1e-12), "o-", color=col[lab],
                     label=lab)
        if g["activation"].iloc[0] == "softplus":
            r = g.iloc[0]
            zz = np.linspace(g["z0"].abs().min(), g["z0"].abs().max(), 100)
            lb = [softplus_lower_bound(-a, float(r["beta"]), float(r["lr"]), int(r["n_points"]))
                  for a in zz]
            axes[0].plot(zz, lb, ":", color=col[lab], lw=0.9, label=f"{lab}: lower bound")
    axes[0].axhline(budget, color="k", lw=0.8, ls=":")
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.5, budget * 3)
    axes[0].set_xlabel("|z0| (initial pre-activation below zero)")
    axes[0].set_ylabel("steps to come back (▲ = not within budget)")
    axes[0].legend(fontsize=7)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("|z0|")
    axes[1].set_ylabel("|φ'(z0)| (floored at 1e-12; GELU's is negative)")
    fig.suptitle("On life support: time to bring a unit back from z0 < 0")
    fig.tight_layout()
    return {"softplus_revival": fig}
