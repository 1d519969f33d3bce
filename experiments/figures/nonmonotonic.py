"""nonmonotonic's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from actlab.claims import mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.nonmonotonic import NON_MONOTONE, Params, summarize, target


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    fits = df[df["metric"] == "fit"]
    summary = summarize(df, params)
    if fits.empty:
        return {}
    acts = sorted(fits["activation"].unique(), key=lambda a: (a not in NON_MONOTONE, a))
    col = colors(acts)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.5))
    s0 = fits[fits["seed"] == fits["seed"].min()]
    x = torch.tensor(sorted(s0["x"].unique()), dtype=torch.float64)
    axes[0].plot(x, target(x), "k.", ms=2.5, label="target (dip)")
    for act in acts:
        g = s0[s0["activation"] == act].sort_values("x")
        axes[0].plot(g["x"], g["value"], color=col[act], label=act,
                     ls="-" if act in NON_MONOTONE else "--")
    axes[0].set_xlabel("x")
    axes[0].set_ylabel("y")
    axes[0].set_title("best one-neuron fit (seed 0)")
    axes[0].legend(fontsize=7)
    stats = [(a, *mean_ci(summary[summary["activation"] == a]["mse"].dropna())) for a in acts]
    pos = np.arange(len(stats))
    means = np.array([s[1] for s in stats])
    err = np.array([[s[1] - s[2], s[3] - s[1]] for s in stats]).T
    axes[1].bar(pos, means, color=[col[a] for a in acts], yerr=np.nan_to_num(err), capsize=3)
    axes[1].set_xticks(pos, acts, rotation=30)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("final MSE (mean, 95% CI over seeds)")
    fig.suptitle("A single neuron fitting a non-monotonic target")
    fig.tight_layout()
    return {"nonmonotonic": fig}
