"""Hard vs soft non-negativity at the output: a ReLU head vs a Softplus head.

Run the default grid:  actlab -m experiment=output_constraint
One head:              actlab experiment=output_constraint model.out_activation=softplus \
trainer.lr=0.3

Targets are a rectified teacher network, so a sizeable fraction of them is exactly 0. A relu head
can output exact zeros (and never a negative); a softplus head is always > 0, so on the zero
targets it keeps a positive bias; a head can also die. "Dead" has one definition for every head
(none, relu, softplus): its output is constant on the training set (its range over the training
inputs is below a tiny fraction of the targets' spread), so the death rates of the heads are
measured the same way and compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from actlab.claims import (
    Claim,
    Kind,
    above,
    below,
    empirical,
    math_claim,
    no_data,
    over_seeds,
    paired,
    proportion,
)
from actlab.experiment import Experiment
from actlab.runner import build_model, build_task, train_seed_models
from actlab.trainer import RunResult, train
from experiments.params import OutputConstraintParams as Params

NAME = "output_constraint"
HEADS = ("none", "relu", "softplus")
METRICS = ("zero_target_fraction", "negative_fraction", "zero_fraction", "zero_hit_fraction",
           "zero_target_bias", "positive_target_mse", "min_prediction", "head_output_range",
           "train_target_std")


@dataclass(frozen=True)
class Thresholds:
    # A head is dead when its output's range over the training inputs is below this fraction of
    # the training targets' standard deviation: float32 carries ~7 significant digits, so a head
    # whose output moves by less than a millionth of the targets' spread is constant to working
    # precision (a dead relu head outputs exact zeros; a softplus head pushed to z < -14 outputs
    # values that differ by < 1e-6). The same cut for every head type.
    dead_range: float = 1e-6
    # "Softplus never dies": the death rate per run must be below 1 in 20, judged on the exact
    # (Clopper-Pearson) interval of deaths / runs. Not a t interval over per-seed rates: with no
    # death at all that one is [0, 0], "reproduced" from two runs. With none dead, 72 runs are
    # needed before the 95% upper end falls below 5% (the default grid's 30 runs give "partly").
    rare_death: float = 0.05


THRESHOLDS = Thresholds()


def _task(cfg, device):
    task = build_task(cfg, device)
    # Rectify the teacher's targets: exact zeros wherever the teacher is below the threshold.
    task.y_train = torch.relu(task.y_train - cfg.params.threshold)
    task.y_test = torch.relu(task.y_test - cfg.params.threshold)
    return task


def run(cfg, device) -> RunResult:
    task = _task(cfg, device)
    model = build_model(cfg, task, cfg.seed)
    res = train(model, task, cfg.trainer, seed=cfg.seed,
                desc=f"{NAME} head={cfg.model.out_activation}")
    return _finish(cfg, model, task, res)


def run_seeds(cfg, device, seeds) -> dict[int, RunResult]:
    task = _task(cfg, device)
    models, results = train_seed_models(cfg, task, seeds,
                                        desc=f"{NAME} head={cfg.model.out_activation} "
                                             f"x{len(seeds)}")
    return {s: _finish(cfg, m, task, r) for s, m, r in zip(seeds, models, results)}


def _finish(cfg, model, task, res: RunResult) -> RunResult:
    p = cfg.params
    with torch.no_grad():
        pred = model(task.x_test)[:, 0]
        pred_train = model(task.x_train)[:, 0]
    y = task.y_test[:, 0]
    zero = y == 0
    step = max(r["step"] for r in res.rows)
    head = cfg.model.out_activation or "none"
    metrics = {
        "zero_target_fraction": float(zero.float().mean()),
        "negative_fraction": float((pred < 0).float().mean()),
        "zero_fraction": float((pred == 0).float().mean()),
        "zero_hit_fraction": float((pred[zero] == 0).float().mean()) if zero.any() else math.nan,
        "zero_target_bias": float(pred[zero].mean()) if zero.any() else math.nan,
        "positive_target_mse": float(((pred[~zero] - y[~zero]) ** 2).mean()),
        "min_prediction": float(torch.minimum(pred.min(), pred_train.min())),
        # "dead" for every head alike: how much its output varies over the training inputs
        "head_output_range": float(pred_train.max() - pred_train.min()),
        "train_target_std": float(task.y_train[:, 0].std()),
    }
    res.rows += [{"step": step, "layer": None, "metric": k, "value": v, "head": head}
                 for k, v in metrics.items()]
    keep = torch.linspace(0, len(y) - 1, min(p.scatter_points, len(y))).long()
    res.rows += [{"step": step, "layer": None, "metric": "prediction", "value": float(pred[i]),
                  "target": float(y[i]), "head": head} for i in keep.tolist()]
    for r in res.rows:
        r.setdefault("head", head)
    return res


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per seed per head per learning rate: the final metrics, `dead` (output range on the
    training inputs <= THRESHOLDS.dead_range x the targets' std; the same cut for every head) and
    `diverged` (the run stopped on a non-finite loss; its metrics are kept, and each claim says
    what it does with it)."""
    cols = ["seed", "head", "lr", "diverged", "dead", *METRICS]
    d = df[df["metric"].isin(METRICS)]
    if d.empty:
        return pd.DataFrame(columns=cols)
    if "status" not in d.columns:
        d = d.assign(status="ok")
    s = (d.groupby(["seed", "head", "lr", "status", "metric"])["value"].mean()
         .unstack("metric").reset_index())
    s.columns.name = None
    for m in METRICS:
        if m not in s.columns:
            s[m] = math.nan
    s["diverged"] = s["status"] != "ok"
    rel = s["head_output_range"] / s["train_target_std"].where(s["train_target_std"] > 0)
    s["dead"] = (rel <= THRESHOLDS.dead_range).astype(float).where(rel.notna())
    return s[cols].sort_values(["head", "lr", "seed"]).reset_index(drop=True)


