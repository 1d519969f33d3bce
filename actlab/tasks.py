"""Synthetic tasks, generated locally from `task.data_seed` (nothing is downloaded).

Each entry of TASKS maps a name to a builder `(TaskConfig) -> Task`. Inputs are multiplied by
`task.input_scale` after generation, so the same data can be pushed into saturation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from actlab.config import TaskConfig


@dataclass
class Task:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    kind: str  # "regression" (MSE) or "classification" (cross-entropy)
    out_dim: int

    @property
    def in_dim(self) -> int:
        return self.x_train.shape[1]

    def to(self, device: torch.device, dtype: torch.dtype) -> Task:
        def cast(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)

        return Task(cast(self.x_train), cast(self.y_train), cast(self.x_test), cast(self.y_test),
                    self.kind, self.out_dim)


def _split(x: Tensor, y: Tensor, c: TaskConfig, kind: str, out_dim: int) -> Task:
    x = x * c.input_scale
    n = c.n_train
    return Task(x[:n], y[:n], x[n:], y[n:], kind, out_dim)


def teacher(c: TaskConfig) -> Task:
    """Regression onto a fixed random tanh teacher network; targets standardized to unit variance,
    so an untrained network starts with an error of about 1 per output."""
    g = torch.Generator().manual_seed(c.data_seed)
    n = c.n_train + c.n_test
    x = torch.randn(n, c.in_dim, generator=g, dtype=torch.float64)
    hidden = 32
    w1 = torch.randn(c.in_dim, hidden, generator=g, dtype=torch.float64) / math.sqrt(c.in_dim)
    w2 = torch.randn(hidden, c.out_dim, generator=g, dtype=torch.float64) / math.sqrt(hidden)
    y = torch.tanh(2.0 * x @ w1) @ w2
    y = (y - y.mean(0)) / y.std(0)
    y = y + c.noise * torch.randn(y.shape, generator=g, dtype=torch.float64)
    return _split(x.float(), y.float(), c, "regression", c.out_dim)


def sine(c: TaskConfig) -> Task:
    """1-D regression y = sin(3x) on x ~ U(-pi, pi) (in_dim is ignored: the input is 1-D)."""
    g = torch.Generator().manual_seed(c.data_seed)
    n = c.n_train + c.n_test
    x = (torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    y = torch.sin(3 * x) + c.noise * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return _split(x.float(), y.float(), c, "regression", 1)


def xor(c: TaskConfig) -> Task:
    """Two-class XOR of the signs of two coordinates (other coordinates are noise dimensions)."""
    g = torch.Generator().manual_seed(c.data_seed)
    n = c.n_train + c.n_test
    d = max(c.in_dim, 2)
    x = torch.randn(n, d, generator=g)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()
    return _split(x, y, c, "classification", 2)


TASKS: dict[str, Callable[[TaskConfig], Task]] = {
    "teacher": teacher,
    "sine": sine,
    "xor": xor,
}


def make_task(c: TaskConfig) -> Task:
    return TASKS[c.name](c)
