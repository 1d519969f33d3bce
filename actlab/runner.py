"""From a config to a trained model: the shared path most experiments take."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from actlab.activations import get_activation
from actlab.models import MLP
from actlab.tasks import Task, make_task
from actlab.trainer import RunResult, torch_dtype, train


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_task(cfg, device: torch.device) -> Task:
    """The configured task on `device`; its data depend on task.data_seed, never on the seed."""
    return make_task(cfg.task,
                     cache_dir=Path(cfg.out_dir) / "data").to(device, torch_dtype(cfg.trainer))


def build_model(cfg, task: Task, seed: int) -> MLP:
    """The configured model, initialized from `seed` exactly as a run with that seed would be."""
    act = get_activation(cfg.activation)
    oa = cfg.model.out_activation
    out_act = get_activation(oa) if oa not in (None, "none") else None
    seed_everything(seed)
    model = MLP(task.in_dim, task.out_dim, cfg.model, act, out_act)
    return model.to(device=task.x_train.device, dtype=torch_dtype(cfg.trainer))


def build(cfg, device: torch.device) -> tuple[MLP, Task]:
    """The configured task and model on `device`, the model initialized from `cfg.seed`."""
    task = build_task(cfg, device)
    return build_model(cfg, task, cfg.seed), task


def train_one(cfg, device: torch.device, desc: str = "") -> RunResult:
    """The configured model for `cfg.seed`, trained by the reference loop (actlab.trainer.train)."""
    model, task = build(cfg, device)
    return train(model, task, cfg.trainer, seed=cfg.seed, desc=desc)


def train_seed_models(cfg, task: Task, seeds: list[int], desc: str = "",
                      **kwargs) -> tuple[list[MLP], list[RunResult]]:
    """One configured model per seed, trained together on `task` (actlab.batched.train_many);
    the models come back too, holding their final weights, for experiments that measure them."""
    from actlab.batched import train_many

    models = [build_model(cfg, task, s) for s in seeds]
    return models, train_many(models, task, cfg.trainer, seeds, desc=desc, **kwargs)


def train_seeds(cfg, device: torch.device, seeds: list[int],
                desc: str = "") -> dict[int, RunResult]:
    """`train_one` for several seeds at once, as one batched computation (actlab.batched)."""
    _, results = train_seed_models(cfg, build_task(cfg, device), seeds, desc=desc)
    return dict(zip(seeds, results))
