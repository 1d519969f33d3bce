"""saturation's claims on synthetic summaries (every reachable verdict), its theory of the
saturated fraction against sampling and root finding, and its smoke run end to end."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import expit

from actlab.claims import Verdict, run_claims
from actlab.probes import NEAR_ZERO
from actlab.results import load_results, load_run_records, resolve_params
from experiments import saturation as S

SEEDS = list(range(6))
ALPHAS = [1.0, 3.0, 10.0, 30.0, 100.0]
P = S.Params()
T = S.THRESHOLDS


def _noise(sd: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(len(SEEDS))
    return sd * (z - z.mean()) / z.std(ddof=1) if sd > 0 else np.zeros(len(SEEDS))


def _summary(sat=None, drop=None, left=None, init="gaussian", diverged=(),
             sd=0.002) -> pd.DataFrame:
    """Per (activation, alpha, seed). sat[act](alpha) -> saturated fraction (default: theory);
    drop[act] -> the gradient ratio alpha=max / alpha=min (geometric, spread by seed);
    left[act] -> (loss left at alpha=min, loss left at alpha=max)."""
    sat, drop, left = sat or {}, drop or {}, left or {}
    rows = []
    for k, act in enumerate(("tanh", "sigmoid", "relu")):
        f = sat.get(act, lambda a, act=act: S.theory_fraction(act, a, 1.0, 0.0, 16))
        r_drop = drop.get(act, 1e-3)
        lo_left, hi_left = left.get(act, (0.1, 0.95))
        for j, a in enumerate(ALPHAS):
            t = (math.log(a) - math.log(ALPHAS[0])) / (math.log(ALPHAS[-1]) - math.log(ALPHAS[0]))
            sat_v = f(a) + _noise(sd, 10 * k + j)
            g = np.exp(t * math.log(r_drop) + _noise(0.2, 50 + 10 * k + j) * t)
            lr = lo_left + t * (hi_left - lo_left) + _noise(0.02, 100 + 10 * k + j)
            for i, seed in enumerate(SEEDS):
                div = (act, a, seed) in diverged
                rows.append({"activation": act, "alpha": a, "seed": seed,
                             "status": "diverged" if div else "ok", "diverged": div,
                             "task": "teacher", "init": init, "weight_scale": 1.0,
                             "bias_scale": 0.0, "in_dim": 16, "saturated": sat_v[i],
                             "grad_per_error": g[i], "delta_per_error": g[i], "loss0": 1.0,
                             "loss_end": np.nan if div else lr[i],
                             "loss_ratio": np.nan if div else lr[i]})
    return pd.DataFrame(rows)


def _get(claims, cid):
    (c,) = [c for c in claims if c.claim == cid]
    return c


TAG = "[tanh,alpha=100 vs 1]"

# --- theory --------------------------------------------------------------------------------


@pytest.mark.parametrize("act,deriv,peak", [
    ("tanh", lambda z: 1 - np.tanh(z) ** 2, 1.0),
    ("sigmoid", lambda z: expit(z) * (1 - expit(z)), 0.25)])
def test_cutoff_is_the_root_of_the_derivative_at_the_probes_threshold(act, deriv, peak):
    z = brentq(lambda t: deriv(t) - NEAR_ZERO * peak, 0.0, 50.0, xtol=1e-14)
    assert S.saturation_cutoff(act) == pytest.approx(z, abs=1e-9)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("alpha,ws,bs,d",
                         [(3.0, 1.0, 0.0, 16), (10.0, 0.7, 0.5, 4), (30.0, 1.3, 0.0, 64)])
def test_theory_fraction_against_sampling(act, alpha, ws, bs, d):
    # sample the setting the theory describes: x ~ N(0, alpha^2 I), w ~ N(0, ws^2/d), b ~ N(0, bs^2)
    rng = np.random.default_rng(1)
    n_units, n_x = 4000, 500
    w = rng.normal(0, ws / math.sqrt(d), (n_units, d))
    b = rng.normal(0, bs, (n_units, 1)) if bs > 0 else np.zeros((n_units, 1))
    x = rng.normal(0, alpha, (d, n_x))
    z = w @ x + b
    cut = S.saturation_cutoff(act)
    sampled = float((z < 0).mean()) if act == "relu" else float((np.abs(z) > cut).mean())
    assert S.theory_fraction(act, alpha, ws, bs, d) == pytest.approx(sampled, abs=0.01)


def test_theory_without_in_dim_is_the_large_d_limit():
    assert S.theory_fraction("tanh", 10.0, 1.0, 0.0, math.nan) == pytest.approx(
        S.theory_fraction("tanh", 10.0, 1.0, 0.0, 100000), abs=1e-4)
    assert math.isnan(S.theory_fraction("softplus", 10.0, 1.0, 0.0, 16))


# --- saturated_fraction --------------------------------------------------------------------


def test_saturated_fraction_reproduced_when_it_follows_theory():
    cl = S.claims(_summary(), P)
    for act in ("tanh", "sigmoid", "relu"):
        c = _get(cl, f"saturated_fraction[{act}]")
        assert c.verdict is Verdict.REPRODUCED and c.n == len(SEEDS), c


def test_saturated_fraction_not_reproduced_when_it_does_not_rise():
    # zero effect: the fraction stays at its alpha = 1 value (no saturation)
    flat = lambda a: S.theory_fraction("tanh", 1.0, 1.0, 0.0, 16)  # noqa: E731
    assert _get(S.claims(_summary(sat={"tanh": flat}), P), "saturated_fraction[tanh]").verdict \
        is Verdict.NOT_REPRODUCED


def test_saturated_fraction_of_relu_not_reproduced_when_it_rises():
    tanh_like = lambda a: S.theory_fraction("tanh", a, 1.0, 0.0, 16)  # noqa: E731
    assert _get(S.claims(_summary(sat={"relu": tanh_like}), P),
                "saturated_fraction[relu]").verdict is Verdict.NOT_REPRODUCED


def test_saturated_fraction_partly_at_the_margin():
    # per seed, a deviation of the margin +- seed noise at the largest alpha, none elsewhere
    s = _summary(sd=0.0)
    at = (s["activation"] == "sigmoid") & (s["alpha"] == ALPHAS[-1])
    s.loc[at, "saturated"] += T.theory_margin + _noise(0.01, 7)
    c = _get(S.claims(s, P), "saturated_fraction[sigmoid]")
    assert c.verdict is Verdict.PARTLY and c.ci_low < T.theory_margin < c.ci_high


def test_saturated_fraction_no_theory_for_orthogonal_init():
    c = _get(S.claims(_summary(init="orthogonal"), P), "saturated_fraction[tanh]")
    assert c.verdict is Verdict.NO_DATA and "orthogonal" in c.detail


# --- gradient drop and its comparison with relu ---------------------------------------------


@pytest.mark.parametrize("key", ["grad_per_error", "delta_per_error"])
@pytest.mark.parametrize("ratio,verdict", [(1e-4, Verdict.REPRODUCED), (1e-2, Verdict.PARTLY),
                                           (0.3, Verdict.NOT_REPRODUCED),
                                           (1.0, Verdict.NOT_REPRODUCED)])  # 1.0: no effect
def test_gradient_drop(key, ratio, verdict):
    c = _get(S.claims(_summary(drop={"tanh": ratio}), P), f"{key}_drop{TAG}")
    assert c.verdict is verdict and c.n == len(SEEDS), c


@pytest.mark.parametrize("tanh_drop,relu_drop,verdict", [
    (1e-3, 1.0, Verdict.REPRODUCED), (1.0, 1e-3, Verdict.NOT_REPRODUCED),
    (0.1, 0.1, Verdict.PARTLY)])  # equal drops: no effect of saturation, never reproduced
def test_gradient_drop_vs_relu(tanh_drop, relu_drop, verdict):
    cl = S.claims(_summary(drop={"tanh": tanh_drop, "relu": relu_drop}), P)
    for key in ("grad_per_error", "delta_per_error"):
        assert _get(cl, f"{key}_vs_relu{TAG}").verdict is verdict


def test_gradient_claims_pair_by_seed_id():
    s = _summary(drop={"tanh": 1e-2, "relu": 1e-1})
    ref = S.claims(s, P)
    shuffled = S.claims(s.sample(frac=1.0, random_state=0).reset_index(drop=True), P)
    for a, b in zip(ref, shuffled):
        assert a.claim == b.claim and (a.measured == pytest.approx(b.measured) or
                                       (math.isnan(a.measured) and math.isnan(b.measured)))
    # a seed missing at alpha=max is left out of the pairs
    s2 = s[~((s["activation"] == "tanh") & (s["alpha"] == 100.0) & (s["seed"] == 2))]
    assert _get(S.claims(s2, P), f"grad_per_error_drop{TAG}").n == len(SEEDS) - 1


# --- learning stalls -----------------------------------------------------------------------


@pytest.mark.parametrize("left,verdict", [((0.1, 0.95), Verdict.REPRODUCED),
                                          ((0.1, 0.1 + T.stall_gap), Verdict.PARTLY),
                                          ((0.1, 0.1), Verdict.NOT_REPRODUCED),  # no effect
                                          ((0.5, 0.1), Verdict.NOT_REPRODUCED)])
def test_learning_stalls(left, verdict):
    c = _get(S.claims(_summary(left={"tanh": left}), P), f"learning_stalls{TAG}")
    assert c.verdict is verdict, c


@pytest.mark.parametrize("tanh_left,relu_left,verdict", [
    ((0.1, 0.95), (0.1, 0.1), Verdict.REPRODUCED),
    ((0.1, 0.1), (0.1, 0.95), Verdict.NOT_REPRODUCED),
    ((0.1, 0.5), (0.1, 0.5), Verdict.PARTLY)])  # the same stall for relu: never reproduced
def test_learning_stalls_vs_relu(tanh_left, relu_left, verdict):
    c = _get(S.claims(_summary(left={"tanh": tanh_left, "relu": relu_left}), P),
             f"learning_stalls_vs_relu{TAG}")
    assert c.verdict is verdict, c


def test_diverged_seeds_have_no_final_loss_and_are_left_out():
    div = {("relu", 100.0, s) for s in (0, 1, 2)} | {("tanh", 100.0, 5)}
    cl = S.claims(_summary(left={"relu": (0.1, 0.1)}, diverged=div), P)
    c = _get(cl, f"learning_stalls{TAG}")
    assert c.n == len(SEEDS) - 1 and "1 non-finite" in c.detail
    c = _get(cl, f"learning_stalls_vs_relu{TAG}")
    assert c.n == len(SEEDS) - 4
    # the gradient at init is measured before any update: diverged runs still count there
    assert _get(cl, f"grad_per_error_vs_relu{TAG}").n == len(SEEDS)


# --- end to end ----------------------------------------------------------------------------


def test_smoke_end_to_end(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("-m", "experiment=saturation", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["saturation"]
    params = resolve_params(S.Params, load_run_records(out).get("saturation", {}), table)
    summary = S.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["activation", "alpha", "seed"]))
    assert (summary["in_dim"] == 16).all()
    claims = run_claims(S.EXPERIMENT, table, params)
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims), claims
    assert S.EXPERIMENT.draw(table, params)
