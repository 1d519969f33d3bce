"""linear_collapse's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.linear_collapse import LINEAR, Params, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    f = summarize(df, params)
    if f.empty:
        return {}
    key = "train_mse" if f["train_mse"].notna().any() else "loss"
    acts = sorted(f["activation"].unique(), key=lambda a: (a not in LINEAR, a))
    col = colors(acts)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for act in acts:
        s = f[f["activation"] == act].groupby("depth")[key].agg(["mean", "min", "max"])
        ax.plot(s.index, s["mean"], "o-", color=col[act], label=act)
        ax.fill_between(s.index, s["min"], s["max"], color=col[act], alpha=0.2)
    lstsq = float(f["lstsq_loss"].mean())
    if math.isfinite(lstsq):
        ax.axhline(lstsq, color="k", ls="--", lw=1, label="least-squares linear fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel("final training loss (MSE)")
    ax.legend(fontsize=7)
    ax.set_title("Linear collapse: without an activation, depth does not help")
    fig.tight_layout()
    return {"linear_collapse": fig}
