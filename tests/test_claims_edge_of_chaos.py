"""edge_of_chaos: the closed forms, the measurement and boundary fits on synthetic data, every
claim driven to fail on a hand-built summary, bad input, and a smoke run end to end."""

import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from actlab.activations import get_activation
from actlab.claims import Kind, Verdict
from actlab.results import load_results
from experiments import edge_of_chaos as eoc

SEEDS = range(5)


def _claims(summary, params=None) -> dict:
    return {c.claim: c for c in eoc.claims(summary, params or eoc.Params())}


def _by_prefix(claims: dict, prefix: str):
    (c,) = [c for k, c in claims.items() if k.startswith(prefix)]
    return c


# ---------------------------------------------------------------------------------------------
# Closed forms, computed from the activation itself


@pytest.mark.parametrize("name,params,sb,expected", [
    ("relu", {}, 0.0, math.sqrt(2)),
    ("relu", {}, 0.3, math.sqrt(2)),  # chi of a homogeneous phi does not depend on q
    ("leaky_relu", {"slope": 0.2}, 0.0, math.sqrt(2 / 1.04)),
    ("linear", {"slope": 1.8}, 0.5, 1 / 1.8),
    ("tanh", {}, 0.0, 1.0),
])
def test_closed_forms(name, params, sb, expected):
    value, how = eoc.closed_form_critical(get_activation(name, **params), sb)
    assert value == pytest.approx(expected, rel=1e-12), how


@pytest.mark.parametrize("name,sb", [("tanh", 0.3), ("swish", 0.0), ("sigmoid", 0.0)])
def test_no_closed_form_says_why(name, sb):
    value, how = eoc.closed_form_critical(get_activation(name), sb)
    assert math.isnan(value) and how.startswith("no closed form")


def test_chi1_by_quad_is_one_at_the_tanh_critical_point():
    from actlab.meanfield import critical_weight_scale, q_star

    act = get_activation("tanh")
    crit = critical_weight_scale(act, 0.3)
    value, how = eoc.chi1_by_quad(act, crit.weight_scale, 0.3, crit.q_star)
    assert value == pytest.approx(1.0, abs=1e-9), how
    wrong = 1.05 * crit.weight_scale
    off, _ = eoc.chi1_by_quad(act, wrong, 0.3, q_star(act, wrong, 0.3))
    assert off > 1.01  # the reference notices a wrong root
    # a q* hint that is no fixed point of the quad map: no reference, with the reason
    value, how = eoc.chi1_by_quad(act, wrong, 0.3, crit.q_star)
    assert math.isnan(value) and "no fixed point" in how


# ---------------------------------------------------------------------------------------------
# The xi_c fit and the boundary fit on synthetic data


def test_fit_depth_scale_recovers_an_exponential_and_refuses_noise():
    layers = np.arange(40)
    gap = 0.9 * np.exp(-layers / 3.0)
    xi, first, last, why = eoc.fit_depth_scale(gap, np.full(40, 1e-6))
    assert xi == pytest.approx(3.0, rel=1e-9) and why == "" and last > first
    noise = np.random.default_rng(0).normal(0, 0.05, 40)
    noise[0] = 0.9
    xi, *_, why = eoc.fit_depth_scale(noise, np.full(40, 0.05))
    assert math.isnan(xi) and "layer(s)" in why


def test_measured_gap_decays_like_the_theory_in_the_ordered_phase():
    from actlab.meanfield import depth_scales

    act = get_activation("tanh")
    ds = depth_scales(act, 0.8, 0.3)
    gap, se = eoc.correlation_gap(act, 0.8, 0.3, ds.q_star, 256, 30, 4, seed=1)
    xi, *_ = eoc.fit_depth_scale(gap, se)
    assert xi == pytest.approx(ds.xi_c, rel=0.1)


