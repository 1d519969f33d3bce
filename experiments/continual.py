"""Continual learning: does leakiness speed up forgetting, and what does ReLU's protection cost?

Run the default grid:  actlab -m experiment=continual
One point:             actlab experiment=continual activation=leaky_relu activation.slope=0.1 \
params.sequence=permuted

The article argues that leaky units keep updating every weight, so they may overwrite earlier tasks
faster, while ReLU units with zero gradient "protect" what they learned. We train one MLP on a
sequence of tasks built from real data (MNIST-1D generated locally, or scikit-learn's digits):
`split` (disjoint pairs of classes; `params.head=task` masks the logits to the current task's
classes, `shared` does not) or `permuted` (a fixed random input permutation per task, shared head).
After each task we measure the accuracy on every task (the accuracy matrix), and over each task
the fraction of hidden weights that were "protected": whose total update over the task stayed below
PROTECT_EPS of their row's RMS (`protected_fraction`, a quantity relu and leaky units can both
have), next to the fraction whose gradient was exactly zero on every step (`zero_grad_fraction`:
zero for leaky units by construction, so shown but never judged).

Claims (`claims`, from `summarize`'s one row per seed per condition and setting): leaky units
forget the first task more than relu (leaky minus relu, paired by seed, > 0); relu protects more
weights than leaky (relu minus leaky, paired by seed, > 0); loss of plasticity on permuted
sequences (per-seed slope of new-task accuracy over the task index < 0). Each family of claims is
judged at a Bonferroni-adjusted level (THRESHOLDS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
import pandas as pd
import torch
from torch import nn

from actlab.batched import train_many
from actlab.claims import (
    Claim,
    Kind,
    Rule,
    above,
    below,
    empirical,
    no_data,
    over_seeds,
    paired,
)
from actlab.experiment import Experiment
from actlab.probes import unit_stats
from actlab.runner import build_model, build_task
from actlab.tasks import Task
from actlab.trainer import RunResult, train

NAME = "continual"


class TaskSequence(str, Enum):
    """The task sequence. A str, so it compares, prints and fills a table cell as its value, while
    the typed schema refuses any other value when the config is composed."""

    split = "split"  # disjoint pairs of classes
    permuted = "permuted"  # a fixed random input permutation per task, shared head

    def __str__(self) -> str:
        return self.value


class Head(str, Enum):
    """The output head of a split sequence (a permuted one always shares its head)."""

    task = "task"  # logits masked to the current task's classes
    shared = "shared"  # no mask

    def __str__(self) -> str:
        return self.value


@dataclass
class Params:
    sequence: TaskSequence = TaskSequence.split
    head: Head = Head.task  # split only
    n_tasks: int = 10  # permuted: sequence length (split: 5 pairs of classes)
    steps_per_task: int = 200


def make_sequence(base: Task, p, seed: int) -> list[tuple[Task, torch.Tensor]]:
    """(task, logit mask) pairs."""
    out = []
    zero = torch.zeros(base.out_dim, device=base.x_train.device, dtype=base.x_train.dtype)
    if p.sequence == "split":
        for k in range(base.out_dim // 2):
            classes = torch.tensor([2 * k, 2 * k + 1], device=base.y_train.device)
            tr, te = torch.isin(base.y_train, classes), torch.isin(base.y_test, classes)
            task = Task(base.x_train[tr], base.y_train[tr], base.x_test[te], base.y_test[te],
                        "classification", base.out_dim)
            mask = zero.clone()
            if p.head == "task":
                mask[:] = float("-inf")
                mask[classes] = 0
            out.append((task, mask))
    elif p.sequence == "permuted":
        g = torch.Generator().manual_seed(10_000 + seed)
        for k in range(p.n_tasks):
            perm = torch.arange(base.in_dim) if k == 0 else torch.randperm(base.in_dim, generator=g)
            perm = perm.to(base.x_train.device)
            out.append((Task(base.x_train[:, perm], base.y_train, base.x_test[:, perm], base.y_test,
                             "classification", base.out_dim), zero))
    else:
        raise ValueError(f"sequence {p.sequence!r}: unknown; valid choices: "
                         f"{', '.join(s.value for s in TaskSequence)}")
    return out


@torch.no_grad()
def accuracy(model: nn.Module, task: Task) -> float:
    return float((model(task.x_test).argmax(1) == task.y_test).float().mean())


def _zero_grad_tracker(never: list[torch.Tensor]):
    """Per-layer gradient hooks that clear `never[i]` wherever a weight's gradient is nonzero."""
    def track(i: int):
        def hook(grad: torch.Tensor) -> None:
            never[i] &= grad == 0

        return hook

    return [track(i) for i in range(len(never))]


