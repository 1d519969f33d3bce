"""gradient_flow's claims on hand-built summaries driven to each verdict, on a synthetic raw
table passed through summarize, and on a smoke run."""

import math

import numpy as np
import pandas as pd
import pytest

from actlab.claims import Verdict
from actlab.results import load_results
from experiments import gradient_flow as gf

SEEDS = range(6)
HE = math.sqrt(2.0)


def _rows(activation: str, s: float, values, depth: int = 20, slope=np.nan,
          col: str = "grad_ratio") -> list[dict]:
    return [{"activation": activation, "slope": slope, "init": "orthogonal", "weight_scale": s,
             "depth": depth, "width": 64, "seed": seed, "status": "ok", "diverged": False,
             "delta_growth": np.nan, "grad_ratio": np.nan, "n_layers": depth, col: v}
            for seed, v in zip(SEEDS, values)]


def _noisy(center: float, spread: float, seed: int = 0) -> np.ndarray:
    """Six values, log-normal around center with the given multiplicative spread."""
    return center * np.exp(spread * np.random.default_rng(seed).standard_normal(len(SEEDS)))


def _claims(rows: list[dict]) -> dict:
    return {c.claim: c for c in gf.claims(pd.DataFrame(rows), gf.Params())}


# exploding_growth (math): every run's fitted growth equals s*a, read from the table's columns


def _linear(growth_of) -> list[dict]:
    rows = []
    for s in (0.7, 1.0):
        for depth in (5, 20):
            rows += _rows("linear", s, [growth_of(s * 1.8, seed) for seed in SEEDS], depth=depth,
                          slope=1.8, col="delta_growth")
    return rows


def test_exploding_growth_passes_at_s_times_a():
    c = _claims(_linear(lambda sa, seed: sa * (1 + 1e-7 * seed)))
    for cid in ("exploding_growth[a=1.8,s=0.7]", "exploding_growth[a=1.8,s=1]"):
        assert c[cid].verdict is Verdict.PASS and c[cid].n == 12
    assert c["exploding_growth[a=1.8,s=0.7]"].measured == pytest.approx(1.26, rel=1e-6)


def test_exploding_growth_fails_when_one_run_is_off():
    c = _claims(_linear(lambda sa, seed: sa * (1.05 if (sa == 1.26 and seed == 3) else 1.0)))
    assert c["exploding_growth[a=1.8,s=0.7]"].verdict is Verdict.FAIL
    assert c["exploding_growth[a=1.8,s=0.7]"].measured == pytest.approx(1.26 * 1.05)
    assert c["exploding_growth[a=1.8,s=1]"].verdict is Verdict.PASS


def test_exploding_growth_fails_on_the_slope_alone():
    c = _claims(_linear(lambda sa, seed: 1.8))  # a instead of s*a
    assert c["exploding_growth[a=1.8,s=0.7]"].verdict is Verdict.FAIL


def test_exploding_growth_fails_without_a_finite_growth():
    c = _claims(_linear(lambda sa, seed: np.nan if seed == 0 else sa))
    assert c["exploding_growth[a=1.8,s=1]"].verdict is Verdict.FAIL


# vanishing_sigmoid (empirical, below 1e-2 on the geometric mean over seeds)


@pytest.mark.parametrize("center,verdict", [
    (1e-8, Verdict.REPRODUCED),
    (1e-2, Verdict.PARTLY),  # the interval straddles the threshold
    (1.0, Verdict.NOT_REPRODUCED),  # no vanishing at all: the effect shrunk to zero
    (1e-1, Verdict.NOT_REPRODUCED),
])
def test_vanishing_sigmoid(center, verdict):
    rows = (_rows("sigmoid", 1.0, _noisy(center, 0.5))
            + _rows("sigmoid", 1.0, _noisy(1.0, 0.5), depth=5))
    c = _claims(rows)
    assert c["vanishing_sigmoid[depth=20,s=1]"].verdict is verdict  # the deepest depth is judged
    assert c["vanishing_sigmoid[depth=20,s=1]"].n == 6


