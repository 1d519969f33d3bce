"""The continual experiment's claims on summaries built to reach each verdict, and on tables built
to make each claim fail (no effect, a reversed effect, a missing arm, an effect that is only more
learning per step, a quantity that is zero by construction); its summary of hand-made raw tables;
bad choices refused at composition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actlab.claims import Verdict
from experiments import continual as C
from experiments import continual_claims as CC

SEEDS = list(range(8))
VALUES = ("forgetting_first", "protected", "carried", "distance", "gain", "inactive",
          "learned_first", "stayed_inactive", "stayed_task0")


def _noise(n, sd, seed):
    z = np.random.default_rng(seed).standard_normal(n)
    return sd * (z - z.mean()) / z.std(ddof=1)


def _rows(activation, slope, values: dict, *, backward="exact", sequence="split", head="task",
          lr=0.05, shift=0.0, seeds=SEEDS, diverged=()):
    out = []
    for i, s in enumerate(seeds):
        row = {"activation": activation, "slope": slope, "backward": backward,
               "sequence": sequence, "head": head, "lr": lr, "bias_shift": shift, "seed": s,
               "diverged": s in diverged, "n_tasks": 5}
        row.update({k: 0.2 for k in VALUES})
        row["learned_first"] = 0.9
        row.update({k: float(np.broadcast_to(v, len(seeds))[i]) for k, v in values.items()})
        out.append(row)
    return out


def _cell(column="forgetting_first", leaky=0.1, noise=0.01, *, zero_below=None, leaky_below=None,
          slope=0.1, seed=0, **kw) -> list[dict]:
    """relu, leaky (relu + `leaky` per seed, up to exact noise) and, if given, the crossed arms
    (their offsets from relu)."""
    base = 0.3 + _noise(len(kw.get("seeds", SEEDS)), 0.05, seed + 100)
    rows = (_rows("relu", np.nan, {column: base}, **kw)
            + _rows("leaky_relu", slope, {column: base + leaky + _noise(len(base), noise, seed)},
                    **kw))
    if zero_below is not None:
        rows += _rows("leaky_relu", slope, {column: base + zero_below
                                            + _noise(len(base), noise, seed + 1)},
                      backward="zero_below", **kw)
    if leaky_below is not None:
        rows += _rows("relu", slope, {column: base + leaky_below
                                      + _noise(len(base), noise, seed + 2)},
                      backward="leaky_below", **kw)
    return rows


def _claims(rows, prefix):
    return [c for c in C.claims(pd.DataFrame(rows), C.Params()) if c.claim.startswith(prefix + "[")]


def _one(rows, prefix):
    found = _claims(rows, prefix)
    assert len(found) == 1, [c.claim for c in found]
    return found[0]


# -- leaky_forgets_more: leaky minus relu forgetting of task 0, paired by seed, > 0


@pytest.mark.parametrize("effect,noise,verdict", [
    (0.1, 0.01, Verdict.REPRODUCED),
    (-0.1, 0.01, Verdict.NOT_REPRODUCED),  # relu forgets more: reversed
    (0.005, 0.05, Verdict.PARTLY),
    (0.0, 0.0, Verdict.NOT_REPRODUCED),  # no effect at all: an estimate of exactly 0
])
def test_leaky_forgets_more_verdicts(effect, noise, verdict):
    c = _one(_cell(leaky=effect, noise=noise), "leaky_forgets_more")
    assert c.verdict is verdict and c.n == len(SEEDS)
    assert c.claim == "leaky_forgets_more[sequence=split,head=task,slope=0.1]"
    assert ("reversed" in c.detail) == (c.measured < 0)
    assert c.measured == pytest.approx(effect, abs=1e-9)


def test_forgetting_of_a_task_never_learned_has_no_data():
    """A split task is a pair of classes: chance is 1/2 with either head; a task 0 learned to
    0.55 cannot be forgotten much, and a difference in its 'forgetting' is not the article's
    effect. A permuted task has ten classes: chance 1/10, 0.55 is learned."""
    rows = _cell(leaky=0.1)
    for r in rows:
        r["learned_first"] = 0.55
    for head in ("task", "shared"):  # a shared head trained on {0, 1} predicts within it
        for r in rows:
            r["head"] = head
        c = _one(rows, "leaky_forgets_more")
        assert c.verdict is Verdict.NO_DATA and "task 0 was not learned" in c.detail
        assert "chance 0.5" in c.detail
    for r in rows:
        r["sequence"], r["head"] = "permuted", "shared"  # chance 1/10: 0.55 is learned
    c = _one(rows, "leaky_forgets_more")
    assert c.verdict is Verdict.REPRODUCED and "chance 0.1" in c.detail


def test_gradient_leak_learned_check_is_on_the_two_arms_compared():
    """The exact arms learned task 0, the zero_below arm did not: its comparison has no data;
    the relu-forward comparison (both arms learned) is judged."""
    rows = _cell(leaky=0.1, zero_below=0.0, leaky_below=0.1)
    for r in rows:
        if r["backward"] == "zero_below":
            r["learned_first"] = 0.5
    found = {c.claim.rsplit(",", 1)[1]: c for c in _claims(rows, "gradient_leak_forgets")}
    assert found["forward=leaky_relu]"].verdict is Verdict.NO_DATA
    assert "0.500 (leaky zero_below)" in found["forward=leaky_relu]"].detail
    assert found["forward=relu]"].verdict is Verdict.REPRODUCED
    # and the other way: relu with leaky_below never learned task 0
    rows = _cell(leaky=0.1, zero_below=0.0, leaky_below=0.1)
    for r in rows:
        if r["backward"] == "leaky_below":
            r["learned_first"] = 0.5
    found = {c.claim.rsplit(",", 1)[1]: c for c in _claims(rows, "gradient_leak_forgets")}
    assert found["forward=relu]"].verdict is Verdict.NO_DATA
    assert found["forward=leaky_relu]"].verdict is Verdict.REPRODUCED


def test_pairs_by_seed_id_and_leaves_diverged_seeds_out():
    rows = _cell(leaky=0.1)[::-1]  # order does not matter: pairs are by seed id
    rows += _rows("leaky_relu", 0.1, {"forgetting_first": 5.0}, seeds=[99])  # no relu partner
    for r in rows:  # seed 3 diverged (leaky side): a huge forgetting that must not count
        if r["seed"] == 3 and r["activation"] == "leaky_relu":
            r["diverged"], r["forgetting_first"] = True, 50.0
    c = _one(rows, "leaky_forgets_more")
    assert c.n == len(SEEDS) - 1 and c.verdict is Verdict.REPRODUCED
    assert "1 non-finite value(s) left out" in c.detail
    assert c.measured == pytest.approx(0.1, abs=0.02)


# -- gradient_leak_forgets: the gradient-only ablation, each forward pass


def test_gradient_leak_forgets_when_the_leak_s_gradient_carries_the_effect():
    # leaky with zero_below forgets like relu, relu with leaky_below like leaky
    rows = _cell(leaky=0.1, zero_below=0.0, leaky_below=0.1)
    found = {c.claim: c for c in _claims(rows, "gradient_leak_forgets")}
    assert set(found) == {"gradient_leak_forgets[sequence=split,head=task,slope=0.1,forward=relu]",
                          "gradient_leak_forgets[sequence=split,head=task,slope=0.1,"
                          "forward=leaky_relu]"}
    assert {c.verdict for c in found.values()} == {Verdict.REPRODUCED}
    # a family of two per cell: Bonferroni over 2
    assert all("Bonferroni over the 2 claims" in c.detail for c in found.values())


def test_gradient_leak_fails_when_the_forward_pass_carries_the_effect():
    # leaky forgets more, but only through its forward pass: the gradient swap changes nothing
    rows = _cell(leaky=0.1, zero_below=0.1, leaky_below=0.0, noise=0.01)
    assert _one(rows, "leaky_forgets_more").verdict is Verdict.REPRODUCED
    for c in _claims(rows, "gradient_leak_forgets"):
        assert c.verdict is not Verdict.REPRODUCED, c.claim
    # and reversed: the leak's gradient protects
    rows = _cell(leaky=0.1, zero_below=0.2, leaky_below=-0.1)
    assert {c.verdict for c in _claims(rows, "gradient_leak_forgets")} == {
        Verdict.NOT_REPRODUCED}


def test_gradient_leak_without_ablation_runs_has_no_data():
    found = _claims(_cell(leaky=0.1), "gradient_leak_forgets")
    assert len(found) == 2 and {c.verdict for c in found} == {Verdict.NO_DATA}


# -- relu_protects_more, inactive_units_carry_more: relu minus leaky, > 0


@pytest.mark.parametrize("name,column", [("relu_protects_more", "protected"),
                                         ("inactive_units_carry_more", "carried")])
@pytest.mark.parametrize("effect,verdict", [
    (-0.05, Verdict.REPRODUCED),  # leaky lower: relu minus leaky > 0
    (0.05, Verdict.NOT_REPRODUCED),
    (0.0, Verdict.NOT_REPRODUCED),
])
def test_protection_claims(name, column, effect, verdict):
    c = _one(_cell(column, leaky=effect, noise=0.005 if effect else 0.0), name)
    assert c.verdict is verdict and c.measured == pytest.approx(-effect, abs=1e-9)


def test_no_inactive_unit_carries_nothing_and_is_not_evidence_of_protection():
    """Neither activation has a unit that stayed inactive: nothing is carried, the claim must
    not come out reproduced (the old exactly-zero-gradient measure was relu-only)."""
    rows = _cell("carried", leaky=0.0, noise=0.0)
    for r in rows:
        r["carried"], r["stayed_inactive"], r["stayed_task0"] = 0.0, 0.0, 0.0
    c = _one(rows, "inactive_units_carry_more")
    assert c.verdict is Verdict.NO_DATA and "0 by construction" in c.detail


def test_carried_is_no_data_when_no_relu_unit_was_active_on_task0():
    """Units stayed inactive on the later tasks, but none was active on task 0 (stayed_task0 = 0
    in every seed): relu's carried accuracy is 0 by construction, whatever leaky carries."""
    rows = _cell("carried", leaky=-0.05, noise=0.005)  # relu minus leaky = +0.05 ...
    for r in rows:
        r["stayed_task0"] = 0.0  # ... but relu's side cannot be anything but 0
        if r["activation"] == "relu":
            r["carried"] = 0.0
    c = _one(rows, "inactive_units_carry_more")
    assert c.verdict is Verdict.NO_DATA and "stayed_task0 = 0" in c.detail


