"""softplus_revival: the references checked by further methods (exact rational arithmetic for
the leaky recursion, the proven softplus bound against the trainer's own loop), every math claim
driven to pass and fail from synthetic summaries, and the smoke grid end to end."""

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from actlab.activations import get_activation
from actlab.claims import Verdict, run_claims
from actlab.results import load_results, load_run_records, resolve_params
from experiments import softplus_revival as S

LR, NPTS, BUDGET = 0.5, 16, 20_000
Z0S = [-1.0, -3.0, -7.0, -9.0, -20.0]


def exact_leaky_steps(slope: Fraction, z0: int, lr: Fraction, n: int, budget: int) -> float:
    """Gradient descent of the leaky unit in exact rational arithmetic, step by step (valid while
    every pre-activation is <= 0, i.e. until the first step it is back)."""
    xs = [Fraction(i, n - 1) for i in range(n)]
    w, b = Fraction(0), Fraction(z0)
    for step in range(1, budget + 1):
        g = [2 * (slope * (w * x + b) - (2 * x + 1)) * slope / n for x in xs]
        w, b = w - lr * sum(gi * x for gi, x in zip(g, xs)), b - lr * sum(g)
        if max(b, w + b) > 0:
            return float(step)
    return math.nan


@pytest.mark.parametrize("slope", [Fraction(1, 10), Fraction(3, 10)])
def test_leaky_closed_form_matches_exact_rational_recursion(slope):
    z0s = [-1, -3, -6]
    ref = S.leaky_closed_form(float(slope), [float(z) for z in z0s], 0.5, 500, 8)
    assert ref == [exact_leaky_steps(slope, z, Fraction(1, 2), 8, 500) for z in z0s]


def test_trainer_obeys_the_proven_softplus_bound_and_the_flow():
    for beta in (1.0, 2.0):
        act = get_activation("softplus", beta=beta)
        z0s = [-1.0, -3.0, -4.0]
        steps = S.steps_to_revive(act, z0s, 0.3, 50_000, 12)
        for z, st in zip(z0s, steps):
            assert st >= S.softplus_lower_bound(z, beta, 0.3, 12)
            f = S.softplus_flow_time(z, beta, 0.3, 12, 1e7)
            assert st >= f and st - f <= 1 + beta * abs(z) / 2 + 0.5  # the Euler lag, about |z0|/2


# ---------------------------------------------------------------------------------------------
# synthetic summaries: the true values (from the trainer) and perturbations of them


def rows(label, activation, steps, slope=np.nan, beta=np.nan, z0s=Z0S, budget=BUDGET):
    out = []
    for z, st in zip(z0s, steps):
        out.append({"seed": 0, "label": label, "activation": activation, "slope": slope,
                    "beta": beta, "z0": z, "lr": LR, "n_points": NPTS, "max_steps": budget,
                    "steps": st, "revived": not math.isnan(st), "slope_at_z0": 0.0})
    return out


@pytest.fixture(scope="module")
def true_summary():
    leaky = S.steps_to_revive(get_activation("leaky_relu", slope=0.1), Z0S, LR, BUDGET, NPTS)
    soft = S.steps_to_revive(get_activation("softplus"), Z0S, LR, BUDGET, NPTS)
    relu = S.steps_to_revive(get_activation("relu"), Z0S, LR, 200, NPTS)
    return pd.DataFrame(rows("relu", "relu", relu)
                        + rows("leaky_relu 0.1", "leaky_relu", leaky, slope=0.1)
                        + rows("softplus", "softplus", soft, beta=1.0))


def claims_of(s):
    return {c.claim: c for c in S.claims(s, S.Params())}


def perturb(s, label, z0, steps):
    t = s.copy()
    m = (t["label"] == label) & (t["z0"] == z0)
    t.loc[m, "steps"] = steps
    t.loc[m, "revived"] = not math.isnan(steps)
    return t


def test_true_values_pass_every_math_claim(true_summary):
    cl = claims_of(true_summary)
    assert set(cl) == {"relu_never", "leaky_closed_form[slope=0.1]",
                       "softplus_exp_lower_bound[beta=1]", "softplus_matches_flow[beta=1]"}
    assert all(c.verdict is Verdict.PASS for c in cl.values()), cl
    assert cl["relu_never"].n == len(Z0S)
    # -20 is not back within the budget, and neither is the flow: that is consistent, and checked
    assert cl["softplus_matches_flow[beta=1]"].n == 3
    assert "-20: never" in cl["softplus_exp_lower_bound[beta=1]"].detail


def test_relu_never_fails_if_a_relu_unit_comes_back(true_summary):
    s = perturb(true_summary, "relu", -3.0, 12.0)
    assert claims_of(s)["relu_never"].verdict is Verdict.FAIL


