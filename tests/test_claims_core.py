"""The claims vocabulary: intervals and rules against scipy, every verdict reachable, and
`actlab-verify` never passing silently."""

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from actlab import cli
from actlab.claims import (
    Claim,
    Kind,
    Verdict,
    above,
    below,
    clopper_pearson,
    empirical,
    equivalent,
    geo_mean_ci,
    judge_all,
    math_claim,
    mean_ci,
    over_seeds,
    paired,
    proportion,
    within,
)
from actlab.experiment import Experiment
from actlab.results import MixedParams, resolve_params

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 40])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_mean_ci_is_scipys_t_interval(n, level):
    x = RNG.normal(1.0, 2.0, size=n)
    m, lo, hi = mean_ci(x, level)
    ref = stats.t.interval(level, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert m == pytest.approx(x.mean(), rel=1e-12)
    assert (lo, hi) == pytest.approx(ref, rel=1e-10)


def test_mean_ci_refuses_non_finite_values_instead_of_dropping_them():
    assert all(math.isnan(v) for v in mean_ci([1.0, 2.0, math.nan]))
    assert all(math.isnan(v) for v in mean_ci([1.0, math.inf, 3.0]))
    ev = over_seeds([1.0, 2.0, 3.0, math.nan], above(0))
    assert ev.n == 3 and ev.dropped == 1
    c = empirical(experiment="e", claim="c", statement="s", rule=above(0), evidence=ev)
    assert "1 non-finite" in c.detail and c.n == 3


def test_one_value_has_no_interval_and_is_never_reproduced():
    m, lo, hi = mean_ci([5.0])
    assert m == 5.0 and math.isnan(lo) and math.isnan(hi)
    ev = over_seeds([5.0], above(0))
    assert above(0).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.PARTLY
    ev = over_seeds([1.0], above(0))  # one seed whose rate happens to be 1: still one seed
    assert above(0).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.PARTLY


def test_one_seed_never_contradicts_a_claim_but_unanimous_seeds_can():
    def judge(values):
        return empirical(experiment="e", claim="c", statement="s", rule=above(0),
                         evidence=over_seeds(values, above(0), binary=False))

    one = judge([-3.0])  # the rule alone says "not reproduced"
    assert above(0).verdict(-3.0, math.nan, math.nan) is Verdict.NOT_REPRODUCED
    assert one.verdict is Verdict.PARTLY and "one seed" in one.detail
    assert judge([0.0, 0.0, 0.0]).verdict is Verdict.NOT_REPRODUCED  # every seed exactly 0
    assert judge([-3.0, -2.9, -3.1]).verdict is Verdict.NOT_REPRODUCED
    # where n counts settings or nets, not seeds (born_dead's grid difference), the rule stands
    from actlab.claims import Evidence

    grid = empirical(experiment="e", claim="c", statement="s", rule=above(0),
                     evidence=Evidence(-0.5, -0.52, -0.48, 1, method="one setting, 6000 nets"))
    assert grid.verdict is Verdict.NOT_REPRODUCED and "one seed" not in grid.detail


def test_geo_mean_ci_is_the_t_interval_of_the_logs():
    x = np.exp(RNG.normal(0, 1, size=8))
    m, lo, hi = geo_mean_ci(x)
    ref = stats.t.interval(0.95, 7, loc=np.log(x).mean(), scale=stats.sem(np.log(x)))
    assert (math.log(m), math.log(lo), math.log(hi)) == pytest.approx((np.log(x).mean(), *ref),
                                                                      rel=1e-10)
    assert math.isnan(geo_mean_ci([1.0, 0.0, 2.0])[0])  # log 0 is not a number


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (3, 250), (249, 250)])
def test_clopper_pearson_is_scipys_exact_interval(k, n):
    ref = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-10)


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05, 0.08, 0.12, 0.3])
def test_equivalent_is_two_one_sided_t_tests(shift):
    """Equivalence within +-margin at 5% <=> both one-sided t tests reject (scipy)."""
    margin = 0.1
    for trial in range(20):
        x = shift + RNG.normal(0, 0.05, size=6)
        rule = equivalent(margin)
        ev = over_seeds(x, rule)
        p_low = stats.ttest_1samp(x, -margin, alternative="greater").pvalue
        p_high = stats.ttest_1samp(x, margin, alternative="less").pvalue
        tost = max(p_low, p_high) < 0.05
        v = rule.verdict(ev.estimate, ev.lo, ev.hi)
        assert (v is Verdict.REPRODUCED) == tost, (shift, trial, x)
        # "shown different": the 90% interval wholly outside the margin = a one-sided test at 5%
        outside = (stats.ttest_1samp(x, margin, alternative="greater").pvalue < 0.05
                   or stats.ttest_1samp(x, -margin, alternative="less").pvalue < 0.05)
        assert (v is Verdict.NOT_REPRODUCED) == outside, (shift, trial, x)


