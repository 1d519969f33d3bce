"""gelu_approx's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.gelu_approx import Params, curve

FORMS = ("none", "tanh", "sigmoid")


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    p = params or Params()
    col = colors(FORMS)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for form in FORMS:
        z, exact, approx = curve(form, p.z_max, 2401)
        axes[0].plot(z, approx, color=col[form], label={"none": "exact z·Φ(z)", "tanh": "tanh form",
                                                        "sigmoid": "z·σ(1.702 z)"}[form],
                     ls="-" if form == "none" else "--")
        if form != "none":
            axes[1].plot(z, (approx - exact), color=col[form], label=form)
    axes[0].set_xlim(max(-4, -p.z_max), min(3, p.z_max))
    axes[0].set_ylim(-0.5, 3)
    axes[0].set_xlabel("z")
    axes[0].set_ylabel("GELU(z)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("z")
    axes[1].set_ylabel("approximation − exact")
    axes[1].legend(fontsize=7)
    loss = df[df["metric"] == "test_loss"].assign(
        approximate=lambda d: d["approximate"].fillna("none"))
    for form in FORMS:
        g = loss[loss["approximate"] == form].groupby("step")["value"].agg(["mean", "min", "max"])
        if not g.empty:
            axes[2].plot(g.index, g["mean"], color=col[form], label=form)
            axes[2].fill_between(g.index, g["min"], g["max"], color=col[form], alpha=0.2)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("test loss (band: min..max over seeds)")
    axes[2].legend(fontsize=7)
    fig.suptitle("GELU and its approximations")
    fig.tight_layout()
    return {"gelu_approx": fig}