@pytest.mark.parametrize("delta", [1.0, -1.0])
def test_leaky_closed_form_fails_one_step_off(true_summary, delta):
    s = true_summary
    st = float(s[(s["label"] == "leaky_relu 0.1") & (s["z0"] == -7.0)]["steps"].iloc[0])
    c = claims_of(perturb(s, "leaky_relu 0.1", -7.0, st + delta))["leaky_closed_form[slope=0.1]"]
    assert c.verdict is Verdict.FAIL and c.measured == 1.0
    c = claims_of(perturb(s, "leaky_relu 0.1", -7.0, math.nan))["leaky_closed_form[slope=0.1]"]
    assert c.verdict is Verdict.FAIL  # "never" where the closed form says it comes back


def test_softplus_bound_fails_when_it_comes_back_too_fast(true_summary):
    s = true_summary
    bound = S.softplus_lower_bound(-7.0, 1.0, LR, NPTS)
    c = claims_of(perturb(s, "softplus", -7.0, math.floor(bound * 0.9)))[
        "softplus_exp_lower_bound[beta=1]"]
    assert c.verdict is Verdict.FAIL and c.measured < 1


def test_softplus_flow_fails_off_the_flow_and_has_no_data_for_short_returns(true_summary):
    s = true_summary
    st = float(s[(s["label"] == "softplus") & (s["z0"] == -9.0)]["steps"].iloc[0])
    c = claims_of(perturb(s, "softplus", -9.0, st * 1.2))["softplus_matches_flow[beta=1]"]
    assert c.verdict is Verdict.FAIL and c.measured == pytest.approx(0.2, abs=0.01)
    # the flow would be back within the budget, the run says never: a failure, not a pass
    c = claims_of(perturb(s, "softplus", -9.0, math.nan))["softplus_matches_flow[beta=1]"]
    assert c.verdict is Verdict.FAIL
    short = s[~((s["label"] == "softplus") & (s["z0"] <= -7.0))]
    assert claims_of(short)["softplus_matches_flow[beta=1]"].verdict is Verdict.NO_DATA


def test_claims_read_the_parameters_from_the_summary():
    """Another lr and input count than the defaults: the references follow the table."""
    lr, npts, z0s = 0.2, 10, [-2.0, -6.0]
    leaky = S.steps_to_revive(get_activation("leaky_relu", slope=0.3), z0s, lr, 5000, npts)
    soft = S.steps_to_revive(get_activation("softplus", beta=2.0), z0s, lr, 5000, npts)
    s = pd.DataFrame(rows("leaky_relu 0.3", "leaky_relu", leaky, slope=0.3, z0s=z0s, budget=5000)
                     + rows("softplus", "softplus", soft, beta=2.0, z0s=z0s, budget=5000))
    s["lr"], s["n_points"] = lr, npts
    cl = claims_of(s)
    assert cl["leaky_closed_form[slope=0.3]"].verdict is Verdict.PASS
    assert cl["softplus_exp_lower_bound[beta=2]"].verdict is Verdict.PASS
    assert cl["softplus_matches_flow[beta=2]"].verdict is Verdict.PASS


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=softplus_revival", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["softplus_revival"]
    params = resolve_params(S.Params, load_run_records(out).get("softplus_revival", {}), table)
    summary = S.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["label", "z0"]))
    claims = run_claims(S.EXPERIMENT, table, params)
    assert claims and all(c.verdict is Verdict.PASS for c in claims), claims
    assert {"relu_never", "leaky_closed_form[slope=0.1]",
            "softplus_matches_flow[beta=1]"} <= {c.claim for c in claims}
    assert S.EXPERIMENT.draw(table, params)


def raw_table(with_new_columns: bool) -> pd.DataFrame:
    rows = []
    for act, slope in (("relu", None), ("leaky_relu", 0.1)):
        a = get_activation(act, slope=slope) if slope else get_activation(act)
        for z, st in zip([-1.0, -3.0], S.steps_to_revive(a, [-1.0, -3.0], LR, 300, NPTS)):
            common = {"run_id": act, "seed": 0, "activation": act, "slope": slope, "z0": z,
                      "max_steps": 300, "step": 0, "layer": None, "status": "ok", "lr": 0.05}
            if with_new_columns:
                common.update(lr=LR, n_points=NPTS)
            rows += [{**common, "metric": "steps_to_revive", "value": st},
                     {**common, "metric": "revived", "value": float(not math.isnan(st))},
                     {**common, "metric": "slope_at_z0", "value": 0.1}]
    return pd.DataFrame(rows)


def test_rows_from_before_the_max_criterion_are_not_judged():
    new = claims_of(S.summarize(raw_table(True), S.Params(n_points=NPTS, lr=LR)))
    assert new["leaky_closed_form[slope=0.1]"].verdict is Verdict.PASS
    old = claims_of(S.summarize(raw_table(False), S.Params(n_points=NPTS, lr=LR)))
    assert (old["leaky_relu_reference"].verdict is Verdict.NO_DATA
            and "rerun" in old["leaky_relu_reference"].detail)
    assert "leaky_closed_form[slope=0.1]" not in old and old["relu_never"].verdict is Verdict.PASS
