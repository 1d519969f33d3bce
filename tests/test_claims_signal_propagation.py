"""signal_propagation's claims on hand-built summaries driven to each verdict, summarize on a
synthetic raw table, and a smoke run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from actlab.activations import get_activation
from actlab.claims import Verdict
from actlab.meanfield import chi1
from actlab.results import load_results
from experiments import signal_propagation as sp
from tests.helpers import compose

SEEDS = range(6)
POINTS = [("tanh", 1.5, 0.0), ("tanh", 1.0, 0.3), ("relu", 1.0, 0.0), ("sigmoid", 1.0, 0.0)]


def _summary(err_of, unconverged=("tanh", 1.0, 0.0)) -> pd.DataFrame:
    """err_of(width, seed) -> the relative error of every converged point of that seed (with a
    little per-point noise); one unconverged point whose error is huge (must be ignored)."""
    rng = np.random.default_rng(0)
    rows = []
    for width in (128, 1024):
        for seed in SEEDS:
            for pt in [*POINTS, unconverged]:
                conv = pt != unconverged
                err = err_of(width, seed) * (1 + 0.1 * rng.standard_normal()) if conv else 0.8
                theory = 1.3
                rows.append({"activation": pt[0], "weight_scale": pt[1], "bias_scale": pt[2],
                             "width": width, "depth": 30, "seed": seed, "status": "ok",
                             "chi1_measured": theory * (1 + err), "chi1_theory": theory,
                             "chi1_layer_theory": theory, "q_star": 1.0, "q_mid": 1.0,
                             "converged": conv, "rel_error": abs(err)})
    return pd.DataFrame(rows)


def _claims(summary) -> dict:
    return {c.claim.split("[")[0]: c for c in sp.claims(summary, sp.Params())}


def _seed_noise(seed: int, spread: float) -> float:
    return math.exp(spread * np.random.default_rng(100 + seed).standard_normal())


@pytest.mark.parametrize("center,spread,verdict", [
    (0.005, 0.3, Verdict.REPRODUCED),
    (0.03, 0.3, Verdict.PARTLY),        # the interval straddles the tolerance
    (0.10, 0.2, Verdict.NOT_REPRODUCED),  # theory off by 10%: no match
])
def test_chi1_matches_theory(center, spread, verdict):
    c = _claims(_summary(lambda w, s: (center if w == 1024 else 0.05) * _seed_noise(s, spread)))
    m = c["chi1_matches_theory"]
    assert m.claim == "chi1_matches_theory[width=1024]"
    assert m.verdict is verdict and m.n == 6
    assert "4 converged of 5 grid points" in m.detail  # the unconverged point is left out


def test_chi1_matches_theory_counts_a_seed_with_a_non_finite_point():
    s = _summary(lambda w, s: 0.005 * _seed_noise(s, 0.3))
    s.loc[(s["seed"] == 2) & (s["width"] == 1024) & (s["activation"] == "relu"),
          "rel_error"] = np.nan
    m = _claims(s)["chi1_matches_theory"]
    assert m.n == 5 and "1 non-finite" in m.detail


@pytest.mark.parametrize("ratio,spread,verdict", [
    (0.25, 0.3, Verdict.REPRODUCED),
    (1.0, 0.02, Verdict.PARTLY),        # the effect shrunk to zero: never reproduced
    (2.0, 0.2, Verdict.NOT_REPRODUCED),
])
def test_error_shrinks_with_width(ratio, spread, verdict):
    c = _claims(_summary(lambda w, s: 0.04 * (ratio if w == 1024 else 1.0) * _seed_noise(s, spread)
                         * (_seed_noise(s + 50, spread) if w == 1024 else 1.0)))
    e = c["error_shrinks_with_width"]
    assert e.claim == "error_shrinks_with_width[1024/128]"
    assert e.verdict is verdict and e.n == 6


def test_zero_effect_is_not_reproduced_even_with_more_noise():
    c = _claims(_summary(lambda w, s: 0.04 * _seed_noise(s + (50 if w == 1024 else 0), 0.4)))
    assert c["error_shrinks_with_width"].verdict is not Verdict.REPRODUCED


def test_no_converged_points_and_one_width_are_no_data():
    s = _summary(lambda w, s: 0.01)
    assert _claims(s.assign(converged=False))["chi1_matches_theory"].verdict is Verdict.NO_DATA
    c = _claims(s[s["width"] == 1024])
    assert c["chi1_matches_theory"].verdict is Verdict.REPRODUCED
    assert c["error_shrinks_with_width"].verdict is Verdict.NO_DATA


def test_run_seeds_measures_each_seed_and_the_theory_is_computed():
    cfg = compose(["experiment=signal_propagation", "scale=smoke", "activation=tanh",
                   "model.width=64", "model.weight_scale=1.5", "model.depth=12",
                   "out_dir=/tmp/unused"])
    res = sp.run_seeds(cfg, torch.device("cpu"), [0, 1])
    rows = {s: {r["metric"]: r["value"] for r in res[s].rows if r["layer"] is None} for s in (0, 1)}
    assert rows[0]["chi1_measured"] != rows[1]["chi1_measured"]  # different networks
    assert rows[0]["chi1_theory"] == rows[1]["chi1_theory"]
    # the fixed point's chi_1 agrees with chi1() from the default start (a unique fixed point)
    assert rows[0]["chi1_theory"] == pytest.approx(chi1(get_activation("tanh"), 1.5, 0.0), rel=1e-6)
    assert sum(r["metric"] == "delta_rms" for r in res[0].rows) == 12


def _raw(seed: int, width: int, measured: float, q_mid: float, act="tanh") -> list[dict]:
    common = {"run_id": f"{act}_w{width}_seed{seed}", "activation": act, "weight_scale": 1.5,
              "bias_scale": 0.0, "width": width, "depth": 30, "seed": seed, "status": "ok",
              "step": 0, "layer": np.nan}
    values = {"chi1_measured": measured, "chi1_theory": 1.2, "chi1_layer_theory": 1.2,
              "q_star": 0.8, "q_mid": q_mid, "chi_depends_on_q": 1.0, "loss": 1.0}
    return [{**common, "metric": m, "value": v} for m, v in values.items()] + \
        [{**common, "layer": 1, "metric": "delta_rms", "value": 0.1}]


def test_summarize_decides_convergence_from_the_theory():
    table = pd.DataFrame(_raw(0, 1024, 1.206, 0.8) + _raw(1, 1024, 1.194, 0.8)
                         + _raw(0, 128, 1.3, 0.8) + _raw(1, 128, 1.1, 0.8)
                         + _raw(0, 1024, 2.0, 0.9, act="gelu"))  # q_mid 12% off q*: not converged
    s = sp.summarize(table, sp.Params())
    assert len(s) == 5
    assert s.set_index(["activation", "width", "seed"])["rel_error"][
        ("tanh", 1024, 0)] == pytest.approx(0.005)
    assert not s[s["activation"] == "gelu"]["converged"].any()
    c = _claims(s)
    assert c["chi1_matches_theory"].measured == pytest.approx(0.005)
    assert c["error_shrinks_with_width"].measured == pytest.approx(0.005 / (0.1 / 1.2))


def test_smoke_run_end_to_end(cli_here, tmp_path):
    r = cli_here("-m", "experiment=signal_propagation", "scale=smoke", "activation=relu,tanh",
            "model.weight_scale=1.5", "seed=0,1", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = load_results(tmp_path)["signal_propagation"]
    claims = sp.claims(sp.summarize(table, sp.Params()), sp.Params())
    assert {c.claim for c in claims} == {"chi1_matches_theory[width=64]",
                                         "error_shrinks_with_width[64/32]"}
    assert all(c.verdict not in (Verdict.ERROR, Verdict.NO_DATA) and c.n == 2 for c in claims)