def test_carried_judged_only_on_seeds_with_units_active_on_task0():
    rows = _cell("carried", leaky=-0.05, noise=0.005)
    for r in rows:  # seeds 0 and 1 have no such unit: their relu carries 0, left out
        if r["seed"] in (0, 1):
            r["stayed_task0"] = 0.0
            if r["activation"] == "relu":
                r["carried"] = 0.0
    c = _one(rows, "inactive_units_carry_more")
    assert c.n == len(SEEDS) - 2 and c.verdict is Verdict.REPRODUCED
    assert f"judged on the {len(SEEDS) - 2} of {len(SEEDS)} seeds" in c.detail


# -- leaky_forgets_more_matched: at matched plasticity across learning rates


def _plastic(leaky_shift: float, extra: float, *, seeds=SEEDS):
    """Forgetting grows with the distance travelled, f = 0.1 * log(distance) + 0.2; relu travels
    1, 2, 4 at lr 0.01, 0.05, 0.2; leaky travels `leaky_shift` times as far and forgets
    f(its distance) + extra."""
    rows = []
    for k, lr in enumerate((0.01, 0.05, 0.2)):
        d_relu = 2.0 ** k
        d_leaky = d_relu * leaky_shift
        for j, (act, slope, dist, add) in enumerate((("relu", np.nan, d_relu, 0.0),
                                                     ("leaky_relu", 0.1, d_leaky, extra))):
            f = 0.1 * np.log(dist) + 0.2 + add + _noise(len(seeds), 0.002, 10 * k + j)
            rows += _rows(act, slope, {"forgetting_first": f, "distance": dist,
                                       "gain": 0.5 + 0.1 * np.log(dist)},
                          lr=lr, seeds=seeds)
    return rows


