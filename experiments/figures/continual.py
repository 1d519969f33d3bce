"""continual's figures, drawn from its table; imported only when figures are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actlab.claims import Verdict, mean_ci
from actlab.plotting import colors, plt, use_style
from experiments.continual import Params
from experiments.continual_claims import (
    LONG,
    REGIMES,
    claims,
    label,
    regime_cells,
    summarize,
)
from experiments.continual_measure import PROTECT_EPS

SLOPE_MARKERS = ("o", "s", "^", "D", "v")


def _scenario(sequence: str, head: str) -> str:
    return "permuted (domain-incr.)" if sequence == "permuted" else (
        f"split, {'task-masked' if head == 'task' else 'shared (class-incr.)'} head")


def _scenarios(s: pd.DataFrame) -> list[tuple[str, str]]:
    keys = s[["sequence", "head"]].drop_duplicates().itertuples(index=False)
    order = {("split", "task"): 0, ("split", "shared"): 1}
    return sorted({(a, b) for a, b in keys}, key=lambda k: order.get(k, 2))


def _sign_map(reg: pd.DataFrame, found: dict):
    """leaky minus relu forgetting of task 0 per cell (Bonferroni interval of the claim), against
    relu's inactive fraction at the start of the later tasks."""
    cells = regime_cells(reg)
    scen = _scenarios(reg)
    lrs = sorted(reg["lr"].dropna().unique())
    lr_col = colors([f"{x:g}" for x in lrs])
    slopes = sorted({s for *_, s in cells})
    fig, axes = plt.subplots(1, len(scen), figsize=(4.2 * len(scen), 3.8), squeeze=False,
                             sharey=True)
    held, ends, xs, reversed_ = [], [], [], 0
    for cid, d, relu, slope in cells:
        c = found.get(f"leaky_forgets_more[{cid}]")
        if c is None or not np.isfinite(c.measured):
            continue
        ax = axes[0][scen.index((d["sequence"].iloc[0], d["head"].iloc[0]))]
        x = float(relu.loc[~relu["diverged"].astype(bool), "inactive"].mean())
        lr = float(d["lr"].iloc[0]) if "lr" in d else np.nan
        lo, hi = c.ci_low, c.ci_high
        yerr = ([[c.measured - lo], [hi - c.measured]] if np.isfinite(lo) and np.isfinite(hi)
                else None)
        ends += [c.measured] + ([lo, hi] if yerr is not None else [])
        xs.append(x)
        reversed_ += c.verdict is Verdict.NOT_REPRODUCED
        ok = c.verdict is Verdict.REPRODUCED
        ax.errorbar([x], [c.measured], yerr=yerr, fmt=SLOPE_MARKERS[slopes.index(slope) % 5],
                    color=lr_col.get(f"{lr:g}", "k"), capsize=2, alpha=0.9,
                    markerfacecolor=lr_col.get(f"{lr:g}", "k") if ok else "white")
        if ok:
            held.append(f"{cid}: {c.measured:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    for ax, (seq, head) in zip(axes[0], scen):
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(_scenario(seq, head))
        ax.set_xlabel("relu's inactive (dead) fraction at the start of later tasks")
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(-0.001, 1.6 * max([x for x in xs if np.isfinite(x)] + [0.01]))
        if ends:  # a difference of forgettings lies in [-1, 1]: wider interval ends are clipped
            lo, hi = max(-1.0, min(ends)), min(1.0, max(ends))
            pad = 0.08 * max(hi - lo, 0.02)
            ax.set_ylim(lo - pad, hi + pad)
        ax.text(0.02, 0.98, "leaky forgets more (the article)", transform=ax.transAxes,
                va="top", fontsize=7, color="0.3")
        ax.text(0.02, 0.02, "relu forgets more (reversed)", transform=ax.transAxes, va="bottom",
                fontsize=7, color="0.3")
    axes[0][0].set_ylabel("forgetting of task 0: leaky minus relu")
    handles = [plt.Line2D([], [], color=lr_col[f"{x:g}"], marker="o", ls="", label=f"lr {x:g}")
               for x in lrs]
    handles += [plt.Line2D([], [], color="0.4", marker=SLOPE_MARKERS[i % 5], ls="",
                           markerfacecolor="white", label=f"slope {s:g}")
                for i, s in enumerate(slopes)]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="lower right")
    n = sum(1 for cid, *_ in cells if f"leaky_forgets_more[{cid}]" in found)
    head = (f"The article's claim (leaky forgets more) holds in {len(held)} of {n} cells "
            f"(filled markers) and is reversed in {reversed_} (Bonferroni intervals over the "
            "grid; cells where task 0 was not learned are left out)")
    if held:
        head += ":\n" + "\n".join(held[:6]) + (f"\n... and {len(held) - 6} more" if len(held) > 6
                                               else "")
    fig.suptitle(head, fontsize=9)
    fig.tight_layout()
    return fig


