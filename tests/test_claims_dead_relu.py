"""dead_relu's claims on synthetic per-seed summaries (every reachable verdict), the unit tracker
on a hand-set network, and the smoke grid end to end."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from actlab.activations import get_activation
from actlab.claims import Verdict, run_claims
from actlab.config import ModelConfig
from actlab.models import MLP
from actlab.results import load_results, load_run_records, resolve_params
from experiments import dead_relu as D

SEEDS = list(range(6))
GRID = {"lr": [0.01, 0.1, 0.2], "bias": [0.0, -4.0], "narrow": [8.0, 2.0]}
LEAKY = "leaky_relu 0.01"


def base(rng) -> pd.DataFrame:
    """A plausible summary: relu and leaky 0.01, every cause and setting, 6 seeds; nothing
    diverged; relu's first-layer dead units never come back, leaky's off units sometimes do."""
    rows = []
    for label in ("relu", LEAKY):
        act, slope = ("relu", np.nan) if label == "relu" else ("leaky_relu", 0.01)
        for cause, values in GRID.items():
            for v in values:
                for s in SEEDS:
                    relu = label == "relu"
                    rows.append({
                        "label": label, "activation": act, "slope": slope, "cause": cause,
                        "cause_value": v, "seed": s, "lr": v if cause == "lr" else 0.05,
                        "width": v if cause == "narrow" else 32,
                        "bias_shift": v if cause == "bias" else 0.0, "diverged": False,
                        "dead_fraction": 0.1 + rng.normal(0, 0.01) if relu else 0.0,
                        "near_dead_fraction": 0.1 if relu else 0.0,
                        "off_fraction": 0.1 + rng.normal(0, 0.01),
                        "loss": 0.5 * math.exp(rng.normal(0, 0.02)),
                        "l1_ever_off": 5.0, "l1_came_back": 0.0 if relu else 1.0,
                        "deep_ever_off": 10.0, "deep_came_back": 2.0 + rng.integers(0, 2),
                        "l1_stayed_off": 8.0, "l1_off_move_max": 0.0 if relu else 0.01,
                        "l1_off_rel_move": 0.0 if relu else 0.002, "deep_off_rel_move": 0.001})
    return pd.DataFrame(rows, columns=["label", *D.KEYS, "lr", "width", "bias_shift", "diverged",
                                       *D.SUMMARY_VALUES])


def where(s, label=None, cause=None, value=None, seeds=None):
    m = pd.Series(True, index=s.index)
    if label is not None:
        m &= s["label"] == label
    if cause is not None:
        m &= s["cause"] == cause
    if value is not None:
        m &= s["cause_value"] == value
    if seeds is not None:
        m &= s["seed"].isin(seeds)
    return m


def by_seed(s, mask, col, per_seed):
    """Set `col` on the rows of `mask` from a {seed: value} map or a per-seed array."""
    vals = dict(zip(SEEDS, per_seed)) if not isinstance(per_seed, dict) else per_seed
    s.loc[mask, col] = s.loc[mask, "seed"].map(vals).values
    return s


def get(claims, cid):
    found = [c for c in claims if c.claim == cid]
    assert len(found) == 1, [c.claim for c in claims]
    return found[0]


def verdict(s, cid):
    return get(D.claims(s, D.Params()), cid).verdict


@pytest.fixture
def rng():
    return np.random.default_rng(13)


# ---------------------------------------------------------------------------------------------
# dead_rises


@pytest.mark.parametrize("cause,strong,weak",
                         [("lr", 0.1, 0.01), ("bias", -4.0, 0.0), ("narrow", 2.0, 8.0)])
def test_dead_rises_every_verdict(rng, cause, strong, weak):
    s = base(rng)
    if cause == "lr":  # every seed diverged at lr 0.2: the claim falls back to 0.1 and says so
        s.loc[where(s, cause="lr", value=0.2), "diverged"] = True
        s.loc[where(s, cause="lr", value=0.2), D.SUMMARY_VALUES] = np.nan
    cid = f"dead_rises[cause={cause}]"
    hi = where(s, "relu", cause, strong)
    s = by_seed(s, hi, "dead_fraction", 0.4 + rng.normal(0, 0.03, 6))
    c = get(D.claims(s, D.Params()), cid)
    assert (c.verdict is Verdict.REPRODUCED and c.n == 6
            and c.measured == pytest.approx(0.3, abs=0.05))
    if cause == "lr":
        assert "skipped lr = 0.2" in c.detail and "6 diverged" in c.detail
    # a rise in some seeds, a fall in others: the interval straddles 0
    s = by_seed(s, hi, "dead_fraction", [0.35, 0.0, 0.3, 0.02, 0.25, 0.05])
    s = by_seed(s, where(s, "relu", cause, weak), "dead_fraction", [0.1] * 6)
    assert verdict(s, cid) is Verdict.PARTLY
    # the strongest setting kills fewer units than the weakest
    s = by_seed(s, hi, "dead_fraction", 0.01 + rng.normal(0, 0.005, 6))
    assert verdict(s, cid) is Verdict.NOT_REPRODUCED
    # no effect at all: never reproduced
    s = by_seed(s, hi, "dead_fraction",
                s.loc[where(s, "relu", cause, weak)].set_index("seed")["dead_fraction"].to_dict())
    assert verdict(s, cid) is not Verdict.REPRODUCED


def test_dead_rises_pairs_by_seed_id_and_leaves_out_diverged_seeds(rng):
    s = base(rng)
    hi, lo = where(s, "relu", "bias", -4.0), where(s, "relu", "bias", 0.0)
    # seed k: strong = 0.1 k + 0.5, weak = 0.1 k: the difference is 0.5 for every seed, but only
    # when seeds are matched by id (positions are shuffled, and seed 5 is missing on one side)
    s = by_seed(s, hi, "dead_fraction", [0.1 * k + 0.5 for k in SEEDS])
    s = by_seed(s, lo, "dead_fraction", [0.1 * k for k in SEEDS])
    s = s.drop(s[lo & (s["seed"] == 5)].index).sample(frac=1.0, random_state=1)
    c = get(D.claims(s, D.Params()), "dead_rises[cause=bias]")
    # the same 0.5 in every seed: no spread, so no t interval (never a zero-width certainty)
    assert c.n == 5 and c.measured == pytest.approx(0.5) and np.isnan(c.ci_low)
    # a diverged training (NaN values, flagged) is left out and counted, not counted as dead or
    # alive
    s.loc[hi & (s["seed"] == 0), "diverged"] = True
    s.loc[hi & (s["seed"] == 0), D.SUMMARY_VALUES] = np.nan
    c = get(D.claims(s, D.Params()), "dead_rises[cause=bias]")
    assert c.n == 4 and "1 non-finite value(s) left out" in c.detail and "1 diverged" in c.detail


# ---------------------------------------------------------------------------------------------
# relu_never_revives[layer=1] (math)


def test_relu_never_revives_pass_fail_and_no_data(rng):
    s = base(rng)
    cid = "relu_never_revives[layer=1]"
    c = get(D.claims(s, D.Params()), cid)
    assert c.verdict is Verdict.PASS and c.n == int(s[s["label"] == "relu"]["l1_ever_off"].sum())
    t = s.copy()
    t.loc[where(t, "relu", "bias", -4.0, [3]), "l1_came_back"] = 1.0
    assert verdict(t, cid) is Verdict.FAIL
    t = s.copy()
    t.loc[where(t, "relu", "lr", 0.1, [2]), "l1_off_move_max"] = 1e-7  # a dead unit's weights moved
    assert verdict(t, cid) is Verdict.FAIL
    # a diverged training's NaN values neither pass nor fail it: they are left out and counted
    t = s.copy()
    m = where(t, "relu", "lr", 0.2)
    t.loc[m, "diverged"] = True
    t.loc[m, D.SUMMARY_VALUES] = np.nan
    c = get(D.claims(t, D.Params()), cid)
    assert c.verdict is Verdict.PASS and "6 diverged" in c.detail
    # no first-layer unit ever died: nothing was checked, so no verdict
    t = s.copy()
    t["l1_ever_off"] = 0.0
    assert verdict(t, cid) is Verdict.NO_DATA


# ---------------------------------------------------------------------------------------------
# relu_deep_units_revive


def test_relu_deep_units_revive_every_verdict(rng):
    s = base(rng)
    cid = "relu_deep_units_revive"
    relu = s["label"] == "relu"
    assert verdict(s, cid) is Verdict.REPRODUCED  # 2-3 of 10 per training, every seed
    t = s.copy()
    t.loc[relu, "deep_came_back"] = 0.0
    t.loc[relu & (t["seed"] == 0), "deep_came_back"] = 5.0  # one seed only
    assert verdict(t, cid) is Verdict.PARTLY
    t.loc[relu, "deep_came_back"] = 0.0  # none ever: the effect is zero
    assert verdict(t, cid) is Verdict.NOT_REPRODUCED


# ---------------------------------------------------------------------------------------------
# leaky: comes back, fewer off, relu's loss higher


def test_leaky_comes_back_every_verdict(rng):
    s = base(rng)
    cid = "leaky_comes_back[slope=0.01]"
    lk = s["label"] == LEAKY
    s.loc[lk, "l1_came_back"] *= 1 + 0.1 * (s.loc[lk, "seed"] % 3 - 1)  # seeds differ a little
    c = get(D.claims(s, D.Params()), cid)
    assert c.verdict is Verdict.REPRODUCED and c.measured == pytest.approx(0.2, rel=0.05)
    t = s.copy()
    t.loc[lk, "l1_came_back"] = 0.0
    t.loc[lk & (t["seed"] == 4), "l1_came_back"] = 3.0
    assert verdict(t, cid) is Verdict.PARTLY
    t.loc[lk, "l1_came_back"] = 0.0  # off leaky units never come back: no better than relu
    assert verdict(t, cid) is Verdict.NOT_REPRODUCED
    # seeds without any off unit have no rate: left out and counted
    t = s.copy()
    t.loc[lk & t["seed"].isin([0, 1]), "l1_ever_off"] = 0.0
    c = get(D.claims(t, D.Params()), cid)
    assert c.n == 4 and "2 non-finite" in c.detail


def test_leaky_fewer_off_every_verdict(rng):
    s = base(rng)
    cid = "leaky_fewer_off[slope=0.01]"
    strongest = {"lr": 0.2, "bias": -4.0, "narrow": 2.0}

    def set_gap(gaps):
        t = s.copy()
        for cause, v in strongest.items():
            t = by_seed(t, where(t, "relu", cause, v), "off_fraction", [0.3] * 6)
            t = by_seed(t, where(t, LEAKY, cause, v), "off_fraction", [0.3 - g for g in gaps])
        return t

    c = get(D.claims(set_gap(0.2 + rng.normal(0, 0.02, 6)), D.Params()), cid)
    assert c.verdict is Verdict.REPRODUCED and c.measured == pytest.approx(0.2, abs=0.03)
    assert verdict(set_gap([0.2, -0.1, 0.15, -0.05, 0.1, -0.12]), cid) is Verdict.PARTLY
    assert verdict(set_gap(-0.1 + rng.normal(0, 0.01, 6)), cid) is Verdict.NOT_REPRODUCED
    assert verdict(set_gap([0.0] * 6), cid) is not Verdict.REPRODUCED


@pytest.mark.parametrize("cause,strong", [("lr", 0.2), ("bias", -4.0), ("narrow", 2.0)])
def test_relu_loss_higher_every_verdict(rng, cause, strong):
    s = base(rng)
    cid = f"relu_loss_higher[cause={cause},slope=0.01]"

    def with_ratio(r):
        t = s.copy()
        t = by_seed(t, where(t, "relu", cause, strong), "loss", [0.4 * x for x in r])
        return by_seed(t, where(t, LEAKY, cause, strong), "loss", [0.4] * 6)

    c = get(D.claims(with_ratio(np.exp(0.5 + rng.normal(0, 0.05, 6))), D.Params()), cid)
    assert c.verdict is Verdict.REPRODUCED and c.measured == pytest.approx(math.exp(0.5), rel=0.1)
    assert verdict(with_ratio([1.5, 0.7, 1.4, 0.8, 1.3, 0.75]), cid) is Verdict.PARTLY
    assert verdict(with_ratio(np.exp(-0.5 + rng.normal(0, 0.05, 6))), cid) is Verdict.NOT_REPRODUCED
    assert verdict(with_ratio([1.0] * 6), cid) is not Verdict.REPRODUCED


def test_loss_claim_uses_the_strongest_setting_most_seeds_survived(rng):
    s = base(rng)
    m = where(s, "relu", "lr", 0.2, [0, 1, 2, 3])  # 4 of 6 relu seeds diverge at lr 0.2
    s.loc[m, "diverged"] = True
    s.loc[m, D.SUMMARY_VALUES] = np.nan
    c = get(D.claims(s, D.Params()), "relu_loss_higher[cause=lr,slope=0.01]")
    assert "at lr = 0.1" in c.detail and "skipped lr = 0.2" in c.detail and c.n == 6
    # every setting diverged in most seeds: no data rather than a verdict on what is left
    s.loc[where(s, "relu", "lr"), "diverged"] = True
    assert verdict(s, "relu_loss_higher[cause=lr,slope=0.01]") is Verdict.NO_DATA


# ---------------------------------------------------------------------------------------------
# run-time pieces


def test_unit_tracker_off_came_back_and_frozen_weights():
    torch.manual_seed(0)
    model = MLP(2, 1, ModelConfig(depth=2, width=3), get_activation("relu"), None)
    hook, state = D._unit_tracker()
    state["x"] = torch.randn(64, 2)
    with torch.no_grad():
        model.layers[0].bias[0] = -100.0  # unit 0 of layer 1 is off on every input
    rows = {(r["layer"], r["metric"]): r["value"] for r in hook(0, model)}
    assert rows[(1, "off_fraction")] == pytest.approx(1 / 3)
    assert rows[(1, "ever_off_units")] == 0  # nothing was off at an earlier log step yet
    rows = {(r["layer"], r["metric"]): r["value"] for r in hook(1, model)}
    assert rows[(1, "ever_off_units")] == 1 and rows[(1, "stayed_off_units")] == 1
    assert rows[(1, "off_weight_change")] == 0 and rows[(1, "came_back_units")] == 0
    with torch.no_grad():
        model.layers[0].weight[0] += 0.5  # moved while off: measured
    rows = {(r["layer"], r["metric"]): r["value"] for r in hook(2, model)}
    assert rows[(1, "off_weight_change")] == pytest.approx(0.5)
    with torch.no_grad():
        model.layers[0].bias[0] = 100.0  # back on
    rows = {(r["layer"], r["metric"]): r["value"] for r in hook(3, model)}
    assert rows[(1, "came_back_units")] == 1 and rows[(1, "off_fraction")] < 1 / 3
    with torch.no_grad():
        model.layers[0].weight[1, 0] = math.nan  # diverged: NaN rows, not "came back"
    rows = {(r["layer"], r["metric"]): r["value"] for r in hook(4, model)}
    assert math.isnan(rows[(1, "came_back_units")]) and math.isnan(rows[(1, "off_fraction")])


def test_bias_shift_goes_into_the_first_layers_only():
    from tests.helpers import compose

    cfg = compose(["experiment=dead_relu", "params.bias_shift=-3", "out_dir=/tmp/unused"])
    cfg.params.shift_layers = 1
    task = D.build_task(cfg, torch.device("cpu"))
    m1 = D._model(cfg, task, 0)
    cfg.params.shift_layers = 0
    m0 = D._model(cfg, task, 0)
    assert torch.all(m1.layers[0].bias == -3) and torch.all(m1.layers[1].bias == 0)
    assert (all(torch.all(layer.bias == -3) for layer in m0.layers[:-1])
            and torch.all(m0.layers[-1].bias == 0))


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=dead_relu", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["dead_relu"]
    params = resolve_params(D.Params, load_run_records(out).get("dead_relu", {}), table)
    summary = D.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["label", "cause", "cause_value", "seed"]))
    assert set(summary["seed"]) == {0, 1}
    claims = run_claims(D.EXPERIMENT, table, params)
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims), claims
    assert all(c.verdict is Verdict.PASS for c in claims if c.kind.value == "math"), claims
    # the smoke grid's -4 first-layer shift kills first-layer units: the math claim has data
    assert get(claims, "relu_never_revives[layer=1]").n > 0
    assert D.EXPERIMENT.draw(table, params)


def test_a_table_without_the_tracker_rows_gives_no_data_not_errors(rng):
    s = base(rng)
    for c in ("off_fraction", "l1_ever_off", "l1_came_back", "deep_ever_off", "deep_came_back",
              "l1_stayed_off", "l1_off_move_max", "l1_off_rel_move", "deep_off_rel_move"):
        s[c] = np.nan
    claims = {c.claim: c for c in D.claims(s, D.Params())}
    for cid in ("relu_never_revives[layer=1]", "relu_deep_units_revive",
                "leaky_comes_back[slope=0.01]", "leaky_fewer_off[slope=0.01]"):
        assert claims[cid].verdict is Verdict.NO_DATA, claims[cid]
    assert claims["dead_rises[cause=bias]"].verdict is not Verdict.ERROR