def test_more_learning_per_step_is_not_more_forgetting_at_matched_plasticity():
    """Leaky travels 1.5x as far at each lr and forgets exactly as relu does at that distance:
    the raw comparison says leaky forgets more, the matched one must not."""
    rows = _plastic(1.5, 0.0)
    raw = [c for c in _claims(rows, "leaky_forgets_more")]
    assert {c.verdict for c in raw} == {Verdict.REPRODUCED}  # at every lr
    matched = {c.claim: c for c in _claims(rows, "leaky_forgets_more_matched")}
    assert set(matched) == {
        f"leaky_forgets_more_matched[sequence=split,head=task,slope=0.1,matched={m}]"
        for m in ("distance", "gain")}
    for c in matched.values():
        assert c.verdict is not Verdict.REPRODUCED and abs(c.measured) < 0.01, c
        assert "2 of 3 leaky (seed, lr) points" not in c.detail  # counts are over seeds too
        assert f"{2 * len(SEEDS)} of {3 * len(SEEDS)} leaky (seed, lr) points" in c.detail


def test_matched_plasticity_reproduced_and_out_of_range():
    matched = _claims(_plastic(1.5, 0.05), "leaky_forgets_more_matched")
    assert {c.verdict for c in matched} == {Verdict.REPRODUCED}
    assert all(c.measured == pytest.approx(0.05, abs=0.005) for c in matched)
    # leaky travels 10x as far: every leaky point lies outside relu's range (no extrapolation)
    far = _claims(_plastic(10.0, 0.0), "leaky_forgets_more_matched")
    assert {c.verdict for c in far} == {Verdict.NO_DATA}
    # one learning rate: nothing to match across
    one = [r for r in _plastic(1.5, 0.05) if r["lr"] == 0.05]
    assert {c.verdict for c in _claims(one, "leaky_forgets_more_matched")} == {Verdict.NO_DATA}


