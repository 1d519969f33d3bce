"""The typed configuration schema.

One dataclass per config group, registered in Hydra's ConfigStore. YAML files under `configs/`
hold values only; a key that is not declared here, a value of the wrong type or an enum value
outside its choices fails at composition with Hydra's one-line message. Range checks that types
cannot express (depth >= 1, lr > 0, ...) live in `validate`, which runs before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class GeluApprox(Enum):
    none = "none"  # exact z * Phi(z)
    tanh = "tanh"  # 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
    sigmoid = "sigmoid"  # z * sigmoid(1.702 z)


class Backward(Enum):
    exact = "exact"  # the activation's own derivative
    zero_below = "zero_below"  # forward unchanged, gradient 0 where z < 0 (relu-like protection)
    leaky_below = "leaky_below"  # forward unchanged, gradient activation.slope where z < 0


class Init(Enum):
    gaussian = "gaussian"
    orthogonal = "orthogonal"


class Optimizer(Enum):
    sgd = "sgd"
    adam = "adam"


class Device(Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class DType(Enum):
    float32 = "float32"
    float64 = "float64"


@dataclass
class ActivationConfig:
    name: str = MISSING
    slope: float = 1.0  # linear: phi(z) = slope * z; leaky_relu: the negative slope
    beta: float = 1.0  # softplus: log(1 + e^(beta z)) / beta; swish: z * sigmoid(beta z)
    alpha: float = 1.0  # elu, celu: the negative saturation value
    approximate: GeluApprox = GeluApprox.none  # gelu only
    min_val: float = -1.0  # hardtanh: clamp(z, min_val, max_val)
    max_val: float = 1.0
    # custom: any importable elementwise function "pkg.module:function" (the current folder is
    # searched too) and, optionally, its derivative; without one, autograd gives it
    target: str | None = None
    derivative: str | None = None
    # The gradient-only ablation: the forward pass is the activation's, the backward pass may
    # zero or leak the gradient below 0 (experiments/continual.py isolates the mechanism with it)
    backward: Backward = Backward.exact


@dataclass
class ModelConfig:
    depth: int = 5  # number of hidden layers
    width: int = 64
    weight_scale: float = 1.0  # sigma_w: W ~ N(0, sigma_w^2 / fan_in), or orthogonal * sigma_w
    bias_scale: float = 0.0  # sigma_b: b ~ N(0, sigma_b^2)
    init: Init = Init.gaussian
    out_activation: str | None = None  # an activation name for the output unit(s), or null


@dataclass
class TaskConfig:
    name: str = MISSING
    n_train: int = 1024
    n_test: int = 512
    in_dim: int = 16
    out_dim: int = 1
    input_scale: float = 1.0  # inputs are multiplied by this (the saturation factor alpha)
    noise: float = 0.0
    data_seed: int = 0  # the data are the same for every model seed unless this changes


@dataclass
class TrainerConfig:
    steps: int = 200
    lr: float = 0.05
    optimizer: Optimizer = Optimizer.sgd
    batch_size: int = 128  # 0 = full batch
    log_every: int = 20
    probes: bool = True  # per-layer probes at step 0, every log_every steps and at the end
    device: Device = Device.auto
    dtype: DType = DType.float32
    threads: int = 0  # torch intra-op threads; 0 = torch's default


@dataclass
class ScaleConfig:
    name: str = "default"


@dataclass
class Config:
    activation: ActivationConfig = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    # Each experiment's own typed parameters: a dataclass from its module, chosen by the
    # defaults list entry `params: ${experiment}`.
    params: Any = None
    seed: int = 0
    # Seeds one job trains together (batched when the experiment supports it). The actlab sweeper
    # fills this from a seed sweep (`-m seed=0,1,2`); empty means just `seed`.
    seeds: list[int] = field(default_factory=list)
    out_dir: str = "outputs"
    force: bool = False  # rerun even when the run folder already holds an ok summary


class ConfigError(ValueError):
    """A bad value in the configuration: the message names the key and the valid choices."""


def register_configs(experiments: dict) -> None:
    """The schema and each experiment's Params, from the registry the composition root passes."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for name, exp in experiments.items():
        cs.store(group="params", name=name, node=exp.params)