def test_vanishing_sigmoid_one_claim_per_scale_and_a_diverged_seed_counts():
    rows = _rows("sigmoid", 0.7, _noisy(1e-9, 0.3)) + _rows("sigmoid", HE, _noisy(1e-5, 0.3))
    rows[0]["status"], rows[0]["diverged"] = "diverged", True  # measured at init: still counted
    c = _claims(rows)
    assert c["vanishing_sigmoid[depth=20,s=0.7]"].n == 6
    assert c[f"vanishing_sigmoid[depth=20,s={HE:g}]"].verdict is Verdict.REPRODUCED


# relu_he_preserved (empirical, within [1/10, 10] at s = sqrt 2)


@pytest.mark.parametrize("center,spread,verdict", [
    (1.0, 0.3, Verdict.REPRODUCED),
    (10.0, 0.5, Verdict.PARTLY),
    (1e-4, 0.3, Verdict.NOT_REPRODUCED),  # vanishing like an ordered net: no preservation
    (1e3, 0.3, Verdict.NOT_REPRODUCED),
])
def test_relu_he_preserved(center, spread, verdict):
    rows = _rows("relu", HE, _noisy(center, spread)) + _rows("relu", 0.7, _noisy(1e-6, 0.3))
    c = _claims(rows)
    assert c["relu_he_preserved[depth=20]"].verdict is verdict


def test_no_runs_is_no_data():
    c = _claims(_rows("tanh", 1.0, _noisy(1.0, 0.1)))
    assert c["exploding_growth"].verdict is Verdict.NO_DATA
    assert c["vanishing_sigmoid"].verdict is Verdict.NO_DATA
    assert c["relu_he_preserved"].verdict is Verdict.NO_DATA


# summarize on a synthetic raw table


def _raw(s: float, a: float, depth: int, seed: int, factor: float = 1.0) -> list[dict]:
    """One linear run's step-0 rows: delta_rms grows by s*a*factor per layer towards the input."""
    run = f"lin_s{s}_d{depth}_seed{seed}"
    common = {"run_id": run, "activation": "linear", "slope": a, "init": "orthogonal",
              "weight_scale": s, "depth": depth, "width": 16, "seed": seed, "status": "ok",
              "step": 0}
    rows = [{**common, "layer": np.nan, "metric": "loss", "value": 1.0}]
    for layer in range(1, depth + 2):
        rows.append({**common, "layer": layer, "metric": "delta_rms",
                     "value": 0.3 * (s * a * factor) ** (depth - layer)})
        rows.append({**common, "layer": layer, "metric": "grad_norm",
                     "value": 2.0 if layer == 1 else 1.0})
    return rows


def test_summarize_fits_the_growth_per_run():
    table = pd.DataFrame([r for seed in (0, 1) for r in _raw(0.7, 1.8, 6, seed)])
    s = gf.summarize(table, gf.Params())
    assert len(s) == 2 and list(s["seed"]) == [0, 1]
    assert s["delta_growth"].to_numpy() == pytest.approx(1.26, rel=1e-12)
    assert s["grad_ratio"].to_numpy() == pytest.approx(2.0)
    assert _claims(s.to_dict("records"))["exploding_growth[a=1.8,s=0.7]"].verdict is Verdict.PASS
    bad = pd.DataFrame(_raw(0.7, 1.8, 6, 0) + _raw(0.7, 1.8, 6, 1, factor=1.02))
    assert _claims(gf.summarize(bad, gf.Params()).to_dict("records"))[
        "exploding_growth[a=1.8,s=0.7]"].verdict is Verdict.FAIL


def test_smoke_run_end_to_end(cli_here, tmp_path):
    r = cli_here("-m", "experiment=gradient_flow", "scale=smoke", "activation=linear,sigmoid,relu",
            f"model.weight_scale={HE!r}", "model.depth=4", "seed=0,1", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = load_results(tmp_path)["gradient_flow"]
    claims = gf.claims(gf.summarize(table, gf.Params()), gf.Params())
    verdicts = {c.claim: c.verdict for c in claims}
    assert verdicts[f"exploding_growth[a=1.8,s={HE:g}]"] is Verdict.PASS
    assert set(verdicts) == {f"exploding_growth[a=1.8,s={HE:g}]",
                             f"vanishing_sigmoid[depth=4,s={HE:g}]", "relu_he_preserved[depth=4]"}
    assert Verdict.ERROR not in verdicts.values() and Verdict.NO_DATA not in verdicts.values()
