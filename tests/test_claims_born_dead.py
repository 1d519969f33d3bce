"""born_dead: the exact depth-2 probability and the proven bounds checked by methods of their own
(enumeration, an independent numpy Monte Carlo), every claim driven to each reachable verdict
from synthetic count tables, and the smoke grid end to end."""

import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from actlab.claims import Verdict, clopper_pearson, run_claims
from actlab.results import load_results, load_run_records, resolve_params
from experiments import born_dead as B

# ---------------------------------------------------------------------------------------------
# theory, checked without the experiment's code


def enumerate_depth2(w: int) -> float:
    """Sum over the sign pattern of the first layer's w weights (each positive w.p. 1/2): with m
    positive, the x > 0 side is nonzero iff m > 0 and the x < 0 side iff m < w; each nonzero side
    dies at layer 2 iff all w units' (symmetric, independent) pre-activations are <= 0."""
    total = 0.0
    for signs in product([0, 1], repeat=w):
        m = sum(signs)
        alive_sides = (m > 0) + (m < w)
        total += 0.5**w * (0.5**w) ** alive_sides
    return total


@pytest.mark.parametrize("w", [1, 2, 3, 4, 5, 8])
def test_exact_depth2_matches_enumeration(w):
    assert B.exact_depth2(w) == pytest.approx(enumerate_depth2(w), rel=1e-12)
    assert B.lower_bound(2, w) <= B.exact_depth2(w) <= B.upper_bound(2, w)


@pytest.mark.parametrize("w", [1, 2, 3])
def test_exact_depth2_matches_an_independent_monte_carlo(w):
    """numpy, not the experiment's torch code: random depth-2 nets evaluated on a grid."""
    rng = np.random.default_rng(w)
    n = 200_000
    x = np.linspace(-1.0, 1.0, 9)
    w1 = rng.normal(0, math.sqrt(2.0), (n, w))
    w2 = rng.normal(0, math.sqrt(2.0 / w), (n, w, w))
    h1 = np.maximum(x[None, :, None] * w1[:, None, :], 0)  # (n, grid, w)
    h2 = np.maximum(np.einsum("ngi,nij->ngj", h1, w2), 0)
    k = int(((h2.max(1) - h2.min(1)).max(-1) == 0).sum())
    lo, hi = clopper_pearson(k, n, 0.999)
    assert lo <= B.exact_depth2(w) <= hi


def test_the_experiment_code_hits_the_exact_value_and_the_bounds():
    gen = torch.Generator().manual_seed(7)
    n = 20_000
    k = B.constant_fraction(2, 2, "he", n, 0.0, 1.0, 11, gen)
    lo, hi = clopper_pearson(k, n, 0.999)
    assert lo <= B.exact_depth2(2) <= hi and hi < B.upper_bound(2, 2)  # the bound is loose here
    k = B.constant_fraction(8, 2, "he", 4000, 0.0, 1.0, 11, gen)
    lo, hi = clopper_pearson(k, 4000, 0.999)
    assert lo <= B.upper_bound(8, 2) and hi >= B.lower_bound(8, 2)


def test_bounds_tend_to_one_and_order():
    d = np.array([2, 5, 50, 500, 5000])
    for w in (2, 5, 10):
        lo, up = B.lower_bound(d, w), B.upper_bound(d, w)
        assert np.all(lo <= up) and np.all(np.diff(lo) >= 0) and np.all(np.diff(up) >= 0)
    assert B.lower_bound(5000, 3) > 0.99 and B.upper_bound(1, 4) == 0


def test_difference_interval_covers_at_its_level():
    """The Bonferroni-CP interval of p1 - p2 covers the true difference at least 95% of the time."""
    rng = np.random.default_rng(0)
    p1, p2, n = 0.3, 0.2, 200
    hits = 0
    for _ in range(400):
        k1, k2 = rng.binomial(n, p1), rng.binomial(n, p2)
        e = B.difference(int(k1), n, int(k2), n, 0.95)
        hits += e.lo <= p1 - p2 <= e.hi
    assert hits / 400 >= 0.95


