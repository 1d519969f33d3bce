"""The Experiment record: everything the core needs to know about one phenomenon.

Each module under `experiments/` builds one `Experiment` and the package's REGISTRY lists them;
the core (jobs, analysis commands, report) receives that registry from the composition root and
never imports `experiments` itself. Figure code is named by a "module:function" path and loaded
only when figures are drawn, so a training job never imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

# The config groups a run can read. An experiment declares the ones it reads; a key of a group it
# does not read is reported as having no effect and kept out of the run's name and table.
SHARED_GROUPS = ("activation", "model", "task", "trainer")


@dataclass(frozen=True, kw_only=True)
class Experiment:
    name: str
    title: str  # one line
    summary: str  # one paragraph: what is run and what is claimed
    command: str  # the command that reruns its default grid
    params: type  # the dataclass of its own run parameters (config key `params`)
    run: Callable  # run(cfg, device) -> actlab.trainer.RunResult
    summarize: Callable  # summarize(table, params) -> DataFrame, one row per seed per condition
    claims: Callable  # claims(summary, params) -> list[actlab.claims.Claim]
    figures: str  # "module:function"; function(table, params) -> {name: matplotlib Figure}
    # the shared config its runs read: a whole group ("model") or one key of it ("trainer.dtype")
    reads: tuple[str, ...] = SHARED_GROUPS
    run_seeds: Callable | None = None  # run_seeds(cfg, device, seeds) -> {seed: RunResult}

    def __post_init__(self):
        unknown = [g for g in self.reads if g.partition(".")[0] not in SHARED_GROUPS]
        if unknown:
            raise ValueError(f"{self.name}: reads unknown groups {unknown}; valid: {SHARED_GROUPS}")

    def draw(self, table, params) -> dict:
        """The experiment's figures (imports its figure code now, not before)."""
        module, _, func = self.figures.partition(":")
        return getattr(importlib.import_module(module), func)(table, params)


@dataclass(frozen=True)
class Registered:
    """An experiment as its registry lists it, before its module is imported: the name and the
    Params class (all that composing and checking a config needs, torch-free) and the module whose
    `EXPERIMENT` is the full record. Any other attribute (run, claims, title, ...) imports that
    module on first use, so `actlab --help`, a bad config and a run of one experiment never import
    the other experiments (or torch, until a run needs it)."""

    name: str
    params: type
    module: str  # "experiments.dead_relu": defines EXPERIMENT

    def load(self) -> Experiment:
        return _load(self.module, self.name, self.params)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # copy, pickle and friends probe dunders: not the record's
            raise AttributeError(attr)
        return getattr(self.load(), attr)


@cache
def _load(module: str, name: str, params: type) -> Experiment:
    exp = importlib.import_module(module).EXPERIMENT
    if exp.name != name or exp.params is not params:
        raise TypeError(f"{module}.EXPERIMENT is {exp.name!r} with params {exp.params.__name__}; "
                        f"its registry entry says {name!r} with {params.__name__}")
    return exp
