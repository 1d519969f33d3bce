"""K seeds of one architecture trained as one batched computation: the default for seed sweeps.

`train_many(models, ...)` takes K ordinary `MLP`s (each initialized from its own seed, exactly as
a separate run would be), stacks their weights on a leading dimension and trains all K with one
batched matmul per layer. Seed k draws its minibatches from a generator seeded like
`actlab.trainer.train`'s, and its loss is its own mean, so its gradient is exactly its own: seed k
follows the trajectory of its separate run up to float summation order (tests/test_batched.py).

At every log step the stacked weights are copied back into the K models and the *same*
`log_step` as the plain trainer records metrics, probes and the experiment's own rows, so a
batched run writes the same rows as K separate runs. A seed whose loss or gradient stops being
finite is marked diverged at that step and frozen; the others go on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from actlab.config import TrainerConfig
from actlab.models import MLP
from actlab.tasks import Task
from actlab.trainer import (
    RunResult,
    draw_batch,
    log_due,
    log_step,
    make_optimizer,
    mark_diverged,
    minibatch_size,
    progress_enabled,
)


class BatchedMLP(nn.Module):
    """The weights of K MLPs of one architecture, stacked; forward maps (K, batch, in) ->
    (K, batch, out)."""

    def __init__(self, models: list[MLP]) -> None:
        super().__init__()
        shapes = [[tuple(p.shape) for p in m.parameters()] for m in models]
        if any(s != shapes[0] for s in shapes):
            raise ValueError("train_many: every model must have the same architecture")
        first = models[0]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[i].weight.detach() for m in models]))
            for i in range(len(first.layers)))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[i].bias.detach() for m in models]))
            for i in range(len(first.layers)))
        self.act, self.out_act = first.act, first.out_act
        masks = [m.out_mask for m in models]
        if any((a is None) != (masks[0] is None) or (a is not None and not torch.equal(a, masks[0]))
               for a in masks):
            raise ValueError("train_many: every model must have the same out_mask")
        self.out_mask = masks[0]

    def forward(self, x: Tensor) -> Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            act = self.act if i < last else self.out_act
            if act is not None:
                h = act(h)
        return h if self.out_mask is None else h + self.out_mask

    @torch.no_grad()
    def copy_to(self, k: int, model: MLP) -> None:
        """Write seed k's current weights into `model` (for probing it with the plain code)."""
        for layer, w, b in zip(model.layers, self.weights, self.biases):
            layer.weight.copy_(w[k])
            layer.bias.copy_(b[k])


def per_seed_loss(task: Task, out: Tensor, y: Tensor) -> Tensor:
    """Each seed's mean loss, shape (K,): the same reduction as the plain trainer's loss."""
    if task.kind == "classification":
        k, b, c = out.shape
        return F.cross_entropy(out.reshape(k * b, c), y.reshape(k * b),
                               reduction="none").reshape(k, b).mean(1)
    return F.mse_loss(out, y, reduction="none").flatten(1).mean(1)


def train_many(models: list[MLP], task: Task | list[Task], tc: TrainerConfig, seeds: list[int],
               desc: str = "", on_log=None, weight_hooks=None) -> list[RunResult]:
    """Train K same-shaped models together; result k is what `train(models[k], task_k, ...,
    seed=seeds[k])` returns (up to float rounding). `task` is one task for all seeds or a list of
    K tasks of the same shapes (say, each seed's own input permutation); a list holding one task K
    times costs no copies. `on_log` is one hook for all seeds or a list of K hooks (for hooks that
    keep per-run state). `weight_hooks[k][l]`, if given, sees seed k's gradient of
    layer l's weight at every step (what a hook registered on `models[k].layers[l].weight` sees
    under `train`). On return each model holds its seed's final weights (a diverged seed: its
    weights at the last log step)."""
    k = len(models)
    tasks = list(task) if isinstance(task, (list, tuple)) else [task] * k
    if len(tasks) != k:
        raise ValueError(f"train_many: {len(tasks)} tasks for {k} models")
    if any(t.x_train.shape != tasks[0].x_train.shape or t.y_train.shape != tasks[0].y_train.shape
           or t.kind != tasks[0].kind for t in tasks):
        raise ValueError("train_many: every seed's task must have the same kind and shapes")
    log_hooks = on_log if isinstance(on_log, (list, tuple)) else [on_log] * k
    net = BatchedMLP(models)
    if weight_hooks is not None:
        def split(layer: int):
            def hook(grad: Tensor) -> None:
                for j, seed_hooks in enumerate(weight_hooks):
                    seed_hooks[layer](grad[j])
            return hook

        for i, w in enumerate(net.weights):
            w.register_hook(split(i))
    task = tasks[0]
    n = task.x_train.shape[0]
    bs = minibatch_size(tc, n)
    params = list(net.parameters())
    opt = make_optimizer(params, tc)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    results = [RunResult() for _ in models]
    alive = torch.ones(k, dtype=torch.bool)  # on the CPU: indexes python-side bookkeeping
    dev = task.x_train.device
    if all(t is task for t in tasks):  # one dataset: a view, no copies
        x_all = task.x_train.expand(k, *task.x_train.shape)
        y_all = task.y_train.expand(k, *task.y_train.shape)
    else:
        x_all = torch.stack([t.x_train for t in tasks])
        y_all = torch.stack([t.y_train for t in tasks])
    rows_of = torch.arange(k, device=dev).unsqueeze(1)

    def stop(j: int, step: int, batch_loss: float | None = None) -> None:
        alive[j] = False
        mark_diverged(results[j], step, batch_loss)

    bar = tqdm(total=tc.steps, desc=desc, disable=not progress_enabled(), leave=False)
    for step in range(tc.steps + 1):
        if log_due(step, tc):
            for j in alive.nonzero().flatten().tolist():
                net.copy_to(j, models[j])
                if not log_step(results[j], step, models[j], tasks[j], tc, log_hooks[j]):
                    stop(j, step)
        if step == tc.steps or not alive.any():
            break
        if bs < n:
            idx = torch.stack([draw_batch(g, n, bs) for g in gens]).to(dev)
            xb, yb = x_all[rows_of, idx], y_all[rows_of, idx]
        else:
            xb, yb = x_all, y_all
        losses = per_seed_loss(task, net(xb), yb)
        # as in `train`: a non-finite loss marks divergence (a non-finite gradient shows up as one
        # at the next step), so batched and separate runs diverge at the same step
        finite = torch.isfinite(losses).cpu()
        for j in (alive & ~finite).nonzero().flatten().tolist():
            stop(j, step, losses[j].item())
        opt.zero_grad(set_to_none=True)
        # d(sum)/d(theta_k) = d(loss_k)/d(theta_k): every slice gets exactly its own gradient
        losses.sum().backward()
        if not alive.all():
            # a frozen seed gets no update (and its non-finite gradient cannot reach the others)
            mask = alive.to(dev)
            for p in params:
                p.grad[~mask] = 0
        if not alive.any():
            break
        opt.step()
        bar.update(1)
    bar.close()
    return results
