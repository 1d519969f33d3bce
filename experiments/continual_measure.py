"""The continual experiment's task sequences and measurements, each small enough to check by hand
(tests/test_continual.py): inactive units, protected weights, parameter distance, accuracy with
units knocked out, and the effective rank of a representation."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from actlab.tasks import Task

# The permuted sequence of the regime grid has as many tasks as the split one (5 pairs of
# classes), so that the three scenarios compare at one length; long_permuted has params.n_tasks.
PERMUTED_TASKS = 5

# A hidden weight is "protected" over a task when its total change over the task is below
# PROTECT_EPS times the RMS of its row (its unit's incoming weights) at the task's start: a change
# of under 1% of a typical weight of that unit barely moves the unit's pre-activation. Relative to
# the row, not to the weight itself: a weight near 0 would make |dW| / |W| arbitrarily large.
# Both relu and leaky units can have such weights (a zero or a small gradient, or a unit at rest),
# unlike "the gradient was exactly zero on every step", which is 0 for leaky units by construction.
PROTECT_EPS = 0.01

# The representation whose effective rank is measured: a layer's post-activations on the first
# RANK_INPUTS training inputs of the task (Dohare et al. 2024 measure it on a fixed sample too).
RANK_INPUTS = 1000


def split_tasks(base: Task, head: str) -> list[tuple[Task, Tensor]]:
    """(task, logit mask) per disjoint pair of classes: `task` masks the logits to the pair's
    classes (task-incremental), `shared` does not (class-incremental)."""
    out = []
    zero = torch.zeros(base.out_dim, device=base.x_train.device, dtype=base.x_train.dtype)
    for k in range(base.out_dim // 2):
        classes = torch.tensor([2 * k, 2 * k + 1], device=base.y_train.device)
        tr, te = torch.isin(base.y_train, classes), torch.isin(base.y_test, classes)
        task = Task(base.x_train[tr], base.y_train[tr], base.x_test[te], base.y_test[te],
                    "classification", base.out_dim)
        mask = zero.clone()
        if head == "task":
            mask[:] = float("-inf")
            mask[classes] = 0
        out.append((task, mask))
    return out


def permuted_tasks(base: Task, seed: int) -> Iterator[Task]:
    """An endless sequence of tasks: the first is the base task, each later one applies a fixed
    random permutation to the input coordinates (drawn from the seed, one after another), labels
    unchanged (domain-incremental, shared head). Lazy: a long sequence never holds all copies."""
    g = torch.Generator().manual_seed(10_000 + seed)
    k = 0
    while True:
        perm = (torch.arange(base.in_dim) if k == 0
                else torch.randperm(base.in_dim, generator=g)).to(base.x_train.device)
        yield Task(base.x_train[:, perm], base.y_train, base.x_test[:, perm], base.y_test,
                   "classification", base.out_dim)
        k += 1


@torch.no_grad()
def forward(net: nn.Module, x: Tensor, mask: Tensor | None = None,
            off: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """(output, pre-activations z, post-activations h) of the hidden layers; `off[l]`, if given,
    is a boolean per unit of hidden layer l whose output is set to 0 (knocked out)."""
    h, zs, hs = x, [], []
    last = len(net.layers) - 1
    for i, layer in enumerate(net.layers):
        z = layer(h)
        if i == last:
            h = z
            break
        h = net.act(z)
        if off is not None and off[i] is not None:
            h = h * (~off[i]).to(h.dtype)
        zs.append(z)
        hs.append(h)
    return (h if mask is None else h + mask), zs, hs


@torch.no_grad()
def accuracy(net: nn.Module, task: Task, mask: Tensor | None = None,
             off: list[Tensor] | None = None) -> float:
    out, _, _ = forward(net, task.x_test, mask, off)
    return float((out.argmax(1) == task.y_test).float().mean())


def inactive(zs: list[Tensor]) -> list[Tensor]:
    """Per hidden layer, the units whose pre-activation is <= 0 on every input: for relu the dead
    units (no gradient passes), for leaky the units that pass only the leak. A unit with a NaN
    pre-activation is not counted inactive."""
    return [z.amax(0) <= 0 for z in zs]  # amax propagates NaN, and NaN <= 0 is False


def dead(net: nn.Module, zs: list[Tensor]) -> list[Tensor]:
    """Per hidden layer, the units through which no gradient passes on any input: the
    activation's effective derivative (its backward mode applied) is 0 on every input."""
    return [net.act.deriv(z).abs().amax(0) == 0 for z in zs]


def snapshot(net: nn.Module) -> list[Tensor]:
    """Copies of every weight and bias, layer by layer (weight, bias, weight, bias, ...)."""
    return [p.detach().clone() for layer in net.layers for p in (layer.weight, layer.bias)]


def protected(before: list[Tensor], after: list[Tensor], eps: float = PROTECT_EPS) -> list[float]:
    """Per hidden layer, the fraction of its weights whose change |after - before| is below eps
    times the RMS of the weight's row in `before` (snapshots; the output layer is left out).
    A non-finite weight is not protected."""
    out = []
    for w0, w1 in list(zip(before[0::2], after[0::2]))[:-1]:
        rms = w0.pow(2).mean(dim=1, keepdim=True).sqrt()
        out.append(float(((w1 - w0).abs() < eps * rms).float().mean()))
    return out


def distance(before: list[Tensor], after: list[Tensor]) -> float:
    """Euclidean distance travelled by all parameters (weights and biases of every layer)."""
    return math.sqrt(sum(float((b - a).double().pow(2).sum()) for a, b in zip(before, after)))


def effective_rank(h: Tensor) -> float:
    """Roy & Vetterli (2007), as used by Dohare et al. (2024): exp of the Shannon entropy of the
    singular values normalized to sum 1 (a matrix with k equal nonzero singular values has
    effective rank k). NaN for a non-finite or all-zero matrix."""
    if not bool(torch.isfinite(h).all()):
        return math.nan
    s = torch.linalg.svdvals(h.double())
    total = s.sum()
    if float(total) <= 0:
        return math.nan
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def weight_magnitude(net: nn.Module) -> list[float]:
    """Mean |w| of each layer's weight matrix (hidden layers, then the output layer)."""
    return [float(layer.weight.detach().abs().mean()) for layer in net.layers]
