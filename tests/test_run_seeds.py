"""Every experiment that batches seeds (`run_seeds`) writes, for each seed, the rows its plain
`run` writes, with the same values up to float rounding (smoke scale: too short for chaos)."""

import math

import pytest
import torch

from actlab.registry import experiments
from tests.helpers import compose

EXPERIMENTS = experiments()
BATCHING = sorted(name for name, exp in EXPERIMENTS.items() if exp.run_seeds is not None)


def _same_rows(solo, batched, where):
    """Row by row, in order: the same labels (step, layer, metric, task, target, ...) and values
    equal up to float rounding."""
    assert len(solo) == len(batched), where
    for a, b in zip(solo, batched):
        assert ({k: v for k, v in a.items() if k != "value"}
                == {k: v for k, v in b.items() if k != "value"}), where
        if math.isfinite(a["value"]) and abs(a["value"]) < 1e6:
            assert b["value"] == pytest.approx(a["value"], rel=1e-3, abs=1e-5), (where, a)


def test_the_trainer_based_experiments_batch():
    assert {"gradient_flow", "saturation", "gelu_approx", "linear_collapse", "output_constraint",
            "dead_relu", "continual", "gradient_chain"} <= set(BATCHING)


# continual's smoke grid trains every lr x shift x arm per run: one of each is enough here
SMALL = {"continual": ["params.lrs=[0.1]", "params.bias_shifts=[0.0]"]}
CASES = [(name, SMALL.get(name, [])) for name in BATCHING] + [
    ("continual", ["params.sequence=permuted", *SMALL["continual"]]),
    ("gradient_chain", ["activation=linear"])]


@pytest.mark.parametrize("name,extra", CASES,
                         ids=lambda c: " ".join(c) if isinstance(c, list) else c)
def test_run_seeds_equals_run(name, extra, tmp_path):
    module = EXPERIMENTS[name]
    cfg = compose([f"experiment={name}", "scale=smoke", f"out_dir={tmp_path}", *extra])
    seeds = [0, 1]
    batched = module.run_seeds(cfg, torch.device("cpu"), seeds)
    assert sorted(batched) == seeds
    for s in seeds:
        solo = module.run(compose([f"experiment={name}", "scale=smoke", f"seed={s}",
                                   f"out_dir={tmp_path}", *extra]),
                          torch.device("cpu"))
        _same_rows(solo.rows, batched[s].rows, (name, s))
