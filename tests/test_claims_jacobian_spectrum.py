"""jacobian_spectrum: the Jacobian against finite differences and autograd, the closed form of a
linear orthogonal network, the statistics and theory on known inputs, every claim driven to fail
on a hand-built summary (no effect, reversed, missing), bad input, and a smoke run end to end."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from actlab.activations import get_activation
from actlab.claims import Verdict
from actlab.config import Init
from actlab.results import load_results
from experiments import jacobian_spectrum as js

DEPTHS = (2, 8, 32, 64)
SEEDS = range(5)
NOT_SHOWN = {Verdict.PARTLY, Verdict.NOT_REPRODUCED}  # a claim that does not pass


def _net_and_jacobian(name, depth=3, width=5, init="gaussian", sw=1.2, sb=0.3, n=2, **params):
    act = get_activation(name, **params)
    model = js.build_network(act, width, depth, sw, sb, init, seed=7)
    x = js.make_inputs(width, n, 0.8, sw, sb, seed=3)
    return act, model, x, js.input_jacobians(model, act, x, range(1, depth + 1))


def _hidden(model, act, x, depth):
    h = x
    for layer in model.layers[:depth]:
        h = act(layer(h))
    return h


# ---------------------------------------------------------------------------------------------
# The Jacobian


@pytest.mark.parametrize("name", ["tanh", "swish"])
def test_jacobian_matches_central_finite_differences(name):
    act, model, x, jacs = _net_and_jacobian(name)
    eps = 1e-6
    with torch.no_grad():
        for depth, jac in jacs.items():
            for b in range(len(x)):
                fd = torch.stack([(_hidden(model, act, x[b] + eps * e, depth)
                                   - _hidden(model, act, x[b] - eps * e, depth)) / (2 * eps)
                                  for e in torch.eye(x.shape[1], dtype=torch.float64)], dim=1)
                assert torch.allclose(jac[b], fd, atol=1e-8, rtol=1e-7), (depth, b)


@pytest.mark.parametrize("name,init", [("relu", "orthogonal"), ("tanh", "gaussian")])
def test_jacobian_matches_autograd(name, init):
    act, model, x, jacs = _net_and_jacobian(name, depth=4, init=init)
    ref = torch.func.vmap(torch.func.jacrev(lambda v: _hidden(model, act, v, 4)))(x)
    assert torch.allclose(jacs[4], ref, atol=1e-13, rtol=1e-12)


def test_linear_orthogonal_network_has_every_singular_value_sigma_w_to_the_L():
    """phi(z) = a z with orthogonal W of gain sigma_w: J = (a sigma_w)^L x an orthogonal matrix,
    so every singular value is (a sigma_w)^L, at every depth, for any input."""
    a, sw = 0.9, 1.3
    act, model, x, jacs = _net_and_jacobian("linear", depth=6, width=16, init="orthogonal",
                                            sw=sw, slope=a)
    for depth, jac in jacs.items():
        s = torch.linalg.svdvals(jac)
        assert torch.allclose(s, torch.full_like(s, (a * sw) ** depth), rtol=1e-12, atol=0)
        st = js.spectrum_stats(s.numpy(), 16, depth)
        assert st["sv_log_std"] == pytest.approx(0.0, abs=1e-12)
        assert st["sv_max_over_mean"] == pytest.approx(1.0, rel=1e-12)
        assert st["sv_sq_var"] == pytest.approx(0.0, abs=1e-12)
        assert st["sv_resolved"] == 1.0


def test_statistics_of_known_singular_values_and_the_resolution_floor():
    s = np.array([[4.0, 2.0, 1.0, 0.5, 1e-20, 0.0]])  # two below 4 x 6 x 1 x eps: unresolved
    st = js.spectrum_stats(s, width=6, depth=1)
    assert st["sv_resolved"] == pytest.approx(4 / 6)
    assert st["sv_log_std"] == pytest.approx(np.log([4, 2, 1, 0.5]).std())
    assert st["sv_mean_sq"] == pytest.approx((16 + 4 + 1 + 0.25) / 6)
    assert st["sv_max_over_mean"] == pytest.approx(4 / (7.5 / 6))
    lam = np.array([16, 4, 1, 0.25, 0, 0])
    assert st["sv_sq_var"] == pytest.approx((lam**2).mean() / lam.mean() ** 2 - 1)
    assert st["sv_q50"] == pytest.approx(np.quantile([4, 2, 1, 0.5, 0, 0], 0.5))
    h = js.histogram(s, 6, 1)
    assert h.sum() == pytest.approx(4 / 6)


def test_theory_at_the_critical_point():
    tanh = js.theory(get_activation("tanh"), 0.05, DEPTHS, list(Init), None, 1.0)
    assert all(v == pytest.approx(1.0, abs=1e-8) for v in tanh.msv.values())
    assert 0 < tanh.moment_excess < 0.1 and tanh.input_q == pytest.approx(tanh.q_star)
    # free probability: the orthogonal variance is L m, the Gaussian one L (m + 1)
    for d in DEPTHS:
        assert tanh.sq_var[("orthogonal", d)] == pytest.approx(d * tanh.moment_excess, rel=1e-6)
        assert tanh.sq_var[("gaussian", d)] == pytest.approx(d * (tanh.moment_excess + 1),
                                                             rel=1e-6)
    relu = js.theory(get_activation("relu"), 0.3, DEPTHS, list(Init), None, 1.0)
    assert relu.weight_scale == pytest.approx(math.sqrt(2)) and math.isinf(relu.q_star)
    assert relu.input_q == 1.0 and "unbounded" in relu.input_q_detail
    assert relu.moment_excess == pytest.approx(1.0, abs=1e-9)
    assert all(v == pytest.approx(1.0, abs=1e-12) for v in relu.msv.values())
    swish = js.theory(get_activation("swish"), 0.05, DEPTHS, list(Init), None, 1.0)
    assert math.isnan(swish.weight_scale) and "jumps" in swish.critical_detail
    fallback = js.theory(get_activation("swish"), 0.05, DEPTHS, list(Init), 1.5, 1.0)
    assert fallback.weight_scale == 1.5 and "fallback" in fallback.weight_scale_detail


def test_mean_squared_singular_value_is_one_at_criticality_in_a_wide_net():
    """One seed, a few networks: the claim's quantity itself, at a depth where it is precise."""
    cfg_p = js.Params(depths=[4], networks=4, n_inputs=2)
    act = get_activation("tanh")
    th = js.theory(act, 0.05, [4], cfg_p.inits, None, 1.0)
    rows = js.measure(act, th, 64, 0.05, cfg_p, seed=0)
    msv = {r["init"]: r["value"] for r in rows if r["metric"] == "sv_mean_sq"}
    assert msv["orthogonal"] == pytest.approx(1.0, abs=0.05)
    assert msv["gaussian"] == pytest.approx(1.0, abs=0.25)


