"""Every experiment that batches seeds (`run_seeds`) writes, for each seed, the rows its plain
`run` writes, with the same values up to float rounding (smoke scale: too short for chaos)."""

import math

import pytest
import torch

from experiments import EXPERIMENTS
from tests.helpers import compose

BATCHING = sorted(name for name, module in EXPERIMENTS.items() if hasattr(module, "run_seeds"))


def _rows(res):
    return {(r["step"], r["layer"], r["metric"], r.get("cause_value"), r.get("target")): r["value"]
            for r in res.rows}


def test_the_trainer_based_experiments_batch():
    assert {"gradient_flow", "saturation", "gelu_approx", "linear_collapse", "output_constraint",
            "dead_relu"} <= set(BATCHING)


@pytest.mark.parametrize("name", BATCHING)
def test_run_seeds_equals_run(name, tmp_path):
    module = EXPERIMENTS[name]
    cfg = compose([f"experiment={name}", "scale=smoke", f"out_dir={tmp_path}"])
    seeds = [0, 1]
    batched = module.run_seeds(cfg, torch.device("cpu"), seeds)
    assert sorted(batched) == seeds
    for s in seeds:
        solo = module.run(compose([f"experiment={name}", "scale=smoke", f"seed={s}", f"out_dir={tmp_path}"]),
                          torch.device("cpu"))
        a, b = _rows(solo), _rows(batched[s])
        assert a.keys() == b.keys(), (name, s)
        for key, v in a.items():
            if math.isfinite(v) and abs(v) < 1e6:
                assert b[key] == pytest.approx(v, rel=1e-3, abs=1e-5), (name, s, key)
