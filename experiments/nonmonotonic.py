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
from actlab.claims import Claim, Kind, below, empirical, no_data, over_seeds
from actlab.experiment import Experiment
from actlab.trainer import RunResult

NAME = "nonmonotonic"
NON_MONOTONE = ("swish", "gelu")  # each has an interior minimum: one neuron can turn
# Monotone activations (non-decreasing, or for a negative `linear` slope non-increasing): one
# neuron c * phi(w x + b) + d built from them is monotone in x. Others are ignored by the claims.
MONOTONE = ("identity", "linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus")


@dataclass
class Params:
    restarts: int = 16
    steps: int = 2000
    lr: float = 0.05
    n_points: int = 200
    x_range: float = 3.0


@dataclass(frozen=True)
class Thresholds:
    # "Much lower error" (the article: 低得多的误差): the non-monotone neuron's best MSE must be
    # below half the best monotone one's, i.e. the geometric-mean ratio over seeds < 0.5. A factor
    # of two is the smallest gap we would call "much"; a ratio near 1 is "about the same".
    much_lower: float = 0.5


THRESHOLDS = Thresholds()


def target(x: torch.Tensor) -> torch.Tensor:
    """High at both ends, a dip to 0 in the middle."""
    return 1 - torch.exp(-(x**2) / 0.8)


def fit_one_neuron(act, p, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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


def run(cfg, device) -> RunResult:
    p = cfg.params
    act = get_activation(cfg.activation)
    mse, x, best = fit_one_neuron(act, p, cfg.seed)
    rows = [{"step": p.steps, "layer": None, "metric": "mse", "value": float(mse.min())},
            {"step": p.steps, "layer": None, "metric": "mse_median_restart",
             "value": float(mse.median())}]
    rows += [{"step": p.steps, "layer": None, "metric": "fit", "value": float(v), "x": float(xi)}
             for xi, v in zip(x.tolist(), best.tolist())]
    return RunResult(rows=rows, final={"mse": float(mse.min())})


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per seed per activation: the best restart's MSE (`mse`), the median restart's, and
    whether the activation is monotone. `diverged` marks a run whose status is not ok or whose
    best MSE is not finite (every restart blew up); its mse is NaN."""
    cols = ["seed", "label", "activation", "monotone", "mse", "mse_median_restart", "diverged"]
    d = df[df["metric"].isin(["mse", "mse_median_restart"])]
    if d.empty:
        return pd.DataFrame(columns=cols)
    if "status" not in d.columns:
        d = d.assign(status="ok")
    # an activation run with several parameter values (swish beta 1 and 10, leaky slopes) is one
    # condition per value: the label names them, and the mean below never averages across them
    d = d.assign(label=_labels(d))
    s = (d.groupby(["seed", "label", "activation", "status", "metric"])["value"].mean()
         .unstack("metric").reset_index())
    s.columns.name = None
    if "mse_median_restart" not in s.columns:
        s["mse_median_restart"] = np.nan
    s["diverged"] = (s["status"] != "ok") | ~np.isfinite(s["mse"].astype(float))
    s.loc[s["diverged"], "mse"] = np.nan
    s["monotone"] = s["activation"].map(lambda a: True if a in MONOTONE
                                        else False if a in NON_MONOTONE else None)
    return s[cols].sort_values(["label", "seed"]).reset_index(drop=True)


ACT_PARAMS = ("slope", "beta", "elu_alpha", "approximate")


def _labels(d: pd.DataFrame) -> pd.Series:
    """The activation's name, plus its parameters where the table has several values of them for
    that activation ("swish beta=10"); the bare name when it has one."""
    params = [c for c in ACT_PARAMS if c in d.columns]
    label = d["activation"].astype(str)
    for _, g in d.groupby("activation"):
        varying = [c for c in params if g[c].nunique(dropna=False) > 1]
        for c in varying:
            v = g[c].map(lambda x: "none" if pd.isna(x)
                         else f"{x:g}" if isinstance(x, (int, float)) else str(x))
            label.loc[g.index] = label.loc[g.index] + f" {c}=" + v
    return label


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    t = THRESHOLDS
    s = summary
    out: list[Claim] = []
    mono = s[s["monotone"] == True]  # noqa: E712 (None: neither list)
    nonmono = s[s["monotone"] == False]  # noqa: E712
    if mono.empty or nonmono.empty:
        return [no_data(experiment=NAME, claim="nonmonotone_fits",
                        statement="A non-monotone neuron fits "
                                  "the dip much better than a monotone one.", kind=Kind.EMPIRICAL,
                        why="need monotone and non-monotone runs")]
    # Reference per seed: the minimum MSE over the monotone activations of that seed (diverged
    # ones left out). Taking each seed's own best makes the reference as low as possible, so the
    # choice can only make the claim harder, never easier.
    if "label" not in s.columns:
        s = s.assign(label=s["activation"])
        mono, nonmono = (mono.assign(label=mono["activation"]),
                         nonmono.assign(label=nonmono["activation"]))
    grid = mono.pivot_table(index="seed", columns="label", values="mse", aggfunc="first")
    best = grid.min(axis=1, skipna=True)
    which = grid.dropna(how="all").idxmin(axis=1)
    picked = ", ".join(f"{a} {n}x" for a, n in which.value_counts().items())
    labels = sorted(set(nonmono["label"]), key=lambda x: (NON_MONOTONE.index(x.split()[0]), x))
    for act in labels:
        g = nonmono[nonmono["label"] == act].set_index("seed")["mse"]
        both = g.index.intersection(best.index)
        ratio = (g[both] / best[both]).sort_index()
        rule = below(t.much_lower)
        n_div = int(nonmono[nonmono["label"] == act]["diverged"].sum())
        out.append(empirical(
            experiment=NAME, claim=f"nonmonotone_fits[{act}]",
            statement=f"One {act} neuron fits the dip with a much lower error than the best "
                      "monotone activation.",
            rule=rule, evidence=over_seeds(ratio.values, rule, log=True),
            expected=f"< {t.much_lower:g} (geometric mean over seeds of "
                     f"mse({act}) / min monotone mse)",
            detail=f"paired by seed: per seed the ratio to the lowest monotone MSE of that seed "
                   f"(chosen per seed: {picked}); {len(both)} seeds; {n_div} {act} seed(s) "
                   "diverged (left out; a monotone activation that diverged is left out of that "
                   "seed's minimum); mean mse: "
                   + ", ".join(f"{a}: {v:.4f}"
                               for a, v in s.groupby("label")["mse"].mean().items())))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="One Swish neuron fits a dip that no monotone activation can.",
    summary=(
        "A single neuron y = c * phi(w x + b) + d is fit by full-batch Adam, best of several "
        "restarts trained together, to a target that is high at both ends and low in the "
        "middle, per activation and seed. Claimed: swish and gelu, which have a minimum, fit "
        "the dip with a much lower error than the best monotone activation, whose single neuron "
        "can only be a step or a ramp."
    ),
    command="actlab -m experiment=nonmonotonic",
    params=Params,
    run=run,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.nonmonotonic:figures",
    # one hand-trained neuron: only the activation (optimizer settings are params)
    reads=("activation",),
)
