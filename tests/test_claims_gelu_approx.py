"""gelu_approx's claims on synthetic summaries (every reachable verdict), its references against
mpmath / dense evaluation, and its smoke run end to end."""

import math

import numpy as np
import pandas as pd
import pytest

from actlab.claims import Verdict, run_claims
from actlab.results import load_results, load_run_records, resolve_params
from experiments import gelu_approx as G

SEEDS = list(range(8))
P = G.Params()
H = 2 * P.z_max / (P.points - 1)


def _noise(sd: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(len(SEEDS))
    return sd * (z - z.mean()) / z.std(ddof=1) if sd > 0 else np.zeros(len(SEEDS))


def _summary(diff=(0.0, 0.0), sd=(0.001, 0.001), err_shift=0.0, at_shift=0.0, min_shift=0.0,
             min_at_shift=0.0, exact_loss=0.25, diverged=()) -> pd.DataFrame:
    """Per seed and form: exact final loss ~ exact_loss; tanh/sigmoid = exact + diff + noise.
    Grid measurements are the references (z on the negative side, as argmax may pick it),
    shifted by the given amounts."""
    zs, gs, _ = G.gelu_min_ref(P.z_max)
    base = exact_loss + _noise(0.02, 99)
    rows = []
    for form, d, s, k in (("none", 0.0, 0.0, 0), ("tanh", diff[0], sd[0], 1),
                          ("sigmoid", diff[1], sd[1], 2)):
        if form == "none":
            err, at = 0.0, -P.z_max
        else:
            err, at, _ = G.max_error_ref(form, P.z_max)
            err, at = err + err_shift, -at + at_shift
        losses = base + d + _noise(s, k)
        for i, seed in enumerate(SEEDS):
            div = (form, seed) in diverged
            rows.append({"approximate": form, "seed": seed, "status": "diverged" if div else "ok",
                         "diverged": div, "final_test_loss": np.nan if div else losses[i],
                         "max_abs_error": err, "max_abs_error_at": at, "gelu_min": gs + min_shift,
                         "gelu_min_at": zs + min_at_shift})
    return pd.DataFrame(rows)


def _get(claims, cid):
    (c,) = [c for c in claims if c.claim == cid]
    return c


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["tanh", "sigmoid"])
def test_max_error_reference_against_mpmath(form):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    c, a, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715"), mp.mpf("1.702")

    def err(z):
        z = mp.mpf(z)
        exact = z * (1 + mp.erf(z / mp.sqrt(2))) / 2
        approx = (z * (1 + mp.tanh(c * (z + a * z**3))) / 2 if form == "tanh"
                  else z / (1 + mp.exp(-k * z)))
        return approx - exact

    ref, z_ref, _ = G.max_error_ref(form, P.z_max)
    # the mpmath maximum near z_ref (a root of its numerical derivative) equals the reference
    # value and place
    zm = mp.findroot(lambda z: mp.diff(err, z), z_ref)
    assert abs(float(zm) - z_ref) < 1e-9
    assert abs(float(abs(err(zm))) - ref) < 1e-13
    # and no other point of a dense grid goes higher
    z = np.linspace(-P.z_max, P.z_max, 200_001)
    assert np.abs(G.error_ref(form, z)).max() <= ref + 1e-15
    # published sizes: ~4.7e-4 (tanh), ~2.0e-2 (sigmoid)
    assert ref == pytest.approx({"tanh": 4.73e-4, "sigmoid": 2.03e-2}[form], rel=0.01)


def test_gelu_min_reference_is_an_interior_minimum():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    zs, gs, why = G.gelu_min_ref(P.z_max)
    assert not why
    z = mp.findroot(lambda t: mp.ncdf(t) + t * mp.npdf(t), -0.75)
    assert zs == pytest.approx(float(z), abs=1e-12)
    assert gs == pytest.approx(float(z * mp.ncdf(z)), abs=1e-14) and gs < 0
    # the derivative changes sign there; tanh (also negative somewhere) has no such point
    assert G.gelu_ref_d(zs - 1e-3) < 0 < G.gelu_ref_d(zs + 1e-3)
    assert G.gelu_min_ref(0.5)[2]  # no interior minimum on [-0.5, 0.5]


# --- max_abs_error -------------------------------------------------------------------------


def test_max_abs_error_passes_on_the_reference():
    cl = G.claims(_summary(), P)
    for form in ("tanh", "sigmoid"):
        c = _get(cl, f"max_abs_error[{form}]")
        assert c.verdict is Verdict.PASS and c.n == len(SEEDS), c


def test_max_abs_error_location_on_either_side_passes():
    s = _summary()
    s["max_abs_error_at"] = s["max_abs_error_at"].abs()  # the error is even: +z* is as good
    assert _get(G.claims(s, P), "max_abs_error[tanh]").verdict is Verdict.PASS


