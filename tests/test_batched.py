"""Seeds as a batch dimension: seed k of a batched run equals the separate run with seed k."""

import pytest
import torch

from actlab.activations import get_activation
from actlab.batched import BatchedMLP, train_batched
from actlab.config import ModelConfig, TaskConfig, TrainerConfig
from actlab.models import MLP
from actlab.runner import seed_everything
from actlab.tasks import make_task
from actlab.trainer import train


@pytest.mark.parametrize("init", ["gaussian", "orthogonal"])
def test_batched_seeds_match_separate_runs(init):
    task = make_task(TaskConfig(name="teacher", n_train=256, n_test=64, in_dim=8))
    mc = ModelConfig(depth=3, width=16, init=init, weight_scale=1.2)
    tc = TrainerConfig(steps=30, lr=0.05, batch_size=32, log_every=10, probes=False)
    act = get_activation("tanh")
    seeds = [0, 1, 2, 7]
    batched = train_batched(BatchedMLP(8, 1, mc, act, seeds), task, tc, seeds)
    for s in seeds:
        seed_everything(s)
        single = train(MLP(8, 1, mc, act), task, tc, seed=s)
        a = [r["value"] for r in single.rows if r["metric"] == "loss"]
        b = [r["value"] for r in batched[s]]
        assert a == pytest.approx(b, rel=1e-5, abs=1e-7), s
    # and the seeds really differ from each other
    finals = [batched[s][-1]["value"] for s in seeds]
    assert len(set(round(v, 6) for v in finals)) == len(seeds)
    assert torch.get_num_threads() >= 1
