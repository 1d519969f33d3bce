"""Task sequences, logit masks and the continual experiment's measurements, each against a
computation done another way (loops, hand values, an equivalent network); the crossed-gradient
arms; the smoke grid end to end."""

import math

import numpy as np
import pytest
import torch

from actlab.activations import get_activation
from actlab.config import ModelConfig, TaskConfig
from actlab.models import MLP
from actlab.tasks import make_task
from experiments import continual as C
from experiments import continual_measure as M


def test_split_sequence_masks_and_classes(tmp_path):
    base = make_task(TaskConfig(name="digits", n_train=600, n_test=200, in_dim=64, out_dim=10),
                     tmp_path)
    seq = M.split_tasks(base, "task")
    assert len(seq) == 5
    for k, (task, mask) in enumerate(seq):
        assert set(task.y_train.unique().tolist()) == {2 * k, 2 * k + 1}
        assert torch.isinf(mask).sum() == 8 and mask[2 * k] == 0 and mask[2 * k + 1] == 0
    assert all((m == 0).all() for _, m in M.split_tasks(base, "shared"))


def test_permuted_sequence_is_a_permutation_drawn_from_the_seed(tmp_path):
    base = make_task(TaskConfig(name="digits", n_train=300, n_test=100, in_dim=64, out_dim=10),
                     tmp_path)
    gen = M.permuted_tasks(base, seed=1)
    first, second = next(gen), next(gen)
    assert torch.equal(first.x_train, base.x_train)
    assert not torch.equal(second.x_train, base.x_train)
    assert torch.equal(second.x_train.sort(1).values, base.x_train.sort(1).values)
    assert torch.equal(second.y_train, base.y_train)
    again = M.permuted_tasks(base, seed=1)
    next(again)
    assert torch.equal(next(again).x_test, second.x_test)  # the same seed, the same sequence
    other = M.permuted_tasks(base, seed=2)
    next(other)
    assert not torch.equal(next(other).x_train, second.x_train)


def test_masked_logits():
    net = MLP(3, 4, ModelConfig(depth=1, width=5), get_activation("relu"))
    mask = torch.tensor([0.0, float("-inf"), 0.0, float("-inf")])
    net.out_mask = mask
    x = torch.randn(5, 3)
    out = net(x)
    assert torch.isinf(out[:, 1]).all() and torch.isin(out.argmax(1), torch.tensor([0, 2])).all()
    net.out_mask = None
    assert torch.equal(out[:, [0, 2]], net(x)[:, [0, 2]])
    own, _, _ = M.forward(net, x, mask)  # the experiment's forward: the same outputs
    assert torch.equal(own, out)


def test_mnist1d_is_generated_and_cached(tmp_path):
    c = TaskConfig(name="mnist1d", n_train=800, n_test=200, in_dim=40, out_dim=10)
    a = make_task(c, tmp_path)
    assert list(tmp_path.glob("mnist1d_*.npz"))
    b = make_task(c, tmp_path)  # from the cache
    assert torch.equal(a.x_train, b.x_train) and a.x_train.shape == (800, 40)
    assert set(a.y_train.unique().tolist()) == set(range(10))


# -- measurements


def test_inactive_units_by_hand():
    z = torch.tensor([[-1.0, 0.5, 0.0, float("nan")],
                      [-2.0, -0.1, 0.0, -1.0]])
    (off,) = M.inactive([z])
    assert off.tolist() == [True, False, True, False]  # z <= 0 everywhere; nan never counts
    relu = MLP(1, 1, ModelConfig(depth=1, width=4), get_activation("relu"))
    assert M.dead(relu, [z[:, :3]])[0].tolist() == [True, False, True]  # relu'(0) = 0
    leaky = MLP(1, 1, ModelConfig(depth=1, width=4), get_activation("leaky_relu", slope=0.1))
    assert not M.dead(leaky, [z[:, :3]])[0].any()