# ---------------------------------------------------------------------------------------------
# Claims on hand-built summaries


def _good_spread(act):
    """sv_log_std(init, depth, seed) like the measured one: Gaussian ~1.7 ln L, orthogonal tanh
    ~0.35 of it, relu's orthogonal almost as steep as its Gaussian."""
    def f(init, d, seed):
        k = {("tanh", "gaussian"): 1.7, ("tanh", "orthogonal"): 0.5,
             ("relu", "gaussian"): 2.1, ("relu", "orthogonal"): 2.0}[(act, init)]
        return 0.2 + k * math.log(d) + 0.01 * ((seed * 7 + d + 3 * (init == "orthogonal")) % 5)
    return f


def _summary(act="tanh", spread=None, msv=lambda init, d, seed: 1.0 + 0.01 * (seed - 2),
             m=None, depths=DEPTHS, inits=("gaussian", "orthogonal"), seeds=SEEDS,
             critical=True, width=128, bias_scale=0.05, closed=None) -> pd.DataFrame:
    spread = spread or _good_spread(act)
    m = m if m is not None else {"tanh": 0.073, "relu": 1.0}.get(act, 0.5)
    closed = closed if closed is not None else 1.0 if act == "relu" else math.nan
    run = {"activation": act, "bias_scale": bias_scale, "width": width, "critical": critical,
           "critical_weight_scale": 1.12 if critical else math.nan,
           "critical_detail": "" if critical else "chi_1 never equals 1: it jumps",
           "weight_scale_detail": "critical" if critical else "not measured",
           "moment_excess": m if critical else math.nan, "moment_excess_closed_form": closed,
           "closed_form_detail": "positively homogeneous" if math.isfinite(closed)
           else "no closed form: phi is not positively homogeneous"}
    rows = [{"part": "run", "seed": s, **run} for s in seeds]
    if critical:
        rows += [{"part": "spectrum", "seed": s, "init": i, "depth": d, "networks": 12,
                  "n_inputs": 2, **run, "sv_log_std": spread(i, d, s),
                  "sv_mean_sq": msv(i, d, s), "msv_theory": 1.0, "sv_resolved": 1.0}
                 for s in seeds for i in inits for d in depths]
    return pd.DataFrame(rows).reindex(columns=js.COLUMNS)


