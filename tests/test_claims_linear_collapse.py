"""linear_collapse's claims on synthetic summaries (every reachable verdict), its references
(numpy fold, numpy least squares) against independent computations, and its smoke run end to end."""

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
from experiments import linear_collapse as L

SEEDS = list(range(6))
DEPTHS = [1, 2, 5]
P = L.Params()
T = L.THRESHOLDS
LSTSQ = 0.465


def _noise(sd: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(len(SEEDS))
    return sd * (z - z.mean()) / z.std(ddof=1) if sd > 0 else np.zeros(len(SEEDS))


def _summary(gap=None, ratio=None, collapse=1e-15, below=1e-15, diverged=(),
             sd=0.01) -> pd.DataFrame:
    """Per (activation, depth, seed): linear nets' MSE = lstsq (1 + gap[act](depth) + noise),
    nonlinear nets' MSE = lstsq (ratio[act](depth) + noise)."""
    gap, ratio = gap or {}, ratio or {}
    rows = []
    for k, act in enumerate(("identity", "linear", "relu", "tanh")):
        for j, d in enumerate(DEPTHS):
            noise = _noise(sd, 10 * k + j)
            if act in L.LINEAR:
                g = gap.get(act, lambda d: 1e-4)(d) + np.abs(noise) * 1e-3
                mse = LSTSQ * (1 + g)
            else:
                mse = LSTSQ * (ratio.get(act, lambda d: 0.05)(d) + noise)
            for i, seed in enumerate(SEEDS):
                div = (act, d, seed) in diverged
                lin = act in L.LINEAR
                m = np.nan if div else mse[i]
                rows.append({"activation": act, "depth": d, "seed": seed,
                             "status": "diverged" if div else "ok",
                             "diverged": div, "slope": 0.8 if act == "linear" else np.nan,
                             "loss": m, "train_mse": m, "lstsq_loss": LSTSQ,
                             "collapse_error": (np.nan if div else collapse) if lin else np.nan,
                             "folded_loss": (np.nan if div
                                             else LSTSQ * (1 + below)) if lin else np.nan,
                             "gap": m / LSTSQ - 1, "ratio": m / LSTSQ})
    return pd.DataFrame(rows)


def _get(claims, cid):
    (c,) = [c for c in claims if c.claim == cid]
    return c


# --- references ----------------------------------------------------------------------------


def test_fold_arrays_equals_the_torch_forward_of_a_linear_net():
    torch.manual_seed(0)
    net = MLP(4, 2, ModelConfig(depth=7, width=8, bias_scale=0.5),
              get_activation("linear", slope=0.8)).double()
    ws = [layer.weight.detach().numpy() for layer in net.layers]
    bs = [layer.bias.detach().numpy() for layer in net.layers]
    w, b = L.fold_arrays(ws, bs, 0.8)
    x = np.random.default_rng(0).normal(size=(50, 4))
    with torch.no_grad():
        f = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(f, x @ w.T + b, rtol=1e-12, atol=1e-12)
    # a nonlinear net is not its fold: the check can fail
    net_t = MLP(4, 2, ModelConfig(depth=3, width=8, bias_scale=0.5),
                get_activation("tanh")).double()
    with torch.no_grad():
        ft = net_t(torch.from_numpy(x)).numpy()
    w3, b3 = L.fold_arrays([la.weight.detach().numpy() for la in net_t.layers],
                           [la.bias.detach().numpy() for la in net_t.layers], 1.0)
    assert np.abs(ft - (x @ w3.T + b3)).max() > 1e-3


def test_lstsq_loss_is_the_closed_form_simple_regression():
    # one input: the best affine fit has slope cov(x, y) / var(x); its MSE is var(y) (1 - r^2)
    rng = np.random.default_rng(0)
    x = rng.uniform(-math.pi, math.pi, (400, 1))
    y = np.sin(3 * x) + 0.1 * rng.normal(size=x.shape)
    r = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
    assert L.lstsq_loss(x, y) == pytest.approx(y.var() * (1 - r**2), rel=1e-12)
    assert L.lstsq_loss(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        L.lstsq_loss(x, y))


# --- math claims ---------------------------------------------------------------------------


def test_math_claims_pass():
    cl = L.claims(_summary(), P)
    for cid in ("collapse", "never_below_lstsq"):
        c = _get(cl, cid)
        assert c.verdict is Verdict.PASS and c.n == 2 * len(DEPTHS) * len(SEEDS), c


def test_collapse_fails_when_one_net_is_not_its_fold():
    s = _summary()
    s.loc[(s["activation"] == "linear") & (s["depth"] == 5) & (s["seed"] == 3),
          "collapse_error"] = 1e-6
    assert _get(L.claims(s, P), "collapse").verdict is Verdict.FAIL


def test_collapse_fails_on_a_missing_value_of_a_finished_net():
    s = _summary()
    s.loc[(s["activation"] == "identity") & (s["seed"] == 0) & (s["depth"] == 1),
          "collapse_error"] = np.nan
    assert _get(L.claims(s, P), "collapse").verdict is Verdict.FAIL


def test_diverged_nets_are_left_out_of_the_math_claims():
    cl = L.claims(_summary(diverged={("linear", 5, 0)}), P)
    c = _get(cl, "collapse")
    assert (c.verdict is Verdict.PASS and c.n == 2 * len(DEPTHS) * len(SEEDS) - 1
            and "1 diverged" in c.detail)


def test_never_below_lstsq_fails_below_the_optimum():
    # judged on the network's own training MSE (its fold is affine by construction: it cannot)
    assert _get(L.claims(_summary(gap={"linear": lambda d: -1e-3}), P),
                "never_below_lstsq").verdict is Verdict.FAIL


def test_no_linear_runs_is_no_data():
    s = _summary()
    cl = L.claims(s[~s["activation"].isin(L.LINEAR)], P)
    assert _get(cl, "collapse").verdict is Verdict.NO_DATA


# --- reaches_lstsq -------------------------------------------------------------------------


@pytest.mark.parametrize("g,verdict", [
    (lambda d: 1e-3, Verdict.REPRODUCED),
    (lambda d: 0.3, Verdict.NOT_REPRODUCED),  # no effect of training: far above the optimum
    (lambda d: 0.3 if d == 5 else 1e-3, Verdict.NOT_REPRODUCED)])  # one depth fails: per seed worst
def test_reaches_lstsq(g, verdict):
    c = _get(L.claims(_summary(gap={"identity": g}), P), "reaches_lstsq[identity]")
    assert c.verdict is verdict and c.n == len(SEEDS), c


def test_reaches_lstsq_partly_at_the_margin():
    s = _summary()
    at = (s["activation"] == "linear") & (s["depth"] == 5)
    s.loc[at, "gap"] = T.reach_tol + _noise(0.02, 3)
    c = _get(L.claims(s, P), "reaches_lstsq[linear]")
    assert c.verdict is Verdict.PARTLY


def test_reaches_lstsq_leaves_a_seed_with_a_diverged_depth_out():
    c = _get(L.claims(_summary(diverged={("identity", 2, 4)}), P), "reaches_lstsq[identity]")
    assert c.n == len(SEEDS) - 1 and "1 non-finite" in c.detail


# --- nonlinear_below -----------------------------------------------------------------------


@pytest.mark.parametrize("r,verdict", [
    (lambda d: 0.05, Verdict.REPRODUCED),
    (lambda d: 0.5 if d == 5 else 0.05, Verdict.PARTLY),  # the worst depth at the line
    (lambda d: 1.0, Verdict.NOT_REPRODUCED),  # no effect: no better than the linear fit
    (lambda d: 1.0 if d == 5 else 0.05, Verdict.NOT_REPRODUCED)])  # worst depth per seed
def test_nonlinear_below(r, verdict):
    c = _get(L.claims(_summary(ratio={"tanh": r}, sd=0.05), P), "nonlinear_below[tanh]")
    assert c.verdict is verdict and c.n == len(SEEDS), c


def test_nonlinear_below_ignores_depth_one_and_pairs_by_seed_id():
    s = _summary(ratio={"relu": lambda d: 1.0 if d == 1 else 0.05})
    assert _get(L.claims(s, P), "nonlinear_below[relu]").verdict is Verdict.REPRODUCED
    shuffled = s.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert _get(L.claims(shuffled, P), "nonlinear_below[relu]").measured == pytest.approx(
        _get(L.claims(s, P), "nonlinear_below[relu]").measured)


# --- end to end ----------------------------------------------------------------------------


def test_smoke_end_to_end(cli_here, tmp_path):
    out = tmp_path / "out"
    r = cli_here("-m", "experiment=linear_collapse", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    table = load_results(out)["linear_collapse"]
    params = resolve_params(L.Params, load_run_records(out).get("linear_collapse", {}), table)
    summary = L.summarize(table, params)
    assert len(summary) == len(summary.drop_duplicates(["activation", "depth", "seed"]))
    claims = run_claims(L.EXPERIMENT, table, params)
    assert claims and all(c.verdict is not Verdict.ERROR for c in claims), claims
    assert all(c.verdict is Verdict.PASS for c in claims if c.kind.value == "math"), claims
    assert L.EXPERIMENT.draw(table, params)
