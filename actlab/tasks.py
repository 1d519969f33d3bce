"""Synthetic tasks, generated locally from `task.data_seed` (nothing is downloaded).

Each entry of TASKS maps a name to a builder `(TaskConfig) -> Task`. Inputs are multiplied by
`task.input_scale` after generation, so the same data can be pushed into saturation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from actlab.config import TaskConfig
from actlab.names import TASK_NAMES


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


def _standardize(x: np.ndarray, x_ref: np.ndarray) -> np.ndarray:
    return (x - x_ref.mean(0)) / (x_ref.std(0) + 1e-8)


def _classification(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    c: TaskConfig) -> Task:
    n, m = min(c.n_train, len(x)), min(c.n_test, len(x_test))
    xt = torch.tensor(_standardize(x, x), dtype=torch.float32) * c.input_scale
    xv = torch.tensor(_standardize(x_test, x), dtype=torch.float32) * c.input_scale
    return Task(xt[:n], torch.tensor(y[:n], dtype=torch.long), xv[:m],
                torch.tensor(y_test[:m], dtype=torch.long), "classification", 10)


def mnist1d(c: TaskConfig, cache_dir: Path | None = None) -> Task:
    """MNIST-1D (Greydanus 2020), generated locally by the mnist1d package's make_dataset with
    seed data_seed (never its download path), cached as .npz under cache_dir (OUT/data)."""
    name = f"mnist1d_seed{c.data_seed}_n{c.n_train + c.n_test}.npz"
    path = cache_dir / name if cache_dir is not None else None
    if path is not None and path.exists():
        d = dict(np.load(path))
    else:
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.seed = c.data_seed
        args.num_samples = max(c.n_train + c.n_test, 1000)
        args.train_split = c.n_train / (c.n_train + c.n_test)
        state = np.random.get_state()  # make_dataset reseeds numpy's global generator
        raw = make_dataset(args)
        np.random.set_state(state)
        d = {"x": raw["x"], "y": raw["y"], "x_test": raw["x_test"], "y_test": raw["y_test"]}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.tmp.npz")
            np.savez(tmp, **d)
            os.replace(tmp, path)
    return _classification(d["x"], d["y"], d["x_test"], d["y_test"], c)


def digits(c: TaskConfig, cache_dir: Path | None = None) -> Task:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), split by data_seed."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(c.data_seed).permutation(len(data.target))
    x, y = data.data[order].astype(np.float64), data.target[order]
    n = min(c.n_train, len(y) - 100)
    return _classification(x[:n], y[:n], x[n:], y[n:], c)


TASKS: dict[str, Callable[..., Task]] = {
    "teacher": teacher,
    "sine": sine,
    "xor": xor,
    "mnist1d": mnist1d,
    "digits": digits,
}
NEEDS_CACHE = ("mnist1d", "digits")
if tuple(TASKS) != TASK_NAMES:  # the torch-free list the config is checked against
    raise ImportError("actlab.names.TASK_NAMES and actlab.tasks.TASKS differ")


def make_task(c: TaskConfig, cache_dir: Path | None = None) -> Task:
    if c.name in NEEDS_CACHE:
        return TASKS[c.name](c, cache_dir)
    return TASKS[c.name](c)
