"""Continual learning: does leakiness speed up forgetting, and what does ReLU's protection cost?

Run the default grid:  actlab -m experiment=continual
One point:             actlab experiment=continual activation=leaky_relu activation.slope=0.1 \
params.sequence=permuted params.lrs=[0.05] params.bias_shifts=[0]
The widest grid:       actlab -m experiment=continual scale=full   (about 30 min on one core;
                       the default grid takes about 6)

The article argues that leaky units keep updating every weight, so they overwrite earlier tasks
faster, while ReLU units with zero gradient "protect" what they learned. One MLP learns a
sequence of tasks built from MNIST-1D (generated locally) or scikit-learn's digits, plain SGD.

The regime grid (`params.sequence` split or permuted): `split` is 5 disjoint pairs of classes,
with a task-masked head (`task`: logits masked to the pair) or a shared one (`shared`,
class-incremental), swept inside the run over `params.heads`; `permuted` is 5 tasks of permuted
inputs with a shared head (domain-incremental). Inside each run, for every learning rate in
`params.lrs` and every bias shift in `params.bias_shifts` (added to every hidden bias at
initialization: it sets how many units are inactive when the later tasks start), the activation
is trained with its own gradient and, with `params.ablation`, with the crossed gradient:
relu with `activation.backward=leaky_below` (the leak's gradient, at each of
`params.ablation_slopes`, forward unchanged) and leaky relu with `zero_below` (relu's zero
gradient below 0, leaky forward). Measured (rows per task and, where it applies, per layer):
the accuracy matrix and forgetting; at each task's start, the units inactive on its training
inputs (z <= 0 on every input: for relu the dead units, for leaky the units that pass only the
leak) and the gradient-dead ones; over each task, the fraction of hidden weights that barely moved
(`protected_fraction`: |dW| below PROTECT_EPS of the row's RMS), the parameter distance
travelled and the accuracy gained on the new task; at the end, the units that stayed inactive on
every later task (checked at the start and the end of each) and the task-0 accuracy they carry
(task-0 accuracy minus that with those units knocked out).

The long sequence (`params.sequence=long_permuted`, `params.n_tasks` tasks at `trainer.lr`, no
shift, no ablation): after each task the new task's accuracy, per hidden layer the dead and
near-dead fractions, the effective rank of the representation (Roy & Vetterli 2007, as in Dohare
et al. 2024) and mean |w| per layer: the loss-of-plasticity measurements of Dohare et al.

Claims (experiments/continual_claims.py; every setting judged apart, each family at a
Bonferroni-adjusted level): leaky forgets task 0 more than relu, per cell; the leak's gradient
adds forgetting (leaky minus leaky with zero_below; relu with leaky_below minus relu); relu
protects more weights and its inactive units carry more task-0 accuracy; leaky forgets more at
matched plasticity (relu's forgetting interpolated across learning rates at leaky's distance
travelled or new-task accuracy gained); on the long sequence, per activation, new-task accuracy
falls, units die, weights grow and effective rank falls.
"""

from __future__ import annotations

import math
from dataclasses import is_dataclass

import numpy as np
import torch
from omegaconf import OmegaConf

from actlab.batched import train_many
from actlab.config import ConfigError
from actlab.experiment import Experiment
from actlab.names import used_keys
from actlab.probes import unit_stats
from actlab.runner import build_model, build_task
from actlab.trainer import RunResult, train
from experiments.continual_claims import NAME, claims, summarize
from experiments.continual_measure import (
    PERMUTED_TASKS,
    RANK_INPUTS,
    accuracy,
    dead,
    distance,
    effective_rank,
    forward,
    inactive,
    permuted_tasks,
    protected,
    snapshot,
    split_tasks,
    weight_magnitude,
)
from experiments.params import ContinualParams as Params
from experiments.params import Head, TaskSequence

__all__ = ["NAME", "Params", "TaskSequence", "Head", "run", "run_seeds", "summarize", "claims",
           "EXPERIMENT"]


# ---------------------------------------------------------------------------------------------
# Run


