"""Continual learning: does leakiness speed up forgetting, and what does ReLU's protection cost?

Run the default grid:  actlab -m experiment=continual
One point:             actlab experiment=continual activation=leaky_relu activation.slope=0.1 params.sequence=permuted

The article argues that leaky units keep updating every weight, so they may overwrite earlier tasks
faster, while ReLU units with zero gradient "protect" what they learned. We train one MLP on a
sequence of tasks built from real data (MNIST-1D generated locally, or scikit-learn's digits):
`split` (disjoint pairs of classes; `params.head=task` masks the logits to the current task's
classes, `shared` does not) or `permuted` (a fixed random input permutation per task, shared head).
After each task we measure the accuracy on every task (the accuracy matrix), and during each task
the fraction of weights whose gradient was exactly zero on every step (`protected_fraction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from actlab.batched import train_many
from actlab.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Claim, mean_ci, no_data
from actlab.plotting import colors, plt, use_style
from actlab.probes import unit_stats
from actlab.runner import build_model, build_task
from actlab.tasks import Task
from actlab.trainer import TrainResult, train

NAME = "continual"


@dataclass
class Params:
    sequence: str = "split"  # split | permuted
    head: str = "task"  # split only: task (logits masked to the task's classes) | shared
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
        from actlab.config import ConfigError

        raise ConfigError(f"params.sequence={p.sequence!r}: unknown; valid choices: split, permuted")
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


def run(cfg, device) -> TrainResult:
    return run_seeds(cfg, device, [cfg.seed], batched=False)[cfg.seed]


def run_seeds(cfg, device, seeds, batched: bool = True) -> dict[int, TrainResult]:
    """Every seed's task sequence, each task training all seeds at once (train_many). Split
    sequences are the same for every seed; permuted ones differ (their permutations come from the
    seed), so each seed trains on its own permuted copy of the data, stacked."""
    p = cfg.params
    if p.head not in ("task", "shared"):
        from actlab.config import ConfigError

        raise ConfigError(f"params.head={p.head!r}: unknown; valid choices: task, shared")
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
        # protected: weights whose gradient is exactly zero on every step of this task
        never = {s: [torch.ones_like(layer.weight, dtype=torch.bool) for layer in net.layers]
                 for s, net in zip(seeds, nets)}
        desc = f"{NAME} {cfg.activation.name} task {t}"
        if batched:
            for s, net in zip(seeds, nets):
                net.out_mask = seqs[s][t][1]
            results = train_many(nets, [seqs[s][t][0] for s in seeds], tc, [s * 1000 + t for s in seeds], desc=f"{desc} x{len(seeds)}",
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
            protected = float(sum(m.sum() for m in hidden) / sum(m.numel() for m in hidden))
            common = {"step": (t + 1) * p.steps_per_task, "layer": None, "task": t, "sequence": p.sequence,
                      "head": head}
            rows[s].append({**common, "metric": "protected_fraction", "value": protected})
            rows[s].append({**common, "metric": "status_task", "value": float(r.status == "ok")})
            record: list = []
            with torch.no_grad():
                net(task.x_train, record=record)
            for layer, (z, _) in enumerate(record[:-1], start=1):
                stats = unit_stats(net.act.deriv(z), net.act.max_slope)
                rows[s].append({**common, "layer": layer, "metric": "dead_fraction", "value": stats["dead_fraction"]})
            for e, (task_e, mask_e) in enumerate(seqs[s]):
                net.out_mask = mask_e
                acc[s][t, e] = accuracy(net, task_e)
                rows[s].append({**common, "metric": "accuracy", "value": acc[s][t, e], "task_trained": t,
                                "task_eval": e})
    final = len(seq) - 1
    out = {}
    for s in seeds:
        for i in range(final):
            forgetting = float(np.max(acc[s][i:final, i]) - acc[s][final, i])
            rows[s].append({"step": len(seq) * p.steps_per_task, "layer": None, "metric": "forgetting",
                            "value": forgetting, "task": i, "sequence": p.sequence, "head": head})
        out[s] = TrainResult(rows=rows[s], final={"average_accuracy": float(np.mean(acc[s][final]))})
    return out


def _label(df: pd.DataFrame) -> pd.Series:
    slope = df["slope"].map(lambda s: "" if pd.isna(s) else f" {s:g}")
    return df["activation"] + slope


def claims(df: pd.DataFrame, p: Params | None = None) -> list[Claim]:
    out: list[Claim] = []
    df = df.assign(label=_label(df))
    for seq, d in df.groupby("sequence"):
        f0 = d[(d["metric"] == "forgetting") & (d["task"] == 0)].groupby(["label", "seed"])["value"].first()
        if f0.empty:
            continue
        relu = f0.get("relu")
        statement = ("Leaky units forget the first task faster than ReLU "
                     "(forgetting of task 0, leaky minus relu, paired by seed).")
        if relu is None:
            out.append(no_data(NAME, f"leaky_forgets_more[{seq}]", statement, "empirical", "> 0", "no relu runs"))
            continue
        for label in sorted(x for x in f0.index.get_level_values(0).unique() if x.startswith("leaky_relu")):
            leaky = f0[label]
            both = relu.index.intersection(leaky.index)
            m, lo, hi = mean_ci((leaky[both] - relu[both]).values)
            verdict = REPRODUCED if lo > 0 else "reversed" if hi < 0 else PARTLY if m > 0 else NOT_REPRODUCED
            out.append(Claim(NAME, f"leaky_forgets_more[{seq},{label}]", statement, "empirical", m,
                             "> 0 (leaky forgets more)", verdict, lo, hi,
                             detail=f"{len(both)} seeds; forgetting relu {relu[both].mean():.3f}, "
                                    f"{label} {leaky[both].mean():.3f}"))
        prot = d[d["metric"] == "protected_fraction"].groupby(["label", "seed"])["value"].mean()
        if "relu" in prot.index.get_level_values(0):
            for label in sorted(x for x in prot.index.get_level_values(0).unique() if x.startswith("leaky_relu")):
                both = prot["relu"].index.intersection(prot[label].index)
                m, lo, hi = mean_ci((prot["relu"][both] - prot[label][both]).values)
                out.append(Claim(NAME, f"relu_protects_more[{seq},{label}]", "ReLU has a larger fraction of weights "
                                 "with exactly zero gradient during a task than leaky ReLU.", "empirical", m,
                                 "> 0 (relu minus leaky)", REPRODUCED if lo > 0 else PARTLY if m > 0 else NOT_REPRODUCED,
                                 lo, hi, detail=f"relu {prot['relu'][both].mean():.4f}, {label} {prot[label][both].mean():.4f}"))
    perm = df[(df["sequence"] == "permuted") & (df["metric"] == "accuracy") & (df["task_trained"] == df["task_eval"])]
    if not perm.empty:
        for label, g in perm.groupby("label"):
            s = g.groupby("seed").apply(lambda h: np.polyfit(h["task_trained"], h["value"], 1)[0], include_groups=False)
            m, lo, hi = mean_ci(s.values)
            dead = df[(df["sequence"] == "permuted") & (df["metric"] == "dead_fraction") & (df["label"] == label)]
            dslope = dead.groupby("task")["value"].mean()
            out.append(Claim(NAME, f"plasticity[{label}]", "Accuracy reached on each new permuted task vs task "
                             "index (slope per task; negative = loss of plasticity).", "empirical", m,
                             "reported (published work: falls as units die)", "reported", lo, hi,
                             detail=f"dead fraction first task {dslope.iloc[0]:.3f} -> last {dslope.iloc[-1]:.3f}"))
    return out


def figures(df: pd.DataFrame) -> dict:
    use_style()
    df = df.assign(label=_label(df))
    acc = df[df["metric"] == "accuracy"]
    if acc.empty:
        return {}
    labels = sorted(acc["label"].unique(), key=lambda s: (not s.startswith("relu"), s))
    col = colors(labels)
    figs = {}
    split = acc[acc["sequence"] == "split"]
    if not split.empty:
        show = [lab for lab in labels if lab in ("relu", "leaky_relu 0.3", "leaky_relu 0.1", "tanh")][:3] or labels[:3]
        fig, axes = plt.subplots(1, len(show) + 1, figsize=(3.3 * (len(show) + 1), 3.2))
        for ax, lab in zip(axes, show):
            mat = split[split["label"] == lab].groupby(["task_trained", "task_eval"])["value"].mean().unstack()
            im = ax.imshow(mat.values, vmin=0, vmax=1, cmap="viridis")
            ax.set_title(lab)
            ax.set_xlabel("evaluated on task")
            ax.set_ylabel("after training task")
            ax.grid(False)
        fig.colorbar(im, ax=axes[len(show) - 1], fraction=0.046)
        ax = axes[-1]
        f0 = df[(df["metric"] == "forgetting") & (df["task"] == 0) & (df["sequence"] == "split")]
        lk = f0[f0["activation"] == "leaky_relu"].groupby("slope")["value"]
        if len(lk):
            s = lk.agg(["mean", "sem"]).fillna(0)
            ax.errorbar(s.index, s["mean"], yerr=1.96 * s["sem"], fmt="o-", capsize=3, color=col.get("leaky_relu 0.1", "C0"),
                        label="leaky_relu")
        r = f0[f0["activation"] == "relu"]["value"]
        if len(r):
            m, lo, hi = mean_ci(r)
            ax.axhline(m, color="k", label="relu (band: 95% CI)")
            if np.isfinite(lo):
                ax.axhspan(lo, hi, color="k", alpha=0.1)
        ax.set_xscale("log")
        ax.set_xlabel("leaky slope")
        ax.set_ylabel("forgetting of task 0")
        ax.legend(fontsize=7)
        fig.suptitle("Split tasks: accuracy matrices (mean over seeds) and forgetting vs leakiness")
        fig.tight_layout()
        figs["continual"] = fig
    perm = acc[(acc["sequence"] == "permuted") & (acc["task_trained"] == acc["task_eval"])]
    if not perm.empty:
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
        dead = df[(df["sequence"] == "permuted") & (df["metric"] == "dead_fraction")]
        for lab in labels:
            g = perm[perm["label"] == lab].groupby("task_trained")["value"].agg(["mean", "sem"]).fillna(0)
            axes[0].errorbar(g.index, g["mean"], yerr=1.96 * g["sem"], color=col[lab], label=lab, capsize=2)
            d = dead[dead["label"] == lab].groupby("task")["value"].mean()
            axes[1].plot(d.index, d.values, "o-", color=col[lab], label=lab)
        axes[0].set_xlabel("task index")
        axes[0].set_ylabel("accuracy on the new task")
        axes[1].set_xlabel("task index")
        axes[1].set_ylabel("dead fraction (mean over layers)")
        axes[0].legend(fontsize=7)
        fig.suptitle("Permuted tasks: plasticity over a long sequence")
        fig.tight_layout()
        figs["continual_plasticity"] = fig
    return figs
