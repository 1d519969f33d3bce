"""The continual experiment's claims on summaries built to reach each verdict, its summary of a
hand-made raw table, its protected-weight measure against a loop-by-loop count, and the smoke grid
end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from actlab.claims import Verdict
from experiments import continual as C

SEEDS = list(range(8))
COLUMNS = ("forgetting_first", "protected", "plasticity_slope")


def _rows(activation, slope, values: dict, *, sequence="split", head="task", lr=0.05, seeds=SEEDS,
          diverged=()):
    out = []
    for i, s in enumerate(seeds):
        row = {"activation": activation, "slope": slope, "sequence": sequence, "head": head,
               "lr": lr, "seed": s, "diverged": s in diverged, "n_tasks": 5,
               "zero_grad": 0.1 if activation == "relu" else 0.0,
               "dead_first": 0.0, "dead_last": 0.0}
        row.update({k: float(np.asarray(v)[i]) for k, v in values.items()})
        out.append(row)
    return out


def _pair(effect: float, noise: float, column: str, *, sign: int, seed=0, **kw) -> list[dict]:
    """relu and leaky 0.1 per seed: leaky - relu = sign * effect + noise, per seed, the noise
    standardized (mean exactly 0, sd exactly `noise`) so that each verdict is reached for sure."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.3, 0.05, len(kw.get("seeds", SEEDS)))
    z = rng.standard_normal(len(base))
    delta = sign * effect + noise * (z - z.mean()) / z.std(ddof=1)
    other = {c: np.full(len(base), 0.2) for c in COLUMNS if c != column}
    return (_rows("relu", np.nan, {column: base, **other}, **kw)
            + _rows("leaky_relu", 0.1, {column: base + delta, **other}, **kw))


def _claims(rows, prefix):
    return [c for c in C.claims(pd.DataFrame(rows), C.Params()) if c.claim.startswith(prefix)]


def _one(rows, prefix):
    found = _claims(rows, prefix)
    assert len(found) == 1, [c.claim for c in found]
    return found[0]


# -- leaky_forgets_more: leaky minus relu forgetting of task 0, paired by seed, > 0


@pytest.mark.parametrize("effect,noise,sign,verdict", [
    (0.1, 0.01, +1, Verdict.REPRODUCED),
    (0.1, 0.01, -1, Verdict.NOT_REPRODUCED),  # relu forgets more: the whole interval below 0
    (0.01, 0.05, +1, Verdict.PARTLY),
])
def test_leaky_forgets_more_verdicts(effect, noise, sign, verdict):
    c = _one(_pair(effect, noise, "forgetting_first", sign=sign), "leaky_forgets_more")
    assert c.verdict is verdict and c.n == len(SEEDS)
    assert c.claim == "leaky_forgets_more[sequence=split,head=task,slope=0.1]"
    assert ("reversed" in c.detail) == (c.measured < 0)


def test_leaky_forgets_more_zero_effect_is_not_reproduced():
    c = _one(_pair(0.0, 0.0, "forgetting_first", sign=1), "leaky_forgets_more")
    assert c.verdict is not Verdict.REPRODUCED and c.measured == pytest.approx(0, abs=1e-12)


def test_pairs_by_seed_id_and_leaves_diverged_seeds_out():
    rows = _pair(0.1, 0.01, "forgetting_first", sign=1)
    rows = rows[::-1]  # order does not matter: pairs are by seed id
    rows.append(_rows("leaky_relu", 0.1, {"forgetting_first": [5.0], "protected": [0.2],
                                          "plasticity_slope": [0.0]},
                      seeds=[99])[0])  # no relu partner
    for r in rows:  # seed 3 diverged (leaky side): a huge forgetting that must not count
        if r["seed"] == 3 and r["activation"] == "leaky_relu":
            r["diverged"], r["forgetting_first"] = True, 50.0
    c = _one(rows, "leaky_forgets_more")
    assert c.n == len(SEEDS) - 1 and c.verdict is Verdict.REPRODUCED
    assert ("1 non-finite value(s) left out" in c.detail
            and c.measured == pytest.approx(0.1, abs=0.02))


