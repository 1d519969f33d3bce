"""gradient_chain's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.plotting import colors, plt, use_style
from experiments.gradient_chain import FORMS, Params


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    figs = {}
    chain = df[df["form"].isin(FORMS) & (df["metric"] == "dfdw1")]
    chain = chain[chain["seed"] == chain["seed"].min()]
    if not chain.empty:
        acts = list(dict.fromkeys(sorted(chain["activation"])))
        col = colors(acts)
        ws = sorted(chain.loc[chain["form"] == "weighted", "chain_weight"].unique())
        panels = [("article", 1.0)] + [("weighted", w) for w in ws if w != 1.0]
        fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3), squeeze=False)
        for ax, (form, w) in zip(axes[0], panels):
            d = chain[(chain["form"] == form) & np.isclose(chain["chain_weight"], w)]
            for act in acts:
                g = d[d["activation"] == act].drop_duplicates("depth").sort_values("depth")
                if not g.empty:
                    ax.plot(g["depth"], g["value"].abs().clip(lower=1e-300), color=col[act],
                            label=act)
            ax.set_yscale("log")
            ax.set_ylim(1e-40, 1e20)
            ax.set_xlabel("chain length L")
            ax.set_ylabel("|df_L/dw_1|")
            ax.set_title("article form (w_k = 1)" if form == "article"
                         else f"weighted form, w_k = {w:g}")
        axes[0][0].legend(ncol=2, loc="lower left")
        fig.suptitle("The gradient of a one-unit chain is a product of local derivatives")
        fig.tight_layout()
        figs["gradient_chain_dfdw1"] = fig

    div = df[(df["form"] == "mlp") & (df["metric"] == "diverged")].copy()
    loss = df[(df["form"] == "mlp") & (df["metric"] == "loss")]
    if not div.empty:
        div["gain"] = (div["weight_scale"] * div["slope"]).round(4)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        gains = sorted(div["gain"].unique())
        col = colors(gains)
        for gain in gains:
            g = div[div["gain"] == gain].groupby("depth")["value"].mean()
            axes[0].plot(g.index, g.values, "o-", color=col[gain], label=f"s·a = {gain:g}")
            lg = loss.assign(gain=(loss["weight_scale"] * loss["slope"]).round(4))
            lg = lg[lg["gain"] == gain]
            final = lg.sort_values("step").groupby(["run_id", "depth"]).tail(1)
            fin = final.groupby("depth")["value"].median()
            axes[1].plot(fin.index, fin.values.clip(max=1e30), "o-", color=col[gain],
                         label=f"s·a = {gain:g}")
            blown = g[g > 0.5].index
            axes[1].scatter(blown, np.full(len(blown), 1e30), marker="x", color=col[gain], s=40)
        axes[0].set_xlabel("depth")
        axes[0].set_ylabel("fraction of seeds diverged")
        axes[0].set_ylim(-0.05, 1.05)
        axes[1].set_yscale("log")
        axes[1].set_xlabel("depth")
        axes[1].set_ylabel("final training loss (x = diverged)")
        axes[0].legend()
        fig.suptitle("Training deep MLPs with σ(z) = a·z: where it blows up")
        fig.tight_layout()
        figs["gradient_chain_divergence"] = fig
    return figs
