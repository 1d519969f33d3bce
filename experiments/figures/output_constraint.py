"""output_constraint's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.claims import mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.output_constraint import HEADS, Params, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    m = summarize(df, params)
    sc = df[df["metric"] == "prediction"]
    if m.empty:
        return {}
    heads = [h for h in HEADS if h in set(m["head"])]
    col = colors(heads)
    fig, axes = plt.subplots(1, len(heads) + 2, figsize=(3.2 * (len(heads) + 2), 3.3))
    lr0 = sorted(sc["lr"].unique())[0] if not sc.empty else None
    for ax, head in zip(axes, heads):
        g = sc[(sc["head"] == head) & (sc["lr"] == lr0)]
        ax.scatter(g["target"], g["value"], s=5, alpha=0.4, color=col[head])
        lim = [min(-0.2, float(g["value"].min()) if len(g) else 0),
               float(g["target"].max()) if len(g) else 1]
        ax.plot(lim, lim, "k:", lw=0.8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"head: {head} (lr {lr0:g})")
        ax.set_xlabel("target")
        ax.set_ylabel("prediction")
    ok = m[~m["diverged"].astype(bool)]
    ax = axes[-2]
    for i, head in enumerate(heads):
        per_seed = ok[ok["head"] == head].groupby("seed")["zero_target_bias"].mean()
        mm, lo, hi = mean_ci(per_seed)
        ax.bar(i, mm, color=col[head], yerr=[[mm - lo], [hi - mm]] if np.isfinite(lo) else None,
               capsize=3)
    ax.set_xticks(range(len(heads)), heads)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("mean prediction on zero targets\n(95% CI over seeds)")
    ax = axes[-1]
    for head in heads:
        g = ok[ok["head"] == head].groupby("lr")["dead"].mean()
        ax.plot(g.index, g.values, "o-", color=col[head], label=head)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("fraction of seeds with a dead head\n(constant output on the training set)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    fig.suptitle("Output constraints: hard (ReLU) vs soft (Softplus) non-negativity")
    fig.tight_layout()
    return {"output_constraint": fig}
