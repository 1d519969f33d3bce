"""One Swish neuron fits a dip that no monotone activation can.

Run the default grid:  actlab -m experiment=nonmonotonic
One activation:        actlab experiment=nonmonotonic activation=swish seed=3

A single neuron y = c * phi(w x + b) + d (four parameters) is fit by full-batch Adam to a target
that is high at both ends and low in the middle. With a monotone phi the neuron is monotone in x,
so the best it can do is a step or a ramp; swish and gelu have a minimum, so one neuron can turn.
Restarts from several random initializations are trained together as one batched computation;
the best restart counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.plotting import colors, plt, use_style
from actlab.trainer import TrainResult

NAME = "nonmonotonic"
NON_MONOTONE = ("swish", "gelu")


@dataclass
class Params:
    restarts: int = 16
    steps: int = 2000
    lr: float = 0.05
    n_points: int = 200
    x_range: float = 3.0
    much_lower: float = 0.5  # "much lower": below this fraction of the best monotone error


def target(x: torch.Tensor) -> torch.Tensor:
    """High at both ends, a dip to 0 in the middle."""
    return 1 - torch.exp(-(x**2) / 0.8)


def fit(act, p, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best-of-restarts fit; returns (mse of each restart, x, best prediction)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-p.x_range, p.x_range, p.n_points, dtype=torch.float64)
    y = target(x)
    theta = torch.randn(p.restarts, 4, generator=g, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=p.lr)

    def predict(th):
        w, b, c, d = th[:, 0:1], th[:, 1:2], th[:, 2:3], th[:, 3:4]
        return c * act(w * x[None, :] + b) + d

    for _ in range(p.steps):
        loss = ((predict(theta) - y) ** 2).mean(1)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    with torch.no_grad():
        pred = predict(theta)
        mse = ((pred - y) ** 2).mean(1)
        mse = torch.where(torch.isfinite(mse), mse, torch.full_like(mse, float("inf")))
    return mse, x, pred[int(mse.argmin())]


def run(cfg, device) -> TrainResult:
    p = cfg.params
    act = get_activation(cfg.activation)
    mse, x, best = fit(act, p, cfg.seed)
    rows = [{"step": p.steps, "layer": None, "metric": "mse", "value": float(mse.min())},
            {"step": p.steps, "layer": None, "metric": "mse_median_restart", "value": float(mse.median())}]
    rows += [{"step": p.steps, "layer": None, "metric": "fit", "value": float(v), "x": float(xi)}
             for xi, v in zip(x.tolist(), best.tolist())]
    return TrainResult(rows=rows, final={"mse": float(mse.min())})


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    mse = df[df["metric"] == "mse"]
    out: list[Claim] = []
    mono = mse[~mse["activation"].isin(NON_MONOTONE)]
    if mono.empty or mse[mse["activation"].isin(NON_MONOTONE)].empty:
        return [no_data(NAME, "nonmonotone_fits", "", "empirical", "", "need monotone and non-monotone runs")]
    by_act = mono.groupby("activation")["value"].mean()
    best_mono = by_act.idxmin()
    ref = mono[mono["activation"] == best_mono].set_index("seed")["value"]
    for act in NON_MONOTONE:
        g = mse[mse["activation"] == act].set_index("seed")["value"]
        if g.empty:
            continue
        both = g.index.intersection(ref.index)
        ratio = (g[both] / ref[both]).values
        m, lo, hi = (10**v for v in mean_ci(np.log10(ratio)))
        verdict = REPRODUCED if hi < p.much_lower else PARTLY if m < 1 else NOT_REPRODUCED
        out.append(Claim(NAME, f"nonmonotone_fits[{act}]", f"One {act} neuron fits the dip with a much lower "
                         "error than the best monotone activation.", "empirical", m,
                         f"< {p.much_lower:g} (mse ratio to {best_mono})", verdict, lo, hi,
                         detail=f"paired over {len(both)} seeds; mean mse: "
                                + ", ".join(f"{a}: {v:.4f}" for a, v in mse.groupby("activation")["value"].mean().items())))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    fits = df[df["metric"] == "fit"]
    mse = df[df["metric"] == "mse"]
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
        axes[0].plot(g["x"], g["value"], color=col[act], label=act, ls="-" if act in NON_MONOTONE else "--")
    axes[0].set_xlabel("x")
    axes[0].set_ylabel("y")
    axes[0].set_title("best one-neuron fit (seed 0)")
    axes[0].legend(fontsize=7)
    stats = [(a, *mean_ci(mse[mse["activation"] == a]["value"])) for a in acts]
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
