"""Deep narrow ReLU networks are dead at birth.

Run the default grid:  actlab -m experiment=born_dead
With biases:           actlab experiment=born_dead model.bias_scale=0.1

Monte Carlo over thousands of randomly initialized ReLU MLPs with a 1-D input on a grid over
[-R, R]: the fraction that compute a constant function there, vs depth and width. All networks of
one setting are one batched tensor computation. With zero biases a hidden layer kills every input
of one sign with probability 2^-width (each unit's weight has the wrong sign for it), which gives
the reference curve 1 - (1 - 2^-width)^(depth - 1) (the first hidden layer cannot die). We also
run randomized asymmetric initialization (RAI, Lu et al. 2019): in every neuron one incoming weight,
at a random position, is drawn from a positive Beta(2, 1) distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, clopper_pearson, no_data
from actlab.plotting import colors, plt, use_style
from actlab.trainer import TrainResult

NAME = "born_dead"
INITS = ("he", "rai")


@dataclass
class Params:
    samples: int = 1000  # networks per (depth, width, init)
    depths: list[int] = field(default_factory=lambda: [2, 3, 5, 10, 15, 20, 30, 40, 50])
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 5, 10])
    inits: list[str] = field(default_factory=lambda: list(INITS))
    R: float = 1.0  # input domain [-R, R]
    grid: int = 201  # input points (odd: includes 0)
    chunk: int = 500  # networks per batched computation (memory bound)
    level: float = 0.95  # confidence level of the binomial intervals


def _weights(n: int, fan_in: int, width: int, init: str, gen: torch.Generator) -> torch.Tensor:
    """(n, fan_in, width) He-normal weights; RAI replaces one weight per neuron by Beta(2, 1)."""
    w = torch.randn(n, fan_in, width, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in)
    if init == "rai":
        pos = torch.randint(0, fan_in, (n, 1, width), generator=gen)
        # Beta(2, 1) by inversion: F(x) = x^2, so x = sqrt(u)
        val = torch.rand(n, 1, width, generator=gen, dtype=torch.float64).sqrt()
        w.scatter_(1, pos, val)
    return w


def constant_fraction(depth: int, width: int, init: str, n: int, bias_scale: float, R: float,
                      grid: int, gen: torch.Generator) -> int:
    """How many of n random ReLU nets (depth hidden layers of `width`) are constant on the grid."""
    x = torch.linspace(-R, R, grid, dtype=torch.float64)[None, :, None].expand(n, grid, 1)
    h = x
    for _ in range(depth):
        fan_in = h.shape[-1]
        w = _weights(n, fan_in, width, init, gen)
        b = torch.randn(n, 1, width, generator=gen, dtype=torch.float64) * bias_scale
        h = torch.relu(torch.bmm(h, w) + b)
    # The output layer is linear, so the net is constant iff the last hidden layer is.
    spread = (h.max(1).values - h.min(1).values).amax(-1)
    return int((spread == 0).sum())


def bound(depth: int, width: int) -> float:
    return 1.0 - (1.0 - 2.0**-width) ** (depth - 1)


def run(cfg, device) -> TrainResult:
    p = cfg.params
    gen = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for init in p.inits:
        for width in p.widths:
            for depth in p.depths:
                k, done = 0, 0
                while done < p.samples:
                    m = min(p.chunk, p.samples - done)
                    k += constant_fraction(depth, width, init, m, cfg.model.bias_scale, p.R, p.grid, gen)
                    done += m
                lo, hi = clopper_pearson(k, p.samples, p.level)
                common = {"step": 0, "layer": None, "depth": depth, "width": width, "init": init,
                          "samples": p.samples}
                rows += [{**common, "metric": "born_dead_probability", "value": k / p.samples},
                         {**common, "metric": "born_dead_ci_low", "value": lo},
                         {**common, "metric": "born_dead_ci_high", "value": hi},
                         {**common, "metric": "born_dead_bound", "value": bound(depth, width)}]
    return TrainResult(rows=rows)


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["metric"].str.startswith("born_dead")]
    return d.pivot_table(index=["run_id", "bias_scale", "init", "width", "depth"], columns="metric",
                         values="value").reset_index()


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    w = _wide(df)
    out: list[Claim] = []
    he0 = w[(w["init"] == "he") & (w["bias_scale"] == 0)]
    statement = ("With zero biases the born-dead probability stays at or below 1 - (1 - 2^-width)^(depth-1) "
                 "(every interval reaches the bound's side).")
    if he0.empty:
        out.append(no_data(NAME, "below_bound", statement, "empirical", "<= bound", "no zero-bias He runs"))
    else:
        above = he0[he0["born_dead_ci_low"] > he0["born_dead_bound"]]
        excess = float((he0["born_dead_probability"] - he0["born_dead_bound"]).max())
        out.append(Claim(NAME, "below_bound", statement, "empirical", excess, "<= 0 (estimate - bound)",
                         REPRODUCED if above.empty else NOT_REPRODUCED,
                         detail=f"{len(above)} of {len(he0)} settings with the whole interval above the bound"
                                + ("" if above.empty else ": " + ", ".join(
                                    f"w={int(r.width)} d={int(r.depth)}: {r.born_dead_probability:.3f} > {r.born_dead_bound:.3f}"
                                    for r in above.head(5).itertuples()))))
    statement = "At fixed width the born-dead probability tends to 1 with depth."
    for width, g in he0.groupby("width"):
        g = g.sort_values("depth")
        deepest = g.iloc[-1]
        rising = bool(np.all(np.diff(g["born_dead_probability"].values) >= -0.03))
        limit = bound(int(deepest["depth"]) * 10, int(width))  # far deeper: the bound's limit
        near_one = deepest["born_dead_ci_high"] >= 0.95
        verdict = REPRODUCED if rising and near_one else PARTLY if rising else NOT_REPRODUCED
        out.append(Claim(NAME, f"tends_to_one[width={int(width)}]", statement, "empirical",
                         float(deepest["born_dead_probability"]), "rising towards 1", verdict,
                         float(deepest["born_dead_ci_low"]), float(deepest["born_dead_ci_high"]),
                         detail=f"at depth {int(deepest['depth'])}; bound there {deepest['born_dead_bound']:.3f}, "
                                f"bound at 10x depth {limit:.3f}"))
    rai = w[w["init"] == "rai"]
    if not rai.empty and not he0.empty:
        m = he0.merge(rai, on=["bias_scale", "width", "depth"], suffixes=("_he", "_rai"))
        diff = m["born_dead_probability_he"] - m["born_dead_probability_rai"]
        out.append(Claim(NAME, "rai_lowers", "Randomized asymmetric initialization lowers the born-dead probability.",
                         "empirical", float(diff.mean()), "> 0 (He minus RAI, mean over settings)",
                         REPRODUCED if diff.mean() > 0 and (diff >= -0.03).all() else PARTLY if diff.mean() > 0 else NOT_REPRODUCED,
                         detail=f"largest reduction {diff.max():.3f} at width {int(m.loc[diff.idxmax(), 'width'])}, "
                                f"depth {int(m.loc[diff.idxmax(), 'depth'])}"))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    w = _wide(df)
    if w.empty:
        return {}
    biases = sorted(w["bias_scale"].unique())
    inits = [i for i in INITS if i in set(w["init"])]
    fig, axes = plt.subplots(1, len(inits) * len(biases), figsize=(4.0 * len(inits) * len(biases), 3.4),
                             squeeze=False, sharey=True)
    widths = sorted(w["width"].unique())
    col = colors(widths)
    for ax, (init, b) in zip(axes[0], [(i, b) for b in biases for i in inits]):
        d = w[(w["init"] == init) & (w["bias_scale"] == b)]
        for width in widths:
            g = d[d["width"] == width].sort_values("depth")
            ax.plot(g["depth"], g["born_dead_probability"], "o-", color=col[width], label=f"width {int(width)}")
            ax.fill_between(g["depth"], g["born_dead_ci_low"], g["born_dead_ci_high"], color=col[width], alpha=0.2)
            if b == 0:
                ax.plot(g["depth"], g["born_dead_bound"], "--", color=col[width], lw=0.9)
        ax.set_title(f"{'He normal' if init == 'he' else 'RAI'}, σ_b = {b:g}")
        ax.set_xlabel("depth")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("P(constant function at birth)")
    axes[0][0].plot([], [], "k--", lw=0.9, label="1 - (1 - 2^-w)^(d-1)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Born dead: deep narrow ReLU nets at initialization (95% Clopper-Pearson bands)")
    fig.tight_layout()
    return {"born_dead": fig}
