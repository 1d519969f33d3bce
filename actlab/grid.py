"""An experiment's grid run in this process: what `actlab -m experiment=NAME ...` does, without a
new Python (and torch import) per command.

The grid is the experiment's own (`hydra.sweeper.params` of its config at the chosen scale),
combined with the given overrides, which win key by key, exactly as the actlab sweeper combines
them; seeds fold into one batched job per grid point. Every job's config is composed and checked
before the first one runs, so a bad value stops the grid with nothing written. Used by
`actlab card` and by scripts that run many grids.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, open_dict

from actlab.config import validate
from actlab.experiment import Experiment

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _compose(overrides: list[str], hydra: bool = False) -> DictConfig:
    if not GlobalHydra.instance().is_initialized():
        from actlab.config import register_configs
        from actlab.registry import experiments

        register_configs(experiments())  # each experiment's Params, for `params: ${experiment}`
        initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3")
    return compose(config_name="config", overrides=overrides, return_hydra_config=hydra)


def grid_jobs(experiment: str, overrides: list[str]) -> list[list[str]]:
    """The override lists of every job of the grid, seeds folded (`seed=a`, `seeds=[a,b,...]`)."""
    from hydra_plugins.actlab_sweeper.actlab_sweeper import fold_seeds

    base = [f"experiment={experiment}", *overrides]
    fixed = [o for o in base if "," not in o.partition("=")[2] or o.partition("=")[2][:1] in "[{"]
    own = _compose(fixed, hydra=True).hydra.sweeper.params or {}
    keys = {_key(o) for o in base}
    args = base + [f"{k}={v}" for k, v in own.items() if k not in keys]
    parser = OverridesParser.create()
    jobs = BasicSweeper.split_arguments(parser.parse_overrides(args), None)[0]
    return fold_seeds(jobs)


def job_config(overrides: list[str]) -> DictConfig:
    cfg = _compose(list(overrides))
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def run_grid(exp: Experiment, overrides: list[str],
             progress: Callable[[int, int, list[str]], None] | None = None) -> list[dict]:
    """Run the grid of `exp` with `overrides` here; return every run's summary."""
    from actlab.jobs import run_job

    jobs = grid_jobs(exp.name, overrides)
    configs = [job_config(job) for job in jobs]
    for cfg in configs:  # all checked before the first runs
        validate(cfg)
    summaries = []
    for i, (job, cfg) in enumerate(zip(jobs, configs)):
        if progress:
            progress(i, len(jobs), job)
        summaries += run_job(cfg, exp)
    return summaries