def _ablation(reg: pd.DataFrame):
    """Forgetting of task 0 for the 2 x 2 of forward (relu, leaky) and gradient below 0 (zero,
    leak) across learning rates, at the middle leaky slope."""
    scen = _scenarios(reg)
    slopes = sorted(reg.loc[reg["activation"] == "leaky_relu", "slope"].dropna().unique())
    if not slopes:
        return None
    s = slopes[len(slopes) // 2]
    shifts = sorted(reg["bias_shift"].dropna().unique(), reverse=True)
    arms = [("relu", "relu", "exact", None), (f"relu fwd, leak grad {s:g}", "relu",
                                              "leaky_below", s),
            (f"leaky {s:g} fwd, zero grad", "leaky_relu", "zero_below", s),
            (f"leaky {s:g}", "leaky_relu", "exact", s)]
    arms += [(ref, ref, "exact", None) for ref in ("tanh", "gelu")
             if (reg["activation"] == ref).any()]  # smooth references, no unit ever inactive
    col = colors([a[0] for a in arms])
    fig, axes = plt.subplots(len(shifts), len(scen), figsize=(3.6 * len(scen),
                                                               2.9 * len(shifts)),
                             squeeze=False, sharex=True)
    for i, shift in enumerate(shifts):
        for j, (seq, head) in enumerate(scen):
            ax = axes[i][j]
            d = reg[(reg["sequence"] == seq) & (reg["head"] == head)
                    & (reg["bias_shift"] == shift) & ~reg["diverged"].astype(bool)]
            for name, act, bw, sl in arms:
                m = (d["activation"] == act) & (d["backward"] == bw)
                if sl is not None:
                    m &= np.isclose(d["slope"].astype(float), sl)
                g = d[m].groupby("lr")["forgetting_first"].agg(["mean", "sem"])
                if len(g):
                    ref = act in ("tanh", "gelu")
                    ax.errorbar(g.index, g["mean"], yerr=1.96 * g["sem"].fillna(0),
                                marker="." if ref else "o", capsize=2, color=col[name],
                                label=name, ls=":" if ref else "-" if bw == "exact" else "--",
                                alpha=0.6 if ref else 1.0)
            ax.set_xscale("log")
            ax.set_title(f"{_scenario(seq, head)}, shift {shift:g}", fontsize=8)
            if i == len(shifts) - 1:
                ax.set_xlabel("learning rate")
            if j == 0:
                ax.set_ylabel("forgetting of task 0")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Gradient-only ablation: forward pass and gradient below 0 crossed "
                 "(mean over seeds, 95% CI; tanh, gelu dotted for reference)")
    fig.tight_layout()
    return fig