# -- relu_protects_more: relu minus leaky protected fraction, paired by seed, > 0


@pytest.mark.parametrize("effect,noise,sign,verdict", [
    (0.05, 0.005, -1, Verdict.REPRODUCED),  # leaky protects less: relu - leaky > 0
    (0.05, 0.005, +1, Verdict.NOT_REPRODUCED),
    (0.002, 0.02, -1, Verdict.PARTLY),
])
def test_relu_protects_more_verdicts(effect, noise, sign, verdict):
    c = _one(_pair(effect, noise, "protected", sign=sign), "relu_protects_more")
    assert c.verdict is verdict and c.n == len(SEEDS)
    assert "exactly-zero-gradient" in c.detail  # shown, not judged


def test_relu_protects_more_zero_effect_is_not_reproduced():
    c = _one(_pair(0.0, 0.0, "protected", sign=1), "relu_protects_more")
    assert c.verdict is not Verdict.REPRODUCED


def test_a_relu_only_zero_gradient_fraction_is_not_evidence():
    """relu's exactly-zero-gradient fraction (0 for leaky by construction) may be large while the
    protected fractions are equal: the claim must not come out reproduced."""
    rows = _pair(0.0, 0.01, "protected", sign=1)
    for r in rows:
        r["zero_grad"] = 0.5 if r["activation"] == "relu" else 0.0
    assert _one(rows, "relu_protects_more").verdict is not Verdict.REPRODUCED


# -- plasticity_loss: per-seed slope of new-task accuracy over task index, permuted, < 0


def _plasticity(mean, noise, seed=0, n_tasks=10):
    rng = np.random.default_rng(seed)
    other = {"forgetting_first": np.full(len(SEEDS), 0.1), "protected": np.full(len(SEEDS), 0.2)}
    z = rng.standard_normal(len(SEEDS))
    slopes = mean + noise * (z - z.mean()) / z.std(ddof=1)
    rows = _rows("relu", np.nan, {"plasticity_slope": slopes, **other},
                 sequence="permuted", head="shared")
    for r in rows:
        r["n_tasks"] = n_tasks
    return rows


@pytest.mark.parametrize("mean,noise,verdict", [
    (-0.02, 0.002, Verdict.REPRODUCED),
    (0.02, 0.002, Verdict.NOT_REPRODUCED),
    (-0.001, 0.01, Verdict.PARTLY),
])
def test_plasticity_loss_verdicts(mean, noise, verdict):
    c = _one(_plasticity(mean, noise), "plasticity_loss")
    assert c.verdict is verdict and c.n == len(SEEDS)
    assert c.claim == "plasticity_loss[sequence=permuted,head=shared,activation=relu]"


def test_plasticity_zero_slope_is_not_reproduced_and_short_sequences_have_no_data():
    assert _one(_plasticity(0.0, 0.0), "plasticity_loss").verdict is not Verdict.REPRODUCED
    assert _one(_plasticity(-0.02, 0.002, n_tasks=2), "plasticity_loss").verdict is Verdict.NO_DATA
    # split sequences (tasks of unequal difficulty) give no plasticity claim
    assert not _claims(_pair(0.1, 0.01, "forgetting_first", sign=1), "plasticity_loss")


# -- settings are kept apart; several comparisons are judged at a Bonferroni level


def test_each_setting_is_its_own_claim_never_mixed():
    rows = (_pair(0.1, 0.01, "forgetting_first", sign=1, head="task")
            + _pair(0.1, 0.01, "forgetting_first", sign=-1, head="shared", seed=1))
    found = {c.claim: c.verdict for c in _claims(rows, "leaky_forgets_more")}
    assert found == {
        "leaky_forgets_more[sequence=split,head=shared,slope=0.1]": Verdict.NOT_REPRODUCED,
        "leaky_forgets_more[sequence=split,head=task,slope=0.1]": Verdict.REPRODUCED}
    rows = (_pair(0.1, 0.01, "forgetting_first", sign=1, lr=0.05)
            + _pair(0.1, 0.01, "forgetting_first", sign=-1, lr=0.2, seed=1))
    found = {c.claim: c.verdict for c in _claims(rows, "leaky_forgets_more")}
    assert found[
        "leaky_forgets_more[sequence=split,head=task,lr=0.05,slope=0.1]"] is Verdict.REPRODUCED
    assert found[
        "leaky_forgets_more[sequence=split,head=task,lr=0.2,slope=0.1]"] is Verdict.NOT_REPRODUCED