def test_fit_boundary_recovers_the_constant():
    depth, xi = np.meshgrid([2, 4, 8, 16, 32], [0.7, 1.3, 2.6, 6.6, np.inf, 10.0, 6.2, 4.6])
    y = 1 / (1 + np.exp(-4 * (np.log(6.0 * xi) - np.log(depth))))
    lnc, steep, sse = eoc.fit_boundary(depth.ravel(), xi.ravel(), y.ravel())
    assert math.exp(lnc) == pytest.approx(6.0, rel=0.02) and steep == pytest.approx(4, rel=0.3)
    lnc, *_ = eoc.fit_boundary(depth.ravel(), xi.ravel(), np.ones(depth.size))
    assert math.isnan(lnc)  # every cell trainable: no boundary inside the map


# ---------------------------------------------------------------------------------------------
# Hand-built summaries driven to each verdict


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=eoc.COLUMNS)


SQRT2 = math.sqrt(2)


def _critical(measured=SQRT2, closed=SQRT2, quad=1.0, act="relu"):
    return [{"part": "critical", "activation": act, "bias_scale": 0.0, "seed": s,
             "critical_weight_scale": measured, "edge_weight_scale": measured,
             "closed_form": closed, "closed_form_detail": "positively homogeneous",
             "chi1_at_critical_quad": quad, "critical_detail": ""} for s in SEEDS]


def test_critical_claims_pass_and_fail():
    c = _claims(_frame(_critical()))
    assert c["critical_closed_form[activation=relu,bias_scale=0]"].verdict is Verdict.PASS
    assert c["chi1_is_one_at_critical[activation=relu,bias_scale=0]"].verdict is Verdict.PASS
    c = _claims(_frame(_critical(measured=SQRT2 * (1 + 1e-4), quad=1.001)))
    assert c["critical_closed_form[activation=relu,bias_scale=0]"].verdict is Verdict.FAIL
    assert c["chi1_is_one_at_critical[activation=relu,bias_scale=0]"].verdict is Verdict.FAIL
    # no root where the closed form says there is one (say, the root finder missed it): fails
    c = _claims(_frame(_critical(measured=math.nan, quad=math.nan)))
    assert c["critical_closed_form[activation=relu,bias_scale=0]"].verdict is Verdict.FAIL
    assert c["chi1_is_one_at_critical"].verdict is Verdict.NO_DATA
    assert not c["chi1_is_one_at_critical"].required  # does not apply: not a verify failure


def test_no_closed_form_is_no_data_that_does_not_apply():
    c = _claims(_frame(_critical(closed=math.nan, act="swish")))
    cf = c["critical_closed_form"]
    assert cf.verdict is Verdict.NO_DATA and cf.kind is Kind.MATH and not cf.required


THEORY = {0.4: (0.74, "ordered"), 0.7: (2.57, "ordered"), 0.85: (6.6, "ordered"),
          1.0: (math.inf, "critical"), 1.5: (6.2, "chaotic"), 2.0: (4.6, "chaotic"),
          1.2: (62.0, "chaotic")}  # 62 > measure_depth / 4: not compared


def _scales(measured_of):
    rng = np.random.default_rng(3)
    return [{"part": "scales", "activation": "tanh", "bias_scale": 0.3, "seed": s,
             "weight_factor": f, "xi_c_theory": th, "phase": ph,
             "xi_c_measured": measured_of(th, f, s) * math.exp(0.03 * rng.standard_normal())}
            for s in SEEDS for f, (th, ph) in THEORY.items()]


def test_xi_c_matches_theory_each_verdict():
    c = _claims(_frame(_scales(lambda th, f, s: th)))
    assert c["xi_c_matches_theory[activation=tanh,phase=ordered]"].verdict is Verdict.REPRODUCED
    assert c["xi_c_matches_theory[activation=tanh,phase=chaotic]"].verdict is Verdict.REPRODUCED
    assert "62" not in c["xi_c_matches_theory[activation=tanh,phase=chaotic]"].detail
    # a theory off by a factor 2 (say, sigma_w where sigma_w^2 belongs)
    c = _claims(_frame(_scales(lambda th, f, s: 2 * th)))
    assert c["xi_c_matches_theory[activation=tanh,phase=ordered]"].verdict is \
        Verdict.NOT_REPRODUCED
    # unmeasured everywhere (e.g. too shallow a network): no data, with the reason
    c = _claims(_frame(_scales(lambda th, f, s: math.nan)))
    assert c["xi_c_matches_theory[activation=tanh,phase=ordered]"].verdict is Verdict.NO_DATA


