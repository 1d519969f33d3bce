"""saturation's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actlab.claims import mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.saturation import (
    CONTROL,
    SATURATING,
    Params,
    _theory_applies,
    summarize,
    theory_fraction,
)

ACT_ORDER = ("tanh", "sigmoid", "relu")
CONTROL_STYLE = {"none": "-", "w1_rescaled": "--", "matched_loss": "--"}
CONTROL_LABEL = {"none": "", "w1_rescaled": " (W1/α)", "matched_loss": " (matched output rms)"}


def _variants(net: pd.DataFrame) -> list[tuple[str, str | None]]:
    """(design, push) panels in a fixed order."""
    found = {(d, p if isinstance(p, str) else None)
             for d, p in zip(net["design"], net["push"])}
    order = [("input_scale", None), ("all_layers", "weight"), ("all_layers", "bias")]
    return [v for v in order if v in found] + sorted(found - set(order), key=str)


def _title(design: str, push: str | None) -> str:
    return {("input_scale", None): "inputs × α (first layer)",
            ("all_layers", "weight"): "every hidden W × α",
            ("all_layers", "bias"): "every hidden bias + shift"}.get((design, push),
                                                                     f"{design} {push or ''}")


def _xaxis(ax, push: str | None) -> None:
    if push == "bias":
        ax.set_xlabel("bias shift")
        ax.set_xscale("symlog", linthresh=1.0)
    else:
        ax.set_xlabel("α")
        ax.set_xscale("log")


def _ci(v) -> tuple[float, float, float]:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return math.nan, math.nan, math.nan
    m, lo, hi = mean_ci(v)
    return m, (m if math.isnan(lo) else lo), (m if math.isnan(hi) else hi)


def _acts(s: pd.DataFrame) -> list[str]:
    acts = set(s["activation"])
    return [a for a in ACT_ORDER if a in acts] + sorted(acts - set(ACT_ORDER))


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    use_style()
    runs = summarize(df, params)
    if runs.empty:
        return {}
    out = {}
    net = runs[runs["design"] != "neuron"]
    if not net.empty:
        out["saturation"] = _loss_map(net)
        out["saturation_gradients"] = _gradients(net)
    neu = runs[runs["design"] == "neuron"]
    if not neu.empty:
        out["saturation_neuron"] = _neuron(df[df.get("design", "") == "neuron"], neu)
    return out


def _loss_map(net: pd.DataFrame):
    """Final / initial loss over the push, per design and activation (mean, 95% t interval over
    seeds; diverged trainings left out, counted in the legend), and the first layer's saturated
    fraction against its Gaussian theory."""
    variants = _variants(net)
    acts = _acts(net)
    col = colors(acts)
    fig, axes = plt.subplots(1, len(variants) + 1, figsize=(3.4 * (len(variants) + 1), 3.4),
                             squeeze=False)
    axes = axes[0]
    for ax, (design, push) in zip(axes, variants):
        v = net[(net["design"] == design)
                & ((net["push"] == push) if push else net["push"].isna())]
        for act in acts:
            for control in ("none", "w1_rescaled", "matched_loss"):
                g = v[(v["activation"] == act) & (v["control"] == control)]
                if g.empty:
                    continue
                st = [(a, *_ci(h["loss_ratio"]), int(h["diverged"].sum()))
                      for a, h in g.groupby("alpha")]
                st = pd.DataFrame(st, columns=["alpha", "m", "lo", "hi", "div"])
                ok = st["m"].notna()
                n_div = int(st["div"].sum())
                label = (f"{act}{CONTROL_LABEL[control]}"
                         + (f", {n_div} diverged" if n_div else ""))
                ax.errorbar(st["alpha"][ok], st["m"][ok],
                            yerr=[(st["m"] - st["lo"])[ok], (st["hi"] - st["m"])[ok]],
                            fmt="o" + CONTROL_STYLE[control], color=col[act], capsize=2,
                            ms=3.5, label=label, alpha=0.9 if control == "none" else 0.6)
        ax.axhline(1.0, color="k", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.set_ylabel("final / initial loss")
        ax.set_title(_title(design, push), fontsize=9)
        _xaxis(ax, push)
        ax.legend(fontsize=6)
    # the first layer's saturated fraction vs its Gaussian theory (control none)
    ax = axes[-1]
    for design, push in variants:
        v = net[(net["design"] == design) & (net["control"] != "w1_rescaled")
                & ((net["push"] == push) if push else net["push"].isna())]
        if push == "bias":
            continue  # another x axis (shift): its theory is checked by the claims
        for act in acts:
            g = v[v["activation"] == act]
            if g.empty:
                continue
            st = g.groupby("alpha")["saturated"].agg(["mean", "min", "max"])
            mk = "o" if design == "input_scale" else "s"
            ax.plot(st.index, st["mean"], mk, color=col[act], ms=4, mfc="none" if
                    design != "input_scale" else col[act],
                    label=f"{act}, {'inputs' if design == 'input_scale' else 'W'} × α")
            first = g.iloc[0]
            if act in (*SATURATING, CONTROL) and not _theory_applies(first):
                grid = np.geomspace(st.index.min(), st.index.max(), 60)
                th = [theory_fraction(act, a, first["weight_scale"], first["bias_scale"],
                                      first["in_dim"]) for a in grid]
                ax.plot(grid, th, ":", color=col[act], lw=1)
    ax.plot([], [], "k:", lw=1, label="Gaussian theory")
    ax.set_xscale("log")
    ax.set_xlabel("α")
    ax.set_ylabel("saturated fraction, layer 1 (init)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=6)
    fig.suptitle("Loss left after training by design, push and activation (mean, 95% CI over "
                 "seeds; dashed: controls); first-layer saturation vs theory", fontsize=10)
    fig.tight_layout()
    return fig


def _gradients(net: pd.DataFrame):
    """Per hidden layer, the gradient per unit of residual at init (rms dL/dz_l / rms residual)
    over the push: one row per activation, one column per design."""
    variants = _variants(net)
    acts = _acts(net)
    layers = sorted(int(c[4:]) for c in net.columns if c.startswith("gpr_")
                    and c[4:].isdigit() and net[c].notna().any())
    depth = pd.to_numeric(net["depth"], errors="coerce").max()
    if math.isfinite(depth):
        layers = [lay for lay in layers if lay <= depth]
    col = colors([f"layer {lay}" for lay in layers])
    fig, axes = plt.subplots(len(acts), len(variants),
                             figsize=(3.3 * len(variants), 2.6 * len(acts)), squeeze=False)
    for i, act in enumerate(acts):
        for j, (design, push) in enumerate(variants):
            ax = axes[i][j]
            v = net[(net["design"] == design) & (net["activation"] == act)
                    & ((net["push"] == push) if push else net["push"].isna())]
            control = "none" if (v["control"] == "none").any() else None
            if control is None and not v.empty:
                control = v["control"].iloc[0]
            v = v[v["control"] == control]
            for lay in layers:
                c = f"gpr_{lay}"
                # an exact 0 (float32 underflow) cannot be drawn on a log axis: left out
                st = v[v[c] > 0].groupby("alpha")[c].agg(["mean", "min", "max"])
                if st.empty:
                    continue
                ax.plot(st.index, st["mean"], "o-", ms=3, color=col[f"layer {lay}"],
                        label=f"layer {lay}")
                ax.fill_between(st.index, st["min"], st["max"], color=col[f"layer {lay}"],
                                alpha=0.2)
            ax.set_yscale("log")
            _xaxis(ax, push)
            ax.set_title(f"{act}{CONTROL_LABEL.get(control, '')}: {_title(design, push)}",
                         fontsize=8)
            if j == 0:
                ax.set_ylabel("rms dL/dz / rms residual")
    axes[0][0].legend(fontsize=6)
    fig.suptitle("Gradient per unit of residual at init, per hidden layer (mean, min-max over "
                 "seeds; exact zeros left out)", fontsize=10)
    fig.tight_layout()
    return fig


def _neuron(df: pd.DataFrame, neu: pd.DataFrame):
    """The neuron's output over the steps, per activation: each start (colour) under each cost
    (solid half_mse, dashed cross-entropy); mean and min-max over seeds (jittered starts)."""
    acts = _acts(neu)
    starts = sorted(neu["start"].unique())
    col = colors([f"start {s}" for s in starts])
    fig, axes = plt.subplots(1, len(acts), figsize=(3.4 * len(acts), 3.2), squeeze=False)
    out = df[df["metric"] == "output"]
    for ax, act in zip(axes[0], acts):
        for loss, ls in (("half_mse", "-"), ("cross_entropy", "--")):
            for s in starts:
                g = out[(out["activation"] == act) & (out["loss"] == loss)
                        & (out["start"] == s)]
                if g.empty:
                    continue
                st = g.groupby("step")["value"].agg(["mean", "min", "max"])
                r = neu[(neu["activation"] == act) & (neu["start"] == s)]
                ax.plot(st.index, st["mean"], ls, color=col[f"start {s}"], lw=1.3,
                        label=f"w0≈{r['w0'].mean():.2g}, b0≈{r['b0'].mean():.2g}, {loss}")
                ax.fill_between(st.index, st["min"], st["max"], color=col[f"start {s}"],
                                alpha=0.15)
        y = float(neu["y"].iloc[0])
        ax.axhline(y, color="k", lw=0.6, ls=":")
        ax.set_title(f"{act} neuron, target y={y:g}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("output a")
        ax.legend(fontsize=6)
    fig.suptitle("One neuron a = φ(w x + b) by gradient descent: a mildly and a badly wrong "
                 "start (mean, min-max over jittered starts)", fontsize=10)
    fig.tight_layout()
    return fig
