"""Alive but on life support: how long a unit pushed far into the negative region takes to return.

Run the default grid:  actlab -m experiment=softplus_revival
One activation:        actlab experiment=softplus_revival activation=leaky_relu activation.slope=0.1

One neuron y = phi(w x + b) fits the target y = 2x + 1 on x in [0, 1] by full-batch gradient
descent, starting from w = 0 and b = z0 (so every pre-activation equals z0 < 0). We count the steps
until the mean pre-activation is back above zero. The gradient that moves b is phi'(z):
leaky_relu: the slope, so the time grows like |z0| / slope; softplus: sigmoid(z) ~ e^z
(4.54e-5 at z = -10), so it grows like e^|z0|; relu: exactly 0, so never. All z0 of one activation
are trained together as independent neurons in one tensor computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, no_data
from actlab.plotting import colors, plt, use_style
from actlab.trainer import TrainResult

NAME = "softplus_revival"


@dataclass
class Params:
    z0s: list[float] = field(default_factory=lambda: [-1.0, -2.0, -3.0, -5.0, -7.0, -10.0, -20.0])
    lr: float = 0.5
    max_steps: int = 60000  # budget; units not back by then are "not revived" (censored)
    n_points: int = 64  # inputs x in [0, 1]


def steps_to_revive(act, z0s: list[float], lr: float, max_steps: int, n_points: int) -> list[float]:
    """For each z0, the first step at which mean(w x + b) > 0, or nan if not within max_steps."""
    x = torch.linspace(0, 1, n_points, dtype=torch.float64)[None, :]  # (1, n)
    y = 2 * x + 1
    k = len(z0s)
    w = torch.zeros(k, 1, dtype=torch.float64)
    b = torch.tensor(z0s, dtype=torch.float64)[:, None]
    out = torch.full((k,), math.nan, dtype=torch.float64)
    xm = x.mean()
    for step in range(1, max_steps + 1):
        z = w * x + b
        # MSE gradient by hand (exactly what autograd would give; cheaper in this tight loop)
        g = 2 * (act(z) - y) * act.deriv(z) / x.shape[1]
        w = w - lr * (g * x).sum(1, keepdim=True)
        b = b - lr * g.sum(1, keepdim=True)
        back = ((w[:, 0] * xm + b[:, 0]) > 0) & torch.isnan(out)
        if back.any():
            out[back] = step
            if not torch.isnan(out).any():
                break
    return out.tolist()


def run(cfg, device) -> TrainResult:
    p = cfg.params
    act = get_activation(cfg.activation)
    steps = steps_to_revive(act, list(p.z0s), p.lr, p.max_steps, p.n_points)
    rows = []
    for z0, s in zip(p.z0s, steps):
        common = {"step": 0, "layer": None, "z0": z0, "max_steps": p.max_steps}
        rows += [{**common, "metric": "steps_to_revive", "value": s},
                 {**common, "metric": "revived", "value": float(not math.isnan(s))},
                 {**common, "metric": "slope_at_z0", "value": float(act.deriv(torch.tensor(z0)))}]
    return TrainResult(rows=rows)


def _table(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["metric"].isin(["steps_to_revive", "revived", "slope_at_z0"])]
    d = d.assign(label=np.where(d["slope"].notna(), d["activation"] + " " + d["slope"].map("{:g}".format), d["activation"]))
    return d.pivot_table(index=["label", "activation", "z0"], columns="metric", values="value").reset_index()


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    t = _table(df)
    out: list[Claim] = []
    relu = t[t["activation"] == "relu"]
    statement = "A ReLU unit pushed below zero never revives (zero gradient)."
    if relu.empty:
        out.append(no_data(NAME, "relu_never", statement, "math", "0 revived", "no relu run"))
    else:
        n = int(relu["revived"].sum())
        out.append(Claim(NAME, "relu_never", statement, "math", float(n), "0 revived",
                         "pass" if n == 0 else "fail", detail=f"{len(relu)} starting points"))
    for label, g in t[t["activation"].isin(["softplus", "leaky_relu"])].groupby("label"):
        g = g[g["revived"] > 0.5]
        act = g["activation"].iloc[0] if len(g) else label
        if len(g) < 3:
            out.append(no_data(NAME, f"revival_time[{label}]", "", "empirical", "", "fewer than 3 revived points"))
            continue
        z = -g["z0"].values
        s = g["steps_to_revive"].values
        if act == "softplus":
            # time ~ e^|z0|: slope of ln(steps) vs |z0| near 1 (the deepest points dominate)
            deep = z >= 3
            slope = float(np.polyfit(z[deep], np.log(s[deep]), 1)[0]) if deep.sum() >= 2 else math.nan
            verdict = REPRODUCED if 0.8 <= slope <= 1.2 else PARTLY if slope > 0.5 else NOT_REPRODUCED
            out.append(Claim(NAME, f"revival_time[{label}]",
                             "Softplus units revive, but the time grows like e^|z0|.", "empirical", slope,
                             "d ln(steps) / d|z0| ~ 1", verdict,
                             detail="steps by z0: " + ", ".join(f"{-a:g}: {int(b)}" for a, b in zip(z, s))))
        else:
            # time ~ |z0| / slope: slope of ln(steps) vs ln|z0| near 1
            slope = float(np.polyfit(np.log(z), np.log(s), 1)[0])
            verdict = REPRODUCED if 0.8 <= slope <= 1.2 else PARTLY if slope > 0.5 else NOT_REPRODUCED
            out.append(Claim(NAME, f"revival_time[{label}]",
                             "Leaky ReLU units revive in a time that grows linearly in |z0| / slope.", "empirical",
                             slope, "d ln(steps) / d ln|z0| ~ 1", verdict,
                             detail="steps by z0: " + ", ".join(f"{-a:g}: {int(b)}" for a, b in zip(z, s))))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    t = _table(df)
    if t.empty:
        return {}
    labels = sorted(t["label"].unique())
    col = colors(labels)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    budget = float(df["max_steps"].max())
    for lab in labels:
        g = t[t["label"] == lab].sort_values("z0")
        ok = g["revived"] > 0.5
        axes[0].plot(-g.loc[ok, "z0"], g.loc[ok, "steps_to_revive"], "o-", color=col[lab], label=lab)
        axes[0].scatter(-g.loc[~ok, "z0"], np.full((~ok).sum(), budget), marker="^", color=col[lab])
        axes[1].plot(-g["z0"], g["slope_at_z0"].abs().clip(lower=1e-12), "o-", color=col[lab], label=lab)
    axes[0].axhline(budget, color="k", lw=0.8, ls=":")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("|z0| (initial pre-activation below zero)")
    axes[0].set_ylabel("steps to revive (▲ = not within budget)")
    axes[0].legend(fontsize=7)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("|z0|")
    axes[1].set_ylabel("|φ'(z0)| (floored at 1e-12; GELU's is negative)")
    fig.suptitle("On life support: time to bring a unit back from z0 < 0")
    fig.tight_layout()
    return {"softplus_revival": fig}