def test_xi_c_one_seed_unmeasured_is_left_out_and_counted():
    c = _claims(_frame(_scales(lambda th, f, s: math.nan if (s == 2 and f == 0.7) else th)))
    m = c["xi_c_matches_theory[activation=tanh,phase=ordered]"]
    assert m.n == len(SEEDS) - 1 and "1 non-finite" in m.detail


XI = {0.4: 0.74, 0.55: 1.3, 0.7: 2.57, 0.85: 6.6, 1.0: math.inf, 1.2: 10.0, 1.5: 6.2, 2.0: 4.6}


def _train(score_of, noise=0.03):
    rng = np.random.default_rng(7)
    rows = []
    for s in SEEDS:
        for f, xi in XI.items():
            for depth in (2, 4, 8, 16, 32):
                y = float(np.clip(score_of(xi, depth, s) + noise * rng.standard_normal(), 0, 1))
                rows.append({"part": "train", "activation": "tanh", "bias_scale": 0.3, "seed": s,
                             "weight_factor": f, "weight_scale": f * 1.4, "depth": depth,
                             "xi_c_theory": xi, "test_score": 0.1 + 0.85 * y, "diverged": 0.0,
                             "chance_score": 0.1})
    return rows


def _logistic(x):
    return 1 / (1 + math.exp(-x))


def test_trainability_claims_reproduce_on_a_map_with_the_published_boundary():
    c = _claims(_frame(_train(lambda xi, d, s: _logistic(4 * (math.log(6 * xi) - math.log(d))))))
    k = c["depth_constant[activation=tanh,bias_scale=0.3]"]
    assert k.verdict is Verdict.REPRODUCED and 5 < k.measured < 7.5
    assert c["xi_c_bounds_trainability[activation=tanh,bias_scale=0.3]"].verdict is \
        Verdict.REPRODUCED


def test_a_constant_far_from_six_is_not_reproduced():
    c = _claims(_frame(_train(lambda xi, d, s: _logistic(4 * (math.log(xi) - math.log(d))))))
    assert c["depth_constant[activation=tanh,bias_scale=0.3]"].verdict is Verdict.NOT_REPRODUCED


@pytest.mark.parametrize("score_of", [
    lambda xi, d, s: _logistic(4 * (math.log(8) - math.log(d))),  # depth alone decides
    lambda xi, d, s: _logistic(4 * (math.log(40 / min(xi, 80)) - math.log(d))),  # reversed
])
def test_a_map_not_ordered_by_xi_c_is_not_reproduced(score_of):
    c = _claims(_frame(_train(score_of)))
    r = c["xi_c_bounds_trainability[activation=tanh,bias_scale=0.3]"]
    assert r.verdict is Verdict.NOT_REPRODUCED and r.measured > 1


def test_an_untrained_map_and_no_map_are_no_data():
    c = _claims(_frame(_train(lambda xi, d, s: 0.0, noise=0.0)))  # chance everywhere
    assert c["depth_constant[activation=tanh,bias_scale=0.3]"].verdict is Verdict.NO_DATA
    c = _claims(_frame(_critical()))
    assert c["depth_constant"].verdict is Verdict.NO_DATA
    assert c["xi_c_bounds_trainability"].verdict is Verdict.NO_DATA