def _claims(*summaries) -> dict:
    s = pd.concat(summaries, ignore_index=True)
    return {c.claim: c for c in js.claims(s, js.Params())}


def _one(claims: dict, prefix: str):
    (c,) = [c for k, c in claims.items() if k.startswith(prefix)]
    return c


def test_every_claim_reproduces_on_a_table_like_the_published_one():
    c = _claims(_summary("tanh"), _summary("relu"))
    assert {k: v.verdict for k, v in c.items()} == {
        "moment_excess_closed_form[activation=relu,bias_scale=0.05]": Verdict.PASS,
        "msv_is_one[activation=relu,bias_scale=0.05,init=gaussian]": Verdict.REPRODUCED,
        "msv_is_one[activation=relu,bias_scale=0.05,init=orthogonal]": Verdict.REPRODUCED,
        "spread_grows[activation=relu,bias_scale=0.05,init=gaussian]": Verdict.REPRODUCED,
        "spread_grows[activation=relu,bias_scale=0.05,init=orthogonal]": Verdict.REPRODUCED,
        "msv_is_one[activation=tanh,bias_scale=0.05,init=gaussian]": Verdict.REPRODUCED,
        "msv_is_one[activation=tanh,bias_scale=0.05,init=orthogonal]": Verdict.REPRODUCED,
        "spread_grows[activation=tanh,bias_scale=0.05,init=gaussian]": Verdict.REPRODUCED,
        "orthogonal_below_gaussian[activation=tanh,bias_scale=0.05]": Verdict.REPRODUCED,
        "orthogonal_flat[activation=tanh,bias_scale=0.05]": Verdict.REPRODUCED}


@pytest.mark.parametrize("factor", [math.exp(1.5), math.exp(-1.5), 3.0])
def test_msv_off_chi1_to_the_L_is_not_reproduced(factor):
    """A mean squared singular value off by more than the margin exp(2 L / width) = e at L = 64:
    what a sigma_w ~1% off the critical one gives."""
    c = _claims(_summary("tanh", msv=lambda i, d, s: factor * (1 + 0.01 * s)))
    for init in ("gaussian", "orthogonal"):
        assert c[f"msv_is_one[activation=tanh,bias_scale=0.05,init={init}]"].verdict \
            is Verdict.NOT_REPRODUCED


def test_msv_straddling_the_margin_is_only_partly():
    c = _claims(_summary("relu", msv=lambda i, d, s: [0.2, 1.0, 3.0, 0.5, 1.5][s]))
    assert _one(c, "msv_is_one[activation=relu,bias_scale=0.05,init=gaussian]").verdict \
        is Verdict.PARTLY


def test_msv_margin_is_read_from_the_tables_depth_and_width():
    """The same ratio 1.5 (ln 0.41): inside exp(2 x 64 / 128) = e, outside exp(2 x 8 / 128)."""
    deep = _claims(_summary("tanh", msv=lambda i, d, s: 1.5 + 0.01 * s))
    shallow = _claims(_summary("tanh", depths=(2, 4, 8), msv=lambda i, d, s: 1.5 + 0.01 * s))
    key = "msv_is_one[activation=tanh,bias_scale=0.05,init=orthogonal]"
    assert deep[key].verdict is Verdict.REPRODUCED
    assert shallow[key].verdict is Verdict.NOT_REPRODUCED


def test_orthogonal_no_better_than_gaussian_is_not_reproduced():
    """No effect: the orthogonal spread equals the Gaussian one at every depth."""
    same = lambda i, d, s: _good_spread("tanh")("gaussian", d, s)  # noqa: E731
    c = _claims(_summary("tanh", spread=same))
    assert _one(c, "orthogonal_below_gaussian").verdict is Verdict.NOT_REPRODUCED
    assert _one(c, "orthogonal_flat").verdict is Verdict.NOT_REPRODUCED


def test_orthogonal_worse_than_gaussian_is_not_reproduced():
    """Reversed: the inits swapped."""
    good = _good_spread("tanh")
    swapped = lambda i, d, s: good("orthogonal" if i == "gaussian" else "gaussian", d, s)  # noqa
    c = _claims(_summary("tanh", spread=swapped))
    assert _one(c, "orthogonal_below_gaussian").verdict is Verdict.NOT_REPRODUCED
    assert _one(c, "orthogonal_flat").verdict is Verdict.NOT_REPRODUCED


