"""Hard vs soft non-negativity at the output: a ReLU head vs a Softplus head.

Run the default grid:  actlab -m experiment=output_constraint
One head:              actlab experiment=output_constraint model.out_activation=softplus trainer.lr=0.3

Targets are a rectified teacher network, so a sizeable fraction of them is exactly 0. A relu head
can output exact zeros (and never a negative); a softplus head is always > 0, so on the zero
targets it keeps a positive bias; a relu head can also die (its pre-activation <= 0 for every
input, and then no gradient ever reaches it), which a softplus head cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.claims import (
    FAIL,
    NOT_REPRODUCED,
    PARTLY,
    PASS,
    REPRODUCED,
    Claim,
    clopper_pearson,
    mean_ci,
    no_data,
)
from actlab.plotting import colors, plt, use_style
from actlab.runner import build_model, build_task, train_models
from actlab.trainer import TrainResult, train

NAME = "output_constraint"
HEADS = ("none", "relu", "softplus")


@dataclass
class Params:
    threshold: float = 0.3  # targets = relu(teacher - threshold): a sizeable fraction of exact zeros
    scatter_points: int = 150  # (prediction, target) pairs kept per run for the figure


def _task(cfg, device):
    task = build_task(cfg, device)
    # Rectify the teacher's targets: exact zeros wherever the teacher is below the threshold.
    task.y_train = torch.relu(task.y_train - cfg.params.threshold)
    task.y_test = torch.relu(task.y_test - cfg.params.threshold)
    return task


def run(cfg, device) -> TrainResult:
    task = _task(cfg, device)
    model = build_model(cfg, task, cfg.seed)
    res = train(model, task, cfg.trainer, seed=cfg.seed, desc=f"{NAME} head={cfg.model.out_activation}")
    return _finish(cfg, model, task, res)


def run_seeds(cfg, device, seeds) -> dict[int, TrainResult]:
    task = _task(cfg, device)
    models, results = train_models(cfg, task, seeds, desc=f"{NAME} head={cfg.model.out_activation} x{len(seeds)}")
    return {s: _finish(cfg, m, task, r) for s, m, r in zip(seeds, models, results)}


def _finish(cfg, model, task, res: TrainResult) -> TrainResult:
    p = cfg.params
    record: list = []
    with torch.no_grad():
        pred = model(task.x_test)[:, 0]
        model(task.x_train, record=record)
        head_pre_train = record[-1][0][:, 0]  # the output unit's pre-activation
    y = task.y_test[:, 0]
    zero = y == 0
    step = max(r["step"] for r in res.rows)
    head = cfg.model.out_activation or "none"
    metrics = {
        "zero_target_fraction": float(zero.float().mean()),
        "negative_fraction": float((pred < 0).float().mean()),
        "zero_fraction": float((pred == 0).float().mean()),
        "zero_target_bias": float(pred[zero].mean()) if zero.any() else float("nan"),
        "positive_target_mse": float(((pred[~zero] - y[~zero]) ** 2).mean()),
        "head_dead": float(head == "relu" and bool((head_pre_train <= 0).all())),
    }
    res.rows += [{"step": step, "layer": None, "metric": k, "value": v, "head": head} for k, v in metrics.items()]
    keep = torch.linspace(0, len(y) - 1, min(p.scatter_points, len(y))).long()
    res.rows += [{"step": step, "layer": None, "metric": "prediction", "value": float(pred[i]),
                  "target": float(y[i]), "head": head} for i in keep.tolist()]
    for r in res.rows:
        r.setdefault("head", head)
    return res


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run. Diverged runs (an unconstrained head at a large learning rate can blow up)
    are left out: their predictions say nothing about the head's constraint."""
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    d = df[df["metric"].isin(["negative_fraction", "zero_fraction", "zero_target_bias", "head_dead",
                              "positive_target_mse", "zero_target_fraction"])]
    return d.pivot_table(index=["run_id", "head", "lr", "seed"], columns="metric", values="value").reset_index()


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    m = _metrics(df)
    out: list[Claim] = []
    if m.empty:
        return [no_data(NAME, "heads", "", "empirical", "", "no runs")]
    nonneg = m[m["head"].isin(["relu", "softplus"])]
    statement = "ReLU and Softplus heads never predict a negative value."
    if nonneg.empty:
        out.append(no_data(NAME, "never_negative", statement, "math", "0", "no relu or softplus heads"))
    else:
        worst = float(nonneg["negative_fraction"].max())
        out.append(Claim(NAME, "never_negative", statement, "math", worst, "0",
                         PASS if worst == 0 else FAIL, detail=f"{len(nonneg)} runs"))
    for head, g in m.groupby("head"):
        zf, zlo, zhi = mean_ci(g["zero_fraction"])
        if head == "relu":
            out.append(Claim(NAME, "relu_exact_zeros", "A ReLU head predicts exact zeros.", "empirical", zf,
                             "> 0", REPRODUCED if zlo > 0 else PARTLY if zf > 0 else NOT_REPRODUCED, zlo, zhi,
                             detail=f"fraction of test predictions exactly 0; targets: "
                                    f"{g['zero_target_fraction'].mean():.2f} exact zeros"))
            k, n = int(g["head_dead"].sum()), len(g)
            lo, hi = clopper_pearson(k, n)
            by_lr = g.groupby("lr")["head_dead"].mean()
            out.append(Claim(NAME, "relu_head_dies", "ReLU heads die in some runs (zero for every input).",
                             "empirical", k / n, "> 0", REPRODUCED if k > 0 else NOT_REPRODUCED, lo, hi,
                             detail="death rate by lr: " + ", ".join(f"{a:g}: {b:.2f}" for a, b in by_lr.items())))
        if head == "softplus":
            out.append(Claim(NAME, "softplus_no_zeros", "A Softplus head never predicts an exact zero.",
                             "empirical", zf, "0", REPRODUCED if g["zero_fraction"].max() == 0 else NOT_REPRODUCED,
                             zlo, zhi))
            b, blo, bhi = mean_ci(g["zero_target_bias"])
            out.append(Claim(NAME, "softplus_bias_on_zeros", "A Softplus head keeps a positive bias on zero targets.",
                             "empirical", b, "> 0 (mean prediction where the target is 0)",
                             REPRODUCED if blo > 0 else PARTLY if b > 0 else NOT_REPRODUCED, blo, bhi))
            k, n = int(g["head_dead"].sum()), len(g)
            out.append(Claim(NAME, "softplus_never_dies", "A Softplus head never dies.", "math", k / n, "0",
                             PASS if k == 0 else FAIL, *clopper_pearson(k, n)))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    m = _metrics(df)
    sc = df[df["metric"] == "prediction"]
    if m.empty:
        return {}
    heads = [h for h in HEADS if h in set(m["head"])]
    col = colors(heads)
    fig, axes = plt.subplots(1, len(heads) + 2, figsize=(3.2 * (len(heads) + 2), 3.3))
    lr0 = sorted(sc["lr"].unique())[0] if not sc.empty else None
    for ax, head in zip(axes, heads):
        g = sc[(sc["head"] == head) & (sc["lr"] == lr0)]
        ax.scatter(g["target"], g["value"], s=5, alpha=0.4, color=col[head])
        lim = [min(-0.2, float(g["value"].min()) if len(g) else 0), float(g["target"].max()) if len(g) else 1]
        ax.plot(lim, lim, "k:", lw=0.8)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"head: {head} (lr {lr0:g})")
        ax.set_xlabel("target")
        ax.set_ylabel("prediction")
    ax = axes[-2]
    for i, head in enumerate(heads):
        g = m[m["head"] == head]
        mm, lo, hi = mean_ci(g["zero_target_bias"])
        ax.bar(i, mm, color=col[head], yerr=[[mm - lo], [hi - mm]] if np.isfinite(lo) else None, capsize=3)
    ax.set_xticks(range(len(heads)), heads)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("mean prediction on zero targets")
    ax = axes[-1]
    for head in heads:
        g = m[m["head"] == head].groupby("lr")["head_dead"].mean()
        ax.plot(g.index, g.values, "o-", color=col[head], label=head)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("fraction of runs with a dead head")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    fig.suptitle("Output constraints: hard (ReLU) vs soft (Softplus) non-negativity")
    fig.tight_layout()
    return {"output_constraint": fig}