def test_matched_plasticity_leaves_unlearned_points_out():
    """Task 0 learned only at the two smaller learning rates: the lr 0.2 points are dropped
    before interpolating (relu still spans two learning rates); learned at one lr only: too few
    points, no data."""
    rows = _plastic(1.5, 0.05)
    for r in rows:
        if r["lr"] == 0.2:
            r["learned_first"], r["forgetting_first"] = 0.5, -5.0  # would swamp the estimate
    matched = _claims(rows, "leaky_forgets_more_matched")
    assert {c.verdict for c in matched} == {Verdict.REPRODUCED}
    assert all(c.measured == pytest.approx(0.05, abs=0.005) for c in matched)
    assert all(f"at {2 * len(SEEDS)} of {3 * len(SEEDS)} relu" in c.detail for c in matched)
    for r in rows:
        if r["lr"] == 0.05:
            r["learned_first"] = 0.5
    matched = _claims(rows, "leaky_forgets_more_matched")
    assert {c.verdict for c in matched} == {Verdict.NO_DATA}
    assert all("too few (seed, lr) points learned task 0" in c.detail for c in matched)


def test_matched_difference_by_hand():
    relu = pd.DataFrame({"seed": [0, 0, 0], "distance": [1.0, 2.0, 4.0],
                         "forgetting_first": [0.1, 0.2, 0.6], "diverged": False})
    leaky = pd.DataFrame({"seed": [0, 0, 0], "distance": [np.sqrt(2), 3.0, 8.0],
                          "forgetting_first": [0.3, 0.5, 0.9], "diverged": False})
    diff, used, total = CC.matched_difference(relu, leaky, "distance")
    # log-distance interpolation: sqrt(2) is halfway between 1 and 2 -> 0.15; log(3) lies at
    # log2(3) - 1 = 0.585 of the way from 2 to 4 -> 0.2 + 0.585 * 0.4; 8 is out of range
    want = np.mean([0.3 - 0.15, 0.5 - (0.2 + (np.log2(3) - 1) * 0.4)])
    assert (used, total) == (2, 3) and diff[0] == pytest.approx(want)