def test_bonferroni_level_over_a_family():
    rows = []
    for k, slope in enumerate((0.01, 0.1, 0.3)):
        for r in _pair(0.1, 0.01, "forgetting_first", sign=1, seed=k):
            if r["activation"] == "leaky_relu":
                rows.append({**r, "slope": slope})
            elif k == 0:
                rows.append(r)
    found = _claims(rows, "leaky_forgets_more")
    assert len(found) == 3
    for c in found:
        assert "Bonferroni over the 3 claims" in c.detail and "98.33%" in c.detail
    single = _one(_pair(0.1, 0.01, "forgetting_first", sign=1), "leaky_forgets_more")
    assert "Bonferroni" not in single.detail and "95%" in single.rule
    # the wider interval: an effect that a 95% interval shows can be only partly at 98.3%
    from scipy import stats

    d = np.array([0.01, 0.03, 0.02, 0.0, 0.04, 0.01, 0.03, 0.02]) * 1.0
    half95 = stats.t.ppf(0.975, 7) * d.std(ddof=1) / np.sqrt(8)
    half_b = stats.t.ppf(1 - 0.05 / 6, 7) * d.std(ddof=1) / np.sqrt(8)
    d = d - d.mean() + (half95 + half_b) / 2  # lower bound above 0 at 95%, below at 98.3%
    rows = []
    for slope in (0.01, 0.1, 0.3):
        rows += _rows("leaky_relu", slope, {"forgetting_first": 0.3 + d,
                                            "protected": np.full(8, 0.2),
                                            "plasticity_slope": np.zeros(8)})
    rows += _rows("relu", np.nan, {"forgetting_first": np.full(8, 0.3),
                                   "protected": np.full(8, 0.2),
                                   "plasticity_slope": np.zeros(8)})
    assert {c.verdict for c in _claims(rows, "leaky_forgets_more")} == {Verdict.PARTLY}


def test_no_runs_no_relu():
    assert C.claims(pd.DataFrame(), C.Params())[0].verdict is Verdict.NO_DATA
    rows = [r for r in _pair(0.1, 0.01, "forgetting_first", sign=1) if r["activation"] != "relu"]
    assert {c.verdict for c in _claims(rows, "leaky_forgets_more")} == {Verdict.NO_DATA}


# -- summarize: a hand-made raw table


def _raw(activation, slope, seed, acc, prot, run_id, status="ok", task_ok=(1, 1, 1)):
    """acc[t][e]: accuracy on task e after training task t (3 permuted tasks)."""
    rows = []
    common = {"activation": activation, "slope": slope, "seed": seed, "sequence": "permuted",
              "head": "shared", "lr": 0.05, "run_id": run_id, "status": status, "layer": np.nan}
    for t in range(3):
        rows.append({**common, "metric": "protected_fraction", "task": t, "value": prot[t]})
        rows.append({**common, "metric": "zero_grad_fraction", "task": t, "value": 0.0})
        rows.append({**common, "metric": "status_task", "task": t, "value": float(task_ok[t])})
        for layer in (1, 2):
            rows.append({**common, "metric": "dead_fraction", "task": t, "layer": layer,
                         "value": 0.1 * t})
        for e in range(3):
            rows.append({**common, "metric": "accuracy", "task": t, "task_trained": t,
                         "task_eval": e, "value": acc[t][e]})
    a = np.asarray(acc)
    for i in range(2):
        rows.append({**common, "metric": "forgetting", "task": i,
                     "value": a[i:2, i].max() - a[2, i]})
    return rows


