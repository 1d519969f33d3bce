"""gradient_chain's claims on hand-built summaries driven to each verdict, and on a smoke run."""

import numpy as np
import pandas as pd
import pytest

from actlab.activations import get_activation
from actlab.claims import Verdict
from actlab.results import load_results
from experiments import gradient_chain as gc

P = gc.Params(max_depth=12)
SEEDS = range(6)


def _chain_rows(name: str, w: float, seeds=(0,), **act) -> list[dict]:
    """What a run writes for one activation's chains, through the code under test."""
    a = get_activation(name, **act)
    rows = []
    for seed in seeds:
        for form, cw in (("article", 1.0), ("weighted", w)):
            for depth in range(1, P.max_depth + 1):
                auto, analytic = gc.chain_gradient(a, depth, P.x, P.w1, cw)
                rows.append({"part": "chain", "activation": name, "slope": act.get("slope", np.nan),
                             "beta": np.nan, "elu_alpha": np.nan, "approximate": np.nan,
                             "weight_scale": w, "seed": seed, "form": form, "chain_weight": cw,
                             "depth": depth, "dfdw1": auto, "dfdw1_analytic": analytic,
                             "dfdw1_bound": abs(P.x) * a.max_slope**depth * abs(cw) ** (depth - 1)})
    return rows


def _chains() -> pd.DataFrame:
    return pd.DataFrame(_chain_rows("sigmoid", 0.7) + _chain_rows("linear", 0.7, slope=1.8)
                        + _chain_rows("tanh", 0.7))


def _train(rates: dict[tuple[float, int], list[float]]) -> pd.DataFrame:
    """Train rows: {(gain, depth): diverged indicator per seed}; slope 1.8, lr 0.01."""
    rows = []
    for (gain, depth), flags in rates.items():
        for seed, d in zip(SEEDS, flags):
            rows.append({"part": "train", "activation": "linear", "slope": 1.8,
                         "weight_scale": gain / 1.8, "seed": seed, "depth": depth,
                         "gain": round(gain, 6), "lr": 0.01, "diverged": d})
    return pd.DataFrame(rows)


def _claims(summary: pd.DataFrame) -> dict:
    return {c.claim: c for c in gc.claims(
        summary.reindex(columns=gc.summarize(pd.DataFrame(), P).columns), P)}


def _by_prefix(claims: dict, prefix: str):
    (c,) = [c for k, c in claims.items() if k.startswith(prefix)]
    return c


def test_math_claims_pass_on_the_code_under_test():
    c = _claims(_chains())
    for cid in ("chain_product", "hand_derivatives", "chain_bound", "max_slope",
                "linear_growth[a=1.8,w=0.7]", "linear_growth[a=1.8,w=1]"):
        assert c[cid].verdict is Verdict.PASS, (cid, c[cid].measured, c[cid].detail)
    assert c["chain_product"].n == 3 * 2 * P.max_depth


def test_chain_product_fails_on_a_wrong_gradient():
    s = _chains()
    i = s.index[(s["activation"] == "tanh") & (s["depth"] == 7) & (s["form"] == "weighted")][0]
    s.loc[i, "dfdw1"] *= 1 + 1e-9
    c = _claims(s)
    assert c["chain_product"].verdict is Verdict.FAIL
    assert c["hand_derivatives"].verdict is Verdict.PASS  # the other column is untouched


def test_hand_derivatives_fail_on_a_wrong_derivative():
    s = _chains()
    sig = s["activation"] == "sigmoid"
    s.loc[sig, "dfdw1_analytic"] *= 1.001 ** s.loc[sig, "depth"]  # phi' 0.1% off at every layer
    assert _claims(s)["hand_derivatives"].verdict is Verdict.FAIL


def test_chain_bound_fails_when_a_gradient_exceeds_it():
    s = _chains()
    i = s.index[(s["activation"] == "sigmoid") & (s["depth"] == 1) & (s["form"] == "article")][0]
    s.loc[i, "dfdw1"] = 0.5 * 0.3  # above |x| * 1/4
    c = _claims(s)
    assert (c["chain_bound"].verdict is Verdict.FAIL
            and c["chain_bound"].measured == pytest.approx(1.2))


