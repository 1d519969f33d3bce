"""saturation's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.saturation import (
    CONTROL,
    SATURATING,
    Params,
    _theory_applies,
    summarize,
    theory_fraction,
)


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    runs = summarize(df, params)
    if runs.empty:
        return {}
    acts = [a for a in ("tanh", "sigmoid", "relu") if a in set(runs["activation"])] + sorted(
        set(runs["activation"]) - {"tanh", "sigmoid", "relu"})
    alphas = sorted(runs["alpha"].unique())
    col_a = colors(alphas)
    col_act = colors(acts)
    fig, axes = plt.subplots(1, len(acts) + 2, figsize=(3.0 * (len(acts) + 2), 3.1))
    loss = df[df["metric"] == "loss"]
    for ax, act in zip(axes, acts):
        for a in alphas:
            g = loss[(loss["activation"] == act) & (loss["alpha"] == a)]
            s = g.groupby("step")["value"].agg(["mean", "min", "max"])
            ax.plot(s.index, s["mean"], color=col_a[a], label=f"α={a:g}")
            ax.fill_between(s.index, s["min"], s["max"], color=col_a[a], alpha=0.2)
        ax.set_title(f"{act}: training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (MSE)")
        ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    for act in acts:
        r = runs[runs["activation"] == act].groupby("alpha")
        for ax, key, style in ((axes[-2], "saturated", "o-"), (axes[-1], "grad_per_error", "o-"),
                               (axes[-1], "delta_per_error", "s--")):
            s = r[key].agg(["mean", "min", "max"])
            ax.plot(s.index, s["mean"], style, color=col_act[act],
                    label=act if key != "delta_per_error" else None)
            ax.fill_between(s.index, s["min"], s["max"], color=col_act[act], alpha=0.2)
        first = runs[runs["activation"] == act].iloc[0]
        if not _theory_applies(first) and (act in SATURATING or act == CONTROL):
            grid = np.geomspace(min(alphas), max(alphas), 60)
            th = [theory_fraction(act, a, first["weight_scale"], first["bias_scale"],
                                  first["in_dim"]) for a in grid]
            axes[-2].plot(grid, th, ":", color=col_act[act], lw=1)
    axes[-2].plot([], [], "k:", lw=1, label="Gaussian theory")
    axes[-2].set_ylabel("saturated fraction, layer 1 (init)")
    axes[-1].set_ylabel("per unit of loss, layer 1 (init)")
    axes[-1].plot([], [], "k-", label="|dL/dW₁| / loss")
    axes[-1].plot([], [], "k--", label="rms dL/dz₁ / loss")
    axes[-1].legend(fontsize=7)
    axes[-1].set_yscale("log")
    for ax in axes[-2:]:
        ax.set_xscale("log")
        ax.set_xlabel("input scale α")
    axes[-2].legend(fontsize=7)
    fig.suptitle("Inputs scaled by α: first-layer saturation, its gradient per unit of error, "
                 "and learning")
    fig.tight_layout()
    return {"saturation": fig}