def _per_seed(s: pd.DataFrame, value: str) -> pd.Series:
    """The mean of `value` over the learning rates within each seed (missing values skipped)."""
    return s.groupby("seed")[value].mean()


def _by_lr(s: pd.DataFrame, value: str) -> str:
    return ", ".join(f"lr {lr:g}: {v:.3g}" for lr, v in s.groupby("lr")[value].mean().items())


def claims(summary: pd.DataFrame, params: Params | None = None) -> list[Claim]:
    t = THRESHOLDS
    s = summary
    out: list[Claim] = []
    heads = set(s["head"]) if len(s) else set()
    ok = s[~s["diverged"].astype(bool)] if len(s) else s

    def div_note(*hs: str) -> str:
        n = int(s[s["head"].isin(hs)]["diverged"].astype(bool).sum()) if len(s) else 0
        return (f"{n} diverged {'/'.join(hs)} run(s) left out" if n
                else f"no {'/'.join(hs)} run diverged")

    # math: a relu or softplus head never predicts a negative value (their ranges are [0, inf))
    statement = "ReLU and Softplus heads never predict a negative value."
    nonneg = s[s["head"].isin(["relu", "softplus"])] if len(s) else s
    if nonneg.empty:
        out.append(no_data(experiment=NAME, claim="never_negative", statement=statement,
                           kind=Kind.MATH, expected="0", why="no relu or softplus heads"))
    else:
        worst = float(nonneg["negative_fraction"].max())
        free = s[s["head"] == "none"]["negative_fraction"]
        out.append(math_claim(experiment=NAME, claim="never_negative", statement=statement,
                              measured=worst, expected="0 (relu and softplus map R onto [0, inf))",
                              ok=worst == 0, n=len(nonneg),
                              rule="largest fraction of negative test predictions == 0",
                              detail=f"over {len(nonneg)} runs (diverged included)"
                                     + (f"; the unconstrained head predicts a negative value on "
                                        f"{free.mean():.1%} of the test points" if len(free)
                                        else "")))

    # math: softplus(z) = log(1 + e^z) > 0 for every finite z; float underflow would break it
    sp = s[s["head"] == "softplus"] if len(s) else s
    statement = ("A Softplus head never predicts an exact zero "
                 "(log(1 + e^z) > 0 for every finite z).")
    if sp.empty:
        out.append(no_data(experiment=NAME, claim="softplus_no_zeros", statement=statement,
                           kind=Kind.MATH, expected="> 0", why="no softplus heads"))
    else:
        low = float(sp["min_prediction"].min())
        out.append(math_claim(experiment=NAME, claim="softplus_no_zeros", statement=statement,
                              measured=low, expected="> 0 (closed form: log(1 + e^z) > 0)",
                              ok=low > 0, n=len(sp),
                              rule="smallest softplus prediction over training and test inputs > 0",
                              detail=f"over {len(sp)} runs (diverged included)"
                                     + (f"; the relu heads' exact zeros: "
                                        f"{s[s['head'] == 'relu']['zero_fraction'].mean():.1%} of "
                                        "test predictions" if "relu" in heads else "")))

    # empirical: a live relu head predicts exact zeros where the target is zero
    relu = ok[ok["head"] == "relu"] if len(ok) else ok
    statement = "A (live) ReLU head predicts exact zeros on zero targets."
    live = relu[relu["dead"] == 0]
    if live.empty:
        out.append(no_data(experiment=NAME, claim="relu_exact_zeros", statement=statement,
                           kind=Kind.EMPIRICAL, why="no live relu head"))
    else:
        rule = above(0)
        out.append(empirical(experiment=NAME, claim="relu_exact_zeros", statement=statement,
                             rule=rule,
                             evidence=over_seeds(_per_seed(live, "zero_hit_fraction"), rule),
                             expected="> 0 (fraction of zero-target test points predicted "
                                      "exactly 0)",
                             detail="per seed the mean over learning rates; dead heads (zero "
                                    "everywhere) and diverged runs left out; by lr: "
                                    f"{_by_lr(live, 'zero_hit_fraction')}; targets: "
                                    f"{relu['zero_target_fraction'].mean():.2f} exact zeros"))

    # empirical: death rates, one definition for every head
    for head, claim, statement, rule in (
            ("relu", "relu_head_dies",
             "ReLU heads die in some runs (constant output on the training set).", above(0)),
            ("softplus", "softplus_never_dies",
             "A Softplus head (practically) never dies: its output is "
             "not constant on the training set.", below(t.rare_death))):
        g = ok[(ok["head"] == head)] if len(ok) else ok
        if g.empty:
            out.append(no_data(experiment=NAME, claim=claim, statement=statement,
                               kind=Kind.EMPIRICAL, why=f"no {head} heads"))
            continue
        if head == "softplus":
            # "never": a rate near 0, where a t interval over per-seed rates collapses to [0, 0]
            runs = g["dead"].dropna()
            ev = proportion(int(runs.sum()), len(runs), rule)
            what = "runs with a dead head / runs; each (seed, lr) run an independent training"
        else:
            ev = over_seeds(_per_seed(g, "dead"), rule)
            what = "per seed: fraction of learning rates with a dead head"
        out.append(empirical(experiment=NAME, claim=claim, statement=statement, rule=rule,
                             evidence=ev, expected=f"{rule} ({what})",
                             detail="dead = output range on the training inputs <= "
                                    f"{t.dead_range:g} x the targets' std; death rate by "
                                    f"{_by_lr(g, 'dead')}; {int(g['dead'].sum())} of {len(g)} runs "
                                    f"dead; {div_note(head)}"))

    # empirical: relu dies more often than softplus (paired by seed and lr)
    statement = "Softplus avoids the dead heads that ReLU heads suffer: ReLU heads die more often."
    diff = (paired(ok, "dead", "head", "relu", "softplus", on=("seed", "lr")) if len(ok)
            else pd.Series(dtype=float))
    if diff.empty:
        out.append(no_data(experiment=NAME, claim="relu_dies_more_than_softplus",
                           statement=statement, kind=Kind.EMPIRICAL,
                           why="need relu and softplus heads at the same seeds and lrs"))
    else:
        rule = above(0)
        out.append(empirical(experiment=NAME, claim="relu_dies_more_than_softplus",
                             statement=statement, rule=rule,
                             evidence=over_seeds(diff.groupby(level="seed").mean(), rule),
                             expected="> 0 (relu minus softplus death rate, paired by seed and lr)",
                             detail="per seed the mean over learning rates of the paired "
                                    f"difference; {len(diff)} (seed, lr) pairs; "
                                    f"{div_note('relu', 'softplus')}"))

    # empirical: softplus's bias on zero targets, compared with the other heads, paired by seed
    # and lr
    for other in ("none", "relu"):
        claim = f"softplus_bias_on_zeros[vs={other}]"
        statement = (f"On zero targets a Softplus head predicts higher (a positive bias) than "
                     f"{'an unconstrained' if other == 'none' else 'a ReLU'} head.")
        diff = paired(ok, "zero_target_bias", "head", "softplus", other,
                      on=("seed", "lr")) if len(ok) \
            else pd.Series(dtype=float)
        diff = diff[np.isfinite(diff)]
        if diff.empty:
            out.append(no_data(experiment=NAME, claim=claim, statement=statement,
                               kind=Kind.EMPIRICAL,
                               why=f"need softplus and {other} heads at the same seeds and lrs"))
            continue
        rule = above(0)
        by_lr = diff.groupby(level="lr").mean()
        out.append(empirical(experiment=NAME, claim=claim, statement=statement, rule=rule,
                             evidence=over_seeds(diff.groupby(level="seed").mean(), rule),
                             expected=f"> 0 (softplus minus {other}: mean prediction on "
                                      "zero-target test points)",
                             detail="paired by seed and lr, per seed the mean over learning rates; "
                                    "by lr: "
                                    + ", ".join(f"{a:g}: {b:+.3f}" for a, b in by_lr.items())
                                    + "; mean bias: " + ", ".join(
                                        f"{h} {v:+.3f}" for h, v in
                                        ok.groupby("head")["zero_target_bias"].mean().items())
                                    + f"; {div_note('softplus', other)} (a pair with a diverged "
                                      "side is dropped)"))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title="Hard vs soft non-negativity at the output: a ReLU head vs a Softplus head.",
    summary=(
        "MLPs fit non-negative targets with exact zeros (a rectified teacher) with no output "
        "activation, a relu head or a softplus head, over several learning rates; a head is "
        "dead when its output is constant on the training set, the same definition for every "
        "head. Claimed: relu and softplus heads never predict a negative value; a softplus head "
        "never predicts an exact zero, while a live relu head does on zero targets; and relu "
        "heads die more often than softplus heads."
    ),
    command="actlab -m experiment=output_constraint",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.output_constraint:figures",
    # build_task/build_model/train(_models); model.out_activation is the head
    reads=("activation", "model", "task", "trainer"),
)
