"""gradient_flow's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.claims import geo_mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.gradient_flow import Params, _init_rows


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    """delta_rms per layer at initialization for the deepest nets: one panel per activation, one
    line per weight scale (geometric mean over seeds, band = its 95% t interval over seeds),
    theory dashed for linear."""
    use_style()
    d = _init_rows(df, "delta_rms")
    d = d[d["depth"] == d["depth"].max()]
    acts = list(dict.fromkeys(d["activation"]))
    fig, axes = plt.subplots(1, max(len(acts), 1), figsize=(3.0 * max(len(acts), 1), 3.0),
                             sharey=False, squeeze=False)
    scales = sorted(d["weight_scale"].unique())
    col = colors(scales)
    for ax, act in zip(axes[0], acts):
        da = d[d["activation"] == act]
        for s in scales:
            g = da[da["weight_scale"] == s]
            if g.empty:
                continue
            by_layer = {layer: geo_mean_ci(v) for layer, v in g.groupby("layer")["value"]}
            stats = pd.DataFrame(by_layer, index=["gm", "lo", "hi"]).T.sort_index()
            ax.plot(stats.index, stats["gm"], "o-", color=col[s], label=f"s={s:.3g}")
            ax.fill_between(stats.index, stats["lo"], stats["hi"], color=col[s], alpha=0.2)
            if act == "linear":
                a = float(g["slope"].iloc[0])
                depth = int(g["depth"].iloc[0])
                anchor = stats["gm"].loc[depth]
                layers = np.arange(1, depth + 1)
                ax.plot(layers, anchor * (s * a) ** (depth - layers), "--", color="k", lw=0.9,
                        label="(s·a)$^{L-l}$" if s == scales[0] else None)
        title = act if act != "linear" else f"linear (a={float(da['slope'].iloc[0]):g})"
        ax.set_title(f"{title}, depth {int(da['depth'].iloc[0])}")
        ax.set_yscale("log")
        ax.set_xlabel("layer l (1 = input side)")
        ax.set_ylabel("delta_rms = rms dLoss/dz_l")
        ax.legend(loc="best")
    fig.suptitle("Backpropagated signal per layer at initialization")
    fig.tight_layout()
    return {"gradient_flow_delta_rms": fig}