def _check(p) -> None:
    if p.steps_per_task < 1:
        raise ConfigError(f"params.steps_per_task={p.steps_per_task}: must be an integer >= 1")
    if p.sequence == TaskSequence.long_permuted and p.n_tasks < 1:
        raise ConfigError(f"params.n_tasks={p.n_tasks}: must be an integer >= 1")
    for lr in p.lrs:
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"params.lrs: {lr} is not a learning rate (must be > 0)")
    for s in p.ablation_slopes:
        if not math.isfinite(s):
            raise ConfigError(f"params.ablation_slopes: {s} must be a finite number")


def _slope(act) -> float:
    """The slope a run with this activation config reads (its own or its gradient's leak)."""
    backward = getattr(act.backward, "value", act.backward)
    return float(act.slope) if "slope" in used_keys(act.name, backward) else math.nan


def _arms(cfg) -> list:
    """The activation configs trained: the configured one and, with params.ablation and an exact
    gradient, the crossed gradient of relu (leaky_below, per ablation slope) or leaky relu
    (zero_below)."""
    a, p = cfg.activation, cfg.params
    out = [cfg]
    if p.ablation and getattr(a.backward, "value", a.backward) == "exact":
        if a.name == "relu":
            out += [OmegaConf.merge(cfg, {"activation": {"backward": "leaky_below", "slope": s}})
                    for s in p.ablation_slopes]
        elif a.name == "leaky_relu":
            out.append(OmegaConf.merge(cfg, {"activation": {"backward": "zero_below"}}))
    return out


def _model(cfg, task, seed: int, shift: float):
    net = build_model(cfg, task, seed)
    if shift:
        with torch.no_grad():
            for layer in net.layers[:-1]:
                layer.bias += shift
    return net


def _trainer(cfg, lr: float):
    """The trainer config of one task: params.steps_per_task steps at `lr`; logging only at the
    first and last step (the training rows are not kept: the experiment measures its own)."""
    tc = cfg.trainer.copy()
    tc.steps, tc.lr, tc.probes = cfg.params.steps_per_task, lr, False
    tc.log_every = cfg.params.steps_per_task
    # a plain dataclass: the training loop reads it at every step, a DictConfig costs ~4% there
    return OmegaConf.to_object(tc) if is_dataclass(OmegaConf.get_type(tc)) else tc


def _train(nets, tasks, mask, tc, gen_seeds, batched: bool, desc: str):
    for net in nets:
        net.out_mask = mask
    if batched:
        return train_many(nets, tasks, tc, gen_seeds, desc=f"{desc} x{len(nets)}")
    return [train(net, task, tc, seed=g, desc=desc) for net, task, g in zip(nets, tasks, gen_seeds)]


def run(cfg, device) -> RunResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, RunResult]:
    """Every seed's sequences; each task trains all seeds (and bias shifts) at once
    (train_many). Split sequences are the same for every seed; permuted ones differ (their
    permutations come from the seed), so each seed trains on its own permuted copy."""
    p = cfg.params
    _check(p)
    base = build_task(cfg, device)
    rows: dict[int, list[dict]] = {s: [] for s in seeds}
    if p.sequence == TaskSequence.long_permuted:
        _run_long(cfg, base, seeds, batched, rows)
    else:
        heads = [str(h) for h in p.heads] or [str(p.head)]
        if p.sequence == TaskSequence.permuted:
            heads = ["shared"]  # one head for every permutation
        for head in heads:
            for lr in list(p.lrs) or [float(cfg.trainer.lr)]:
                for arm in _arms(cfg):
                    _run_block(arm, base, seeds, head, float(lr), batched, rows)
    out = {}
    for s in seeds:
        bad = [r for r in rows[s] if r["metric"] == "status_task" and r["value"] < 1]
        out[s] = RunResult(rows=rows[s], status="diverged" if bad else "ok",
                           final={"tasks_diverged": float(len(bad))})
    return out


def _common(cfg, head: str, lr: float, shift: float) -> dict:
    a = cfg.activation
    return {"layer": None, "sequence": str(cfg.params.sequence), "head": head, "lr": lr,
            "bias_shift": float(shift), "backward": str(getattr(a.backward, "value", a.backward)),
            "slope": _slope(a), "data": cfg.task.name}