def _no_unknown_keys(cfg: Any) -> None:
    """`+model.foo=1` appends past the schema (Hydra opens the struct for `+`): refuse it, since an
    ignored key would still change the run's name and silently do nothing."""
    from omegaconf import DictConfig, OmegaConf

    # (nodes, not values: reading every value through cfg.items() costs twice the whole check)
    nodes = [("", cfg)] + [(f"{k}.", cfg._get_node(k)) for k in cfg.keys()]
    nodes = [(prefix, node) for prefix, node in nodes if isinstance(node, DictConfig)]
    for prefix, node in nodes:
        cls = OmegaConf.get_type(node)
        if not dataclasses.is_dataclass(cls):
            continue
        known = [f.name for f in dataclasses.fields(cls)]
        extra = [k for k in node.keys() if k not in known]
        if extra:
            raise unknown_key(f"{prefix}{extra[0]}", cls)


def unknown_key(key: str, schema: type) -> ConfigError:
    """The error for a key its schema (a config dataclass) does not have, listing the ones it
    has."""
    names = [f.name for f in dataclasses.fields(schema)]
    return ConfigError(f"{key}: no such key; "
                       f"valid keys: {', '.join(names) or 'none (it takes no keys)'}")


def validate(cfg: Any, plain: dict | None = None) -> None:
    """Range checks the types cannot express. Raises ConfigError naming the key. `plain`, when
    given, is config_dict(cfg), already made (a sweep makes it once per job)."""
    from actlab.names import ACTIVATION_NAMES as ACTIVATIONS
    from actlab.names import CUSTOM
    from actlab.names import TASK_NAMES as TASKS

    def need(ok: bool, key: str, value: Any, what: str) -> None:
        if not ok:
            raise ConfigError(f"{key}={value!r}: {what}")

    _no_unknown_keys(cfg)
    # The checks below read every key: on plain values, not the DictConfig (whose every read goes
    # through OmegaConf's node machinery; this halves a sweep job's checking time).
    cfg = _attrs(cfg if plain is None else plain)
    names = ", ".join(sorted(ACTIVATIONS))
    need(cfg.activation.name in ACTIVATIONS or cfg.activation.name == CUSTOM, "activation.name",
         cfg.activation.name, f"unknown activation; valid choices: {names}, {CUSTOM}")
    a = cfg.activation
    if a.name == CUSTOM:
        from actlab.custom import check_custom

        check_custom(a.target, a.derivative)
    if a.name == "hardtanh":
        need(a.min_val < a.max_val, "activation.max_val", a.max_val,
             f"must be > activation.min_val={a.min_val}")
    oa = cfg.model.out_activation
    need(oa is None or oa in ACTIVATIONS or oa == "none", "model.out_activation", oa,
         f"unknown activation; valid choices: none, {names}")
    need(cfg.task.name in TASKS, "task.name", cfg.task.name,
         f"unknown task; valid choices: {', '.join(sorted(TASKS))}")
    m, t, tr = cfg.model, cfg.task, cfg.trainer
    need(m.depth >= 1, "model.depth", m.depth, "must be an integer >= 1")
    need(m.width >= 1, "model.width", m.width, "must be an integer >= 1")
    need(m.weight_scale > 0, "model.weight_scale", m.weight_scale, "must be > 0")
    need(m.bias_scale >= 0, "model.bias_scale", m.bias_scale, "must be >= 0")
    need(t.n_train >= 1, "task.n_train", t.n_train, "must be an integer >= 1")
    need(t.n_test >= 1, "task.n_test", t.n_test, "must be an integer >= 1")
    need(t.in_dim >= 1, "task.in_dim", t.in_dim, "must be an integer >= 1")
    need(t.input_scale > 0, "task.input_scale", t.input_scale, "must be > 0")
    need(tr.steps >= 0, "trainer.steps", tr.steps, "must be an integer >= 0")
    need(tr.lr > 0, "trainer.lr", tr.lr, "must be > 0")
    need(tr.batch_size >= 0, "trainer.batch_size", tr.batch_size, "must be >= 0 (0 = full batch)")
    need(tr.log_every >= 1, "trainer.log_every", tr.log_every, "must be an integer >= 1")
    need(tr.threads >= 0, "trainer.threads", tr.threads, "must be >= 0 (0 = torch default)")
    _all_floats_finite(cfg, "")
    for key, seed in [("seed", cfg.seed)] + [("seeds", s) for s in cfg.seeds]:
        need(0 <= seed <= 2**32 - 1, key, seed,
             "must be an integer in [0, 2^32 - 1] (a torch/numpy seed)")
    import numpy as np

    dtype = DType(tr.dtype).value
    info = np.finfo(dtype)
    need(float(info.tiny) <= tr.lr <= float(info.max) / 1e6, "trainer.lr", tr.lr,
         f"not representable in trainer.dtype={dtype} (must lie in "
         f"[{float(info.tiny):.3g}, {float(info.max) / 1e6:.3g}])")
    need_bytes, have = memory_estimate(cfg), total_memory()
    need(need_bytes <= have, "model.width", m.width,
         f"with model.depth={m.depth} this needs about {need_bytes / 2**30:.3g} GiB "
         "(weights, gradients, optimizer state and activations "
         f"x {max(1, len(cfg.seeds))} seed(s)), "
         f"more than this machine's {have / 2**30:.3g} GiB")