def test_max_slope_fails_when_the_registry_is_off():
    s = _chains()
    s.loc[s["activation"] == "sigmoid", "dfdw1_bound"] = abs(P.x) * 0.26
    c = _claims(s)
    assert c["max_slope"].verdict is Verdict.FAIL and "sigmoid" in c["max_slope"].detail


def test_linear_growth_fails_when_the_growth_is_off():
    s = _chains()
    lin = (s["activation"] == "linear") & (s["form"] == "weighted")
    s.loc[lin, "dfdw1"] *= 1.01 ** s.loc[lin, "depth"]
    c = _claims(s)
    assert c["linear_growth[a=1.8,w=0.7]"].verdict is Verdict.FAIL
    assert c["linear_growth[a=1.8,w=1]"].verdict is Verdict.PASS  # the article form is untouched


def test_no_chains_is_no_data():
    c = _claims(_train({(1.0, 16): [0] * 6, (1.26, 16): [1] * 6}))
    assert c["chain_product"].verdict is Verdict.NO_DATA


# training_diverges: L* = ln(200) / (2 ln 1.26) = 11.5, so it is judged at depth 16


def test_divergence_depth_from_the_table():
    assert gc.divergence_depth(1.26, 0.01) == pytest.approx(np.log(200) / (2 * np.log(1.26)))
    assert gc.divergence_depth(1.0, 0.01) == np.inf


@pytest.mark.parametrize("deep,control,verdict", [
    ([1] * 6, [0] * 6, Verdict.REPRODUCED),           # every seed diverges, no control does
    ([1, 1, 0, 1, 0, 0], [0] * 6, Verdict.PARTLY),      # half the seeds: the interval straddles 0
    ([0] * 6, [0] * 6, Verdict.NOT_REPRODUCED),       # the effect shrunk to zero
    ([1] * 6, [1] * 6, Verdict.NOT_REPRODUCED),       # the control diverges as well
])
def test_training_diverges(deep, control, verdict):
    t = _train({(1.0, 2): [0] * 6, (1.0, 16): control, (1.26, 2): [0] * 6, (1.26, 16): deep})
    c = _by_prefix(_claims(t), "training_diverges")
    assert c.claim == "training_diverges[s*a=1.26,depth=16]"
    assert c.verdict is verdict and c.n == 6


def test_training_diverges_pairs_by_seed_id():
    t = _train({(1.0, 16): [0] * 6, (1.26, 16): [1] * 6})
    t = t[~((t["gain"] == 1.0) & (t["seed"] == 0))]  # seed 0 lacks its control: left out
    assert _by_prefix(_claims(t), "training_diverges").n == 5


def test_training_diverges_needs_a_control_and_a_deep_enough_depth():
    c = _claims(_train({(1.26, 16): [1] * 6}))
    assert c["training_diverges"].verdict is Verdict.NO_DATA
    c = _by_prefix(_claims(_train({(1.0, 8): [0] * 6, (1.26, 8): [1] * 6})), "training_diverges")
    assert c.verdict is Verdict.NO_DATA and "L* = 11.5" in c.detail


def test_smoke_run_end_to_end(cli_here, tmp_path):
    r = cli_here("-m", "experiment=gradient_chain", "scale=smoke", "activation=linear,sigmoid",
            "seed=0,1", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = load_results(tmp_path)["gradient_chain"]
    p = gc.Params(max_depth=12, train_depths=[2, 16])
    claims = gc.claims(gc.summarize(table, p), p)
    verdicts = {c.claim: c.verdict for c in claims}
    assert Verdict.ERROR not in verdicts.values()
    assert all(v is Verdict.PASS for k, v in verdicts.items() if not k.startswith("training"))
    assert verdicts["training_diverges[s*a=1.26,depth=16]"] is not Verdict.NO_DATA