def _protection(df: pd.DataFrame, reg: pd.DataFrame):
    """Per layer and per task: protected weight fraction and inactive unit fraction, relu vs
    leaky, at the middle learning rate and the most negative bias shift."""
    rows = df[df["sequence"].isin(REGIMES)].copy()
    rows["backward"] = rows["backward"].fillna("exact") if "backward" in rows else "exact"
    rows = rows[rows["backward"] == "exact"]
    rows = rows[rows["activation"].isin(["relu", "leaky_relu"])]
    if rows.empty:
        return None
    lrs = sorted(rows["lr"].dropna().unique())
    lr = lrs[len(lrs) // 2]
    shift = min(rows["bias_shift"].dropna().unique())
    rows = rows[(rows["lr"] == lr) & (rows["bias_shift"] == shift)]
    rows = rows.assign(t=pd.to_numeric(rows["task"], errors="coerce"), label=label(rows))
    labels = sorted(rows["label"].unique(), key=lambda x: (x != "relu", x))
    col = colors(labels)
    scen = _scenarios(reg)
    panels = [("protected_fraction", f"protected weights (|dW| < {PROTECT_EPS:g} row RMS)"),
              ("inactive_fraction", "inactive units at the task's start")]
    fig, axes = plt.subplots(len(panels), len(scen), figsize=(3.6 * len(scen), 5.6),
                             squeeze=False, sharex=True)
    for j, (seq, head) in enumerate(scen):
        d = rows[(rows["sequence"] == seq) & (rows["head"] == head)]
        for i, (metric, ylabel) in enumerate(panels):
            ax = axes[i][j]
            m = d[d["metric"] == metric]
            for lab in labels:
                for layer, ls in ((1, "-"), (2, "--")):
                    g = m[(m["label"] == lab) & (m["layer"] == layer)].groupby("t")["value"]
                    g = g.mean()
                    if len(g):
                        ax.plot(g.index, g.values, ls, marker="o", color=col[lab],
                                label=f"{lab}, layer {layer}")
            ax.set_ylabel(ylabel, fontsize=8)
            if i == 0:
                ax.set_title(_scenario(seq, head), fontsize=8)
            if i == len(panels) - 1:
                ax.set_xlabel("task")
    axes[0][-1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"Protection per layer and task (lr {lr:g}, bias shift {shift:g}; mean over "
                 "seeds)")
    fig.tight_layout()
    return fig


def _matched(reg: pd.DataFrame):
    """Forgetting against plasticity across learning rates: parameter distance travelled and
    new-task accuracy gained."""
    d = reg[(reg["backward"] == "exact") & reg["activation"].isin(["relu", "leaky_relu"])
            & ~reg["diverged"].astype(bool)]
    if d.empty:
        return None
    labels = sorted(d["label"].unique(), key=lambda x: (x != "relu", x))
    col = colors(labels)
    scen = _scenarios(reg)
    shifts = sorted(d["bias_shift"].dropna().unique(), reverse=True)
    xs = (("distance", "parameter distance over later tasks"),
          ("gain", "new-task accuracy gained per later task"))
    fig, axes = plt.subplots(len(xs), len(scen), figsize=(3.6 * len(scen), 5.6), squeeze=False)
    for j, (seq, head) in enumerate(scen):
        for i, (x, xlabel) in enumerate(xs):
            ax = axes[i][j]
            for k, shift in enumerate(shifts):
                for lab in labels:
                    g = d[(d["sequence"] == seq) & (d["head"] == head) & (d["label"] == lab)
                          & (d["bias_shift"] == shift)].groupby("lr")[[x, "forgetting_first"]]
                    g = g.mean().sort_index()
                    if len(g):
                        ax.plot(g[x], g["forgetting_first"], "-" if k == 0 else ":", marker="o",
                                color=col[lab], label=f"{lab}, shift {shift:g}")
            if x == "distance":
                ax.set_xscale("log")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel("forgetting of task 0")
            if i == 0:
                ax.set_title(_scenario(seq, head), fontsize=8)
    axes[0][-1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("Forgetting at matched plasticity: each line joins the learning rates "
                 "(mean over seeds)")
    fig.tight_layout()
    return fig


def _long(df: pd.DataFrame):
    d = df[(df["sequence"] == LONG)].copy()
    if d.empty:
        return None
    d = d.assign(t=pd.to_numeric(d["task"], errors="coerce"), label=label(d))
    labels = sorted(d["label"].unique(), key=lambda x: (x != "relu", x))
    col = colors(labels)
    panels = [("new_task_accuracy", "accuracy on the new task"),
              ("dead_fraction", "dead fraction (solid) / near-dead (dotted)"),
              ("weight_magnitude", "mean |w| (over layers)"),
              ("effective_rank", "effective rank (mean over hidden layers)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3))
    for ax, (metric, ylabel) in zip(axes, panels):
        for lab in labels:
            g = d[(d["label"] == lab) & (d["metric"] == metric)]
            per_seed = g.groupby(["seed", "t"])["value"].mean().unstack("t")
            m = per_seed.mean()
            ax.plot(m.index, m.values, color=col[lab], label=lab, lw=1.2)
            if metric == "new_task_accuracy" and len(per_seed) > 1:
                ci = np.array([mean_ci(per_seed[c].dropna())[1:] for c in per_seed.columns])
                ax.fill_between(m.index, ci[:, 0], ci[:, 1], color=col[lab], alpha=0.12)
            if metric == "dead_fraction":
                nd = d[(d["label"] == lab) & (d["metric"] == "near_dead_fraction")]
                nd = nd.groupby("t")["value"].mean()
                ax.plot(nd.index, nd.values, ":", color=col[lab], lw=1.2)
        ax.set_xlabel("task")
        ax.set_ylabel(ylabel, fontsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle("Long permuted sequence: loss of plasticity measurements (Dohare et al. 2024); "
                 "mean over seeds, 95% CI for accuracy")
    fig.tight_layout()
    return fig


def figures(df: pd.DataFrame, params: Params | None) -> dict:
    """The sign map of the article's claim over the regime grid (`continual`), the gradient
    ablation, protection per layer and task, forgetting at matched plasticity, and the long
    sequence."""
    use_style()
    if df.empty or "sequence" not in df.columns:
        return {}
    s = summarize(df, params)
    figs = {}
    reg = s[s["sequence"].isin(REGIMES)]
    if len(reg):
        found = {c.claim: c for c in claims(s, params)}
        figs["continual"] = _sign_map(reg, found)
        for name, fig in (("continual_ablation", _ablation(reg)),
                          ("continual_protection", _protection(df, reg)),
                          ("continual_matched", _matched(reg))):
            if fig is not None:
                figs[name] = fig
    fig = _long(df)
    if fig is not None:
        figs["continual_plasticity"] = fig
    return figs