@pytest.mark.parametrize("kw", [{"err_shift": 1e-7}, {"err_shift": -1e-7}, {"at_shift": 0.01}])
def test_max_abs_error_fails_when_value_or_place_is_off(kw):
    cl = G.claims(_summary(**kw), P)
    assert _get(cl, "max_abs_error[tanh]").verdict is Verdict.FAIL
    assert _get(cl, "max_abs_error[sigmoid]").verdict is Verdict.FAIL


def test_max_abs_error_of_another_grid_fails():
    # the run's own curve on a coarser grid (the self-comparison would pass any grid)
    s = _summary()
    z = np.linspace(-P.z_max, P.z_max, 1201)
    e = np.abs(G.error_ref("sigmoid", z))
    s.loc[s["approximate"] == "sigmoid", "max_abs_error"] = e.max()
    s.loc[s["approximate"] == "sigmoid", "max_abs_error_at"] = z[e.argmax()]
    assert _get(G.claims(s, P), "max_abs_error[sigmoid]").verdict is Verdict.FAIL


# --- gelu_min ------------------------------------------------------------------------------


def test_gelu_min_passes_on_the_interior_minimum():
    c = _get(G.claims(_summary(), P), "gelu_min")
    assert c.verdict is Verdict.PASS and c.n == 3 * len(SEEDS)


@pytest.mark.parametrize("kw", [{"min_shift": -0.83},  # tanh's minimum on [-6, 6]: negative, wrong
                                {"min_shift": 1e-6}, {"min_at_shift": 0.01}])
def test_gelu_min_fails_for_any_other_negative_value_or_place(kw):
    assert _get(G.claims(_summary(**kw), P), "gelu_min").verdict is Verdict.FAIL


def test_gelu_min_has_no_data_when_the_interval_has_no_interior_minimum():
    # never a pass (the recorded "minimum" is the end of the range), and not a failed theorem
    # either: the range does not reach the minimum, so nothing could be checked (verify still
    # exits 1 on a math claim without data beyond smoke scale)
    p = G.Params(z_max=0.5, points=10001)
    s = _summary()
    s["gelu_min"], s["gelu_min_at"] = -0.5 * 0.3085, -0.5  # the end of [-0.5, 0.5]
    c = _get(G.claims(s, p), "gelu_min")
    assert c.verdict is Verdict.NO_DATA and "sign" in c.detail and "z_max" in c.detail


# --- same_training -------------------------------------------------------------------------


def test_same_training_reproduced_when_the_paired_difference_is_small():
    c = _get(G.claims(_summary(diff=(0.0, 0.001), sd=(0.001, 0.001)), P), "same_training[tanh]")
    assert c.verdict is Verdict.REPRODUCED and c.n == len(SEEDS)
    assert "TOST" in c.rule


def test_same_training_not_reproduced_when_the_loss_differs():
    c = _get(G.claims(_summary(diff=(0.05, 0.05)), P), "same_training[sigmoid]")
    assert c.verdict is Verdict.NOT_REPRODUCED


def test_same_training_partly_at_the_margin():
    margin = G.THRESHOLDS.same_loss_fraction * 0.25
    c = _get(G.claims(_summary(diff=(margin, margin), sd=(0.004, 0.004)), P), "same_training[tanh]")
    assert c.verdict is Verdict.PARTLY


def test_same_training_noise_alone_is_not_reproduced():
    # mean difference 0 but seed noise far larger than the margin: no evidence of equivalence
    c = _get(G.claims(_summary(diff=(0.0, 0.0), sd=(0.05, 0.05)), P), "same_training[tanh]")
    assert c.verdict is not Verdict.REPRODUCED
    assert c.ci_low < 0 < c.ci_high


def test_same_training_pairs_by_seed_id_and_drops_diverged_seeds():
    s = _summary(diff=(0.001, 0.001))
    ref = _get(G.claims(s, P), "same_training[tanh]")
    shuffled = s.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert _get(G.claims(shuffled, P),
                "same_training[tanh]").measured == pytest.approx(ref.measured)
    dropped = _get(G.claims(_summary(diff=(0.001, 0.001), diverged={("tanh", 0), ("none", 1)}), P),
                   "same_training[tanh]")
    assert dropped.n == len(SEEDS) - 2 and "2 non-finite" in dropped.detail
    # a seed present on one side only is left out
    s2 = s[~((s["approximate"] == "none") & (s["seed"] == 7))]
    assert _get(G.claims(s2, P), "same_training[tanh]").n == len(SEEDS) - 1


def test_no_exact_runs_is_no_data():
    s = _summary()
    cl = G.claims(s[s["approximate"] != "none"], P)
    assert _get(cl, "same_training[tanh]").verdict is Verdict.NO_DATA


# --- end to end ----------------------------------------------------------------------------


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=gelu_approx", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["gelu_approx"]
    params = resolve_params(G.Params, load_run_records(out).get("gelu_approx", {}), table)
    summary = G.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["approximate", "seed"]))
    claims = run_claims(G.EXPERIMENT, table, params)
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims)
    assert all(c.verdict is Verdict.PASS for c in claims if c.kind.value == "math"), claims
    assert G.EXPERIMENT.draw(table, params)
    assert math.isfinite(summary["final_test_loss"].iloc[0])