# -- settings are kept apart; several comparisons are judged at a Bonferroni level


@pytest.mark.parametrize("key,a,b", [("head", "task", "shared"), ("lr", 0.05, 0.2),
                                     ("shift", 0.0, -1.5), ("sequence", "split", "permuted")])
def test_each_setting_is_its_own_claim_never_mixed(key, a, b):
    kw = {"head": "shared"} if key == "sequence" else {}
    rows = (_cell(leaky=0.1, **kw, **{key: a})
            + _cell(leaky=-0.1, seed=1, **kw, **{key: b}))
    found = {c.claim: c.verdict for c in _claims(rows, "leaky_forgets_more")}
    assert sorted(found.values()) == sorted([Verdict.REPRODUCED, Verdict.NOT_REPRODUCED])
    name = "bias_shift" if key == "shift" else key
    good = next(k for k, v in found.items() if v is Verdict.REPRODUCED)
    assert f"{name}={a:g}" in good if isinstance(a, float) else f"{name}={a}" in good


def test_slopes_and_backward_are_conditions_paired_with_relu_in_their_cell():
    rows = []
    for k, slope in enumerate((0.01, 0.1, 0.3)):
        cell = _cell(leaky=0.1 * k, slope=slope, seed=k, zero_below=0.0, leaky_below=0.0)
        rows += [r for r in cell if not (r["activation"] == "relu" and r["backward"] == "exact"
                                         and k > 0)]
    found = {c.claim: c for c in _claims(rows, "leaky_forgets_more")}
    assert len(found) == 3
    assert found["leaky_forgets_more[sequence=split,head=task,slope=0.01]"].verdict in (
        Verdict.NOT_REPRODUCED, Verdict.PARTLY)
    assert found["leaky_forgets_more[sequence=split,head=task,slope=0.3]"].verdict is (
        Verdict.REPRODUCED)
    for c in found.values():
        assert "Bonferroni over the 3 claims" in c.detail and "98.33%" in c.detail
    assert len(_claims(rows, "gradient_leak_forgets")) == 6
    assert all("Bonferroni over the 6 claims" in c.detail
               for c in _claims(rows, "gradient_leak_forgets"))


def test_bonferroni_widens_the_interval():
    """An effect whose 95% interval clears 0 but whose 98.3% interval does not is only partly
    reproduced in a family of 3."""
    from scipy import stats

    d = np.array([0.01, 0.03, 0.02, 0.0, 0.04, 0.01, 0.03, 0.02])
    half95 = stats.t.ppf(0.975, 7) * d.std(ddof=1) / np.sqrt(8)
    half_b = stats.t.ppf(1 - 0.05 / 6, 7) * d.std(ddof=1) / np.sqrt(8)
    d = d - d.mean() + (half95 + half_b) / 2
    rows = _rows("relu", np.nan, {"forgetting_first": 0.3})
    for slope in (0.01, 0.1, 0.3):
        rows += _rows("leaky_relu", slope, {"forgetting_first": 0.3 + d})
    assert {c.verdict for c in _claims(rows, "leaky_forgets_more")} == {Verdict.PARTLY}
    single = _rows("relu", np.nan, {"forgetting_first": 0.3}) + _rows(
        "leaky_relu", 0.1, {"forgetting_first": 0.3 + d})
    c = _one(single, "leaky_forgets_more")
    assert c.verdict is Verdict.REPRODUCED and "Bonferroni" not in c.detail