def test_protected_fraction_counts_small_updates_relative_to_the_row():
    g = torch.Generator().manual_seed(0)
    net = MLP(6, 3, ModelConfig(depth=2, width=4), get_activation("relu"))
    before = M.snapshot(net)
    after = [p + torch.randn(p.shape, generator=g) * 0.02 for p in before]
    after[0][1] = before[0][1]  # a row of layer 1 that did not move at all
    eps = 0.03
    want = []
    for w0, w1 in ((before[0], after[0]), (before[2], after[2])):  # hidden weights only
        small = 0
        for i in range(w0.shape[0]):
            rms = (sum(float(x) ** 2 for x in w0[i]) / w0.shape[1]) ** 0.5
            small += sum(abs(float(w1[i, j]) - float(w0[i, j])) < eps * rms
                         for j in range(w0.shape[1]))
        want.append(small / w0.numel())
    assert 0 < min(want) and max(want) < 1
    assert M.protected(before, after, eps) == pytest.approx(want)
    assert M.protected(before, [p.clone() for p in before], eps) == [1.0, 1.0]
    bad = [p.clone() for p in after]
    bad[0][1, 0] = float("nan")  # in the row that did not move: one protected weight less
    assert M.protected(before, bad, eps)[0] == pytest.approx(want[0] - 1 / 24)


def test_distance_and_weight_magnitude_by_hand():
    a = [torch.zeros(2, 2), torch.zeros(2)]
    b = [torch.tensor([[3.0, 0.0], [0.0, 0.0]]), torch.tensor([0.0, 4.0])]
    assert M.distance(a, b) == pytest.approx(5.0)
    net = MLP(2, 1, ModelConfig(depth=1, width=2), get_activation("relu"))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[1.0, -3.0], [0.0, 2.0]]))
        net.layers[1].weight.copy_(torch.tensor([[-0.5, 0.5]]))
    assert M.weight_magnitude(net) == pytest.approx([1.5, 0.5])


def test_knocking_out_units_equals_cutting_their_outgoing_weights():
    torch.manual_seed(0)
    net = MLP(5, 3, ModelConfig(depth=2, width=6), get_activation("leaky_relu", slope=0.1))
    x = torch.randn(50, 5)
    off = [torch.tensor([True, False, False, True, False, False]), None]
    out, _, _ = M.forward(net, x, off=off)
    cut = MLP(5, 3, ModelConfig(depth=2, width=6), get_activation("leaky_relu", slope=0.1))
    cut.load_state_dict(net.state_dict())
    with torch.no_grad():
        cut.layers[1].weight[:, off[0]] = 0
    assert torch.allclose(out, cut(x), atol=1e-6)
    y = out.argmax(1)
    from actlab.tasks import Task

    task = Task(x, y, x, y, "classification", 3)
    assert M.accuracy(net, task, off=off) == 1.0
    assert M.accuracy(net, task) == pytest.approx(float((net(x).argmax(1) == y).float().mean()))


def test_effective_rank_by_hand():
    q, _ = torch.linalg.qr(torch.randn(50, 8, dtype=torch.float64))
    assert M.effective_rank(q[:, :5] * 3.0) == pytest.approx(5.0)  # 5 equal singular values
    assert M.effective_rank(torch.outer(torch.randn(40), torch.randn(7))) == pytest.approx(1.0)
    h = torch.randn(30, 6)
    s = np.linalg.svd(h.double().numpy(), compute_uv=False)
    p = s / s.sum()
    assert M.effective_rank(h) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    assert math.isnan(M.effective_rank(torch.zeros(4, 3)))
    assert math.isnan(M.effective_rank(torch.full((4, 3), float("inf"))))


# -- the crossed-gradient arms


def _cfg(tmp_path, *overrides):
    from tests.helpers import compose

    return compose(["experiment=continual", "scale=smoke", f"out_dir={tmp_path}", *overrides])


def test_crossed_gradient_arms(tmp_path):
    arms = C._arms(_cfg(tmp_path, "activation=relu", "params.ablation_slopes=[0.1,0.3]"))
    assert [(str(a.activation.backward.value), C._slope(a.activation)) for a in arms][1:] == [
        ("leaky_below", 0.1), ("leaky_below", 0.3)]
    assert math.isnan(C._slope(arms[0].activation))
    arms = C._arms(_cfg(tmp_path, "activation=leaky_relu", "activation.slope=0.3"))
    assert [(a.activation.backward.value, C._slope(a.activation)) for a in arms] == [
        ("exact", 0.3), ("zero_below", 0.3)]
    assert len(C._arms(_cfg(tmp_path, "activation=tanh"))) == 1
    # a gradient set by hand is trained as set, without crossed arms
    one = C._arms(_cfg(tmp_path, "activation=leaky_relu", "activation.backward=zero_below"))
    assert len(one) == 1
    assert len(C._arms(_cfg(tmp_path, "activation=relu", "params.ablation=false"))) == 1