# A hidden weight is "protected" during a task when its total update over the task (weights after
# minus before: plain SGD, no weight decay, so an exactly-zero gradient means exactly no change) is
# below PROTECT_EPS times the RMS of its row (the unit's incoming weights) at the task's start: a
# change of under 1% of a typical weight of that unit barely moves the unit's pre-activation (the
# weights of a row add up), so what the unit computed for earlier tasks is kept. Both relu (a
# zero gradient) and leaky units (a gradient scaled by the slope, or a weight already at rest)
# can have such weights, so relu minus leaky can come out either way.
PROTECT_EPS = 0.01


def _hidden_weights(net: nn.Module) -> list[torch.Tensor]:
    return [layer.weight.detach().clone() for layer in net.layers[:-1]]


@torch.no_grad()
def protected_fraction(before: list[torch.Tensor], after: list[torch.Tensor],
                       eps: float = PROTECT_EPS) -> float:
    """Fraction of hidden weights whose change |after - before| is below eps times the RMS of the
    weight's row (its unit's incoming weights) in `before`. Non-finite weights are not protected."""
    small, total = 0, 0
    for w0, w1 in zip(before, after):
        rms = w0.pow(2).mean(dim=1, keepdim=True).sqrt()
        small += int(((w1 - w0).abs() < eps * rms).sum())
        total += w0.numel()
    return small / total


def run(cfg, device) -> RunResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, RunResult]:
    """Every seed's task sequence, each task training all seeds at once (train_many). Split
    sequences are the same for every seed; permuted ones differ (their permutations come from the
    seed), so each seed trains on its own permuted copy of the data, stacked."""
    p = cfg.params
    base = build_task(cfg, device)
    shared = p.sequence == "split"  # the same tasks for every seed
    seqs = (dict.fromkeys(seeds, make_sequence(base, p, seeds[0])) if shared
            else {s: make_sequence(base, p, s) for s in seeds})
    nets = [build_model(cfg, base, s) for s in seeds]
    seq = seqs[seeds[0]]
    tc = cfg.trainer.copy()
    tc.steps = p.steps_per_task
    rows: dict[int, list[dict]] = {s: [] for s in seeds}
    acc = {s: np.full((len(seq), len(seq)), np.nan) for s in seeds}
    head = p.head if p.sequence == "split" else "shared"
    for t in range(len(seq)):
        # zero_grad_fraction: weights whose gradient is exactly zero on every step of this task
        # (0 for leaky units by construction: shown, never judged); protected_fraction: weights
        # that moved by less than PROTECT_EPS of their row's RMS over the task (judged).
        never = {s: [torch.ones_like(layer.weight, dtype=torch.bool) for layer in net.layers]
                 for s, net in zip(seeds, nets)}
        start = {s: _hidden_weights(net) for s, net in zip(seeds, nets)}
        desc = f"{NAME} {cfg.activation.name} task {t}"
        if batched:
            for s, net in zip(seeds, nets):
                net.out_mask = seqs[s][t][1]
            results = train_many(nets, [seqs[s][t][0] for s in seeds], tc,
                                 [s * 1000 + t for s in seeds], desc=f"{desc} x{len(seeds)}",
                                 weight_hooks=[_zero_grad_tracker(never[s]) for s in seeds])
        else:
            results = []
            for s, net in zip(seeds, nets):
                task, net.out_mask = seqs[s][t]
                handles = [layer.weight.register_hook(h)
                           for layer, h in zip(net.layers, _zero_grad_tracker(never[s]))]
                results.append(train(net, task, tc, seed=s * 1000 + t, desc=desc))
                for h in handles:
                    h.remove()
        for s, net, r in zip(seeds, nets, results):
            task = seqs[s][t][0]
            hidden = never[s][:-1]
            zero = float(sum(m.sum() for m in hidden) / sum(m.numel() for m in hidden))
            common = {"step": (t + 1) * p.steps_per_task, "layer": None, "task": t,
                      "sequence": p.sequence, "head": head, "data": cfg.task.name}
            rows[s].append({**common, "metric": "protected_fraction",
                            "value": protected_fraction(start[s], _hidden_weights(net))})
            rows[s].append({**common, "metric": "zero_grad_fraction", "value": zero})
            rows[s].append({**common, "metric": "status_task", "value": float(r.status == "ok")})
            record: list = []
            with torch.no_grad():
                net(task.x_train, record=record)
            for layer, (z, _) in enumerate(record[:-1], start=1):
                stats = unit_stats(net.act.deriv(z), net.act.max_slope)
                rows[s].append({**common, "layer": layer, "metric": "dead_fraction",
                                "value": stats["dead_fraction"]})
            for e, (task_e, mask_e) in enumerate(seqs[s]):
                net.out_mask = mask_e
                acc[s][t, e] = accuracy(net, task_e)
                rows[s].append({**common, "metric": "accuracy", "value": acc[s][t, e],
                                "task_trained": t, "task_eval": e})
    final = len(seq) - 1
    out = {}
    for s in seeds:
        for i in range(final):
            forgetting = float(np.max(acc[s][i:final, i]) - acc[s][final, i])
            rows[s].append({"step": len(seq) * p.steps_per_task, "layer": None,
                            "metric": "forgetting", "value": forgetting, "task": i,
                            "sequence": p.sequence, "head": head, "data": cfg.task.name})
        out[s] = RunResult(rows=rows[s], final={"average_accuracy": float(np.mean(acc[s][final]))})
    return out


