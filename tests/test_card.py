"""`actlab card`: the battery at smoke scale for a registered and a custom activation (in
process), its verdicts built to reach each outcome, and bad input through the command line."""

import numpy as np
import pandas as pd
import pytest

from actlab.activations import get_activation
from actlab.claims import Verdict
from experiments import card as C


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory):
    return tmp_path_factory.mktemp("cards")


def _values(diff: float, sd: float = 0.01, n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.4, 0.6, n)
    noise = rng.standard_normal(n)
    noise = sd * (noise - noise.mean()) / noise.std(ddof=1)
    rows = [{"activation": "relu", "seed": s, "value": ref[s]} for s in range(n)]
    rows += [{"activation": "mine", "seed": s, "value": ref[s] + diff + noise[s]}
             for s in range(n)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("diff,better,verdict", [
    (0.1, "higher", Verdict.REPRODUCED), (-0.1, "higher", Verdict.NOT_REPRODUCED),
    (0.0, "higher", Verdict.PARTLY), (-0.1, "lower", Verdict.REPRODUCED),
    (0.1, "lower", Verdict.NOT_REPRODUCED)])
def test_versus_reaches_every_verdict(diff, better, verdict):
    claim = C.versus("relu", better, "accuracy")("mine", _values(diff), None)
    assert claim.verdict is verdict
    assert claim.measured == pytest.approx(diff, abs=1e-9)
    assert C.sentence(claim, C.Test("t", "t", None, judge=C.versus("relu", better, "x")))


def test_versus_pairs_by_seed_not_position():
    v = _values(0.1)
    shuffled = v.sample(frac=1.0, random_state=3)
    a = C.versus("relu", "higher", "x")("mine", v, None)
    b = C.versus("relu", "higher", "x")("mine", shuffled, None)
    assert a.measured == pytest.approx(b.measured) and a.ci_low == pytest.approx(b.ci_low)


def test_common_condition_picks_the_largest_setting_where_all_trained():
    v = pd.DataFrame({"activation": ["a", "a", "b", "b"] * 2, "seed": [0, 1] * 4,
                      "condition": [0.1] * 4 + [0.2] * 4,
                      "value": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, np.nan, np.nan]})
    assert set(C.common_condition(v)["condition"]) == {0.1}
    v.loc[v["value"].isna(), "value"] = 0.7
    assert set(C.common_condition(v)["condition"]) == {0.2}


def test_derivative_check_would_see_a_wrong_derivative():
    good = get_activation("tanh")
    bad = C.Activation("tanh", good.fn, lambda z: 1.01 * good.deriv(z), True, False)
    assert C.derivative_check(good)[1].verdict is Verdict.PASS
    assert C.derivative_check(bad)[1].verdict is Verdict.FAIL


@pytest.mark.parametrize("overrides,label", [
    (["activation=mish"], "mish"),
    (["activation=custom", "activation.target=tests.custom_acts:dip"], "tests.custom_acts:dip"),
])
def test_card_at_smoke_scale(shared_out, overrides, label):
    # one out folder for both cards: the second reuses the baselines' runs, as a user's would
    res = C.run_card(overrides, shared_out, smoke=True, seeds=(0, 1), log=lambda m: None)
    assert res["label"] == label
    md, html, csv = res["paths"]
    table = pd.read_csv(csv)
    assert list(table["key"]) == [t.key for t in C.TESTS]
    assert set(table["verdict"]) <= {v.value for v in Verdict}
    assert (table["verdict"] != "error").all(), table[["key", "verdict", "sentence"]]
    page = html.read_text()
    assert page.count("<tr>") == len(C.TESTS) + 1 and "data:image/png;base64," in page
    assert label in md.read_text()


def test_card_bad_input(cli, tmp_path):
    r = cli("card", "model.depth=3", f"--out={tmp_path}")
    assert r.returncode == 2 and "model.depth=3: a card takes only activation" in r.stderr
    r = cli("card", "activation=relu7", f"--out={tmp_path}")
    assert r.returncode == 2 and "relu7" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "cards").exists()


def test_line_pieces_agree_with_the_exact_count_for_relu():
    """The sampled count of the card against actlab.regions' exact walk over the same net."""
    import math

    import torch

    from actlab.regions import count_pieces

    relu = get_activation("relu")
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        dims = [2] + [16] * 4 + [1]
        p = torch.randn(2, generator=g, dtype=torch.float64)
        d = torch.randn(2, generator=g, dtype=torch.float64)
        d = d / d.norm()
        ws, bs = [], []
        for a, b in zip(dims[:-1], dims[1:]):
            ws.append((torch.randn(b, a, generator=g, dtype=torch.float64)
                       * math.sqrt(2.0 / a)).numpy())
            bs.append((torch.randn(b, generator=g, dtype=torch.float64) * 0.5).numpy())
        _, exact = count_pieces(ws, bs, p.numpy(), d.numpy(), -3.0, 3.0)
        sampled = C.line_pieces(relu, seed)
        assert abs(sampled - exact) <= 1, (seed, sampled, exact)
        assert exact > 3


def test_versus_on_counts_is_not_a_yes_no_rate():
    """Differences of piece counts [0, 1, 0] are weak evidence, not 1 of 3 'yes' outcomes."""
    v = pd.DataFrame({"activation": ["mine"] * 3 + ["relu"] * 3, "seed": [0, 1, 2] * 2,
                      "value": [5, 6, 5, 5, 5, 5]})
    assert C.versus("relu", "higher", "pieces")("mine", v, None).verdict is Verdict.PARTLY


def test_identical_in_every_seed_is_no_clear_difference():
    v = pd.DataFrame({"activation": ["mine"] * 3 + ["relu"] * 3, "seed": [0, 1, 2] * 2,
                      "value": [0.0] * 6})
    c = C.versus("relu", "lower", "dead fraction")("mine", v, None)
    assert c.verdict is Verdict.PARTLY and "no clear difference" in C.sentence(
        c, C.Test("t", "t", None, judge=C.versus("relu", "lower", "x")))
    assert C.versus("relu", "lower", "x")("relu", v, None).verdict is Verdict.NO_DATA


def test_common_condition_needs_every_activation_present():
    v = pd.DataFrame({"activation": ["a", "a", "b", "b", "a", "a"], "seed": [0, 1, 0, 1, 0, 1],
                      "condition": [10, 10, 10, 10, 100, 100], "value": [1.0] * 6})
    assert set(C.common_condition(v, among=["a", "b"])["condition"]) == {10}


def test_chain_rule_is_no_data_when_the_derivative_is_autograds(shared_out):
    act = get_activation("tanh")
    row = C._computed(C.TESTS[1], act, "x", {"name": "custom", "target": "m:f"})
    assert row["claim"].verdict is Verdict.NO_DATA
    row = C._computed(C.TESTS[1], act, "tanh", {"name": "tanh", "backward": "exact"})
    assert row["claim"].verdict is Verdict.PASS