def test_orthogonal_growing_half_as_fast_as_gaussian_is_not_flat():
    grow = lambda i, d, s: (1.7 if i == "gaussian" else 1.0) * math.log(d) + 0.01 * (  # noqa
        (s * 7 + d) % 5) * (i == "gaussian")
    c = _claims(_summary("tanh", spread=grow))
    assert _one(c, "orthogonal_below_gaussian").verdict is Verdict.REPRODUCED
    assert _one(c, "orthogonal_flat").verdict is Verdict.NOT_REPRODUCED


def test_gaussian_that_does_not_spread_leaves_the_flat_ratio_without_data():
    """No effect anywhere: both inits flat in depth, seed noise only."""
    flat = lambda i, d, s: 1.0 + 0.01 * ((s * 7 + d) % 5)  # noqa: E731
    c = _claims(_summary("tanh", spread=flat))
    assert _one(c, "spread_grows[activation=tanh,bias_scale=0.05,init=gaussian]").verdict \
        in NOT_SHOWN
    flat_claim = _one(c, "orthogonal_flat")
    assert flat_claim.verdict is Verdict.NO_DATA and "not shown to grow" in flat_claim.detail
    assert _one(c, "orthogonal_below_gaussian").verdict in NOT_SHOWN


@pytest.mark.parametrize("trend,expected", [(0.0, NOT_SHOWN), (-1.0, {Verdict.NOT_REPRODUCED})])
def test_relu_spread_that_does_not_grow_is_not_reproduced(trend, expected):
    """No effect (flat in depth, seed noise only: at best partly) and reversed (shrinking with
    depth: not reproduced), for both inits."""
    c = _claims(_summary("relu", spread=lambda i, d, s: 5.0 + trend * math.log(d)
                         + 0.01 * ((s + d) % 3)))
    for init in ("gaussian", "orthogonal"):
        v = c[f"spread_grows[activation=relu,bias_scale=0.05,init={init}]"].verdict
        assert v in expected, (init, v)


def test_missing_data_gives_no_data():
    # one depth: no slope anywhere
    c = _claims(_summary("relu", depths=(64,)), _summary("tanh", depths=(64,)))
    for k, v in c.items():
        if not k.startswith(("msv_is_one", "moment_excess")):
            assert v.verdict is Verdict.NO_DATA, k
    # no orthogonal rows: the isometry claims cannot be judged
    c = _claims(_summary("tanh", inits=("gaussian",)))
    assert _one(c, "orthogonal_below_gaussian").verdict is Verdict.NO_DATA
    assert "needs gaussian and orthogonal" in _one(c, "orthogonal_flat").detail
    assert not any("init=orthogonal" in k for k in c)
    # relu without its Gaussian rows: that claim says so
    c = _claims(_summary("relu", inits=("orthogonal",)))
    assert c["spread_grows[activation=relu,bias_scale=0.05,init=gaussian]"].verdict \
        is Verdict.NO_DATA
    # nothing at all
    assert {c.verdict for c in js.claims(pd.DataFrame(columns=js.COLUMNS))} == {Verdict.NO_DATA}


def test_no_critical_point_is_no_data_with_the_reason():
    c = _claims(_summary("swish", critical=False))
    assert set(c) == {"msv_is_one[activation=swish,bias_scale=0.05]",
                      "spread_grows[activation=swish,bias_scale=0.05]",
                      "moment_excess_closed_form"}
    assert all(v.verdict is Verdict.NO_DATA for v in c.values())
    assert all("jumps" in v.detail for k, v in c.items() if "[" in k)
    assert not c["moment_excess_closed_form"].required  # a math claim that does not apply


