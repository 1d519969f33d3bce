"""The reference training loop and the pieces every loop shares. Read `train` top to bottom;
actlab.batched.train_many is the engine most experiments run (the same loop with a seed
dimension)."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from actlab import optim
from actlab.config import ConfigError, Device, DType, Optimizer, TrainerConfig
from actlab.models import MLP
from actlab.probes import probe
from actlab.tasks import Task

PROBE_BATCH = 512


@dataclass
class RunResult:
    rows: list[dict] = field(default_factory=list)  # tidy (step, layer, metric, value) rows
    status: str = "ok"  # ok | diverged
    diverged_step: int | None = None
    final: dict[str, float] = field(default_factory=dict)


def resolve_device(tc: TrainerConfig) -> torch.device:
    want = Device(tc.device)
    if want is Device.cuda and not torch.cuda.is_available():
        raise ConfigError("trainer.device='cuda': no CUDA device is available; "
                          "valid choices here: auto, cpu")
    if want is Device.auto:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(want.value)


def torch_dtype(tc: TrainerConfig) -> torch.dtype:
    return torch.float64 if DType(tc.dtype) is DType.float64 else torch.float32


def loss_fn(task: Task):
    if task.kind == "classification":
        return F.cross_entropy
    return F.mse_loss


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@torch.no_grad()
def network_metrics(model: MLP, task: Task,
                    out_train: torch.Tensor | None = None) -> dict[str, float]:
    """`loss`/`accuracy` on the probe batch (the first PROBE_BATCH training examples: all of them
    for most tasks here), `test_loss`/`test_accuracy` on the test set. Evaluating a fixed
    subsample keeps logging cheap when the training set is large. `out_train`, the model's output
    on the probe batch if the caller has it already, saves a forward pass."""
    lf = loss_fn(task)
    y = task.y_train[:PROBE_BATCH]
    if out_train is None:
        out_train = model(task.x_train[:PROBE_BATCH])
    out_test = model(task.x_test)
    # one read-back for all values: each .item() would be a device sync
    values = [lf(out_train, y), lf(out_test, task.y_test)]
    keys = ["loss", "test_loss"]
    if task.kind == "classification":
        values += [(out_train.argmax(1) == y).float().mean(),
                   (out_test.argmax(1) == task.y_test).float().mean()]
        keys += ["accuracy", "test_accuracy"]
    return dict(zip(keys, torch.stack([v.to(torch.float64) for v in values]).tolist()))


def log_step(res: RunResult, step: int, model: MLP, task: Task, tc: TrainerConfig,
             on_log=None) -> bool:
    """Append whole-network metrics, probes and the experiment's own rows at `step` to `res`;
    return False when the loss is not finite. Shared by `train` and the batched `train_many`."""
    out_train, rows = None, []
    if tc.probes:
        lf = loss_fn(task)
        y_probe = task.y_train[:PROBE_BATCH]
        out_train, rows = probe(model, task.x_train[:PROBE_BATCH], lambda out: lf(out, y_probe))
    m = network_metrics(model, task, out_train)
    res.rows.extend({"step": step, "layer": None, "metric": k, "value": v} for k, v in m.items())
    res.rows.extend({"step": step, **r} for r in rows)
    res.final = m
    if on_log is not None:
        res.rows.extend({"step": step, "layer": None, **r} for r in on_log(step, model))
    return math.isfinite(m["loss"])


# The pieces every training loop shares (this reference `train` and the seed-batched engine
# actlab.batched.train_many): optimizer, minibatch sampler, log schedule, divergence record.


def make_optimizer(params, tc: TrainerConfig) -> optim.SGD:
    # actlab.optim, not torch.optim: the same arithmetic without torch._dynamo's import (1.2 s)
    if Optimizer(tc.optimizer) is Optimizer.adam:
        return optim.Adam(params, lr=tc.lr)
    return optim.SGD(params, lr=tc.lr)


def minibatch_size(tc: TrainerConfig, n: int) -> int:
    return n if tc.batch_size == 0 else min(tc.batch_size, n)


def draw_batch(gen: torch.Generator, n: int, bs: int) -> torch.Tensor:
    """Indices of one minibatch, drawn with replacement from the run's own generator (on the CPU,
    so that probing, which draws nothing, or a change of device never shifts the data order)."""
    return torch.randint(0, n, (bs,), generator=gen)


def log_due(step: int, tc: TrainerConfig) -> bool:
    """Probes run at step 0, every tc.log_every steps and at the end."""
    return step % tc.log_every == 0 or step == tc.steps


def mark_diverged(res: RunResult, step: int, batch_loss: float | None = None) -> None:
    """A non-finite loss ends the run as 'diverged' at `step`; the minibatch loss that blew up,
    if that is where it showed (the probe-batch `loss` was last logged earlier), is kept as a
    row."""
    res.status, res.diverged_step = "diverged", step
    if batch_loss is not None:
        res.rows.append({"step": step, "layer": None, "metric": "batch_loss", "value": batch_loss})


def train(model: MLP, task: Task, tc: TrainerConfig, seed: int, desc: str = "",
          on_log=None, weight_hooks=None) -> RunResult:
    """Train `model` on `task` for tc.steps steps; probe at step 0, every tc.log_every steps and at
    the end. A non-finite loss stops the run with status 'diverged' at that step.
    `on_log(step, model)`, if given, returns extra rows at each of those steps (an experiment's own
    probes); `weight_hooks[l]`, if given, sees layer l's weight gradient at every step.

    This is the small reference: actlab.batched.train_many is the same loop with a seed
    dimension, and tests/test_batched.py holds the two to the same rows."""
    lf = loss_fn(task)
    n = task.x_train.shape[0]
    bs = minibatch_size(tc, n)
    opt = make_optimizer(list(model.parameters()), tc)
    gen = torch.Generator().manual_seed(seed)
    handles = [layer.weight.register_hook(h) for layer, h in zip(model.layers, weight_hooks or [])]
    res = RunResult()

    bar = tqdm(total=tc.steps, desc=desc, disable=not progress_enabled(), leave=False)
    for step in range(tc.steps + 1):
        if log_due(step, tc) and not log_step(res, step, model, task, tc, on_log):
            mark_diverged(res, step)
            break
        if step == tc.steps:
            break
        idx = draw_batch(gen, n, bs).to(task.x_train.device) if bs < n else None
        xb = task.x_train if idx is None else task.x_train[idx]
        yb = task.y_train if idx is None else task.y_train[idx]
        loss = lf(model(xb), yb)
        # Checking the loss alone is enough: a non-finite gradient makes the next loss non-finite
        # (NaN/inf weights reach the output), and a fused check of every gradient would cost ~7%
        # of a small net's step.
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            mark_diverged(res, step, loss_value)
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        bar.update(1)
    bar.close()
    for h in handles:
        h.remove()
    return res