def test_no_runs_no_relu():
    assert C.claims(pd.DataFrame(), C.Params())[0].verdict is Verdict.NO_DATA
    rows = [r for r in _cell(leaky=0.1) if r["activation"] != "relu"]
    assert {c.verdict for c in _claims(rows, "leaky_forgets_more")} == {Verdict.NO_DATA}


# -- the long sequence: per activation, slopes over the task index


def _long(activation, slope, **slopes):
    rows = []
    for i, s in enumerate(SEEDS):
        row = {"activation": activation, "slope": slope, "backward": "exact",
               "sequence": "long_permuted", "head": "shared", "lr": 0.2, "bias_shift": 0.0,
               "seed": s, "diverged": False, "n_tasks": 50, "near_dead_max": 0.1}
        for name in ("acc", "near_dead", "weight", "rank", "dead"):
            row[f"{name}_slope"] = slopes.get(name, 0.0) + _noise(len(SEEDS), 1e-4, 7)[i]
            row[f"{name}_start"] = row[f"{name}_end"] = 0.5
        rows.append(row)
    return rows


@pytest.mark.parametrize("name,col,sign", [("plasticity_loss", "acc", -1),
                                           ("units_die", "near_dead", 1),
                                           ("weights_grow", "weight", 1),
                                           ("rank_falls", "rank", -1)])
def test_long_sequence_claims(name, col, sign):
    c = _one(_long("relu", np.nan, **{col: sign * 0.002}), name)
    assert c.verdict is Verdict.REPRODUCED and c.claim == f"{name}[activation=relu]"
    assert _one(_long("relu", np.nan, **{col: -sign * 0.002}), name).verdict is (
        Verdict.NOT_REPRODUCED)
    flat = _one(_long("relu", np.nan), name)  # no trend (noise only)
    assert flat.verdict is not Verdict.REPRODUCED


def test_units_die_has_no_data_where_no_unit_can_die():
    """Leaky relu's near-dead fraction is 0 by construction: not evidence either way. tanh's can
    rise; a tanh that stayed at 0 is evidence that no unit died: not reproduced."""
    for act, slope, backward, verdict in (("leaky_relu", 0.1, "exact", Verdict.NO_DATA),
                                          ("relu", 0.1, "leaky_below", Verdict.NO_DATA),
                                          ("leaky_relu", 0.1, "zero_below",
                                           Verdict.NOT_REPRODUCED),
                                          ("tanh", np.nan, "exact", Verdict.NOT_REPRODUCED)):
        rows = _long(act, slope)
        for r in rows:
            r["backward"], r["near_dead_max"], r["near_dead_slope"] = backward, 0.0, 0.0
        c = _one(rows, "units_die")
        assert c.verdict is verdict, (act, backward, c)
        assert ("by construction" in c.detail) == (verdict is Verdict.NO_DATA)


def test_long_claims_per_activation_with_bonferroni_and_short_sequences():
    rows = _long("relu", np.nan, acc=-0.002) + _long("tanh", np.nan, acc=0.002)
    found = {c.claim: c for c in _claims(rows, "plasticity_loss")}
    assert found["plasticity_loss[activation=relu]"].verdict is Verdict.REPRODUCED
    assert found["plasticity_loss[activation=tanh]"].verdict is Verdict.NOT_REPRODUCED
    assert all("Bonferroni over the 2 claims" in c.detail for c in found.values())
    short = _long("relu", np.nan, acc=-0.002)
    for r in short:
        r["n_tasks"] = 2
    assert _one(short, "plasticity_loss").verdict is Verdict.NO_DATA


# -- summarize: hand-made raw tables