def _unit_rows(net, zs, common: dict, task: int) -> list[dict]:
    """Dead and near-dead fractions per hidden layer (actlab.probes' definitions)."""
    rows = []
    for layer, z in enumerate(zs, start=1):
        stats = unit_stats(net.act.deriv(z), net.act.max_slope)
        rows += [{**common, "task": task, "layer": layer, "metric": m, "value": stats[m]}
                 for m in ("dead_fraction", "near_dead_fraction")]
    return rows


def _run_block(cfg, base, seeds, head: str, lr: float, batched: bool, rows: dict) -> None:
    """One (head, lr, activation arm) block: every seed x bias shift trains the sequence."""
    p = cfg.params
    shifts = [float(b) for b in p.bias_shifts]
    keys = [(s, b) for s in seeds for b in shifts]
    if p.sequence == "split":
        shared = split_tasks(base, head)
        seqs = dict.fromkeys(seeds, shared)
    else:
        seqs = {}
        for s in seeds:
            gen = permuted_tasks(base, s)
            seqs[s] = [(next(gen), None) for _ in range(PERMUTED_TASKS)]
    nets = {k: _model(cfg, base, k[0], k[1]) for k in keys}
    act = nets[keys[0]].act
    for net in nets.values():  # one activation object: its measured max slope is computed once
        net.act = act
    n = len(seqs[seeds[0]])
    tc = _trainer(cfg, lr)
    acc = {k: np.full((n, n), np.nan) for k in keys}
    stayed: dict = dict.fromkeys(keys)
    out: dict = {k: [] for k in keys}
    common = {k: _common(cfg, head, lr, k[1]) for k in keys}
    a = cfg.activation
    desc = f"continual {a.name} {a.backward} {head} lr={lr:g}"
    for t in range(n):
        start, off_start = {}, {}
        for k in keys:
            task, mask = seqs[k[0]][t]
            net = nets[k]
            _, zs, _ = forward(net, task.x_train)
            off_start[k] = inactive(zs)
            c = {**common[k], "task": t}
            out[k] += [{**c, "layer": layer, "metric": "inactive_fraction",
                        "value": float(o.float().mean())}
                       for layer, o in enumerate(off_start[k], start=1)]
            out[k] += [{**c, "layer": layer, "metric": "dead_fraction",
                        "value": float(o.float().mean())}
                       for layer, o in enumerate(dead(net, zs), start=1)]
            # the new task's accuracy before training it (measured after the previous task)
            before = accuracy(net, task, mask) if t == 0 else acc[k][t - 1, t]
            out[k].append({**c, "metric": "accuracy_before", "value": before})
            start[k] = snapshot(net)
        mask = seqs[seeds[0]][t][1]
        results = _train([nets[k] for k in keys], [seqs[k[0]][t][0] for k in keys], mask, tc,
                         [k[0] * 1000 + t for k in keys], batched, f"{desc} task {t}")
        for k, r in zip(keys, results):
            net, (task, _) = nets[k], seqs[k[0]][t]
            _, zs, _ = forward(net, task.x_train)
            if t >= 1:
                both = [a & b for a, b in zip(off_start[k], inactive(zs))]
                stayed[k] = both if stayed[k] is None else [a & b for a, b in zip(stayed[k], both)]
            now = snapshot(net)
            c = {**common[k], "task": t}
            out[k] += [{**c, "layer": layer, "metric": "protected_fraction", "value": v}
                       for layer, v in enumerate(protected(start[k], now), start=1)]
            out[k].append({**c, "metric": "distance", "value": distance(start[k], now)})
            out[k].append({**c, "metric": "status_task", "value": float(r.status == "ok")})
            # every task learned so far, and the next one (its accuracy before training it)
            for e, (task_e, mask_e) in enumerate(seqs[k[0]][:t + 2]):
                acc[k][t, e] = accuracy(net, task_e, mask_e)
                if e <= t:
                    out[k].append({**c, "metric": "accuracy", "value": acc[k][t, e],
                                   "task_trained": t, "task_eval": e})
    for k in keys:
        net, (task0, mask0) = nets[k], seqs[k[0]][0]
        c = {**common[k], "task": None}
        for i in range(n - 1):
            out[k].append({**c, "task": i, "metric": "forgetting",
                           "value": float(np.max(acc[k][i:n - 1, i]) - acc[k][n - 1, i])})
        if stayed[k] is not None:
            base_acc = acc[k][n - 1, 0]
            # of those units, the ones task 0's inputs still activate: what could carry task 0
            _, zs0, _ = forward(net, task0.x_train)
            used = [~o for o in inactive(zs0)]
            for layer, units in enumerate(stayed[k], start=1):
                off = [u if i == layer - 1 else None for i, u in enumerate(stayed[k])]
                out[k].append({**c, "layer": layer, "metric": "stayed_inactive_fraction",
                               "value": float(units.float().mean())})
                out[k].append({**c, "layer": layer, "metric": "stayed_inactive_task0_active",
                               "value": float((units & used[layer - 1]).float().mean())})
                out[k].append({**c, "layer": layer, "metric": "carried_accuracy",
                               "value": base_acc - accuracy(net, task0, mask0, off)})
            out[k].append({**c, "metric": "carried_accuracy",
                           "value": base_acc - accuracy(net, task0, mask0, stayed[k])})
    for s in seeds:
        for b in shifts:
            rows[s] += out[(s, b)]


