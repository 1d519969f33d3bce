"""Vanishing gradients stall learning although the error is large.

Run the default grid:  actlab -m experiment=saturation
One point:             actlab experiment=saturation activation=tanh task.input_scale=30

Inputs are multiplied by a saturation factor alpha (task.input_scale). For tanh and sigmoid the
first layer's pre-activations grow with alpha until phi'(z) is ~0 for almost every input, so the
gradient reaching the first layer per unit of error (grad_per_error = grad_norm(layer 1) / loss)
collapses while the loss is still large. relu, which does not saturate, is the control.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.plotting import colors, plt, use_style
from actlab.runner import train_run, train_runs

NAME = "saturation"
SATURATING = ("tanh", "sigmoid")


@dataclass
class Params:
    high_saturation: float = 0.9  # "towards 1": first-layer saturated fraction at the largest alpha
    grad_drop: float = 1e-2  # grad_per_error(largest alpha) / grad_per_error(alpha = 1) below this
    stalled: float = 0.8  # final loss / initial loss above this = "stays near its initial value"
    learns: float = 0.5  # final loss / initial loss below this at alpha = 1 = "learns"


def run(cfg, device):
    return _finish(cfg, train_run(cfg, device, desc=f"{NAME} {cfg.activation.name} alpha={cfg.task.input_scale:g}"))


def run_seeds(cfg, device, seeds):
    desc = f"{NAME} {cfg.activation.name} alpha={cfg.task.input_scale:g} x{len(seeds)}"
    return {s: _finish(cfg, r) for s, r in train_runs(cfg, device, seeds, desc=desc).items()}


def _finish(cfg, res):
    extra = []
    for r in res.rows:
        r["alpha"] = cfg.task.input_scale
    by_step: dict[int, dict] = {}
    for r in res.rows:
        if r["metric"] == "loss" and r["layer"] is None:
            by_step.setdefault(r["step"], {})["loss"] = r["value"]
        if r["metric"] in ("grad_norm", "delta_rms") and r["layer"] == 1:
            by_step.setdefault(r["step"], {})[r["metric"]] = r["value"]
    for step, d in sorted(by_step.items()):
        if "loss" in d and "grad_norm" in d and d["loss"] > 0:
            for key, metric in (("grad_norm", "grad_per_error"), ("delta_rms", "delta_per_error")):
                extra.append({"step": step, "layer": None, "metric": metric,
                              "value": d[key] / d["loss"], "alpha": cfg.task.input_scale})
    res.rows += extra
    return res


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: initial and final loss, first-layer saturation and grad_per_error at init."""
    keys = ["run_id", "activation", "alpha", "seed"]
    d0 = df[df["step"] == 0]
    sat = d0[(d0["metric"] == "saturated_fraction") & (d0["layer"] == 1)].set_index(keys)["value"]
    gpe = d0[d0["metric"] == "grad_per_error"].set_index(keys)["value"]
    dpe = d0[d0["metric"] == "delta_per_error"].set_index(keys)["value"]
    loss = df[df["metric"] == "loss"].sort_values("step")
    first = loss.groupby(keys)["value"].first()
    last = loss.groupby(keys)["value"].last()
    out = pd.DataFrame({"saturated": sat, "grad_per_error": gpe, "delta_per_error": dpe, "loss0": first, "loss_end": last})
    out["loss_ratio"] = out["loss_end"] / out["loss0"]
    return out.reset_index()


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    p = p or Params()
    runs = per_run(df)
    out: list[Claim] = []
    if runs.empty:
        return [no_data(NAME, "saturation", "", "empirical", "", "no runs")]
    a_lo, a_hi = runs["alpha"].min(), runs["alpha"].max()
    for act in [a for a in (*SATURATING, "relu") if a in set(runs["activation"])]:
        r = runs[runs["activation"] == act]
        lo, hi = r[r["alpha"] == a_lo], r[r["alpha"] == a_hi]
        tag = f"[{act},alpha={a_hi:g}]"
        saturating = act in SATURATING
        # 1. saturated fraction rises towards 1
        means = r.groupby("alpha")["saturated"].mean()
        m, ci_lo, ci_hi = mean_ci(hi["saturated"])
        rising = bool(np.all(np.diff(means.values) >= -1e-9))
        ok = rising and m >= p.high_saturation
        out.append(Claim(NAME, "saturated_fraction" + tag,
                         "As alpha grows the first layer's saturated fraction rises towards 1.",
                         "empirical", m, f">= {p.high_saturation:g}, rising with alpha",
                         (REPRODUCED if ok and ci_lo >= p.high_saturation else PARTLY if ok else NOT_REPRODUCED)
                         if saturating else "control", ci_lo, ci_hi,
                         detail="mean by alpha: " + ", ".join(f"{k:g}: {v:.3f}" for k, v in means.items())))
        # 2. gradient per unit of error collapses: for the weights (dLoss/dW_1, which also scales
        # with the input, so alpha partly pays it back) and for the pre-activations (dLoss/dz_1)
        for key, what in (("grad_per_error", "dLoss/dW_1"), ("delta_per_error", "dLoss/dz_1")):
            ratio = hi.set_index("seed")[key] / lo.set_index("seed")[key]
            gm, g_lo, g_hi = (10 ** x for x in mean_ci(np.log10(ratio.dropna())))
            verdict = (REPRODUCED if g_hi < p.grad_drop else PARTLY if gm < p.grad_drop else NOT_REPRODUCED)
            out.append(Claim(NAME, f"{key}_drop" + tag,
                             f"The first layer's gradient per unit of error ({what}) falls by orders of magnitude.",
                             "empirical", gm, f"< {p.grad_drop:g} (ratio to alpha = {a_lo:g})",
                             verdict if saturating else "control", g_lo, g_hi,
                             detail=f"geometric mean over {len(ratio.dropna())} seeds of the ratio at init"))
        # 3. the loss stalls at large alpha but not at alpha = 1
        m_hi, l_hi, h_hi = mean_ci(hi["loss_ratio"])
        m_lo, l_lo, h_lo = mean_ci(lo["loss_ratio"])
        stalls, learns = m_hi >= p.stalled, m_lo <= p.learns
        # the claim is the stall; learning at alpha = 1 is its control
        verdict = (REPRODUCED if learns else PARTLY) if stalls else NOT_REPRODUCED
        out.append(Claim(NAME, "learning_stalls" + tag,
                         "At large alpha the loss stays near its initial value; at alpha = 1 it falls.",
                         "empirical", m_hi, f">= {p.stalled:g} (alpha = {a_hi:g}); <= {p.learns:g} (alpha = {a_lo:g})",
                         verdict if saturating else "control", l_hi, h_hi,
                         detail=f"final/initial loss: alpha={a_hi:g}: {m_hi:.3f} [{l_hi:.3f}, {h_hi:.3f}]; "
                                f"alpha={a_lo:g}: {m_lo:.3f} [{l_lo:.3f}, {h_lo:.3f}]"))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    runs = per_run(df)
    if runs.empty:
        return {}
    acts = [a for a in ("tanh", "sigmoid", "relu") if a in set(runs["activation"])] + sorted(
        set(runs["activation"]) - {"tanh", "sigmoid", "relu"})
    alphas = sorted(runs["alpha"].unique())
    col_a = colors(alphas)
    col_act = colors(acts)
    fig, axes = plt.subplots(1, len(acts) + 2, figsize=(3.0 * (len(acts) + 2), 3.1))
    loss = df[df["metric"] == "loss"]
    for ax, act in zip(axes, acts):
        for a in alphas:
            g = loss[(loss["activation"] == act) & (loss["alpha"] == a)]
            s = g.groupby("step")["value"].agg(["mean", "min", "max"])
            ax.plot(s.index, s["mean"], color=col_a[a], label=f"α={a:g}")
            ax.fill_between(s.index, s["min"], s["max"], color=col_a[a], alpha=0.2)
        ax.set_title(f"{act}: training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (MSE)")
        ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    for act in acts:
        r = runs[runs["activation"] == act].groupby("alpha")
        for ax, key, style in ((axes[-2], "saturated", "o-"), (axes[-1], "grad_per_error", "o-"),
                               (axes[-1], "delta_per_error", "s--")):
            s = r[key].agg(["mean", "min", "max"])
            ax.plot(s.index, s["mean"], style, color=col_act[act],
                    label=act if key != "delta_per_error" else None)
            ax.fill_between(s.index, s["min"], s["max"], color=col_act[act], alpha=0.2)
    axes[-2].set_ylabel("saturated fraction, layer 1 (init)")
    axes[-1].set_ylabel("per unit of loss, layer 1 (init)")
    axes[-1].plot([], [], "k-", label="|dL/dW₁| / loss")
    axes[-1].plot([], [], "k--", label="rms dL/dz₁ / loss")
    axes[-1].legend(fontsize=7)
    axes[-1].set_yscale("log")
    for ax in axes[-2:]:
        ax.set_xscale("log")
        ax.set_xlabel("input scale α")
    axes[-2].legend(fontsize=7)
    fig.suptitle("Inputs scaled by α: first-layer saturation, its gradient per unit of error, and learning")
    fig.tight_layout()
    return {"saturation": fig}
