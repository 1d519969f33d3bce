"""Hydra callbacks: collect the tables once a multirun ends (actlab-collect does the same)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("actlab")


class CollectAfterSweep(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from actlab.results import collect

        for exp, path in collect(Path(config.out_dir), log=log.warning).items():
            log.info("collected %s -> %s", exp, path)
