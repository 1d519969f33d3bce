"""Seeds as a batch dimension: seed k of a batched run equals the separate run with seed k."""

import math

import pytest
import torch

from actlab.activations import get_activation
from actlab.batched import train_many
from actlab.config import ModelConfig, TaskConfig, TrainerConfig
from actlab.models import MLP
from actlab.runner import seed_everything
from actlab.tasks import make_task
from actlab.trainer import train


def _models(in_dim, out_dim, mc, act, seeds, out_act=None):
    out = []
    for s in seeds:
        seed_everything(s)
        out.append(MLP(in_dim, out_dim, mc, act, out_act))
    return out


def _by_key(rows):
    return {(r["step"], r["layer"], r["metric"]): r["value"] for r in rows}


@pytest.mark.parametrize("init,optimizer,task_name,out_act", [
    ("gaussian", "sgd", "teacher", None),
    ("orthogonal", "adam", "teacher", "softplus"),
    ("gaussian", "sgd", "xor", None),  # classification: cross-entropy per seed
])
def test_batched_seeds_match_separate_runs(init, optimizer, task_name, out_act):
    task = make_task(TaskConfig(name=task_name, n_train=256, n_test=64, in_dim=8))
    mc = ModelConfig(depth=3, width=16, init=init, weight_scale=1.2)
    tc = TrainerConfig(steps=30, lr=0.02, optimizer=optimizer, batch_size=32, log_every=10,
                       probes=True)
    act = get_activation("tanh")
    oa = get_activation(out_act) if out_act else None
    seeds = [0, 1, 2, 7]
    batched = train_many(_models(task.in_dim, task.out_dim, mc, act, seeds, oa), task, tc, seeds)
    finals = []
    for s, b in zip(seeds, batched):
        single = train(_models(task.in_dim, task.out_dim, mc, act, [s], oa)[0], task, tc, seed=s)
        a, bb = _by_key(single.rows), _by_key(b.rows)
        assert a.keys() == bb.keys()  # the same rows: metrics, every probe, every step
        for key in a:
            assert bb[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (s, key)
        assert b.status == single.status == "ok"
        finals.append(b.final["loss"])
    assert len({round(v, 6) for v in finals}) == len(seeds)  # and the seeds really differ


def test_a_diverging_seed_stops_alone():
    """Seed 1 gets weights so large its loss overflows; the other seeds train on, unaffected."""
    task = make_task(TaskConfig(name="teacher", n_train=128, n_test=32, in_dim=4))
    mc = ModelConfig(depth=2, width=8)
    tc = TrainerConfig(steps=20, lr=0.05, batch_size=0, log_every=5, probes=False)
    act = get_activation("linear", slope=1.0)
    seeds = [0, 1, 2]
    models = _models(4, 1, mc, act, seeds)
    with torch.no_grad():
        for layer in models[1].layers:
            layer.weight.mul_(1e13)
    res = train_many(models, task, tc, seeds)
    assert res[1].status == "diverged" and res[1].diverged_step == 0
    for j in (0, 2):
        single = train(_models(4, 1, mc, act, [seeds[j]])[0], task, tc, seed=seeds[j])
        assert res[j].status == "ok"
        assert res[j].final["loss"] == pytest.approx(single.final["loss"], rel=1e-5)
        assert all(math.isfinite(p.sum().item()) for p in models[j].parameters())


def test_models_hold_final_weights():
    task = make_task(TaskConfig(name="teacher", n_train=64, n_test=16, in_dim=4))
    mc = ModelConfig(depth=2, width=8)
    tc = TrainerConfig(steps=10, lr=0.1, batch_size=16, log_every=100, probes=False)
    act = get_activation("relu")
    models = _models(4, 1, mc, act, [3, 4])
    train_many(models, task, tc, [3, 4])
    single = _models(4, 1, mc, act, [3])[0]
    train(single, task, tc, seed=3)
    for p, q in zip(models[0].parameters(), single.parameters()):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-6)