@pytest.mark.parametrize("rule,values,verdict", [
    (above(0), [1.0, 1.1, 0.9, 1.05, 0.95], Verdict.REPRODUCED),
    (above(0), [1.0, -1.1, 0.9, -1.05, 0.3], Verdict.PARTLY),
    (above(0), [-1.0, -1.1, -0.9, -1.05, -0.95], Verdict.NOT_REPRODUCED),
    (above(0), [0.0] * 5, Verdict.NOT_REPRODUCED),  # an effect of exactly zero is not "above"
    (below(1), [0.1, 0.2, 0.15, 0.12, 0.11], Verdict.REPRODUCED),
    (below(1), [0.5, 1.5, 0.9, 1.2, 0.7], Verdict.PARTLY),
    (below(1), [2.0, 2.1, 2.2, 1.9, 2.05], Verdict.NOT_REPRODUCED),
    (within(0.5, 2), [1.0, 1.1, 0.9, 1.05, 0.95], Verdict.REPRODUCED),
    (within(0.5, 2), [1.0, 2.5, 1.5, 3.0, 0.6], Verdict.PARTLY),
    (within(0.5, 2), [5.0, 5.1, 4.9, 5.2, 4.8], Verdict.NOT_REPRODUCED),
    (above(0), [math.nan] * 3, Verdict.NO_DATA),
])
def test_every_verdict_is_reachable(rule, values, verdict):
    ev = over_seeds(values, rule)
    assert rule.verdict(ev.estimate, ev.lo, ev.hi) is verdict


def test_a_zero_effect_with_noise_is_never_reproduced():
    hits = 0
    for _ in range(200):
        ev = over_seeds(RNG.normal(0, 1, size=5), above(0))
        hits += above(0).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.REPRODUCED
    assert hits <= 10  # a one-sided 2.5% error rate: ~5 of 200


def test_proportion_uses_the_exact_interval():
    ev = proportion(0, 20, above(0.2))  # 0 of 20: the exact interval is [0, 0.168]
    assert ev.hi == pytest.approx(1 - 0.025 ** (1 / 20))
    assert above(0.2).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.NOT_REPRODUCED
    # a rate of 0 is not ruled out...
    assert above(0).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.PARTLY
    ev = proportion(12, 20, above(0.05))  # ...but neither is it shown above 0
    assert above(0.05).verdict(ev.estimate, ev.lo, ev.hi) is Verdict.REPRODUCED


def test_claims_take_keywords_and_kind_matches_verdict():
    with pytest.raises(TypeError):
        Claim("e", "c", "s", "math", "pass")  # the positional form is gone on purpose
    with pytest.raises(ValueError):
        Claim(experiment="e", claim="c", statement="s", kind=Kind.MATH, verdict=Verdict.REPRODUCED)
    with pytest.raises(ValueError):
        Claim(experiment="e", claim="c", statement="s", kind=Kind.EMPIRICAL, verdict=Verdict.PASS)
    assert math_claim(experiment="e", claim="c", statement="s", measured=math.nan, expected="0",
                      ok=True, n=1).verdict is Verdict.FAIL  # a nan measurement cannot pass


def test_paired_pairs_by_seed_id_not_by_position():
    s = pd.DataFrame({"act": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2, 2, 0, 5],
                      "v": [10.0, 11.0, 12.0, 2.0, 0.0, 5.0]})
    d = paired(s, "v", "act", "a", "b")
    assert d.to_dict() == {0: 10.0, 2: 10.0}


@dataclass
class _P:
    z_max: float = 6.0
    cause: str = "lr"