def test_grid_mean_difference_is_a_normal_interval_on_summed_binomial_variances():
    pairs = pd.DataFrame({"dead_he": [50, 10], "samples_he": [100, 100], "dead_rai": [30, 10],
                          "samples_rai": [100, 100]})
    e = B.grid_mean_difference(pairs, 0.95)

    def var(k, n):
        p = (k + 1) / (n + 2)
        return p * (1 - p) / (n + 2)

    se = math.sqrt(var(50, 100) + var(30, 100) + var(10, 100) + var(10, 100)) / 2
    assert e.estimate == pytest.approx(0.1) and e.n == 2
    assert (e.lo, e.hi) == pytest.approx((0.1 - stats.norm.ppf(0.975) * se,
                                          0.1 + stats.norm.ppf(0.975) * se))


# ---------------------------------------------------------------------------------------------
# claims on synthetic count tables

WIDTHS, DEPTHS, N = [2, 4, 10], [2, 10, 50], 1000


def expected_p(width, depth):
    """A plausible truth inside the proven bounds (exact at depth 2)."""
    if depth == 2:
        return float(B.exact_depth2(width))
    return float(0.5 * (B.lower_bound(depth, width) + B.upper_bound(depth, width)))


def raw(counts: dict | None = None, samples: int = N, rai_factor: float = 0.5,
        biases=(0.0,)) -> pd.DataFrame:
    """A collected table (the run's rows): He counts at their plausible truth, RAI a fraction of
    them; `counts[(bias, init, width, depth)]` overrides a count."""
    counts = counts or {}
    rows = []
    for b, init, w, d in product(biases, B.INITS, WIDTHS, DEPTHS):
        p = expected_p(w, d) * (1.0 if init == "he" else rai_factor)
        k = counts.get((b, init, w, d), min(samples, int(round(p * samples))))
        for metric, value in (("born_dead_count", k), ("born_dead_probability", k / samples)):
            rows.append({"run_id": f"r{b}", "seed": 0, "bias_scale": b, "init": init, "width": w,
                         "depth": d, "samples": samples, "step": 0, "layer": None,
                         "metric": metric, "value": value, "status": "ok"})
    return pd.DataFrame(rows)


def claims_of(table):
    return B.claims(B.summarize(table, B.Params()), B.Params())


def get(claims, cid):
    found = [c for c in claims if c.claim == cid]
    assert len(found) == 1, [c.claim for c in claims]
    return found[0]


def test_summary_one_row_per_setting_with_theory_and_old_tables():
    s = B.summarize(raw(), B.Params())
    assert len(s) == 2 * len(WIDTHS) * len(DEPTHS) and s["seed"].eq(0).all()
    he = s[s["init"] == "he"]
    assert he["upper_bound"].notna().all() and s[s["init"] == "rai"]["upper_bound"].isna().all()
    assert he[he["depth"] == 2]["exact"].notna().all() and he[he["depth"] > 2]["exact"].isna().all()
    old = raw()
    old = old[old["metric"] == "born_dead_probability"]  # before counts were recorded
    assert B.summarize(old, B.Params())["dead"].tolist() == s["dead"].tolist()


def test_bounds_math_claims_pass_and_fail():
    cl = claims_of(raw())
    assert get(cl, "below_upper_bound").verdict is Verdict.PASS
    assert get(cl, "above_lower_bound").verdict is Verdict.PASS
    # width 4, depth 10: upper bound 0.44; 700 of 1000 is far above it
    assert get(claims_of(raw({(0.0, "he", 4, 10): 700})),
               "below_upper_bound").verdict is Verdict.FAIL
    # width 2, depth 50: lower bound 0.958; 800 of 1000 is far below it
    assert get(claims_of(raw({(0.0, "he", 2, 50): 800})),
               "above_lower_bound").verdict is Verdict.FAIL


