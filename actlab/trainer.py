"""The one training function every experiment calls. Read it top to bottom."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from actlab.config import ConfigError, Device, DType, Optimizer, TrainerConfig
from actlab.models import MLP
from actlab.probes import probe
from actlab.tasks import Task

PROBE_BATCH = 512


@dataclass
class TrainResult:
    rows: list[dict] = field(default_factory=list)  # tidy (step, layer, metric, value) rows
    status: str = "ok"  # ok | diverged
    diverged_step: int | None = None
    final: dict[str, float] = field(default_factory=dict)


def resolve_device(tc: TrainerConfig) -> torch.device:
    want = Device(tc.device)
    if want is Device.cuda and not torch.cuda.is_available():
        raise ConfigError("trainer.device='cuda': no CUDA device is available; valid choices here: auto, cpu")
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
def evaluate(model: MLP, task: Task) -> dict[str, float]:
    """`loss`/`accuracy` on the probe batch (the first PROBE_BATCH training examples: all of them
    for most tasks here), `test_loss`/`test_accuracy` on the test set. Evaluating a fixed
    subsample keeps logging cheap when the training set is large."""
    lf = loss_fn(task)
    x, y = task.x_train[:PROBE_BATCH], task.y_train[:PROBE_BATCH]
    out_train, out_test = model(x), model(task.x_test)
    m = {"loss": lf(out_train, y).item(), "test_loss": lf(out_test, task.y_test).item()}
    if task.kind == "classification":
        m["accuracy"] = (out_train.argmax(1) == y).float().mean().item()
        m["test_accuracy"] = (out_test.argmax(1) == task.y_test).float().mean().item()
    return m


def train(model: MLP, task: Task, tc: TrainerConfig, seed: int, desc: str = "",
          on_log=None) -> TrainResult:
    """Train `model` on `task` for tc.steps steps; probe at step 0, every tc.log_every steps and at
    the end. A non-finite loss or gradient stops the run with status 'diverged' at that step.
    `on_log(step, model)`, if given, returns extra rows at each of those steps (an experiment's own
    probes)."""
    lf = loss_fn(task)
    n = task.x_train.shape[0]
    bs = n if tc.batch_size == 0 else min(tc.batch_size, n)
    x_probe, y_probe = task.x_train[:PROBE_BATCH], task.y_train[:PROBE_BATCH]
    params = list(model.parameters())
    if Optimizer(tc.optimizer) is Optimizer.adam:
        opt = torch.optim.Adam(params, lr=tc.lr)
    else:
        opt = torch.optim.SGD(params, lr=tc.lr)
    # Batches come from their own generator so that probing (which draws nothing) or a change of
    # device never shifts the data order.
    gen = torch.Generator().manual_seed(seed)
    res = TrainResult()

    def log(step: int) -> bool:
        """Record whole-network metrics (and probes); return False when they are not finite."""
        m = evaluate(model, task)
        res.rows.extend({"step": step, "layer": None, "metric": k, "value": v} for k, v in m.items())
        res.final = m
        if tc.probes:
            rows = probe(model, x_probe, lambda out: lf(out, y_probe))
            res.rows.extend({"step": step, **r} for r in rows)
        if on_log is not None:
            res.rows.extend({"step": step, "layer": None, **r} for r in on_log(step, model))
        return math.isfinite(m["loss"])

    bar = tqdm(total=tc.steps, desc=desc, disable=not progress_enabled(), leave=False)
    for step in range(tc.steps + 1):
        if step % tc.log_every == 0 or step == tc.steps:
            if not log(step):
                res.status, res.diverged_step = "diverged", step
                break
        if step == tc.steps:
            break
        idx = torch.randint(0, n, (bs,), generator=gen).to(task.x_train.device) if bs < n else None
        xb = task.x_train if idx is None else task.x_train[idx]
        yb = task.y_train if idx is None else task.y_train[idx]
        loss = lf(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # one fused norm over all gradients: non-finite iff some gradient entry is
        grad_norm = torch.stack(torch._foreach_norm([p.grad for p in params])).sum()
        if not (torch.isfinite(loss) and torch.isfinite(grad_norm)):
            res.status, res.diverged_step = "diverged", step
            res.rows.append({"step": step, "layer": None, "metric": "loss", "value": loss.item()})
            break
        opt.step()
        bar.update(1)
    bar.close()
    return res