def test_summarize_one_row_per_seed_and_condition():
    acc = [[0.9, 0.1, 0.1], [0.6, 0.8, 0.1], [0.5, 0.5, 0.6]]
    raw = pd.DataFrame(_raw("relu", np.nan, 0, acc, [0.9, 0.2, 0.4], "r0")
                       + _raw("leaky_relu", 0.1, 0, acc, [0.9, 0.1, 0.1], "l0")
                       + _raw("leaky_relu", 0.1, 1, acc, [0.9, 0.1, 0.1], "l1", task_ok=(1, 0, 1)))
    s = C.summarize(raw, C.Params()).set_index(["activation", "seed"])
    assert len(s) == 3
    relu = s.loc[("relu", 0)]
    assert relu["forgetting_first"] == pytest.approx(0.4)  # max(0.9, 0.6) - 0.5
    assert relu["forgetting_mean"] == pytest.approx((0.4 + 0.3) / 2)
    assert relu["protected"] == pytest.approx(0.3)  # tasks after the first: (0.2 + 0.4) / 2
    assert relu["plasticity_slope"] == pytest.approx(np.polyfit([0, 1, 2], [0.9, 0.8, 0.6], 1)[0])
    assert relu["dead_first"] == 0.0 and relu["dead_last"] == pytest.approx(0.2)
    assert relu["final_accuracy"] == pytest.approx(np.mean([0.5, 0.5, 0.6]))
    assert not relu["diverged"] and s.loc[("leaky_relu", 1), "diverged"]
    claims = C.claims(C.summarize(raw, C.Params()), C.Params())
    prot = next(c for c in claims if c.claim.startswith("relu_protects_more"))
    assert prot.n == 1 and prot.measured == pytest.approx(0.2)  # seed 1 diverged, seed 0 paired


def test_summarize_refuses_two_runs_for_one_seed_and_condition():
    acc = [[0.9, 0.1, 0.1], [0.6, 0.8, 0.1], [0.5, 0.5, 0.6]]
    raw = pd.DataFrame(_raw("relu", np.nan, 0, acc, [0.9, 0.2, 0.4], "a")
                       + _raw("relu", np.nan, 0, acc, [0.9, 0.2, 0.4], "b"))
    with pytest.raises(ValueError, match="share seed and condition"):
        C.summarize(raw, C.Params())


# -- the protected measure, against an element-by-element count


def test_protected_fraction_counts_small_updates_relative_to_the_row():
    g = torch.Generator().manual_seed(0)
    before = [torch.randn(4, 6, generator=g), torch.randn(3, 4, generator=g)]
    after = [w + torch.randn(w.shape, generator=g) * 0.02 for w in before]
    after[0][1] = before[0][1]  # a row that did not move at all
    eps = 0.03
    small = total = 0
    for w0, w1 in zip(before, after):
        for i in range(w0.shape[0]):
            rms = (sum(float(x) ** 2 for x in w0[i]) / w0.shape[1]) ** 0.5
            for j in range(w0.shape[1]):
                small += abs(float(w1[i, j]) - float(w0[i, j])) < eps * rms
                total += 1
    assert 0 < small < total
    assert C.protected_fraction(before, after, eps) == pytest.approx(small / total)
    assert C.protected_fraction(before, [w.clone() for w in before], eps) == 1.0


# -- the smoke grid end to end


def test_smoke_grid_claims_and_figures(cli, tmp_path):
    from actlab.results import load_results

    out = tmp_path / "out"
    r = cli("-m", "experiment=continual", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    df = load_results(out)["continual"]
    summary = C.summarize(df, C.Params())
    assert {"seed", "activation", "slope", "sequence", "head", "protected",
            "diverged"} <= set(summary.columns)
    assert not summary.duplicated(["activation", "slope", "sequence", "head", "seed"]).any()
    claims = C.claims(summary, C.Params())
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims)
    ids = {c.claim.split("[")[0] for c in claims}
    assert ids == {"leaky_forgets_more", "relu_protects_more", "plasticity_loss"}
    assert all(c.n == 2 for c in claims)
    v = cli("--out", str(out), module="verify")
    assert v.returncode == 0 and "error" not in v.stdout.split("verdict", 1)[1], v.stdout + v.stderr
    assert set(C.EXPERIMENT.draw(df, C.Params())) == {"continual", "continual_plasticity"}