def test_xi_undefined_almost_everywhere_is_no_data():
    rows = [r for r in _train(lambda xi, d, s: 1.0)]
    for r in rows:
        if r["weight_factor"] != 0.4:
            r["xi_c_theory"] = math.nan  # q* unbounded, as for relu beyond sqrt 2
    c = _claims(_frame(rows))
    assert c["depth_constant[activation=tanh,bias_scale=0.3]"].verdict is Verdict.NO_DATA


# ---------------------------------------------------------------------------------------------
# Bad input


def test_the_schema_refuses_an_unknown_train_choice():
    schema = OmegaConf.structured(eoc.Params)
    assert OmegaConf.merge(schema, {"train": "never"}).train == eoc.Train.never
    with pytest.raises(ValidationError):
        OmegaConf.merge(schema, {"train": "sometimes"})


def test_bad_params_fail_in_one_line(cli, tmp_path):
    r = cli("experiment=edge_of_chaos", "params.train=sometimes", f"out_dir={tmp_path}")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0 and len(lines) == 1, r.stderr
    assert "params.train=sometimes: Invalid value 'sometimes', expected one of " \
           "[biased, always, never]" in lines[0]
    r = cli("experiment=edge_of_chaos", "scale=smoke", "params.weight_factors=[]",
            f"out_dir={tmp_path}")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and lines == ["error: params.weight_factors=[]: must be one or more "
                                           "numbers > 0"], r.stderr


# ---------------------------------------------------------------------------------------------
# A smoke run end to end


def test_smoke_run_end_to_end(cli, tmp_path):
    r = cli("-m", "experiment=edge_of_chaos", "scale=smoke", "activation=tanh",
            "model.bias_scale=0.0,0.3", "seed=0,1", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = load_results(tmp_path)["edge_of_chaos"]
    s = eoc.summarize(table, eoc.Params())
    assert set(s["part"]) == {"critical", "scales", "train"}
    crit = s[s["part"] == "critical"].set_index(["bias_scale", "seed"])["critical_weight_scale"]
    assert crit[(0.0, 0)] == pytest.approx(1.0, abs=1e-6) and crit[(0.3, 0)] > 1.0
    # training only where sigma_b > 0 (params.train=biased)
    assert set(s[s["part"] == "train"]["bias_scale"]) == {0.3}
    claims = eoc.claims(s, eoc.Params())
    assert all(c.verdict is not Verdict.ERROR for c in claims)
    math_c = [c for c in claims if c.kind is Kind.MATH]
    assert {c.claim for c in math_c if c.verdict is Verdict.PASS} >= {
        "critical_closed_form[activation=tanh,bias_scale=0]",
        "chi1_is_one_at_critical[activation=tanh,bias_scale=0]",
        "chi1_is_one_at_critical[activation=tanh,bias_scale=0.3]"}
    assert not any(c.failed for c in claims)
    figs = eoc.EXPERIMENT.draw(table, eoc.Params())
    assert set(figs) == {"edge_of_chaos_critical_line", "edge_of_chaos_depth_scales",
                         "edge_of_chaos_trainability"}


def test_claims_are_judged_within_one_activation_setting():
    """Two swish betas in one table: two claims, never one pooled over both."""
    rows = []
    for beta, factor in ((1.0, 1.0), (2.0, 2.0)):
        for r in _scales(lambda th, f, s, k=factor: k * th):
            rows.append({**r, "activation": "swish", "beta": beta})
    c = _claims(_frame(rows))
    ordered = {k: v for k, v in c.items() if k.startswith("xi_c_matches_theory[activation=swish,"
                                                          "phase=ordered")}
    assert set(ordered) == {"xi_c_matches_theory[activation=swish,phase=ordered,beta=1]",
                            "xi_c_matches_theory[activation=swish,phase=ordered,beta=2]"}
    assert ordered["xi_c_matches_theory[activation=swish,phase=ordered,beta=1]"].verdict is \
        Verdict.REPRODUCED
    assert ordered["xi_c_matches_theory[activation=swish,phase=ordered,beta=2]"].verdict is \
        Verdict.NOT_REPRODUCED