def test_moment_excess_off_its_closed_form_fails_and_the_closed_form_is_right():
    c = _claims(_summary("relu", m=0.5))  # phi' instead of phi'^2: mu_2 / mu_1^2 - 1 = 1/2 ...
    bad = c["moment_excess_closed_form[activation=relu,bias_scale=0.05]"]
    assert bad.verdict is Verdict.FAIL and bad.failed
    assert js.closed_form_excess(get_activation("relu"))[0] == 1.0
    slope = 0.2  # leaky relu: 2 (1 + a^4) / (1 + a^2)^2 - 1
    value, how = js.closed_form_excess(get_activation("leaky_relu", slope=slope))
    assert value == pytest.approx(2 * (1 + slope**4) / (1 + slope**2) ** 2 - 1, rel=1e-12), how
    assert math.isnan(js.closed_form_excess(get_activation("tanh"))[0])
    relu = js.theory(get_activation("relu"), 0.05, (2,), list(Init), None, 1.0)
    assert relu.moment_excess == pytest.approx(relu.closed_excess, abs=1e-12)
    c = _claims(_summary("tanh"))  # no closed form: no data, not required
    assert c["moment_excess_closed_form"].verdict is Verdict.NO_DATA
    assert not c["moment_excess_closed_form"].required


def test_where_theory_predicts_no_isometry_orthogonal_tanh_must_spread_too():
    """tanh at sigma_b = 0.3 (m = 0.46): the spread claim for both inits, no isometry claims."""
    c = _claims(_summary("tanh", m=0.46, bias_scale=0.3))
    assert "spread_grows[activation=tanh,bias_scale=0.3,init=orthogonal]" in c
    assert not any(k.startswith("orthogonal_") for k in c)


def test_claims_are_judged_per_setting_and_duplicates_are_refused():
    c = _claims(_summary("tanh", width=64), _summary("tanh", width=128))
    assert "orthogonal_flat[activation=tanh,bias_scale=0.05,width=64]" in c
    assert "orthogonal_flat[activation=tanh,bias_scale=0.05,width=128]" in c
    dup = _summary("tanh")
    dup = pd.concat([dup, dup[dup["part"] == "spectrum"]], ignore_index=True)
    c = _claims(dup)
    assert all(v.verdict is Verdict.NO_DATA and "share their seed" in v.detail
               for k, v in c.items() if not k.startswith("moment"))


# ---------------------------------------------------------------------------------------------
# Bad input and a smoke run end to end


def test_bad_params_fail_in_one_line(cli_here, tmp_path):
    r = cli_here("experiment=jacobian_spectrum", "scale=smoke", "params.networks=0",
                 f"out_dir={tmp_path}")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and lines == ["error: params.networks=0: must be an integer >= 1"], \
        r.stderr


def test_smoke_run_end_to_end(cli_here, tmp_path):
    r = cli_here("-m", "experiment=jacobian_spectrum", "scale=smoke", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = load_results(tmp_path)["jacobian_spectrum"]
    s = js.summarize(table, js.Params())
    sp = s[s["part"] == "spectrum"]
    assert set(sp["activation"]) == {"tanh", "relu"}
    assert set(sp["init"]) == {"gaussian", "orthogonal"}
    assert set(sp["depth"]) == {2, 4} and set(sp["seed"]) == {0, 1}
    assert (sp["msv_theory"] - 1).abs().max() < 1e-8
    claims = js.claims(s, js.Params())
    assert all(c.verdict is not Verdict.ERROR for c in claims)
    assert not any(c.failed for c in claims)
    assert claims[0].claim == "moment_excess_closed_form[activation=relu,bias_scale=0.05]"
    assert claims[0].verdict is Verdict.PASS
    assert {c.claim.partition("[")[0] for c in claims} >= {
        "msv_is_one", "spread_grows", "orthogonal_below_gaussian", "orthogonal_flat"}
    figs = js.EXPERIMENT.draw(table, js.Params())
    assert set(figs) == {"jacobian_spectrum_spread", "jacobian_spectrum_histograms"}


@pytest.mark.parametrize("n_inf,verdict", [(1, Verdict.PARTLY), (4, Verdict.NOT_REPRODUCED)])
def test_msv_overflow_counts_against_msv_is_one(n_inf, verdict):
    """An overflowed mean squared singular value (inf) is not a missing seed: it is evidence
    against msv = 1."""
    s = _summary("tanh")
    key = "msv_is_one[activation=tanh,bias_scale=0.05,init=gaussian]"
    assert _claims(s)[key].verdict is Verdict.REPRODUCED
    m = ((s["part"] == "spectrum") & (s["init"] == "gaussian")
         & (s["depth"] == s.loc[s["part"] == "spectrum", "depth"].max()))
    seeds = sorted(s.loc[m, "seed"].unique())
    assert len(seeds) >= 5
    s.loc[m & s["seed"].isin(seeds[:n_inf]), "sv_mean_sq"] = np.inf
    c = _claims(s)[key]
    assert c.verdict is verdict and f"{n_inf} of {len(seeds)} seed(s) overflowed" in c.detail
