"""Hydra's basic grid sweeper, with the seeds of each grid point folded into one job.

`actlab -m experiment=gradient_flow activation=relu,tanh seed=0,1,2` gives two jobs, not six:
`activation=relu seeds=[0,1,2]` and `activation=tanh seeds=[0,1,2]`. Each job trains its seeds as
one batched computation (actlab.batched) and still writes one run folder per seed, so results,
resume and collect are unchanged. Any launcher (local, joblib, submitit/SLURM) runs the folded
jobs. `hydra.sweeper.group_seeds=false` gives the plain one-job-per-seed grid.

When the command line sweeps `experiment` (`-m experiment=glob(*)`), each experiment gets its
own YAML grid (`hydra.sweeper.params` of its config, at the chosen scale) combined with the
command line's overrides, which win key by key; Hydra alone would apply the default
experiment's grid to all of them.

Before launching anything, every job's config is composed and range-checked (actlab's
`validate`), so a bad value anywhere in the grid (`model.depth=4,-1`) stops the sweep with one
line and nothing written, instead of failing halfway through.
"""

# No `from __future__ import annotations`: Hydra executes plugin modules outside sys.modules,
# where dataclasses cannot resolve string annotations.
from dataclasses import dataclass

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import open_dict

SEED = "seed"
EXPERIMENT = "experiment"


@dataclass
class ActlabSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.actlab_sweeper.actlab_sweeper.ActlabSweeper"
    group_seeds: bool = True


ConfigStore.instance().store(group="hydra/sweeper", name="actlab", node=ActlabSweeperConf,
                             provider="actlab")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+")


def fold_seeds(jobs: list[list[str]]) -> list[list[str]]:
    """Jobs that differ only in `seed=` become one job with `seed=<first>` and `seeds=[...]`,
    in first-seen order. Jobs without a seed override pass through."""
    groups: dict[tuple[str, ...], list[str]] = {}
    order: list[tuple[str, ...]] = []
    passthrough: list[list[str]] = []
    for job in jobs:
        seeds = [o.split("=", 1)[1] for o in job if _key(o) == SEED]
        if len(seeds) != 1:
            passthrough.append(job)
            continue
        rest = tuple(o for o in job if _key(o) != SEED)
        if rest not in groups:
            groups[rest] = []
            order.append(rest)
        groups[rest].append(seeds[0])
    folded = []
    for rest in order:
        seeds = groups[rest]
        if len(seeds) == 1:
            folded.append([*rest, f"{SEED}={seeds[0]}"])
        else:
            folded.append([*rest, f"{SEED}={seeds[0]}", f"seeds=[{','.join(seeds)}]"])
    return folded + passthrough


class ActlabSweeper(BasicSweeper):
    def __init__(self, max_batch_size: int | None, params: dict[str, str] | None = None,
                 group_seeds: bool = True) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.group_seeds = group_seeds

    def sweep(self, arguments: list[str]):
        self.arguments = list(arguments)  # the command line's overrides, before the config's grid
        return super().sweep(arguments)

    def _per_experiment_jobs(self) -> list[list[str]] | None:
        """Jobs of every swept experiment's own grid, or None when `experiment` is not swept."""
        loader = self.hydra_context.config_loader
        parser = OverridesParser.create(config_loader=loader)
        cli = parser.parse_overrides(getattr(self, "arguments", []))
        swept = [o for o in cli if o.key_or_group == EXPERIMENT and o.is_sweep_override()]
        if not swept:
            return None
        rest = [o for o in cli if o.key_or_group != EXPERIMENT]
        fixed = [o.input_line for o in rest if not o.is_sweep_override()]  # enough to find the grid
        cli_keys = {_key(o.input_line) for o in cli}
        jobs = []
        for (choice,) in BasicSweeper.split_arguments(swept, None)[0]:
            own = loader.load_sweep_config(master_config=self.config,
                                           sweep_overrides=[*fixed, choice])
            grid = [f"{k}={v}" for k, v in (own.hydra.sweeper.params or {}).items()
                    if k not in cli_keys]
            args = [choice, *grid, *(o.input_line for o in rest)]
            jobs += BasicSweeper.split_arguments(parser.parse_overrides(args), None)[0]
        return jobs

    def split_arguments(self, overrides: list[Override],
                        max_batch_size: int | None) -> list[list[list[str]]]:
        jobs = self._per_experiment_jobs() or BasicSweeper.split_arguments(overrides, None)[0]
        if self.group_seeds:
            jobs = fold_seeds(jobs)
        if max_batch_size is None:
            return [jobs]
        return [jobs[i:i + max_batch_size] for i in range(0, len(jobs), max_batch_size)]

    def validate_batch_is_legal(self, batch) -> None:
        from actlab.config import validate

        loader = self.hydra_context.config_loader
        for overrides in batch:
            cfg = loader.load_sweep_config(master_config=self.config,
                                           sweep_overrides=list(overrides))
            with open_dict(cfg):
                cfg.pop("hydra", None)  # the job's own config, as the task function sees it
            validate(cfg)
