"""linear_regions's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actlab.plotting import plt, use_style
from experiments.linear_regions import Params


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    from matplotlib.ticker import NullFormatter

    use_style()
    pcs = df[df["metric"] == "pieces"]
    if pcs.empty:
        return {}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    ax = axes[0]
    tent = pcs[pcs["construction"] == "tent"].sort_values("depth")
    ax.plot(tent["depth"], tent["value"], "s-", color="#D55E00",
            label="tent construction (width 2)")
    for in_dim, mk, c in ((1, "o", "#0072B2"), (8, "^", "#009E73")):
        g = pcs[(pcs["sweep"] == "shape") & (pcs["input_dim"] == in_dim)]
        s = g.groupby("depth")["value"].agg(["mean", "min", "max"])
        if not s.empty:
            n = int(g["neurons"].iloc[0])
            ax.plot(s.index, s["mean"], mk + "-", color=c,
                    label=f"random init, {n} neurons, {in_dim}-D input")
            ax.fill_between(s.index, s["min"], s["max"], color=c, alpha=0.2)
    tr = pcs[(pcs["sweep"] == "trained")]
    for phase, mk in (("init", "x"), ("trained", "D")):
        g = tr[tr["phase"] == phase]
        if not g.empty:
            ax.errorbar(g["depth"].mean(), g["value"].mean(), yerr=g["value"].std(), fmt=mk,
                        color="k", capsize=3,
                        label=f"{phase} (sine task, {int(g['neurons'].iloc[0])} neurons)")
    ax.set_yscale("log")
    ax.set_xlabel("depth")
    ax.set_ylabel("linear pieces along the line (exact)")
    ax.legend(fontsize=6.5)
    ax = axes[1]
    for in_dim, mk, c in ((1, "o", "#0072B2"), (8, "^", "#009E73")):
        g = pcs[(pcs["sweep"] == "neurons") & (pcs["input_dim"] == in_dim)]
        s = g.groupby("neurons")["value"].agg(["mean", "min", "max"])
        if not s.empty:
            ax.plot(s.index, s["mean"], mk + "-", color=c, label=f"{in_dim}-D input")
            ax.fill_between(s.index, s["min"], s["max"], color=c, alpha=0.2)
            ax.plot(s.index, s.index, "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("total neurons (depth 3)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("pieces (dotted: = neurons)")
    ax.legend(fontsize=7)
    ax = axes[2]
    m = df[df["metric"] == "region_id"]
    if not m.empty:
        m = m[m["run_id"] == m["run_id"].iloc[0]]
        n = int(round(math.sqrt(len(m))))
        ids = m["value"].to_numpy().reshape(n, n)
        rng = np.random.default_rng(0)
        perm = rng.permutation(int(ids.max()) + 1)
        ax.imshow(perm[ids.astype(int)], origin="lower", extent=(m["x1"].min(), m["x1"].max(),
                  m["x2"].min(), m["x2"].max()), cmap="tab20", interpolation="nearest")
        ax.set_title(f"{int(ids.max()) + 1} activation patterns, ReLU net on XOR")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.grid(False)
    fig.suptitle("Linear regions of ReLU networks")
    fig.tight_layout()
    return {"linear_regions": fig}