def test_exact_depth2_pass_and_fail():
    cl = claims_of(raw())
    assert all(get(cl, f"exact_depth2[width={w}]").verdict is Verdict.PASS for w in WIDTHS)
    # the heuristic bound's value instead of the truth, with enough nets to tell them apart
    n = 20_000
    bad = raw({(0.0, "he", 2, 2): int(B.upper_bound(2, 2) * n)}, samples=n)
    c = get(claims_of(bad), "exact_depth2[width=2]")
    assert c.verdict is Verdict.FAIL and c.n == n


def test_rises_with_depth_every_verdict():
    cid = "rises_with_depth[width=2]"
    assert get(claims_of(raw()), cid).verdict is Verdict.REPRODUCED
    falling = raw({(0.0, "he", 2, 2): 600, (0.0, "he", 2, 50): 100})
    assert get(claims_of(falling), cid).verdict is Verdict.NOT_REPRODUCED
    flat_zero = raw({(0.0, "he", 2, 2): 0, (0.0, "he", 2, 50): 0})
    assert get(claims_of(flat_zero), cid).verdict is Verdict.PARTLY  # not evidence of a rise
    small = raw({(0.0, "he", 2, 2): 10, (0.0, "he", 2, 50): 14}, samples=50)
    assert get(claims_of(small), cid).verdict is Verdict.PARTLY


def test_near_one_every_verdict_and_only_where_the_bound_allows():
    cid = "near_one[width=2]"
    c = get(claims_of(raw({(0.0, "he", 2, 50): 1000})), cid)
    assert c.verdict is Verdict.REPRODUCED and c.n == N
    assert get(claims_of(raw({(0.0, "he", 2, 50): 905})), cid).verdict is Verdict.PARTLY
    # fewer samples do not pass more easily: a lone 10/10 is not enough
    assert get(claims_of(raw({(0.0, "he", 2, 50): 10}, samples=10)), cid).verdict is Verdict.PARTLY
    assert get(claims_of(raw({(0.0, "he", 2, 50): 500})), cid).verdict is Verdict.NOT_REPRODUCED
    assert get(claims_of(raw({(0.0, "he", 2, 50): 0})), cid).verdict is Verdict.NOT_REPRODUCED
    # width 10 at depth 50: the upper bound (0.047) rules "near one" out: no claim is made
    assert not [c for c in claims_of(raw()) if c.claim == "near_one[width=10]"]


def test_rai_lowers_every_verdict():
    cid = "rai_lowers[bias_scale=0]"
    c = get(claims_of(raw(rai_factor=0.5)), cid)
    assert c.verdict is Verdict.REPRODUCED and c.n == len(WIDTHS) * len(DEPTHS)
    assert get(claims_of(raw(rai_factor=1.5)), cid).verdict is Verdict.NOT_REPRODUCED
    assert get(claims_of(raw(rai_factor=1.0)), cid).verdict is Verdict.PARTLY  # no effect
    assert get(claims_of(raw(rai_factor=0.9, samples=20)), cid).verdict is Verdict.PARTLY
    two = claims_of(raw(biases=(0.0, 0.1)))
    assert get(two, "rai_lowers[bias_scale=0.1]").verdict is Verdict.REPRODUCED


def test_seeds_pool_their_networks():
    a, b = raw(), raw()
    b["seed"], b["run_id"] = 1, "other"
    s = B.summarize(pd.concat([a, b]), B.Params())
    assert len(s) == 2 * 2 * len(WIDTHS) * len(DEPTHS)
    assert get(B.claims(s, B.Params()), "exact_depth2[width=2]").n == 2 * N


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=born_dead", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["born_dead"]
    params = resolve_params(B.Params, load_run_records(out).get("born_dead", {}), table)
    summary = B.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["seed", "bias_scale", "init", "width",
                                                        "depth"]))
    claims = run_claims(B.EXPERIMENT, table, params)
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims), claims
    assert all(c.verdict is Verdict.PASS for c in claims if c.kind.value == "math"), claims
    assert {"below_upper_bound", "above_lower_bound",
            "exact_depth2[width=2]"} <= {c.claim for c in claims}
    assert B.EXPERIMENT.draw(table, params)
