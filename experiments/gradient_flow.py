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

from actlab.claims import FAIL, PASS, Claim, geo_mean_ci, no_data, verdict_below, verdict_within
from actlab.plotting import colors, plt, use_style
from actlab.runner import train_run, train_runs

NAME = "gradient_flow"


@dataclass
class Params:
    # Claim thresholds (what "orders of magnitude" and "a small factor" mean here).
    vanish_max_ratio: float = 1e-2  # sigmoid: grad_norm(layer 1) / grad_norm(layer depth) below this
    relu_max_factor: float = 10.0  # relu at s = sqrt 2: that ratio within [1/f, f]
    growth_rel_tol: float = 0.01  # exploding: fitted log-growth within 1% of ln(s a)


def run(cfg, device):
    return train_run(cfg, device, desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth}")


def run_seeds(cfg, device, seeds):
    return train_runs(cfg, device, seeds, desc=f"{NAME} {cfg.activation.name} d={cfg.model.depth} x{len(seeds)}")


def _init_rows(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    d = df[(df["step"] == 0) & (df["metric"] == metric) & df["layer"].notna()]
    return d.astype({"layer": int})


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    out: list[Claim] = []
    delta = _init_rows(df, "delta_rms")

    # Exploding: the fitted per-layer growth of delta_rms towards the input equals s*a exactly.
    lin = delta[(delta["activation"] == "linear") & (delta["init"] == "orthogonal")
                & (delta["layer"] <= delta["depth"]) & (delta["depth"] >= 2)]
    statement = ("With phi(z) = a z and orthogonal weights scaled by s, delta_rms grows by exactly "
                 "s*a per layer towards the input.")
    if lin.empty:
        out.append(no_data(NAME, "exploding_growth", statement, "math", "s*a",
                           "no linear runs with orthogonal init and depth >= 2"))
    for (a, s), g in lin.groupby(["slope", "weight_scale"]):
        growth = []
        for _, run in g.groupby("run_id"):
            slope = np.polyfit(run["layer"], np.log(run["value"]), 1)[0]
            growth.append(-slope)
        growth = np.array(growth)
        expected = math.log(s * a)
        err = np.abs(growth - expected)
        ok = bool(np.all(err <= p.growth_rel_tol * abs(expected) + 1e-5))
        out.append(Claim(
            NAME, f"exploding_growth[a={a:g},s={s:g}]", statement, "math",
            measured=float(np.exp(growth.mean())), expected=f"{s * a:.6g} (= s*a)",
            verdict=PASS if ok else FAIL,
            ci_low=float(np.exp(growth.min())), ci_high=float(np.exp(growth.max())),
            detail=f"{len(growth)} runs; worst |log-growth error| {err.max():.2e} "
                   f"(tolerance {p.growth_rel_tol:.0%} of ln(s*a) = {expected:.4f}); range over runs",
        ))

    # Vanishing: first- vs last-hidden-layer gradient norm at initialization, deepest nets.
    gn = _init_rows(df, "grad_norm")
    gn = gn[gn["layer"] <= gn["depth"]]
    ratios = []
    for run_id, g in gn.groupby("run_id"):
        by_layer = g.set_index("layer")["value"]
        first = g.iloc[0]
        ratios.append({"run_id": run_id, "activation": first["activation"], "depth": first["depth"],
                       "weight_scale": first["weight_scale"],
                       "ratio": by_layer[1] / by_layer[int(first["depth"])]})
    ratios = pd.DataFrame(ratios, columns=["run_id", "activation", "depth", "weight_scale", "ratio"])
    sig = ratios[ratios["activation"] == "sigmoid"]
    statement = ("With sigmoid, the first layer's gradient norm is orders of magnitude below the "
                 "last hidden layer's in a deep net.")
    if sig.empty:
        out.append(no_data(NAME, "vanishing_sigmoid", statement, "empirical",
                           f"< {p.vanish_max_ratio:g}", "no sigmoid runs"))
    else:
        depth = sig["depth"].max()
        for s, g in sig[sig["depth"] == depth].groupby("weight_scale"):
            m, lo, hi = geo_mean_ci(g["ratio"])
            out.append(Claim(
                NAME, f"vanishing_sigmoid[depth={depth},s={s:g}]", statement, "empirical", m,
                f"< {p.vanish_max_ratio:g}", verdict_below(m, hi, p.vanish_max_ratio), lo, hi,
                f"grad_norm(layer 1) / grad_norm(layer {depth}), geometric mean over {len(g)} seeds",
            ))
    relu = ratios[(ratios["activation"] == "relu") & np.isclose(ratios["weight_scale"], math.sqrt(2), atol=1e-3)]
    statement = "ReLU with He scale sqrt(2) keeps the first layer's gradient within a small factor of the last."
    f = p.relu_max_factor
    if relu.empty:
        out.append(no_data(NAME, "relu_he_preserved", statement, "empirical",
                           f"in [{1 / f:g}, {f:g}]", "no relu runs at weight_scale sqrt(2)"))
    else:
        depth = relu["depth"].max()
        g = relu[relu["depth"] == depth]
        m, lo, hi = geo_mean_ci(g["ratio"])
        out.append(Claim(
            NAME, f"relu_he_preserved[depth={depth}]", statement, "empirical", m,
            f"in [{1 / f:g}, {f:g}]", verdict_within(m, lo, hi, 1 / f, f), lo, hi,
            f"grad_norm(layer 1) / grad_norm(layer {depth}), geometric mean over {len(g)} seeds",
        ))
    return out


def figures(df: pd.DataFrame) -> dict:
    """delta_rms per layer at initialization for the deepest nets: one panel per activation, one
    line per weight scale (geometric mean over seeds, band = min..max), theory dashed for linear."""
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
            stats = g.groupby("layer")["value"].agg(
                gm=lambda v: float(np.exp(np.log(v).mean())), lo="min", hi="max")
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
