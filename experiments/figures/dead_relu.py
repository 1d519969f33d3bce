"""dead_relu's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.dead_relu import CAUSES, Params, summarize


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    s = summarize(df, params)
    if s.empty:
        return {}
    labels = sorted(s["label"].unique(), key=lambda x: (not x.startswith("relu"), x))
    col = colors(labels)
    causes = [c for c in CAUSES if c in set(s["cause"])]
    fig, axes = plt.subplots(2, len(causes), figsize=(3.4 * len(causes), 5.6), squeeze=False)
    xlabel = {"lr": "learning rate", "bias": "bias shift at init", "narrow": "width"}
    panels = (("dead_fraction", "dead fraction (final)"),
              ("off_fraction", "off fraction: z <= 0 on every input"))
    for j, cause in enumerate(causes):
        for i, (value, ylabel) in enumerate(panels):
            ax = axes[i][j]
            for lab in labels:
                g = s[(s["cause"] == cause) & (s["label"] == lab)]
                if g.empty:
                    continue
                st = g.groupby("cause_value")[value].agg(["mean", "sem"])
                st = st[st["mean"].notna()]
                ax.errorbar(st.index, st["mean"], yerr=1.96 * st["sem"].fillna(0), marker="o",
                            capsize=2, color=col[lab], label=lab)
            ax.set_xlabel(xlabel[cause])
            ax.set_ylabel(ylabel)
            ax.set_ylim(-0.03, 1.03)
            if cause == "lr":
                ax.set_xscale("log")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Dying units: three causes (mean over seeds, 95% CI; diverged trainings left out)")
    fig.tight_layout()
    return {"dead_relu": fig}