# Columns that name a run's condition (the activation and its parameters) and the settings a claim
# holds fixed while it compares conditions (everything else a run records that may vary in a grid).
CONDITION = ("activation", "slope", "beta", "elu_alpha", "approximate")
SETTINGS = ("data", "sequence", "head", "depth", "width", "weight_scale", "init", "bias_scale",
            "input_scale", "optimizer", "lr", "batch_size", "steps", "dtype")


@dataclass(frozen=True)
class Thresholds:
    # Each claim family (one claim id over all its conditions: leaky slopes x settings, or
    # activations) keeps its chance of any wrong "reproduced" / "not reproduced" at 5%:
    # Bonferroni, every interval of a family of m claims is at level 1 - familywise_alpha / m.
    familywise_alpha: float = 0.05
    # A new-task accuracy slope over fewer tasks is a two-point difference, not a trend over a
    # sequence: the plasticity claim needs at least this many tasks per seed.
    min_tasks_for_slope: int = 3


THRESHOLDS = Thresholds()


def _label(df: pd.DataFrame) -> pd.Series:
    slope = df["slope"].map(lambda s: "" if pd.isna(s) else f" {s:g}") if "slope" in df else ""
    return df["activation"] + slope


def _keys(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    return [c for c in CONDITION if c in df.columns], [c for c in SETTINGS if c in df.columns]


def _slope(tasks: np.ndarray, values: np.ndarray) -> float:
    ok = np.isfinite(values)
    if ok.sum() < THRESHOLDS.min_tasks_for_slope:
        return float("nan")
    return float(np.polyfit(tasks[ok], values[ok], 1)[0])


def summarize(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """One row per seed per condition (activation, slope) and setting (sequence, head, lr, ...):
    forgetting of the first task and mean forgetting over the earlier tasks; protected and
    exactly-zero-gradient fractions, each the mean over the tasks after the first (the tasks
    during which there is something to protect); the per-seed slope of new-task accuracy over the
    task index (permuted sequences only: their tasks are equally hard by construction, split pairs
    of classes are not); dead fraction at the first and last task; `diverged` when the run did not
    end ok or any task's training diverged (its values are kept here; claims leave it out)."""
    cond, settings = _keys(df)
    keys = cond + settings + ["seed"]
    rows = []
    for key, g in df.groupby(keys, dropna=False, sort=True):
        if "run_id" in g and g["run_id"].nunique() > 1:
            raise ValueError(f"{NAME}: runs {sorted(g['run_id'].unique())[:3]} share seed and "
                             f"condition {dict(zip(keys, key))}; they differ in a setting the "
                             "table does not record: collect them into separate out_dirs")
        m = g["metric"]
        task = pd.to_numeric(g["task"], errors="coerce")
        status_ok = bool((g["status"] == "ok").all()) if "status" in g else True
        task_ok = g.loc[m == "status_task", "value"]
        forget = g[m == "forgetting"].assign(task=task).sort_values("task")
        if forget["task"].duplicated().any():
            raise ValueError(f"{NAME}: several forgetting rows per task for seed and condition "
                             f"{dict(zip(keys, key))}: the table mixes runs (give each a run_id)")
        prot = g[(m == "protected_fraction") & (task >= 1)]["value"]
        zero = g[(m == "zero_grad_fraction") & (task >= 1)]["value"]
        acc = g[m == "accuracy"]
        diag = acc[acc["task_trained"] == acc["task_eval"]].sort_values("task_trained")
        n_tasks = int(acc["task_trained"].nunique()) if len(acc) else 0
        last = (acc[acc["task_trained"] == acc["task_trained"].max()]["value"] if len(acc)
                else pd.Series(dtype=float))
        dead = g[m == "dead_fraction"].assign(task=task).groupby("task")["value"].mean()
        seq = g["sequence"].iloc[0] if "sequence" in g else None
        rows.append({
            **dict(zip(keys, key)),
            "diverged": not status_ok or bool((task_ok < 1).any()),
            "n_tasks": n_tasks,
            "forgetting_first": (float(forget["value"].iloc[0])
                                 if len(forget) and forget["task"].iloc[0] == 0 else np.nan),
            "forgetting_mean": float(forget["value"].mean()) if len(forget) else np.nan,
            "protected": float(prot.mean()) if len(prot) else np.nan,
            "zero_grad": float(zero.mean()) if len(zero) else np.nan,
            "plasticity_slope": (_slope(diag["task_trained"].to_numpy(float),
                                        diag["value"].to_numpy(float))
                                 if seq == "permuted" else np.nan),
            "final_accuracy": float(last.mean()) if len(last) else np.nan,
            "dead_first": float(dead.iloc[0]) if len(dead) else np.nan,
            "dead_last": float(dead.iloc[-1]) if len(dead) else np.nan,
        })
    out = pd.DataFrame(rows)
    if len(out):
        out["label"] = _label(out)
    return out


def _cond_text(setting: dict, varying: list[str], extra: str = "") -> str:
    parts = [f"{k}={setting[k]}" for k in ("sequence", "head") if k in setting]
    parts += [f"{k}={setting[k]}" for k in varying if k not in ("sequence", "head")]
    return ",".join(parts + ([extra] if extra else []))


def _family(m: int, rule: Rule) -> tuple[Rule, str]:
    """The rule at the Bonferroni level for a family of m claims, and the note that says so."""
    level = 1 - THRESHOLDS.familywise_alpha / max(m, 1)
    note = (f"Bonferroni over the {m} claims of this family: each interval at {level:.2%}" if m > 1
            else "")
    return replace(rule, level=level), note


def _v(d: pd.DataFrame, col: str) -> pd.Series:
    """A claim's per-seed value: diverged seeds become nan (left out by the evidence, and
    counted)."""
    return d[col].where(~d["diverged"].astype(bool)) if "diverged" in d else d[col]


def claims(summary: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    out: list[Claim] = []
    if summary.empty:
        return [no_data(experiment=NAME, claim="leaky_forgets_more", kind=Kind.EMPIRICAL,
                        why="no runs",
                        statement="Leaky units forget earlier tasks faster than ReLU.")]
    _, settings = _keys(summary)
    varying = [c for c in settings if summary[c].nunique(dropna=False) > 1]
    groups = (list(summary.groupby(settings, dropna=False, sort=True)) if settings
              else [((), summary)])
    dropped = ("a diverged seed is left out of its pair (its numbers measure the divergence, not "
               "continual learning)")

    # -- leaky_forgets_more and relu_protects_more: relu vs each leaky slope, paired by seed
    pairs = []
    for key, d in groups:
        setting = dict(zip(settings, key if isinstance(key, tuple) else (key,)))
        leaky = sorted(d.loc[d["activation"] == "leaky_relu", "slope"].dropna().unique())
        has_relu = (d["activation"] == "relu").any()
        for slope in leaky:
            pairs.append((setting, d, slope, has_relu))
    fam_forget = _family(len(pairs), above(0.0))
    fam_protect = _family(len(pairs), above(0.0))
    for setting, d, slope, has_relu in pairs:
        where = _cond_text(setting, varying, f"slope={slope:g}")
        d = d[(d["activation"] == "relu")
              | ((d["activation"] == "leaky_relu") & (d["slope"] == slope))]
        d = d.assign(side=np.where(d["activation"] == "relu", "relu", "leaky"))
        st_f = ("Leaky units forget the first task more than ReLU units (forgetting of task 0 "
                "after the last task, leaky minus relu, paired by seed).")
        st_p = ("ReLU keeps a larger fraction of hidden weights protected during each later task "
                f"than leaky ReLU (total update over the task below {PROTECT_EPS:g} x its row's "
                "RMS; relu minus leaky, paired by seed).")
        if not has_relu:
            out.append(no_data(experiment=NAME, claim=f"leaky_forgets_more[{where}]",
                               statement=st_f, kind=Kind.EMPIRICAL, expected="> 0",
                               why="no relu runs in this setting"))
            out.append(no_data(experiment=NAME, claim=f"relu_protects_more[{where}]",
                               statement=st_p, kind=Kind.EMPIRICAL, expected="> 0",
                               why="no relu runs in this setting"))
            continue
        d = d.assign(f=_v(d, "forgetting_first"), prot=_v(d, "protected"))
        diff = paired(d, "f", "side", "leaky", "relu")
        rule, note = fam_forget
        ev = over_seeds(diff.values, rule)
        sign = ("reversed: relu forgets more" if np.isfinite(ev.estimate) and ev.estimate < 0
                else "")
        means = d.groupby("side")["forgetting_first"].mean()
        out.append(empirical(
            experiment=NAME, claim=f"leaky_forgets_more[{where}]", statement=st_f, rule=rule,
            evidence=ev, expected="> 0 (leaky forgets more)",
            detail="; ".join(x for x in (sign,
                                         f"forgetting relu {means.get('relu', np.nan):.3f}, leaky "
                                         f"{means.get('leaky', np.nan):.3f}", dropped, note) if x)))
        diff = paired(d, "prot", "side", "relu", "leaky")
        rule, note = fam_protect
        ev = over_seeds(diff.values, rule)
        means = d.groupby("side")[["protected", "zero_grad"]].mean()
        z = means["zero_grad"]
        out.append(empirical(
            experiment=NAME, claim=f"relu_protects_more[{where}]", statement=st_p, rule=rule,
            evidence=ev, expected="> 0 (relu protects more)",
            detail="; ".join(x for x in (
                f"protected relu {means['protected'].get('relu', np.nan):.4f}, leaky "
                f"{means['protected'].get('leaky', np.nan):.4f} (exactly-zero-gradient fraction, "
                f"not judged: relu {z.get('relu', np.nan):.4f}, leaky "
                f"{z.get('leaky', np.nan):.4f})", dropped, note) if x)))

    # -- plasticity: per-seed slope of new-task accuracy over the task index, permuted sequences
    st_pl = ("Loss of plasticity: the accuracy reached on each new permuted task falls along the "
             "sequence (per-seed least-squares slope over the task index, per task).")
    perm = [(dict(zip(settings, k if isinstance(k, tuple) else (k,))), d) for k, d in groups
            if "sequence" in d and (d["sequence"] == "permuted").all()]
    cond, _ = _keys(summary)
    items = [(setting, dict(zip(cond, k)), g) for setting, d in perm
             for k, g in d.groupby(cond, dropna=False, sort=True)]
    rule, note = _family(len(items), below(0.0))
    for setting, c, g in items:
        act = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.items()
                       if not pd.isna(v))
        where = _cond_text(setting, varying, act)
        if not (g["n_tasks"] >= THRESHOLDS.min_tasks_for_slope).any():
            out.append(no_data(experiment=NAME, claim=f"plasticity_loss[{where}]", statement=st_pl,
                               kind=Kind.EMPIRICAL, expected="< 0",
                               why=f"fewer than {THRESHOLDS.min_tasks_for_slope} tasks per seed"))
            continue
        ev = over_seeds(_v(g.sort_values("seed"), "plasticity_slope").values, rule)
        out.append(empirical(
            experiment=NAME, claim=f"plasticity_loss[{where}]", statement=st_pl, rule=rule,
            evidence=ev, expected="< 0 (published: new-task accuracy falls as units die)",
            detail="; ".join(x for x in (
                f"{int(g['n_tasks'].max())} tasks; dead fraction first task "
                f"{g['dead_first'].mean():.3f} -> last {g['dead_last'].mean():.3f}",
                "a diverged seed is left out", note) if x)))
    return out


EXPERIMENT = Experiment(
    name=NAME,
    title=(
        "Continual learning: does leakiness speed up forgetting, and what does ReLU's protection "
        "cost?"
    ),
    summary=(
        "One MLP is trained on a sequence of tasks from real data (MNIST-1D or scikit-learn's "
        "digits): split pairs of classes with a task-masked or shared head, or permuted inputs "
        "with a shared head; after each task the accuracy on every task is measured, and over "
        "each task the fraction of hidden weights that barely moved (protected). Claimed, each "
        "family at a Bonferroni-adjusted level: leaky relu forgets the first task more than "
        "relu, relu protects more weights than leaky relu, and on permuted sequences the "
        "accuracy on each new task falls over the sequence (loss of plasticity)."
    ),
    command="actlab -m experiment=continual",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.continual:figures",
    # build_task/build_model/train(_many); trainer.steps <- params.steps_per_task
    reads=("activation", "model", "task", "trainer"),
)
