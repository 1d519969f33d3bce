"""From a config to a trained model: the shared path most experiments take."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from actlab.activations import get_activation
from actlab.models import MLP
from actlab.tasks import Task, make_task
from actlab.trainer import TrainResult, torch_dtype, train


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build(cfg, device: torch.device) -> tuple[MLP, Task]:
    """The configured task and model on `device`, the model initialized from `cfg.seed`."""
    dtype = torch_dtype(cfg.trainer)
    task = make_task(cfg.task, cache_dir=Path(cfg.out_dir) / "data").to(device, dtype)
    act = get_activation(cfg.activation)
    oa = cfg.model.out_activation
    out_act = get_activation(oa) if oa not in (None, "none") else None
    seed_everything(cfg.seed)
    model = MLP(task.in_dim, task.out_dim, cfg.model, act, out_act).to(device=device, dtype=dtype)
    return model, task


def train_run(cfg, device: torch.device, desc: str = "") -> TrainResult:
    model, task = build(cfg, device)
    return train(model, task, cfg.trainer, seed=cfg.seed, desc=desc)