def _raw_regime(activation, slope, seed, acc, *, backward="exact", run_id="r", status="ok",
                task_ok=(1, 1, 1)):
    """acc[t][e]: accuracy on task e after training task t (3 split tasks)."""
    c = {"activation": activation, "slope": slope, "backward": backward, "seed": seed,
         "sequence": "split", "head": "shared", "lr": 0.05, "bias_shift": 0.0,
         "run_id": run_id, "status": status, "layer": np.nan}
    rows = []
    for t in range(3):
        for layer in (1, 2):
            rows.append({**c, "metric": "inactive_fraction", "task": t, "layer": layer,
                         "value": 0.1 * t * layer})
            rows.append({**c, "metric": "dead_fraction", "task": t, "layer": layer,
                         "value": 0.05 * t})
            rows.append({**c, "metric": "protected_fraction", "task": t, "layer": layer,
                         "value": 0.5 + 0.1 * layer})
        rows.append({**c, "metric": "accuracy_before", "task": t, "value": 0.1})
        rows.append({**c, "metric": "distance", "task": t, "value": 1.0 + t})
        rows.append({**c, "metric": "status_task", "task": t, "value": float(task_ok[t])})
        for e in range(3):
            rows.append({**c, "metric": "accuracy", "task": t, "task_trained": t, "task_eval": e,
                         "value": acc[t][e]})
    a = np.asarray(acc)
    for i in range(2):
        rows.append({**c, "metric": "forgetting", "task": i, "value": a[i:2, i].max() - a[2, i]})
    for layer in (1, 2):
        rows.append({**c, "metric": "stayed_inactive_fraction", "task": None, "layer": layer,
                     "value": 0.25 * layer})
        rows.append({**c, "metric": "carried_accuracy", "task": None, "layer": layer,
                     "value": 0.01})
        rows.append({**c, "metric": "stayed_inactive_task0_active", "task": None,
                     "layer": layer, "value": 0.1 * layer})
    rows.append({**c, "metric": "carried_accuracy", "task": None, "value": 0.03})
    return rows


ACC = [[0.9, 0.1, 0.1], [0.6, 0.8, 0.1], [0.5, 0.5, 0.6]]


def test_summarize_regime_one_row_per_seed_and_condition():
    raw = pd.DataFrame(_raw_regime("relu", np.nan, 0, ACC, run_id="r0")
                       + _raw_regime("relu", 0.1, 0, ACC, backward="leaky_below", run_id="r0")
                       + _raw_regime("leaky_relu", 0.1, 1, ACC, run_id="l1", task_ok=(1, 0, 1)))
    s = C.summarize(raw, C.Params()).set_index(["activation", "backward", "seed"])
    assert len(s) == 3
    r = s.loc[("relu", "exact", 0)]
    assert r["forgetting_first"] == pytest.approx(0.4)  # max(0.9, 0.6) - 0.5
    assert r["forgetting_mean"] == pytest.approx((0.4 + 0.3) / 2)
    assert r["learned_first"] == pytest.approx(0.9)
    assert r["final_accuracy"] == pytest.approx(np.mean([0.5, 0.5, 0.6]))
    # later tasks (1, 2) and both layers: inactive 0.1 t layer, protected 0.5 + 0.1 layer
    assert r["inactive"] == pytest.approx(np.mean([0.1, 0.2, 0.2, 0.4]))
    assert r["dead"] == pytest.approx(np.mean([0.05, 0.1]))
    assert r["protected"] == pytest.approx(0.65)
    assert r["stayed_inactive"] == pytest.approx(0.375) and r["carried"] == pytest.approx(0.03)
    assert r["stayed_task0"] == pytest.approx(0.15)
    assert r["gain"] == pytest.approx(np.mean([0.8 - 0.1, 0.6 - 0.1]))
    assert r["distance"] == pytest.approx(2.0 + 3.0)
    assert not r["diverged"] and s.loc[("leaky_relu", "exact", 1), "diverged"]
    assert s.loc[("relu", "leaky_below", 0), "label"] == "relu [leaky_below 0.1]"


