"""output_constraint's claims on summaries built to reach each verdict, its summary of a hand-made
raw table (one definition of "dead" for every head), and the smoke grid end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actlab.claims import Verdict
from actlab.results import load_results
from experiments import output_constraint as O

SEEDS = list(range(8))
LRS = (0.01, 0.1, 0.3)


def _noise(n: int, sd: float, seed: int) -> np.ndarray:
    """Noise with mean exactly 0 and sd exactly `sd`, so each verdict is reached for sure."""
    z = np.random.default_rng(seed).standard_normal(n)
    return sd * (z - z.mean()) / z.std(ddof=1) if sd > 0 else np.zeros(n)


def _summary(bias: dict | None = None, dead: dict | None = None, noise: dict | None = None,
             seeds=SEEDS, lrs=LRS, over: dict | None = None) -> pd.DataFrame:
    """A summary as `summarize` returns it: head -> mean bias on zero targets (plus per-seed noise),
    head -> {(seed, lr): 1} dead runs; every other metric plausible."""
    bias = {"none": 0.12, "relu": 0.03, "softplus": 0.14, **(bias or {})}
    dead = dead or {}
    noise = noise or {}
    rows = []
    for h_i, head in enumerate(O.HEADS):
        eps = _noise(len(seeds), noise.get(head, 0.01), seed=h_i)
        for i, s in enumerate(seeds):
            for lr in lrs:
                d = float(dead.get(head, {}).get((s, lr), 0))
                rows.append({"seed": s, "head": head, "lr": lr, "diverged": False, "dead": d,
                             "zero_target_fraction": 0.6,
                             "negative_fraction": 0.15 if head == "none" else 0.0,
                             "zero_fraction": 0.5 if head == "relu" else 0.0,
                             "zero_hit_fraction": 0.8 if head == "relu" else 0.0,
                             "zero_target_bias": 0.0 if d else bias[head] + eps[i],
                             "positive_target_mse": 0.3,
                             "min_prediction": 0.0 if head == "relu" else
                             (1e-3 if head == "softplus" else -0.5),
                             "head_output_range": 0.0 if d else 1.0, "train_target_std": 0.5})
    s = pd.DataFrame(rows)
    for (head, col), f in (over or {}).items():
        m = s["head"] == head
        s.loc[m, col] = [f(seed, lr) for seed, lr in zip(s.loc[m, "seed"], s.loc[m, "lr"])]
    return s


def _claim(summary, cid):
    found = [c for c in O.claims(summary, O.Params()) if c.claim == cid]
    assert len(found) == 1, cid
    return found[0]


def _deaths(rate_per_seed: dict) -> dict:
    """{seed: k} -> the (seed, lr) pairs of the k highest learning rates."""
    return {(s, lr): 1 for s, k in rate_per_seed.items() for lr in LRS[len(LRS) - k:]} \
        if rate_per_seed else {}


# -- math claims


def test_never_negative_pass_and_fail():
    c = _claim(_summary(), "never_negative")
    assert c.verdict is Verdict.PASS and c.n == 2 * len(SEEDS) * len(LRS)
    bad = _summary(over={("softplus", "negative_fraction"):
                         lambda s, lr: 0.01 if (s, lr) == (3, 0.1) else 0.0})
    assert _claim(bad, "never_negative").verdict is Verdict.FAIL
    only_none = _summary()
    assert _claim(only_none[only_none["head"] == "none"],
                  "never_negative").verdict is Verdict.NO_DATA


def test_softplus_no_zeros_pass_and_fail():
    assert _claim(_summary(), "softplus_no_zeros").verdict is Verdict.PASS
    under = _summary(over={("softplus", "min_prediction"): lambda s, lr: 0.0 if s == 2 else 1e-30})
    assert _claim(under, "softplus_no_zeros").verdict is Verdict.FAIL


# -- relu_exact_zeros: per seed the mean over lrs of the exact-zero hit rate on zero targets, > 0


@pytest.mark.parametrize("hits,verdict", [
    (lambda s, lr: 0.8 + 0.02 * s, Verdict.REPRODUCED),
    (lambda s, lr: 0.3 if (s, lr) == (0, 0.1) else 0.0, Verdict.PARTLY),  # one seed hits a few
    (lambda s, lr: 0.0, Verdict.NOT_REPRODUCED),  # effect zero: never an exact zero
])
def test_relu_exact_zeros(hits, verdict):
    c = _claim(_summary(over={("relu", "zero_hit_fraction"): hits}), "relu_exact_zeros")
    assert c.verdict is verdict and c.n == len(SEEDS)


def test_relu_exact_zeros_ignores_dead_heads():
    # dead relu heads predict 0 everywhere: they must not count as fitting the zeros
    dead = {("relu", "zero_hit_fraction"): lambda s, lr: 1.0 if lr == 0.3 else 0.0}
    s = _summary(dead={"relu": {(k, 0.3): 1 for k in SEEDS}}, over=dead)
    assert _claim(s, "relu_exact_zeros").verdict is Verdict.NOT_REPRODUCED


# -- death rates: one definition for every head


@pytest.mark.parametrize("deaths,verdict", [
    ({s: 1 + (s % 2) for s in SEEDS}, Verdict.REPRODUCED),  # every seed dies at 1-2 of 3 lrs
    ({0: 1}, Verdict.PARTLY),  # one death in the grid
    ({}, Verdict.NOT_REPRODUCED),  # effect zero: never dies
])
def test_relu_head_dies(deaths, verdict):
    c = _claim(_summary(dead={"relu": _deaths(deaths)}), "relu_head_dies")
    assert c.verdict is verdict and c.n == len(SEEDS)


@pytest.mark.parametrize("deaths,verdict", [
    # never dies in 24 runs: the exact interval still reaches 0.14 (72 needed)
    ({}, Verdict.PARTLY),
    ({0: 1}, Verdict.PARTLY),  # one death: the interval reaches above 1 in 20
    ({s: 3 for s in SEEDS}, Verdict.NOT_REPRODUCED),  # dies at every lr
    ({s: 1 + (s % 2) for s in SEEDS}, Verdict.NOT_REPRODUCED),  # as often as relu: no advantage
])
def test_softplus_never_dies(deaths, verdict):
    c = _claim(_summary(dead={"softplus": _deaths(deaths)}), "softplus_never_dies")
    assert c.verdict is verdict


@pytest.mark.parametrize("relu,softplus,verdict", [
    ({s: 1 + (s % 2) for s in SEEDS}, {}, Verdict.REPRODUCED),
    ({0: 1, 1: 1}, {2: 1}, Verdict.PARTLY),
    ({}, {s: 1 + (s % 2) for s in SEEDS}, Verdict.NOT_REPRODUCED),  # softplus dies more
    # effect zero: same deaths
    ({s: 1 for s in SEEDS}, {s: 1 for s in SEEDS}, Verdict.NOT_REPRODUCED),
])
def test_relu_dies_more_than_softplus(relu, softplus, verdict):
    s = _summary(dead={"relu": _deaths(relu), "softplus": _deaths(softplus)})
    assert _claim(s, "relu_dies_more_than_softplus").verdict is verdict


# -- softplus_bias_on_zeros: softplus minus none / relu, paired by seed and lr, > 0


@pytest.mark.parametrize("other", ["none", "relu"])
@pytest.mark.parametrize("softplus,sd,verdict", [
    (None, 0.01, Verdict.REPRODUCED),  # the default biases: softplus above both
    ("same", 0.01, Verdict.PARTLY),  # effect zero: the same bias, the interval straddles 0
    ("same+", 0.05, Verdict.PARTLY),  # a small difference lost in noise
    ("below", 0.01, Verdict.NOT_REPRODUCED),  # softplus lower
])
def test_softplus_bias_on_zeros(other, softplus, sd, verdict):
    base = {"none": 0.12, "relu": 0.03}[other]
    b = {None: 0.14, "same": base, "same+": base + 0.01, "below": base - 0.05}[softplus]
    s = _summary(bias={"softplus": b}, noise={"softplus": sd, other: 0.0})
    c = _claim(s, f"softplus_bias_on_zeros[vs={other}]")
    assert c.verdict is verdict, c
    assert c.n == len(SEEDS)
    if softplus == "same":
        assert c.verdict is not Verdict.REPRODUCED


def test_bias_is_paired_by_seed_and_lr_not_position():
    # per (seed, lr) the softplus head sits exactly 0.05 above the none head while both vary
    # wildly between seeds and lrs: pairing by id gives a zero-width interval; shuffled rows must
    # not change it, and a pair missing on one side is left out
    s = _summary(bias={"softplus": 0.0, "none": 0.0}, noise={"softplus": 0.0, "none": 0.0},
                 over={("none", "zero_target_bias"): lambda seed, lr: seed * 0.3 + lr,
                       ("softplus", "zero_target_bias"):
                           lambda seed, lr: seed * 0.3 + lr + 0.05 + 0.001 * (seed % 3 - 1)})
    s = s.sample(frac=1.0, random_state=1)
    s = s[~((s["head"] == "none") & (s["seed"] == 7))]
    c = _claim(s, "softplus_bias_on_zeros[vs=none]")
    assert c.verdict is Verdict.REPRODUCED and c.n == len(SEEDS) - 1
    assert c.measured == pytest.approx(0.05, abs=1e-3) and c.ci_low == pytest.approx(0.05, abs=2e-3)


def test_diverged_pairs_are_left_out():
    s = _summary(over={("none", "zero_target_bias"): lambda seed, lr: 1e6 if lr == 0.3 else 0.12})
    s.loc[(s["head"] == "none") & (s["lr"] == 0.3), "diverged"] = True
    c = _claim(s, "softplus_bias_on_zeros[vs=none]")
    assert c.verdict is Verdict.REPRODUCED
    assert "diverged" in c.detail


# -- summarize: one row per seed per head per lr; "dead" from the output range, any head


def _raw(head: str, seed: int, lr: float, output_range: float, status="ok") -> list[dict]:
    vals = {"zero_target_fraction": 0.6, "negative_fraction": 0.0, "zero_fraction": 0.0,
            "zero_hit_fraction": 0.0, "zero_target_bias": 0.1, "positive_target_mse": 0.3,
            "min_prediction": 0.01, "head_output_range": output_range, "train_target_std": 0.5}
    rows = [{"run_id": f"{head}{seed}{lr}", "step": 300, "layer": None, "metric": k, "value": v,
             "head": head, "lr": lr, "seed": seed, "status": status} for k, v in vals.items()]
    rows.append({**rows[0], "metric": "loss", "value": 0.2, "step": 0})
    return rows


def test_summarize_one_definition_of_dead():
    rows = (_raw("relu", 0, 0.1, 0.0) + _raw("relu", 1, 0.1, 0.7)
            + _raw("softplus", 0, 0.1, 1e-9) + _raw("softplus", 1, 0.1, 0.7)
            + _raw("none", 0, 0.1, 0.0, status="diverged") + _raw("none", 1, 0.1, 0.7))
    s = O.summarize(pd.DataFrame(rows), O.Params())
    assert len(s) == 6 and set(s.columns) >= {"seed", "head", "lr", "dead", "diverged"}
    dead = s.set_index(["head", "seed"])["dead"]
    # a softplus head whose output moves by 2e-9 of the targets' spread is dead too
    assert dead[("relu", 0)] == 1 and dead[("softplus", 0)] == 1 and dead[("none", 0)] == 1
    assert dead[("relu", 1)] == 0 and dead[("softplus", 1)] == 0
    assert s.set_index(["head", "seed"])["diverged"].tolist().count(True) == 1
    out = {c.claim: c for c in O.claims(s, O.Params())}
    assert out["softplus_never_dies"].measured == pytest.approx(0.5)


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=output_constraint", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["output_constraint"]
    summary = O.summarize(table, O.Params())
    assert len(summary) == len(summary.drop_duplicates(["seed", "head", "lr"]))
    claims = O.claims(summary, O.Params())
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims)
    assert {c.claim for c in claims} >= {"never_negative", "relu_head_dies", "softplus_never_dies",
                                         "softplus_bias_on_zeros[vs=none]"}
    assert [c for c in claims if c.kind.value == "math" and c.verdict is Verdict.FAIL] == []
    assert O.EXPERIMENT.draw(table, O.Params())
