"""continual's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.claims import mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.continual import PROTECT_EPS, Params, _label, summarize


def _split_figure(acc: pd.DataFrame, summ: pd.DataFrame, labels: list[str], col: dict, head: str):
    shown = ("relu", "leaky_relu 0.3", "leaky_relu 0.1", "tanh")
    show = [lab for lab in labels if lab in shown][:3] or labels[:3]
    fig, axes = plt.subplots(1, len(show) + 2, figsize=(3.3 * (len(show) + 2), 3.2))
    for ax, lab in zip(axes, show):
        mat = (acc[acc["label"] == lab].groupby(["task_trained", "task_eval"])["value"].mean()
               .unstack())
        im = ax.imshow(mat.values, vmin=0, vmax=1, cmap="viridis")
        ax.set_title(lab)
        ax.set_xlabel("evaluated on task")
        ax.set_ylabel("after training task")
        ax.grid(False)
    fig.colorbar(im, ax=axes[len(show) - 1], fraction=0.046)
    ok = summ[~summ["diverged"].astype(bool)]
    protected = f"protected fraction (|dW| < {PROTECT_EPS:g} row RMS)"
    for ax, column, ylabel in ((axes[-2], "forgetting_first", "forgetting of task 0"),
                               (axes[-1], "protected", protected)):
        lk = ok[ok["activation"] == "leaky_relu"].groupby("slope")[column]
        if len(lk):
            s = lk.agg(["mean", "sem"]).fillna(0)
            ax.errorbar(s.index, s["mean"], yerr=1.96 * s["sem"], fmt="o-", capsize=3,
                        color=col.get("leaky_relu 0.1", "C0"),
                        label="leaky_relu (mean over seeds, 95%)")
        r = ok[ok["activation"] == "relu"][column]
        if len(r):
            m, lo, hi = mean_ci(r.dropna())
            ax.axhline(m, color="k", label="relu (band: 95% CI)")
            if np.isfinite(lo):
                ax.axhspan(lo, hi, color="k", alpha=0.1)
        ax.set_xscale("log")
        ax.set_xlabel("leaky slope")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(f"Split tasks (head={head}): accuracy matrices (mean over seeds), forgetting and "
                 "protection vs leakiness")
    fig.tight_layout()
    return fig


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    """Split sequences: one figure per head setting; permuted: plasticity over the sequence. Other
    settings that vary in the table (lr, width, ...) are averaged in these pictures; the claims
    keep them apart."""
    use_style()
    df = df.assign(label=_label(df))
    acc = df[df["metric"] == "accuracy"]
    if acc.empty:
        return {}
    summ = summarize(df, params)
    labels = sorted(acc["label"].unique(), key=lambda s: (not s.startswith("relu"), s))
    col = colors(labels)
    figs = {}
    split = acc[acc["sequence"] == "split"]
    for k, head in enumerate(sorted(split["head"].unique(), key=lambda h: h != "task")):
        figs["continual" if k == 0 else f"continual_{head}"] = _split_figure(
            split[split["head"] == head],
            summ[(summ["sequence"] == "split") & (summ["head"] == head)], labels, col, head)
    perm = acc[(acc["sequence"] == "permuted") & (acc["task_trained"] == acc["task_eval"])]
    if not perm.empty:
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
        dead = df[(df["sequence"] == "permuted") & (df["metric"] == "dead_fraction")]
        for lab in labels:
            g = (perm[perm["label"] == lab].groupby("task_trained")["value"]
                 .agg(["mean", "sem"]).fillna(0))
            axes[0].errorbar(g.index, g["mean"], yerr=1.96 * g["sem"], color=col[lab], label=lab,
                             capsize=2)
            d = dead[dead["label"] == lab].groupby("task")["value"].mean()
            axes[1].plot(d.index, d.values, "o-", color=col[lab], label=lab)
        axes[0].set_xlabel("task index")
        axes[0].set_ylabel("accuracy on the new task")
        axes[1].set_xlabel("task index")
        axes[1].set_ylabel("dead fraction (mean over layers)")
        axes[0].legend(fontsize=7)
        fig.suptitle("Permuted tasks: plasticity over a long sequence")
        fig.tight_layout()
        figs["continual_plasticity"] = fig
    return figs
