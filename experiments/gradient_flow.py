"""Gradient flow through depth: per-layer gradient statistics of deep MLPs.

Run the default grid:  actlab -m experiment=gradient_flow
One configuration:     actlab experiment=gradient_flow activation=tanh model.depth=10

Theory checked here. For phi(z) = a z and square orthogonal weights scaled by s, backprop gives
delta_l = a s Q_{l+1}^T delta_{l+1} exactly, so |delta| grows by exactly s*a per hidden layer
towards the input (s = 0.7, a = 1.8: 1.26 per layer). With sigmoid, phi' <= 1/4 shrinks the
signal at every layer, so the first layer's gradient is orders of magnitude below the last;
relu with s = sqrt(2) (He) keeps it within a small factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actlab.claims import (
    Claim,
    Kind,
    below,
    by_setting,
    empirical,
    math_claim,
    no_data,
    over_seeds,
    within,
)
from actlab.experiment import Experiment
from actlab.runner import train_one, train_seeds
from experiments.params import GradientFlowParams as Params

NAME = "gradient_flow"
CONDITION = ["activation", "slope", "init", "weight_scale", "depth", "width"]


@dataclass(frozen=True)
class Thresholds:
    # "Orders of magnitude" (sigmoid): grad_norm(layer 1) / grad_norm(last hidden layer) below
    # 1e-2, two decades. sigmoid' <= 1/4 bounds the per-layer factor by s/4, so a deep net is far
    # below this while a network that kept its gradient would sit near 1.
    vanish_max_ratio: float = 1e-2
    # "A small factor" (relu at He's scale, where mean-field chi_1 = s^2/2 = 1): that ratio within
    # [1/f, f], one decade either way; a per-layer factor 1.3 off 1 would leave it by depth 10.
    relu_max_factor: float = 10.0
    # Exploding (linear, orthogonal): each run's fitted log-growth within this fraction of ln(s*a)
    # (plus 1e-5 absolute, for s*a near 1). float32 rounding over 20 layers is ~1e-6; a wrong
    # per-layer factor (a, or s, instead of s*a) misses by far more than 1%.
    growth_rel_tol: float = 0.01


THRESHOLDS = Thresholds()


def run(cfg, device):
    return train_one(cfg, device, desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth}")


def run_seeds(cfg, device, seeds):
    return train_seeds(cfg, device, seeds,
                       desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth} x{len(seeds)}")


def _init_rows(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    d = df[(df["step"] == 0) & (df["metric"] == metric) & df["layer"].notna()]
    return d.astype({"layer": int})


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per run (= seed per condition): at initialization (step 0, measured before any
    step, so a run that diverged later in training still has them) the fitted per-layer growth of
    delta_rms towards the input over the hidden layers (`delta_growth`, exp of minus the slope of
    ln delta_rms against the layer) and grad_norm(layer 1) / grad_norm(last hidden layer)
    (`grad_ratio`); the run's status and whether it diverged in training."""
    cols = [*CONDITION, "seed", "status", "diverged", "delta_growth", "grad_ratio", "n_layers"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    runs = df.groupby("run_id")[[*CONDITION, "seed", "status"]].first()
    delta = _init_rows(df, "delta_rms")
    delta = delta[(delta["layer"] <= delta["depth"]) & (delta["value"] > 0)]
    growth, n_layers = {}, {}
    for rid, g in delta.groupby("run_id"):
        n_layers[rid] = len(g)
        if len(g) >= 2 and np.all(np.isfinite(g["value"])):
            growth[rid] = float(np.exp(-np.polyfit(g["layer"], np.log(g["value"]), 1)[0]))
    gn = _init_rows(df, "grad_norm")
    gn = gn[gn["layer"] <= gn["depth"]]
    ratio = {}
    for rid, g in gn.groupby("run_id"):
        by_layer = g.set_index("layer")["value"]
        last = int(g["depth"].iloc[0])
        if 1 in by_layer.index and last in by_layer.index and by_layer[last] > 0:
            ratio[rid] = float(by_layer[1] / by_layer[last])
    runs["delta_growth"] = pd.Series(growth, dtype=float)
    runs["grad_ratio"] = pd.Series(ratio, dtype=float)
    runs["n_layers"] = pd.Series(n_layers, dtype=float)
    runs["diverged"] = runs["status"] == "diverged"
    return runs.reset_index(drop=True)[cols].sort_values([*CONDITION, "seed"], ignore_index=True)


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    T = THRESHOLDS
    out: list[Claim] = []
    s = summary

    # Exploding: the fitted per-layer growth of delta_rms towards the input equals s*a exactly.
    statement = ("With phi(z) = a z and orthogonal weights scaled by s, delta_rms grows by exactly "
                 "s*a per layer towards the input.")
    lin = s[(s["activation"] == "linear") & (s["init"] == "orthogonal") & (s["depth"] >= 2)]
    if lin.empty:
        out.append(no_data(experiment=NAME, claim="exploding_growth", statement=statement,
                           kind=Kind.MATH, expected="s*a",
                           why="no linear runs with orthogonal init and depth >= 2"))
    for (a, sc), g in lin.groupby(["slope", "weight_scale"]):
        expected = math.log(sc * a)  # closed form: every hidden layer multiplies delta by s*a
        log_growth = np.log(g["delta_growth"].to_numpy(dtype=float))
        err = np.abs(log_growth - expected)
        tol = T.growth_rel_tol * abs(expected) + 1e-5
        worst = int(np.nanargmax(err)) if np.isfinite(err).any() else 0
        out.append(math_claim(
            experiment=NAME, claim=f"exploding_growth[a={a:g},s={sc:g}]", statement=statement,
            measured=float(np.exp(log_growth[worst])),
            expected=f"{sc * a:.6g} (= s*a, closed form)", ok=bool(np.all(err <= tol)), n=len(g),
            rule=f"every run's fitted growth within {T.growth_rel_tol:.0%} of ln(s*a) (+1e-5)",
            detail=f"{len(g)} runs (seeds x depths {sorted(int(d) for d in g['depth'].unique())}); "
                   f"measured: the run farthest from s*a; worst |log-growth error| "
                   f"{float(np.nanmax(err)) if np.isfinite(err).any() else math.nan:.2e} "
                   f"(tolerance {tol:.2e}); a run without a finite growth fails"))

    # Vanishing (sigmoid) and preserved (relu at He's scale): first/last hidden grad-norm ratio
    # at the deepest depth run, per seed; geometric mean and interval over seeds. Measured at
    # initialization: a seed that diverged later in training counts like any other.
    statement = ("With sigmoid, the first layer's gradient norm is orders of magnitude below the "
                 "last hidden layer's in a deep net.")
    rule = below(T.vanish_max_ratio)
    sig = s[s["activation"] == "sigmoid"]
    if sig.empty:
        out.append(no_data(experiment=NAME, claim="vanishing_sigmoid", statement=statement,
                           kind=Kind.EMPIRICAL, expected=str(rule), why="no sigmoid runs"))
    else:
        depth = int(sig["depth"].max())
        for sc, gs in sig[sig["depth"] == depth].groupby("weight_scale"):
            for tag, g in by_setting(gs, OTHER_CONDITIONS):
                out.append(empirical(
                    experiment=NAME, claim=f"vanishing_sigmoid[depth={depth},s={sc:g}{tag}]",
                    statement=statement, rule=rule,
                    evidence=over_seeds(g["grad_ratio"], rule, log=True),
                    detail=f"grad_norm(layer 1) / grad_norm(layer {depth}) at initialization per "
                           "seed (the deepest depth run); theory bounds the per-layer factor by "
                           f"s/4 = {sc / 4:.3g}"))

    he = math.sqrt(2.0)  # relu: chi_1 = s^2 / 2 = 1 at s = sqrt 2
    statement = ("ReLU with He scale sqrt(2) keeps the first layer's gradient within a small "
                 "factor of the last.")
    f = T.relu_max_factor
    rule = within(1 / f, f)
    relu = s[(s["activation"] == "relu") & np.isclose(s["weight_scale"], he, rtol=1e-4)]
    if relu.empty:
        out.append(no_data(experiment=NAME, claim="relu_he_preserved", statement=statement,
                           kind=Kind.EMPIRICAL, expected=str(rule),
                           why="no relu runs at weight_scale sqrt(2)"))
    else:
        depth = int(relu["depth"].max())
        for tag, g in by_setting(relu[relu["depth"] == depth], OTHER_CONDITIONS):
            out.append(empirical(
                experiment=NAME, claim=f"relu_he_preserved[depth={depth}{tag}]",
                statement=statement, rule=rule,
                evidence=over_seeds(g["grad_ratio"], rule, log=True),
                detail=f"grad_norm(layer 1) / grad_norm(layer {depth}) at initialization per seed "
                       f"(the deepest depth run), s = sqrt 2 where relu's chi_1 = s^2/2 = 1"))
    return out


# Settings a grid may vary besides activation, weight scale and depth: the interval of a claim is
# over the seeds of one of them (one row per seed), never over several pooled together.
OTHER_CONDITIONS = ("init", "width")


EXPERIMENT = Experiment(
    name=NAME,
    title="Gradient flow through depth: per-layer gradient statistics of deep MLPs.",
    summary=(
        "Deep MLPs over a grid of activations, weight scales and depths are trained for a short "
        "run, recording each hidden layer's backpropagated signal (delta_rms) and gradient norm "
        "at initialization. Claimed: with phi(z) = a z and square orthogonal weights scaled by "
        "s, delta_rms grows by exactly s*a per layer towards the input; with sigmoid the first "
        "layer's gradient norm is orders of magnitude below the last hidden layer's; relu at "
        "He's scale sqrt(2) keeps it within a small factor."
    ),
    command="actlab -m experiment=gradient_flow",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.gradient_flow:figures",
    # runner.train_one(s): the configured activation, model, task and trainer
    reads=("activation", "model", "task", "trainer"),
)