def test_summarize_divergence_is_per_group_not_per_run():
    """One run trains relu exact and relu leaky_below; only the leaky_below block diverged, and
    the run-level status `diverged` is copied onto every row: the exact group stays in. A failed
    run marks all its groups; a group with no status_task rows falls back on the run status."""
    raw = pd.DataFrame(_raw_regime("relu", np.nan, 0, ACC, run_id="r0", status="diverged")
                       + _raw_regime("relu", 0.1, 0, ACC, backward="leaky_below", run_id="r0",
                                     status="diverged", task_ok=(1, 0, 1)))
    s = C.summarize(raw, C.Params()).set_index(["activation", "backward", "seed"])
    assert not s.loc[("relu", "exact", 0), "diverged"]
    assert s.loc[("relu", "leaky_below", 0), "diverged"]
    failed = raw.assign(status="failed")
    assert C.summarize(failed, C.Params())["diverged"].all()
    no_task = raw[raw["metric"] != "status_task"]
    assert C.summarize(no_task, C.Params())["diverged"].all()


def test_summarize_refuses_two_runs_for_one_seed_and_condition():
    raw = pd.DataFrame(_raw_regime("relu", np.nan, 0, ACC, run_id="a")
                       + _raw_regime("relu", np.nan, 0, ACC, run_id="b"))
    with pytest.raises(ValueError, match="share seed and condition"):
        C.summarize(raw, C.Params())


def test_summarize_long_sequence_slopes():
    rows = []
    c = {"activation": "relu", "slope": np.nan, "backward": "exact", "seed": 0,
         "sequence": "long_permuted", "head": "shared", "lr": 0.2, "bias_shift": 0.0,
         "run_id": "x", "status": "ok", "layer": np.nan}
    for t in range(20):
        rows.append({**c, "task": t, "metric": "status_task", "value": 1.0})
        rows.append({**c, "task": t, "metric": "new_task_accuracy", "value": 0.8 - 0.01 * t})
        for layer in (1, 2):
            rows.append({**c, "task": t, "layer": layer, "metric": "dead_fraction",
                         "value": 0.01 * t * layer})
            rows.append({**c, "task": t, "layer": layer, "metric": "near_dead_fraction",
                         "value": 0.02 * t})
            rows.append({**c, "task": t, "layer": layer, "metric": "effective_rank",
                         "value": 30.0 - 0.5 * t})
        for layer in (1, 2, 3):
            rows.append({**c, "task": t, "layer": layer, "metric": "weight_magnitude",
                         "value": 0.1 + 0.001 * t * layer})
    s = C.summarize(pd.DataFrame(rows), C.Params()).iloc[0]
    assert s["n_tasks"] == 20
    assert s["acc_slope"] == pytest.approx(-0.01) and s["dead_slope"] == pytest.approx(0.015)
    assert s["near_dead_slope"] == pytest.approx(0.02) and s["rank_slope"] == pytest.approx(-0.5)
    assert s["weight_slope"] == pytest.approx(0.002)
    assert s["acc_start"] == pytest.approx(np.mean([0.8, 0.79]))  # the first 10% = 2 tasks
    assert s["acc_end"] == pytest.approx(np.mean([0.8 - 0.18, 0.8 - 0.19]))
    assert s["near_dead_max"] == pytest.approx(0.38)
    assert s["acc_late_slope"] == pytest.approx(-0.01)  # tasks 10..19
    assert np.isnan(s["forgetting_first"])


# -- bad choices: one line at composition, before any run


@pytest.mark.parametrize("override,needle", [
    ("params.sequence=long", "expected one of [split, permuted, long_permuted]"),
    ("params.heads=[task,none]", "expected one of [task, shared]"),
    ("params.head=both", "expected one of [task, shared]"),
    ("activation.backward=sideways", "expected one of [exact, zero_below, leaky_below]"),
])
def test_bad_choices_are_refused_at_composition(override, needle):
    from actlab.errors import one_line
    from tests.helpers import compose

    with pytest.raises(Exception) as e:
        compose(["experiment=continual", override])
    bad = override.split("=")[1].strip("[]").split(",")[-1]
    line = one_line(e.value)
    assert line == f"{override}: Invalid value '{bad}', {needle}", line
