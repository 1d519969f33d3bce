"""Hydra's basic grid sweeper, with the seeds of each grid point folded into one job.

`actlab -m experiment=gradient_flow activation=relu,tanh seed=0,1,2` gives two jobs, not six:
`activation=relu seeds=[0,1,2]` and `activation=tanh seeds=[0,1,2]`. Each job trains its seeds as
one batched computation (actlab.batched) and still writes one run folder per seed, so results,
resume and collect are unchanged. Any launcher (local, joblib, submitit/SLURM) runs the folded
jobs. `hydra.sweeper.group_seeds=false` gives the plain one-job-per-seed grid.
"""

# No `from __future__ import annotations`: Hydra executes plugin modules outside sys.modules,
# where dataclasses cannot resolve string annotations.
from dataclasses import dataclass

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.types import Override

SEED = "seed"


@dataclass
class ActlabSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.actlab_sweeper.actlab_sweeper.ActlabSweeper"
    group_seeds: bool = True


ConfigStore.instance().store(group="hydra/sweeper", name="actlab", node=ActlabSweeperConf, provider="actlab")


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

    def split_arguments(self, overrides: list[Override], max_batch_size: int | None) -> list[list[list[str]]]:
        jobs = BasicSweeper.split_arguments(overrides, None)[0]
        if self.group_seeds:
            jobs = fold_seeds(jobs)
        if max_batch_size is None:
            return [jobs]
        return [jobs[i:i + max_batch_size] for i in range(0, len(jobs), max_batch_size)]
