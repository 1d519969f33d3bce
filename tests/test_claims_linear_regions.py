"""linear_regions' claims on summaries built to reach each verdict, its summary of a hand-made raw
table, and the smoke config end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actlab.claims import Kind, Verdict
from actlab.results import load_results
from experiments import linear_regions as L

SEEDS = list(range(8))
DEPTHS = (1, 2, 4, 8, 16)
WIDTHS = (8, 16, 32, 64, 128)


def _row(**kw) -> dict:
    base = {c: np.nan for c in ["seed", *L.CONDITIONS, *L.SUMMARY_METRICS]}
    base["diverged"] = False
    return {**base, **kw}


def _noise(sd: float, seed: int, n: int = len(SEEDS)) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(n)
    return sd * (z - z.mean()) / z.std(ddof=1) if sd > 0 else np.zeros(n)


def _shape(per_neuron: float, sd: float = 0.05, in_dim: int = 1, total: int = 64) -> list[dict]:
    """Depth sweep at fixed total neurons: pieces = per_neuron x neurons, per-seed noise (sd on the
    per-seed mean, exactly), the same at every depth so the per-seed mean over depths is known."""
    eps = _noise(sd, 1)
    return [_row(seed=s, construction="random", sweep="shape", phase="init", depth=d,
                 width=total // d, neurons=total, input_dim=in_dim,
                 pieces=(per_neuron + eps[i]) * total,
                 pieces_merged=(per_neuron + eps[i]) * total)
            for i, s in enumerate(SEEDS) for d in DEPTHS]


def _neurons(slope: float, sd: float = 0.02, in_dim: int = 1) -> list[dict]:
    """Width sweep at depth 3: pieces = 2 x neurons^slope_s, slope_s = slope + noise per seed."""
    slopes = slope + _noise(sd, 2)
    return [_row(seed=s, construction="random", sweep="neurons", phase="init", depth=3, width=w,
                 neurons=3 * w, input_dim=in_dim, pieces=2.0 * (3 * w) ** slopes[i],
                 pieces_merged=2.0 * (3 * w) ** slopes[i])
            for i, s in enumerate(SEEDS) for w in WIDTHS]


def _tent(wrong_at: int | None = None) -> list[dict]:
    return [_row(seed=0, construction="tent", phase="init", depth=k, width=2, neurons=2 * k,
                 input_dim=1, pieces=2 ** k - (k == wrong_at), pieces_merged=2 ** k)
            for k in range(1, 11)]


def _flat(tanh_flat=0.0, curved=99, kinks=54) -> list[dict]:
    common = {"seed": 0, "phase": "init", "depth": 4, "width": 16, "neurons": 64, "input_dim": 1,
              "grid_steps": 1999}
    return [_row(construction="tanh", flat_fraction=tanh_flat, curved_steps=1999 * (1 - tanh_flat),
                 **common),
            _row(construction="relu_control", flat_fraction=1 - curved / 1999, curved_steps=curved,
                 pieces_merged=kinks + 1, **common)]


def _sampled(excess=0) -> list[dict]:
    return [_row(seed=0, construction="random", sweep="shape", phase="init", depth=d, width=64 // d,
                 neurons=64, input_dim=1, pieces=50, pieces_merged=50,
                 sampled=50 + (excess if d == 4 else 0))
            for d in DEPTHS]


def _map(excess=0) -> list[dict]:
    return [_row(seed=0, construction="map", phase="trained", x2=y, map_line_pieces_exact=15,
                 map_line_pieces_sampled=13 + (excess if i == 2 else 0))
            for i, y in enumerate((-1.0, -0.5, 0.0, 0.5, 1.0))]


def _claim(rows, cid):
    found = [c for c in L.claims(pd.DataFrame(rows), L.Params()) if c.claim == cid]
    assert len(found) == 1, (cid, [c.claim for c in L.claims(pd.DataFrame(rows), L.Params())])
    return found[0]


def test_thresholds_are_not_run_params():
    assert "per_neuron_range" not in L.Params.__dataclass_fields__
    lo, hi = L.THRESHOLDS.per_neuron
    assert lo < 1 < hi


# -- math claims: pass and fail


@pytest.mark.parametrize("wrong_at,verdict", [(None, Verdict.PASS), (7, Verdict.FAIL)])
def test_tent(wrong_at, verdict):
    c = _claim(_tent(wrong_at), "tent_2_to_the_k")
    assert c.kind is Kind.MATH and c.verdict is verdict and c.n == 10


def test_tent_merged_count_checked_too():
    rows = _tent()
    rows[3]["pieces_merged"] = 15
    assert _claim(rows, "tent_2_to_the_k").verdict is Verdict.FAIL


@pytest.mark.parametrize("flat,verdict", [(0.0, Verdict.PASS), (0.02, Verdict.FAIL)])
def test_tanh_no_linear_pieces(flat, verdict):
    assert _claim(_flat(tanh_flat=flat), "tanh_no_linear_pieces").verdict is verdict


@pytest.mark.parametrize("curved,kinks,verdict", [
    (99, 54, Verdict.PASS),
    (150, 54, Verdict.FAIL),  # curvature where the relu net is linear: round-off above the cut
    (0, 54, Verdict.FAIL),  # blind: sees no kink
])
def test_flat_detector_control(curved, kinks, verdict):
    assert _claim(_flat(curved=curved, kinks=kinks), "flat_detector_control").verdict is verdict


@pytest.mark.parametrize("excess,verdict",
                         [(0, Verdict.PASS), (-3, Verdict.PASS), (1, Verdict.FAIL)])
def test_sampling_agrees(excess, verdict):
    c = _claim(_sampled(excess), "sampling_agrees")
    assert c.verdict is verdict and c.n == len(DEPTHS)


@pytest.mark.parametrize("excess,verdict",
                         [(0, Verdict.PASS), (2, Verdict.PASS), (3, Verdict.FAIL)])
def test_map_rows_vs_exact(excess, verdict):
    assert _claim(_map(excess), "map_rows_vs_exact").verdict is verdict


def test_math_claims_without_rows_have_no_data():
    cs = {c.claim: c for c in L.claims(pd.DataFrame(_shape(0.8)), L.Params())}
    for cid in ("tent_2_to_the_k", "tanh_no_linear_pieces", "flat_detector_control",
                "sampling_agrees", "map_rows_vs_exact"):
        assert cs[cid].verdict is Verdict.NO_DATA


# -- random_per_neuron: per seed the mean over depths, within THRESHOLDS.per_neuron


@pytest.mark.parametrize("per,sd,verdict", [
    (0.8, 0.05, Verdict.REPRODUCED),
    (4.0, 0.5, Verdict.PARTLY),  # straddles the upper end
    (20.0, 1.0, Verdict.NOT_REPRODUCED),  # far more pieces than neurons
    (0.02, 0.005, Verdict.NOT_REPRODUCED),  # effect shrunk to zero: almost no pieces
])
def test_random_per_neuron(per, sd, verdict):
    c = _claim(_shape(per, sd), "random_per_neuron[input_dim=1]")
    assert c.verdict is verdict
    assert c.n == len(SEEDS)  # seeds, not seeds x depths
    assert c.measured == pytest.approx(per)


def test_random_per_neuron_one_claim_per_input_dim():
    rows = _shape(0.8) + _shape(0.6, in_dim=8)
    cs = [c for c in L.claims(pd.DataFrame(rows), L.Params())
          if c.claim.startswith("random_per_neuron")]
    assert sorted(c.claim for c in cs) == ["random_per_neuron[input_dim=1]",
                                           "random_per_neuron[input_dim=8]"]


# -- pieces_grow_linearly_in_neurons: per-seed log-log slope, within THRESHOLDS.linear_slope


@pytest.mark.parametrize("slope,sd,verdict", [
    (1.0, 0.05, Verdict.REPRODUCED),
    (1.25, 0.1, Verdict.PARTLY),
    (2.0, 0.05, Verdict.NOT_REPRODUCED),  # quadratic
    (0.5, 0.05, Verdict.NOT_REPRODUCED),  # square root
    (0.0, 0.02, Verdict.NOT_REPRODUCED),  # effect zero: no growth
])
def test_pieces_grow_linearly(slope, sd, verdict):
    c = _claim(_neurons(slope, sd), "pieces_grow_linearly_in_neurons[input_dim=1]")
    assert c.verdict is verdict
    assert c.n == len(SEEDS)
    assert c.measured == pytest.approx(slope, abs=1e-9)


# -- summarize: one row per seed per condition from a raw table


def test_summarize_raw_table():
    rows = []
    common = {"step": 0, "layer": None, "run_id": "r0", "status": "ok"}
    for seed in (0, 1):
        for d in (1, 4):
            cond = {"construction": "random", "sweep": "shape", "phase": "init", "depth": d,
                    "width": 64 // d, "neurons": 64, "input_dim": 1, "seed": 100_000 + seed}
            extra = {"sampled": 40.0} if seed == 0 else {}
            rows += [{**common, **cond, **extra, "metric": "pieces", "value": 41.0 + d},
                     {**common, **cond, **extra, "metric": "pieces_merged", "value": 41.0 + d}]
    rows += [{**common, "construction": "tent", "phase": "init", "depth": 2, "width": 2,
              "neurons": 4, "input_dim": 1, "seed": 1, "metric": m, "value": 4}
             for m in ("pieces", "pieces_merged")]
    rows += [{**common, "construction": "map", "phase": "trained", "x2": y, "seed": 1, "metric": m,
              "value": v}
             for y in (0.0, 0.5)
             for m, v in (("map_line_pieces_exact", 9), ("map_line_pieces_sampled", 8))]
    rows += [{**common, "construction": "map", "phase": "trained", "metric": "region_id",
              "value": 3, "x1": 0.0, "x2": 0.0, "seed": 1}]
    s = L.summarize(pd.DataFrame(rows), L.Params())
    assert len(s) == 4 + 1 + 2
    assert s["seed"].dtype.kind == "i"
    rnd = s[s["construction"] == "random"].set_index(["seed", "depth"])
    assert rnd.loc[(100_000, 4), "sampled"] == 40 and np.isnan(rnd.loc[(100_001, 4), "sampled"])
    assert rnd.loc[(100_001, 4), "pieces"] == 45
    assert not s["diverged"].any()
    out = {c.claim: c for c in L.claims(s, L.Params())}
    assert (out["sampling_agrees"].verdict is Verdict.PASS
            and out["sampling_agrees"].n == 2)  # 40 <= 42, 45
    assert out["tent_2_to_the_k"].verdict is Verdict.PASS
    assert out["map_rows_vs_exact"].verdict is Verdict.PASS and out["map_rows_vs_exact"].n == 2
    assert out["random_per_neuron[input_dim=1]"].n == 2


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=linear_regions", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["linear_regions"]
    summary = L.summarize(table, L.Params())
    assert len(summary) == len(summary.drop_duplicates(["seed", *L.CONDITIONS]))
    claims = L.claims(summary, L.Params())
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims)
    math = [c for c in claims if c.kind is Kind.MATH]
    assert len(math) == 5 and all(c.verdict is Verdict.PASS for c in math), math
    assert L.EXPERIMENT.draw(table, L.Params())