def test_a_zero_gradient_keeps_inactive_first_layer_units_exactly(tmp_path):
    """The mechanism, checked on a run: leaky forward with relu's zero gradient below 0 never
    moves the incoming weights of a first-layer unit that is inactive on the whole task (its
    inputs are fixed); leaky's own gradient does."""
    rows = {}
    for backward in ("zero_below", "exact"):
        cfg = _cfg(tmp_path, "activation=leaky_relu", "activation.slope=0.3",
                   f"activation.backward={backward}", "params.sequence=permuted",
                   "params.lrs=[0.1]", "params.bias_shifts=[-6.0]", "trainer.batch_size=0")
        rows[backward] = C.run(cfg, torch.device("cpu")).rows
    for backward, want in (("zero_below", 1.0), ("exact", None)):
        r = [x for x in rows[backward] if x["backward"] == backward]
        off = [x["value"] for x in r if x["metric"] == "inactive_fraction" and x["layer"] == 1
               and x["task"] == 1]
        prot = [x["value"] for x in r if x["metric"] == "protected_fraction" and x["layer"] == 1
                and x["task"] == 1]
        assert off[0] > 0.3  # the shift makes most first-layer units inactive
        if want is not None:  # protected at least on every inactive unit's row
            assert prot[0] >= off[0] - 1e-9
        else:
            assert prot[0] < off[0]
    assert {x["backward"] for x in rows["zero_below"]} == {"zero_below"}
    assert {x["backward"] for x in rows["exact"]} == {"exact", "zero_below"}  # params.ablation


def test_run_rows_carry_their_conditions_and_settings(tmp_path):
    cfg = _cfg(tmp_path, "activation=relu", "params.heads=[shared]", "params.lrs=[0.05]",
               "params.bias_shifts=[0.0,-1.0]", "params.ablation_slopes=[0.2]")
    rows = C.run(cfg, torch.device("cpu")).rows
    keys = {(r["backward"], r["slope"] if not math.isnan(r["slope"]) else None, r["bias_shift"],
             r["head"], r["lr"]) for r in rows}
    assert keys == {(b, s, sh, "shared", 0.05) for b, s in (("exact", None), ("leaky_below", 0.2))
                    for sh in (0.0, -1.0)}
    forget = [r for r in rows if r["metric"] == "forgetting"]
    assert len(forget) == 2 * 2 * 4  # arms x shifts x earlier tasks


# -- the smoke grid end to end


def test_smoke_grid_claims_and_figures(cli_here, tmp_path):
    from actlab.claims import Verdict
    from actlab.results import load_results

    out = tmp_path / "out"
    r = cli_here("-m", "experiment=continual", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    df = load_results(out)["continual"]
    assert {"backward", "bias_shift", "head", "lr", "sequence"} <= set(df.columns)
    assert set(df["backward"]) == {"exact", "zero_below", "leaky_below"}
    summary = C.summarize(df, C.Params())
    keys = ["activation", "slope", "backward", "sequence", "head", "lr", "bias_shift", "seed"]
    assert not summary.duplicated(keys).any()
    claims = C.claims(summary, C.Params())
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims)
    ids = {c.claim.split("[")[0] for c in claims}
    assert ids == {"leaky_forgets_more", "gradient_leak_forgets", "relu_protects_more",
                   "inactive_units_carry_more", "leaky_forgets_more_matched",
                   "plasticity_loss", "units_die", "weights_grow", "rank_falls"}
    assert all(1 <= c.n <= 2 for c in claims if c.verdict is not Verdict.NO_DATA)
    for c in claims:
        if c.claim.startswith("leaky_forgets_more["):  # both seeds, or a task 0 never learned
            assert c.n == 2 or "task 0 was not learned" in c.detail, c
    import contextlib
    import io

    from actlab.cli import verify_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = verify_main(["--out", str(out)])
    assert rc == 0 and "error" not in buf.getvalue().split("verdict", 1)[1], buf.getvalue()
    assert set(C.EXPERIMENT.draw(df, C.Params())) == {
        "continual", "continual_ablation", "continual_protection", "continual_matched",
        "continual_plasticity"}