def test_params_of_the_runs_reach_the_claims():
    table = pd.DataFrame({"run_id": ["r1", "r2"], "cause": ["lr", "bias"]})
    rec = {"r1": {"params": {"z_max": 4.0, "cause": "lr"}},
           "r2": {"params": {"z_max": 4.0, "cause": "bias"}}}
    p = resolve_params(_P, rec, table)
    assert p.z_max == 4.0  # not the default 6: the runs' own value
    rec["r2"]["params"]["z_max"] = 5.0
    with pytest.raises(MixedParams, match="params.z_max"):
        resolve_params(_P, rec, table)
    assert resolve_params(_P, {}, table) == _P()  # nothing recorded: the defaults


def _module(claims_fn):
    return Experiment(name="fake", title="Fake.", summary="A fake experiment.", command="none",
                      params=_P, run=lambda cfg, device: None, summarize=lambda df, p: df,
                      claims=claims_fn, figures="builtins:dict")


def _results(tmp_path, scale="default", params=None):
    res = tmp_path / "results"
    res.mkdir(parents=True)
    pd.DataFrame({"run_id": ["r1"], "seed": [0], "metric": ["x"],
                  "value": [1.0]}).to_csv(res / "fake.csv")
    (res / "fake.runs.json").write_text(json.dumps({"r1": {"params": params or {},
                                                           "scale": scale}}))
    return ["--out", str(tmp_path)]


def _math(ok):
    return lambda s, p: [math_claim(experiment="fake", claim="m", statement="s", measured=1.0,
                                    expected="1", ok=ok, n=1)]


def test_verify_exits_1_when_a_claims_function_raises(tmp_path, monkeypatch, capsys):
    def broken(summary, p):
        raise KeyError("metric")

    monkeypatch.setattr(cli, "EXPERIMENTS", {"fake": _module(broken)})
    assert cli.verify_main(_results(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "ERROR: fake/claims" in err and "KeyError" in err
    assert pd.read_csv(tmp_path / "claims.csv")["verdict"].tolist() == ["error"]


def test_verify_exit_code_follows_math_claims(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "EXPERIMENTS", {"fake": _module(_math(True))})
    assert cli.verify_main(_results(tmp_path / "a")) == 0
    monkeypatch.setattr(cli, "EXPERIMENTS", {"fake": _module(_math(False))})
    assert cli.verify_main(_results(tmp_path / "b")) == 1


def test_verify_fails_a_math_claim_without_data_beyond_smoke_scale(tmp_path, monkeypatch, capsys):
    from actlab.claims import no_data

    def empty(summary, p):
        return [no_data(experiment="fake", claim="m", statement="s", kind=Kind.MATH, why="no rows")]

    monkeypatch.setattr(cli, "EXPERIMENTS", {"fake": _module(empty)})
    assert cli.verify_main(_results(tmp_path / "a", scale="default")) == 1
    assert "NO DATA: fake/m" in capsys.readouterr().err
    assert cli.verify_main(_results(tmp_path / "b", scale="smoke")) == 0


def test_verify_passes_the_runs_params_and_refuses_a_mixed_table(tmp_path, monkeypatch, capsys):
    seen = []

    def spy(summary, p):
        seen.append(p)
        return _math(True)(summary, p)

    monkeypatch.setattr(cli, "EXPERIMENTS", {"fake": _module(spy)})
    assert cli.verify_main(_results(tmp_path / "a", params={"z_max": 4.0})) == 0
    assert seen[-1].z_max == 4.0
    out = _results(tmp_path / "b", params={"z_max": 4.0})
    res = tmp_path / "b" / "results"
    pd.DataFrame({"run_id": ["r1", "r2"], "seed": [0, 1], "metric": "x",
                  "value": 1.0}).to_csv(res / "fake.csv")
    (res / "fake.runs.json").write_text(json.dumps({
        "r1": {"params": {"z_max": 4.0}, "scale": "default"},
        "r2": {"params": {"z_max": 5.0}, "scale": "default"}}))
    assert cli.verify_main(out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "params.z_max" in err[0]


def test_evaluate_uses_defaults_when_no_params_were_recorded():
    seen = []
    mod = _module(lambda s, p: seen.append(p) or [])
    judge_all({"fake": mod}, {"fake": pd.DataFrame({"run_id": []})})
    assert seen == [_P()]

