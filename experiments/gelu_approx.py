"""GELU and its two approximations.

Run the default grid:  actlab -m experiment=gelu_approx
One approximation:     actlab experiment=gelu_approx activation.approximate=sigmoid

Exact GELU is z * Phi(z). The tanh form 0.5 z (1 + tanh(sqrt(2/pi)(z + 0.044715 z^3))) and the
sigmoid form z * sigmoid(1.702 z) are cheaper. Each run measures its own form's maximum absolute
error against the exact function on [-6, 6] (float64), where that error peaks, GELU's minimum,
and then trains the same network with that form, so the final losses compare across seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.activations import get_activation
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.config import GeluApprox
from actlab.plotting import colors, plt, use_style
from actlab.runner import train_run, train_runs

NAME = "gelu_approx"
FORMS = ("none", "tanh", "sigmoid")


@dataclass
class Params:
    z_max: float = 6.0
    points: int = 120001


def curve(approximate: str, z_max: float, points: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z = torch.linspace(-z_max, z_max, points, dtype=torch.float64)
    exact = get_activation("gelu", approximate="none")(z)
    return z, exact, get_activation("gelu", approximate=approximate)(z)


def run(cfg, device):
    form = GeluApprox(cfg.activation.approximate).value
    return _finish(cfg, train_run(cfg, device, desc=f"{NAME} {form}"))


def run_seeds(cfg, device, seeds):
    form = GeluApprox(cfg.activation.approximate).value
    return {s: _finish(cfg, r) for s, r in train_runs(cfg, device, seeds, desc=f"{NAME} {form} x{len(seeds)}").items()}


def _finish(cfg, res):
    p = cfg.params
    form = GeluApprox(cfg.activation.approximate).value
    z, exact, approx = curve(form, p.z_max, p.points)
    err = (approx - exact).abs()
    i = int(err.argmax())
    j = int(exact.argmin())
    common = {"step": 0, "layer": None}
    res.rows += [{**common, "metric": "max_abs_error", "value": float(err[i])},
                 {**common, "metric": "max_abs_error_at", "value": float(z[i])},
                 {**common, "metric": "gelu_min", "value": float(exact[j])},
                 {**common, "metric": "gelu_min_at", "value": float(z[j])}]
    return res


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    out: list[Claim] = []
    err = df[df["metric"] == "max_abs_error"].groupby("approximate")["value"].first()
    at = df[df["metric"] == "max_abs_error_at"].groupby("approximate")["value"].first()
    # Recompute the reference from the formulas themselves, so the claim checks the pipeline.
    for form in ("tanh", "sigmoid"):
        if form not in err.index:
            continue
        z, exact, approx = curve(form, p.z_max, p.points)
        ref = float((approx - exact).abs().max())
        out.append(Claim(NAME, f"max_abs_error[{form}]",
                         f"The {form} form's largest deviation from exact GELU on [-{p.z_max:g}, {p.z_max:g}].",
                         "math", float(err[form]), f"{ref:.4g} (recomputed), at z = {float(at[form]):+.3f}",
                         "pass" if abs(err[form] - ref) <= 1e-12 else "fail"))
    gmin = df[df["metric"] == "gelu_min"]["value"]
    if not gmin.empty:
        z_at = float(df[df["metric"] == "gelu_min_at"]["value"].iloc[0])
        out.append(Claim(NAME, "gelu_min", "GELU is not monotone: it dips to a minimum below zero.", "math",
                         float(gmin.iloc[0]), f"< 0 at z = {z_at:+.4f}", "pass" if gmin.iloc[0] < 0 else "fail"))
    loss = df[df["metric"] == "test_loss"]
    final = loss[loss["step"] == loss.groupby("run_id")["step"].transform("max")]
    exact = final[final["approximate"] == "none"].set_index("seed")["value"]
    statement = "Training with an approximation gives the same final loss as exact GELU, within seed noise."
    if exact.empty:
        out.append(no_data(NAME, "same_training", statement, "empirical", "", "no exact runs"))
    for form in ("tanh", "sigmoid"):
        a = final[final["approximate"] == form].set_index("seed")["value"]
        both = exact.index.intersection(a.index)
        if len(both) < 2:
            continue
        diff = (a[both] - exact[both]).values
        m, lo, hi = mean_ci(diff)
        spread = float(np.std(exact[both].values, ddof=1))
        ok = lo <= 0 <= hi
        out.append(Claim(NAME, f"same_training[{form}]", statement, "empirical", m,
                         "paired difference CI contains 0", REPRODUCED if ok else
                         (PARTLY if abs(m) < spread else NOT_REPRODUCED), lo, hi,
                         detail=f"final test loss, {form} minus exact, paired over {len(both)} seeds; "
                                f"seed-to-seed std of exact {spread:.3g}"))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    p = Params()
    col = colors(FORMS)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for form in FORMS:
        z, exact, approx = curve(form, p.z_max, 2401)
        axes[0].plot(z, approx, color=col[form], label={"none": "exact z·Φ(z)", "tanh": "tanh form",
                                                        "sigmoid": "z·σ(1.702 z)"}[form],
                     ls="-" if form == "none" else "--")
        if form != "none":
            axes[1].plot(z, (approx - exact), color=col[form], label=form)
    axes[0].set_xlim(-4, 3)
    axes[0].set_ylim(-0.5, 3)
    axes[0].set_xlabel("z")
    axes[0].set_ylabel("GELU(z)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("z")
    axes[1].set_ylabel("approximation − exact")
    axes[1].legend(fontsize=7)
    loss = df[df["metric"] == "test_loss"]
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