def _run_long(cfg, base, seeds, batched: bool, rows: dict) -> None:
    """params.n_tasks permuted tasks at trainer.lr: after each, the new task's accuracy and, per
    layer, dead and near-dead fractions, effective rank (hidden layers) and mean |w|."""
    p = cfg.params
    lr = float(cfg.trainer.lr)
    tc = _trainer(cfg, lr)
    gens = {s: permuted_tasks(base, s) for s in seeds}
    nets = {s: _model(cfg, base, s, 0.0) for s in seeds}
    for net in nets.values():
        net.act = nets[seeds[0]].act
    common = _common(cfg, "shared", lr, 0.0)
    desc = f"continual {cfg.activation.name} long"
    for t in range(p.n_tasks):
        tasks = {s: next(gens[s]) for s in seeds}
        results = _train([nets[s] for s in seeds], [tasks[s] for s in seeds], None, tc,
                         [s * 1000 + t for s in seeds], batched, f"{desc} task {t}")
        for s, r in zip(seeds, results):
            net, task = nets[s], tasks[s]
            c = {**common, "task": t}
            rows[s].append({**c, "metric": "status_task", "value": float(r.status == "ok")})
            rows[s].append({**c, "metric": "new_task_accuracy", "value": accuracy(net, task)})
            _, zs, hs = forward(net, task.x_train[:RANK_INPUTS])
            rows[s] += _unit_rows(net, zs, common, t)
            rows[s] += [{**c, "layer": layer, "metric": "effective_rank",
                         "value": effective_rank(h)} for layer, h in enumerate(hs, start=1)]
            rows[s] += [{**c, "layer": layer, "metric": "weight_magnitude", "value": v}
                        for layer, v in enumerate(weight_magnitude(net), start=1)]


EXPERIMENT = Experiment(
    name=NAME,
    title=(
        "Continual learning: does leakiness speed up forgetting, and what does ReLU's protection "
        "cost?"
    ),
    summary=(
        "One MLP learns a sequence of MNIST-1D tasks with plain SGD: split pairs of classes "
        "(task-masked or shared head) or permuted inputs, over a grid of learning rates and "
        "bias shifts (which set how many units are inactive when later tasks start), relu and "
        "leaky relu each with its own and the crossed gradient (activation.backward); and a "
        "long permuted sequence for relu, leaky slopes, tanh and gelu. Claimed, each family at a "
        "Bonferroni-adjusted level and every setting apart: leaky relu forgets the first task "
        "more than relu; the leak's gradient adds forgetting; relu protects more weights and its "
        "inactive units carry more first-task accuracy; leaky forgets more at matched "
        "plasticity; over the long sequence new-task accuracy falls, units die, weights grow "
        "and the representation's effective rank falls (Dohare et al. 2024)."
    ),
    command="actlab -m experiment=continual",
    params=Params,
    run=run,
    run_seeds=run_seeds,
    summarize=summarize,
    claims=claims,
    figures="experiments.figures.continual:figures",
    # build_task/build_model/train(_many); trainer.steps and log_every <- params.steps_per_task
    reads=("activation", "model", "task", "trainer"),
)