def check_writable(out: Path) -> None:
    """out_dir, or the nearest folder above it that exists, must be a writable folder."""
    probe_dir = out
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not os.access(probe_dir, os.W_OK) or not probe_dir.is_dir():
        raise ConfigError(f"out_dir={str(out)!r}: not a writable folder "
                          f"({probe_dir} is not writable)")


def config_dict(cfg: Any) -> dict:
    """The config as plain values (enums as their names). A dict is taken to be that already
    (a sweep converts each job's config once, ~0.25 ms, and passes the dict along): it is
    returned as is, to be read, not edited."""
    from omegaconf import OmegaConf

    if isinstance(cfg, dict):
        return cfg
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


class _Attrs(dict):
    """A plain config dict read as attributes (cfg.model.depth), as validate reads it."""

    __getattr__ = dict.__getitem__


def _attrs(cfg: Any) -> Any:
    from omegaconf import DictConfig

    def wrap(x):
        if isinstance(x, dict):
            return _Attrs({k: wrap(v) for k, v in x.items()})
        return [wrap(v) for v in x] if isinstance(x, list) else x

    return wrap(config_dict(cfg)) if isinstance(cfg, (dict, DictConfig)) else cfg


def _all_floats_finite(node: Any, prefix: str) -> None:
    """nan or inf in any float key (a scale, a slope, a params value) would run and end 'ok' with
    meaningless numbers: refuse it by name."""
    import math

    from omegaconf import DictConfig, ListConfig

    mapping = isinstance(node, (DictConfig, dict))
    items = node.items() if mapping else enumerate(node)
    for k, v in items:
        key = f"{prefix}{k}" if mapping else f"{prefix.rstrip('.')}[{k}]"
        if isinstance(v, (DictConfig, ListConfig, dict, list)):
            _all_floats_finite(v, f"{key}.")
        elif isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{key}={v}: must be a finite number")


def memory_estimate(cfg: Any) -> int:
    """Bytes one job needs, roughly: weights, gradients and two optimizer buffers, plus the
    activations of one batch kept for backward, for each seed trained together."""
    m, t, tr = cfg.model, cfg.task, cfg.trainer
    n_params = (t.in_dim * m.width + (m.depth - 1) * m.width * (m.width + 1)
                + m.width * (t.out_dim + 1))
    batch = max(tr.batch_size or t.n_train, 512)  # the probe pass sees 512 examples
    activations = 3 * batch * m.width * m.depth
    size = 8 if DType(tr.dtype).value == "float64" else 4
    return int((4 * n_params + activations) * size * max(1, len(cfg.seeds)))


def total_memory() -> int:
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**62