def test_different_architectures_are_refused():
    act = get_activation("relu")
    a = MLP(4, 1, ModelConfig(depth=2, width=8), act)
    b = MLP(4, 1, ModelConfig(depth=2, width=9), act)
    task = make_task(TaskConfig(name="teacher", n_train=16, n_test=8, in_dim=4))
    with pytest.raises(ValueError, match="same architecture"):
        train_many([a, b], task, TrainerConfig(steps=1), [0, 1])


def test_out_mask_and_weight_hooks_match_separate_runs():
    """What continual learning needs: a task-incremental logit mask and per-step weight-gradient
    hooks see the same thing batched as in separate runs."""
    task = make_task(TaskConfig(name="xor", n_train=128, n_test=32, in_dim=4, out_dim=2))
    mc = ModelConfig(depth=2, width=8)
    tc = TrainerConfig(steps=15, lr=0.1, batch_size=16, log_every=5, probes=False)
    act = get_activation("relu")
    mask = torch.tensor([0.0, 0.0])
    seeds = [3, 4]

    def tracker(store):
        return [lambda g, i=i: store.setdefault(i, []).append(g.clone()) for i in range(3)]

    models = _models(4, 2, mc, act, seeds)
    for m in models:
        m.out_mask = mask
    seen = [{}, {}]
    res = train_many(models, task, tc, seeds, weight_hooks=[tracker(seen[0]), tracker(seen[1])])
    for j, s in enumerate(seeds):
        single = _models(4, 2, mc, act, [s])[0]
        single.out_mask = mask
        mine = {}
        handles = [layer.weight.register_hook(h) for layer, h in zip(single.layers, tracker(mine))]
        one = train(single, task, tc, seed=s)
        for h in handles:
            h.remove()
        assert res[j].final["accuracy"] == pytest.approx(one.final["accuracy"])
        for i in range(3):
            assert len(seen[j][i]) == len(mine[i]) == 15
            for a, b in zip(seen[j][i], mine[i]):
                assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    other = _models(4, 2, mc, act, [5])[0]
    with pytest.raises(ValueError, match="out_mask"):
        train_many([models[0], other], task, tc, [0, 1])


def test_each_seed_can_have_its_own_data():
    """Per-seed tasks (continual's permuted inputs): seed k trains and is probed on its own task."""
    tasks = [make_task(TaskConfig(name="teacher", n_train=128, n_test=32, in_dim=6, data_seed=d))
             for d in (0, 1, 2)]
    mc = ModelConfig(depth=2, width=12)
    tc = TrainerConfig(steps=20, lr=0.05, batch_size=16, log_every=5, probes=True)
    act = get_activation("gelu")
    seeds = [0, 1, 2]
    batched = train_many(_models(6, 1, mc, act, seeds), tasks, tc, seeds)
    for s, t, b in zip(seeds, tasks, batched):
        single = train(_models(6, 1, mc, act, [s])[0], t, tc, seed=s)
        a, bb = _by_key(single.rows), _by_key(b.rows)
        assert a.keys() == bb.keys()
        for key in a:
            assert bb[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (s, key)
    # trained on one shared task instead, the results differ: the per-seed data really was used
    shared = train_many(_models(6, 1, mc, act, seeds), tasks[0], tc, seeds)
    assert shared[1].final["loss"] != pytest.approx(batched[1].final["loss"], rel=1e-3)
    with pytest.raises(ValueError, match="same kind and shapes"):
        other = make_task(TaskConfig(name="teacher", n_train=64, n_test=32, in_dim=6))
        train_many(_models(6, 1, mc, act, seeds), [tasks[0], tasks[1], other], tc, seeds)
    with pytest.raises(ValueError, match="2 tasks for 3 models"):
        train_many(_models(6, 1, mc, act, seeds), tasks[:2], tc, seeds)
