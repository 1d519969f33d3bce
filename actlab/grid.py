"""An experiment's grid run in this process: what `actlab -m experiment=NAME ...` does, without a
new Python (and torch import) per command.

The grid is the experiment's own (`hydra.sweeper.params` of its config at the chosen scale),
combined with the given overrides, which win key by key, exactly as the actlab sweeper combines
them; seeds fold into one batched job per grid point. Every job's config is composed and checked
before the first one runs, so a bad value stops the grid with nothing written. Used by
`actlab card` and by scripts that run many grids.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from actlab.config import config_dict, validate
from actlab.experiment import Experiment

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


@cache
def _register() -> None:
    from actlab.config import register_configs
    from actlab.registry import experiments

    register_configs(experiments())  # each experiment's Params, for `params: ${experiment}`


def _compose(overrides: list[str], hydra: bool = False) -> DictConfig:
    """Hydra's composition. Inside an initialized Hydra (a test's or an app's) use it; else
    initialize for this call only, so that no global state outlives it."""
    _register()
    if GlobalHydra.instance().is_initialized():
        return compose(config_name="config", overrides=overrides, return_hydra_config=hydra)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=hydra)


def grid_jobs(experiment: str, overrides: list[str]) -> list[list[str]]:
    """The override lists of every job of the grid, seeds folded (`seed=a`, `seeds=[a,b,...]`)."""
    from hydra_plugins.actlab_sweeper.actlab_sweeper import fold_seeds

    base = [f"experiment={experiment}", *overrides]
    fixed = [o for o in base if "," not in o.partition("=")[2] or o.partition("=")[2][:1] in "[{"]
    own = _sweeper_params(tuple(o for o in fixed if _is_group(o) or _key(o).startswith("hydra")))
    keys = {_key(o) for o in base}
    args = base + [f"{k}={v}" for k, v in own.items() if k not in keys]
    parser = _parser()
    jobs = BasicSweeper.split_arguments(parser.parse_overrides(args), None)[0]
    return fold_seeds(jobs)


@cache
def _sweeper_params(overrides: tuple[str, ...]) -> dict:
    """The grid an experiment's config declares (`hydra.sweeper.params`), at the chosen scale.
    Only group choices and hydra.* overrides can change it, so one composition (~0.1 s) serves
    every grid with the same choices (`actlab card` runs dozens)."""
    return dict(_compose(list(overrides), hydra=True).hydra.sweeper.params or {})


def _is_group(override: str) -> bool:
    return _is_group_key(_key(override))


@cache
def _is_group_key(key: str) -> bool:
    return "." not in key and (Path(CONFIG_DIR) / key).is_dir()


_BASES: dict[tuple[str, ...], DictConfig] = {}


def job_config(overrides: list[str], scratch: dict | None = None,
               changed_only: bool = False) -> DictConfig:
    """The job's config, as Hydra composes it. Jobs of a grid mostly differ in values, not in
    group choices, and a full composition costs ~0.1 s: compose once per set of group choices
    (activation=, task=, experiment=, scale=, ...), then set the values on a copy of it. The
    typed schema checks each value as composition would (tests/test_grid.py compares the two).

    With `scratch` (a dict the caller keeps for one grid), jobs with the same group choices that
    set the same keys share one config object, its values set anew for each job: copying a
    config costs more than a small run. The caller must be done with one job's config before it
    asks for the next (run_grid is; experiments derive configs with OmegaConf.merge or copies,
    never edit the one they are given). `changed_only` sets only the values that differ from
    the job before (~50 us each; a sweep's jobs mostly differ in one or two of a dozen): for a
    caller that lets nothing edit the config in between (run_grid's checking pass)."""
    overrides = list(overrides)
    groups = tuple(o for o in overrides if _is_group(o))
    values = [o for o in overrides if not _is_group(o)]
    if any(o.startswith(("+", "~")) for o in overrides):  # adds or deletes keys: compose
        return _plain_compose(overrides)
    if groups not in _BASES:
        _BASES[groups] = _plain_compose(list(groups))
    keys = tuple(_parsed(v)[0] for v in values)
    if any(isinstance(_parsed(v)[1], dict) for v in values):
        scratch = None  # a dict merges into what its node holds: start from the base, not a reuse
    if scratch is not None and scratch.get(groups, (None,))[0] == keys:
        _, cfg, last = scratch[groups]
    else:
        cfg, last = _BASES[groups].copy(), {}
        if scratch is not None:
            scratch[groups] = (keys, cfg, last)
    skip = changed_only and not _overlapping(keys)
    for value in values:
        key, parsed = _parsed(value)
        if skip and last.get(key) == value:
            continue
        # a dict value (`params={lrs: [0.1]}`) merges into its node, as Hydra's override does
        OmegaConf.update(cfg, key, copy.deepcopy(parsed), merge=isinstance(parsed, dict))
        last[key] = value
    return cfg


@cache
def _overlapping(keys: tuple[str, ...]) -> bool:
    """Whether one key is set twice or lies inside another (`params={...}` and `params.lrs=`):
    then the order of the sets matters, and every value is set anew for each job."""
    return len(set(keys)) < len(keys) or any(
        b.startswith(a + ".") for a in keys for b in keys)


@cache
def _parsed(override: str) -> tuple[str, Any]:
    """One `key=value` as Hydra's grammar reads it, parsed once per grid: the jobs of a grid
    repeat most of their overrides, and the parser costs ~2 ms an override."""
    ov = _parser().parse_overrides([override])[0]
    return ov.key_or_group, ov.value()


@cache
def _parser() -> OverridesParser:
    return OverridesParser.create()  # (builds its grammar's function table: ~0.3 ms a call)


def _plain_compose(overrides: list[str]) -> DictConfig:
    cfg = _compose(overrides)
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def run_grid(exp: Experiment, overrides: list[str],
             progress: Callable[[int, int, list[str]], None] | None = None) -> list[dict]:
    """Run the grid of `exp` with `overrides` here; return every run's summary."""
    from actlab.jobs import run_job

    jobs = grid_jobs(exp.name, overrides)
    scratch: dict = {}
    plains = []  # each job's plain values, made once: checked here, named and written below
    for job in jobs:  # all checked before the first runs
        cfg = job_config(job, scratch, changed_only=True)
        plains.append(config_dict(cfg))
        validate(cfg, plains[-1])
    summaries = []
    for i, job in enumerate(jobs):
        if progress:
            progress(i, len(jobs), job)
        summaries += run_job(job_config(job, scratch), exp, checked=True, plain=plains[i])
    return summaries
