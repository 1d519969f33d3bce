"""A sceptical review of the claims: each test is an attempt to make a claim give the wrong verdict
(pooled conditions, constants that belong to one setting, claims that cannot fail, `.first()` over
something that varies, verdicts from almost no data). Small synthetic tables, no training."""

import math

import numpy as np
import pandas as pd
import pytest

from actlab.activations import get_activation
from actlab.claims import Verdict
from experiments import dead_relu as D
from experiments import gelu_approx as G
from experiments import gradient_flow as GF
from experiments import linear_collapse as LC
from experiments import linear_regions as LR
from experiments import nonmonotonic as N
from experiments import output_constraint as O
from experiments import saturation as SAT
from experiments import signal_propagation as SP
from experiments import softplus_revival as SR

SEEDS = list(range(6))


def _by_id(claims) -> dict:
    return {c.claim: c for c in claims}


def _exact_noise(n: int, sd: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(n)
    return sd * (z - z.mean()) / z.std(ddof=1)


# ---------------------------------------------------------------------------------------------
# gradient_flow: the intervals must be over seeds of one condition, not over pooled widths/inits


def _gf_rows(act, s, values, width, init="orthogonal", depth=20):
    return [{"activation": act, "slope": np.nan, "init": init, "weight_scale": s, "depth": depth,
             "width": width, "seed": seed, "status": "ok", "diverged": False,
             "delta_growth": np.nan, "grad_ratio": v, "n_layers": depth}
            for seed, v in zip(SEEDS, values)]


def test_gradient_flow_does_not_pool_widths_into_one_interval():
    vanish = 1e-8 * np.exp(_exact_noise(6, 0.3, 0))
    kept = 1.0 * np.exp(_exact_noise(6, 0.3, 1))
    rows = _gf_rows("sigmoid", 1.0, vanish, 64) + _gf_rows("sigmoid", 1.0, kept, 256)
    rows += (_gf_rows("relu", math.sqrt(2), kept, 64)
             + _gf_rows("relu", math.sqrt(2), 1e3 * kept, 256))
    cl = _by_id(GF.claims(pd.DataFrame(rows), GF.Params()))
    sig = {k: c for k, c in cl.items() if k.startswith("vanishing_sigmoid")}
    assert len(sig) == 2 and all(c.n == 6 for c in sig.values()), sig.keys()
    assert cl["vanishing_sigmoid[depth=20,s=1,width=64]"].verdict is Verdict.REPRODUCED
    assert cl["vanishing_sigmoid[depth=20,s=1,width=256]"].verdict is Verdict.NOT_REPRODUCED
    relu = {k: c for k, c in cl.items() if k.startswith("relu_he_preserved")}
    assert len(relu) == 2 and all(c.n == 6 for c in relu.values()), relu.keys()
    assert cl["relu_he_preserved[depth=20,width=64]"].verdict is Verdict.REPRODUCED
    assert cl["relu_he_preserved[depth=20,width=256]"].verdict is Verdict.NOT_REPRODUCED


def test_gradient_flow_ids_unchanged_when_one_width():
    rows = _gf_rows("sigmoid", 1.0, 1e-8 * np.exp(_exact_noise(6, 0.3, 0)), 64)
    cl = _by_id(GF.claims(pd.DataFrame(rows), GF.Params()))
    assert "vanishing_sigmoid[depth=20,s=1]" in cl


# ---------------------------------------------------------------------------------------------
# signal_propagation: the tolerance belongs to width 1024 and 10 middle layers


def _sp_summary(errs_by_width: dict, depth: int = 30, nan_point=None) -> pd.DataFrame:
    rows = []
    pts = [("tanh", 1.5, 0.0), ("relu", 1.0, 0.0), ("sigmoid", 1.0, 0.0), ("tanh", 1.0, 0.3)]
    for width, per_seed in errs_by_width.items():
        for seed, e in zip(SEEDS, per_seed):
            for k, pt in enumerate(pts):
                err = e * (1 + 0.05 * (k - 1.5))
                if nan_point == pt:
                    err = math.nan
                rows.append({"activation": pt[0], "weight_scale": pt[1], "bias_scale": pt[2],
                             "width": width, "depth": depth, "seed": seed, "status": "ok",
                             "chi1_measured": 1.3 * (1 + err), "chi1_theory": 1.3,
                             "chi1_layer_theory": 1.3, "q_star": 1.0, "q_mid": 1.0,
                             "converged": True, "rel_error": abs(err)})
    return pd.DataFrame(rows)


def test_signal_propagation_tolerance_follows_the_width():
    # At width 128 a correct theory is off by ~sqrt(2 / (128 * 10)) ~ 4% per point (finite width):
    # the fixed 3% made for width 1024 calls that "not reproduced".
    per_seed = 0.035 + _exact_noise(6, 0.003, 2)
    c = [c for c in SP.claims(_sp_summary({64: 2 * per_seed, 128: per_seed}), SP.Params())
         if c.claim.startswith("chi1_matches_theory")][0]
    assert c.claim == "chi1_matches_theory[width=128]"
    assert c.verdict is Verdict.REPRODUCED, (c.measured, c.ci_high, c.expected)
    # a theory 20% off is still caught at that width
    off = [c for c in SP.claims(_sp_summary({128: 0.2 + _exact_noise(6, 0.01, 3)}), SP.Params())
           if c.claim.startswith("chi1_matches_theory")][0]
    assert off.verdict is Verdict.NOT_REPRODUCED


def test_signal_propagation_default_tolerance_unchanged():
    c = [c for c in SP.claims(_sp_summary({1024: 0.03 + _exact_noise(6, 0.005, 4)}), SP.Params())
         if c.claim.startswith("chi1_matches_theory")][0]
    assert c.verdict is Verdict.PARTLY


def test_signal_propagation_one_overflowing_point_does_not_void_the_claim():
    s = _sp_summary({1024: 0.005 + _exact_noise(6, 0.001, 5)}, nan_point=("relu", 1.0, 0.0))
    c = [c for c in SP.claims(s, SP.Params()) if c.claim.startswith("chi1_matches_theory")][0]
    assert c.verdict is Verdict.REPRODUCED and c.n == 6
    assert "relu" in c.detail and "left out" in c.detail


# ---------------------------------------------------------------------------------------------
# saturation: the theory margin was tuned for width 64; other settings must not be merged


def _sat_summary(width, dev_sd, seed=0, weight_scale=1.0):
    rows = []
    rng = np.random.default_rng(seed)
    for act in ("tanh", "relu"):
        for a in (1.0, 10.0, 100.0):
            th = SAT.theory_fraction(act, a, weight_scale, 0.0, 16)
            for s in SEEDS:
                rows.append({"activation": act, "alpha": a, "seed": s, "status": "ok",
                             "diverged": False, "task": "teacher", "init": "gaussian",
                             "weight_scale": weight_scale, "bias_scale": 0.0, "in_dim": 16,
                             "width": width, "saturated": th + rng.normal(0, dev_sd),
                             "grad_per_residual": 1.0 / a, "delta_per_residual": 1.0 / a,
                             "loss0": 1.0, "loss_end": 0.5, "loss_ratio": 0.5})
    return pd.DataFrame(rows)


def test_saturation_margin_follows_the_width():
    # width 8: one seed's fraction averages 8 units, sd ~0.07/sqrt(8) = 0.025 around the theory
    cl = _by_id(SAT.claims(_sat_summary(8, 0.025), SAT.Params()))
    c = cl["saturated_fraction[input_scale,tanh]"]
    assert c.verdict is Verdict.REPRODUCED, (c.measured, c.ci_high, c.expected)
    # and at width 64 the same spread is too much
    cl = _by_id(SAT.claims(_sat_summary(64, 0.025), SAT.Params()))
    assert cl["saturated_fraction[input_scale,tanh]"].verdict is not Verdict.REPRODUCED


def _sat_raw(weight_scales):
    rows = []
    for ws in weight_scales:
        for a in (1.0, 100.0):
            for s in (0, 1, 2):
                base = {"run_id": f"{ws}-{a}-{s}", "activation": "tanh", "alpha": a, "seed": s,
                        "status": "ok", "task": "teacher", "init": "gaussian", "weight_scale": ws,
                        "bias_scale": 0.0, "in_dim": 16, "width": 64, "depth": 3, "layer": None}
                g = ws / a * (1 + 0.1 * s)  # dL/dz_1 and dL/dW_1 per unit of residual
                rows += [{**base, "step": 0, "metric": "loss", "value": 1.0},
                         {**base, "step": 300, "metric": "loss", "value": 0.5 if a == 1 else 0.95},
                         {**base, "step": 0, "layer": 1, "metric": "grad_norm", "value": g},
                         {**base, "step": 0, "layer": 1, "metric": "delta_rms", "value": g},
                         {**base, "step": 0, "layer": 1, "metric": "saturated_fraction",
                          "value": SAT.theory_fraction("tanh", a, ws, 0.0, 16)}]
    df = pd.DataFrame(rows)
    df["layer"] = df["layer"].astype("Int64")
    return df


def test_saturation_keeps_other_settings_apart():
    s = SAT.summarize(_sat_raw([0.5, 2.0]), SAT.Params())
    assert len(s) == 2 * 2 * 3  # weight scales x alphas x seeds: nothing merged by .first()
    cl = _by_id(SAT.claims(s, SAT.Params()))
    fr = {k: c for k, c in cl.items() if k.startswith("saturated_fraction")}
    assert set(fr) == {"saturated_fraction[input_scale,tanh,weight_scale=0.5]",
                       "saturated_fraction[input_scale,tanh,weight_scale=2]"}
    # per weight scale: the fraction, the two gradient drops and the stall (no relu, no W1/alpha
    # control: those are no data)
    judged = [c for c in cl.values() if c.verdict is not Verdict.NO_DATA]
    assert len(judged) == 2 * 4 and all(c.n == 3 for c in judged), cl


# ---------------------------------------------------------------------------------------------
# dead_relu: "a dead first-layer unit never moves" holds for plain SGD only


def _dr_summary(optimizer):
    rows = []
    for cause, values in {"lr": [0.01, 0.1]}.items():
        for v in values:
            for s in SEEDS:
                rows.append({"label": "relu", "activation": "relu", "slope": np.nan, "cause": cause,
                             "cause_value": v, "seed": s, "lr": v, "width": 32, "bias_shift": 0.0,
                             "optimizer": optimizer, "diverged": False,
                             "dead_fraction": 0.1 + 0.1 * (v > 0.05),
                             "near_dead_fraction": 0.1, "off_fraction": 0.1, "loss": 0.5,
                             "l1_ever_off": 5.0, "l1_came_back": 1.0, "deep_ever_off": 10.0,
                             "deep_came_back": 2.0, "l1_stayed_off": 8.0, "l1_off_move_max": 0.01,
                             "l1_off_rel_move": 0.001, "deep_off_rel_move": 0.001})
    return pd.DataFrame(rows)


def test_dead_relu_never_revives_is_not_failed_by_adam():
    c = _by_id(D.claims(_dr_summary("adam"), D.Params()))["relu_never_revives[layer=1]"]
    assert c.verdict is Verdict.NO_DATA and "sgd" in c.detail.lower()
    c = _by_id(D.claims(_dr_summary("sgd"), D.Params()))["relu_never_revives[layer=1]"]
    assert c.verdict is Verdict.FAIL  # with plain SGD the same numbers are a real failure


def test_dead_relu_refuses_a_table_whose_trainings_collide():
    # two depths (or any setting the summary does not key on) at the same seed would be paired by
    # position inside `paired`: refused with one clear line instead
    rows = []
    for depth in (2, 4):
        for cv in (0.01, 0.1):
            base = {"run_id": f"d{depth}", "activation": "relu", "slope": np.nan, "cause": "lr",
                    "cause_value": cv, "seed": 0, "lr": cv, "width": 32, "depth": depth,
                    "bias_shift": 0.0, "status": "ok", "status_inner": "ok", "step": 10, "layer": 1}
            rows += [{**base, "metric": "dead_fraction", "value": 0.1}]
    with pytest.raises(ValueError, match="share"):
        D.summarize(pd.DataFrame(rows), D.Params())


# ---------------------------------------------------------------------------------------------
# softplus_revival: references must use each row's own lr / n_points / budget


def _sr_raw(activation, lr, steps_of, z0s=(-1.0, -3.0), slope=None, beta=None, npts=16,
            budget=20_000):
    rows = []
    for z0, st in zip(z0s, steps_of(list(z0s), lr, budget, npts)):
        common = {"run_id": f"{activation}-{slope}-{beta}-{lr}", "seed": 0,
                  "activation": activation, "slope": slope, "beta": beta, "z0": z0, "lr": lr,
                  "n_points": npts, "max_steps": budget, "step": 0, "layer": None, "status": "ok"}
        rows += [{**common, "metric": "steps_to_revive", "value": st},
                 {**common, "metric": "revived", "value": float(not math.isnan(st))},
                 {**common, "metric": "slope_at_z0", "value": 0.1}]
    return rows


def test_softplus_revival_two_learning_rates_are_not_averaged():
    def leaky(z0s, lr, budget, npts):
        return SR.leaky_closed_form(0.1, z0s, lr, budget, npts)

    df = pd.DataFrame(_sr_raw("leaky_relu", 0.5, leaky, slope=0.1)
                      + _sr_raw("leaky_relu", 0.1, leaky, slope=0.1))
    s = SR.summarize(df, SR.Params())
    assert len(s) == 4
    cl = _by_id(SR.claims(s, SR.Params()))
    lk = {k: c for k, c in cl.items() if k.startswith("leaky_closed_form")}
    assert set(lk) == {"leaky_closed_form[slope=0.1,lr=0.5]", "leaky_closed_form[slope=0.1,lr=0.1]"}
    assert all(c.verdict is Verdict.PASS for c in lk.values()), lk


def test_softplus_revival_two_betas_are_not_averaged():
    def soft(beta):
        return lambda z0s, lr, budget, npts: SR.steps_to_revive(
            get_activation("softplus", beta=beta), z0s, lr, budget, npts)

    df = pd.DataFrame(_sr_raw("softplus", 0.5, soft(1.0), beta=1.0, budget=3000)
                      + _sr_raw("softplus", 0.5, soft(2.0), beta=2.0, budget=3000))
    s = SR.summarize(df, SR.Params())
    assert len(s) == 4
    cl = _by_id(SR.claims(s, SR.Params()))
    assert cl["softplus_exp_lower_bound[beta=1]"].verdict is Verdict.PASS
    assert cl["softplus_exp_lower_bound[beta=2]"].verdict is Verdict.PASS


def test_softplus_bound_without_a_single_return_is_no_data_not_pass():
    def never(z0s, lr, budget, npts):
        return [math.nan] * len(z0s)

    s = SR.summarize(pd.DataFrame(_sr_raw("softplus", 0.5, never, beta=1.0, budget=10)),
                     SR.Params())
    c = _by_id(SR.claims(s, SR.Params()))["softplus_exp_lower_bound[beta=1]"]
    assert c.verdict is Verdict.NO_DATA


# ---------------------------------------------------------------------------------------------
# linear_collapse: "never below least squares" must read the network, not its (affine) fold


def _lc_summary(train_ratio, folded_ratio):
    rows = []
    for act in ("identity", "linear"):
        for d in (1, 2):
            for s in SEEDS[:3]:
                rows.append({"activation": act, "depth": d, "seed": s, "status": "ok",
                             "diverged": False, "slope": 0.8 if act == "linear" else np.nan,
                             "loss": 0.5, "lstsq_loss": 0.5,
                             "train_mse": 0.5 * train_ratio, "collapse_error": 1e-15,
                             "folded_loss": 0.5 * folded_ratio, "gap": train_ratio - 1,
                             "ratio": train_ratio})
    return pd.DataFrame(rows)


def test_linear_collapse_never_below_reads_the_network_itself():
    # the network beats least squares (impossible for a linear net: it is not linear), while its
    # fold, affine by construction, cannot: the claim must fail
    c = _by_id(LC.claims(_lc_summary(0.5, 1.001), LC.Params()))["never_below_lstsq"]
    assert c.verdict is Verdict.FAIL
    c = _by_id(LC.claims(_lc_summary(1.001, 1.001), LC.Params()))["never_below_lstsq"]
    assert c.verdict is Verdict.PASS


def test_linear_collapse_keeps_slopes_apart():
    rows = []
    for slope in (0.8, 0.5):
        for s in (0, 1):
            base = {"run_id": f"lin{slope}-{s}", "activation": "linear", "depth": 2, "seed": s,
                    "status": "ok", "slope": slope, "layer": None, "step": 400}
            rows += [{**base, "metric": m, "value": v} for m, v in
                     (("loss", 0.5), ("train_mse", 0.5 if slope == 0.8 else 0.9),
                      ("lstsq_loss", 0.5), ("collapse_error", 1e-15),
                      ("folded_loss", 0.5 if slope == 0.8 else 0.9))]
    s = LC.summarize(pd.DataFrame(rows), LC.Params())
    assert len(s) == 4 and sorted(s["slope"].unique()) == [0.5, 0.8]
    cl = _by_id(LC.claims(s, LC.Params()))
    assert cl["reaches_lstsq[linear,slope=0.8]"].verdict is not Verdict.NOT_REPRODUCED
    assert cl["reaches_lstsq[linear,slope=0.5]"].verdict is Verdict.NOT_REPRODUCED


# ---------------------------------------------------------------------------------------------
# nonmonotonic: two parameterizations of one activation must not be averaged


def test_nonmonotonic_keeps_activation_parameters_apart():
    rows = []
    for i, (act, beta, mse) in enumerate((("relu", None, 0.09), ("swish", 1.0, 0.001),
                                          ("swish", 10.0, 0.08))):
        for s in SEEDS:
            base = {"run_id": f"{act}{beta}{s}", "step": 2000, "layer": None, "activation": act,
                    "beta": beta, "seed": s, "status": "ok", "target": "dip", "noise": 0.1,
                    "max_norm": 10.0}
            m = mse * math.exp(0.1 * _exact_noise(6, 1.0, s)[i])
            rows += [{**base, "metric": k, "value": v} for k, v in
                     (("mse", m), ("mse_median_restart", m), ("mse_bounded", m),
                      ("param_norm", 2.0), ("isotonic_bound", 0.09), ("data_variance", 0.12))]
    s = N.summarize(pd.DataFrame(rows), N.Params())
    assert len(s) == 3 * len(SEEDS)
    cl = _by_id(N.claims(s, N.Params()))
    assert cl["much_lower[swish beta=1,target=dip]"].verdict is Verdict.REPRODUCED
    assert cl["much_lower[swish beta=10,target=dip]"].verdict is Verdict.NOT_REPRODUCED
    assert cl["much_lower[swish beta=10,target=dip]"].measured == pytest.approx(0.08 / 0.09,
                                                                           rel=0.1)


# ---------------------------------------------------------------------------------------------
# output_constraint: a zero-variance t interval makes "never dies" reproduced from two runs


def _oc_summary(seeds, lrs, dead_softplus=()):
    rows = []
    for head in O.HEADS:
        for s in seeds:
            for lr in lrs:
                rows.append({"seed": s, "head": head, "lr": lr, "diverged": False,
                             "dead": float(head == "softplus" and (s, lr) in dead_softplus),
                             "zero_target_fraction": 0.6,
                             "negative_fraction": 0.1 if head == "none" else 0.0,
                             "zero_fraction": 0.5 if head == "relu" else 0.0,
                             "zero_hit_fraction": 0.8,
                             "zero_target_bias": {"none": 0.1, "relu": 0.03,
                                                  "softplus": 0.15}[head] + 0.01 * s,
                             "positive_target_mse": 0.1,
                             "min_prediction": 0.01 if head != "none" else -0.2,
                             "head_output_range": 1.0, "train_target_std": 0.5})
    return pd.DataFrame(rows)


def test_softplus_never_dies_needs_more_than_two_runs():
    c = _by_id(O.claims(_oc_summary([0, 1], [0.1]), O.Params()))["softplus_never_dies"]
    assert c.verdict is Verdict.PARTLY and c.n == 2
    many = _by_id(O.claims(_oc_summary(range(30), [0.01, 0.1, 0.3]),
                           O.Params()))["softplus_never_dies"]
    assert many.verdict is Verdict.REPRODUCED and many.n == 90
    dies = _by_id(O.claims(_oc_summary(range(10), [0.1], {(s, 0.1) for s in range(5)}), O.Params()))
    assert dies["softplus_never_dies"].verdict is Verdict.NOT_REPRODUCED


# ---------------------------------------------------------------------------------------------
# gelu_approx: a measurement range without the minimum is not a failed theorem; other settings


def _gelu_summary():
    rows = []
    for form in ("none", *G.APPROX):
        for s in SEEDS[:3]:
            rows.append({"approximate": form, "seed": s, "status": "ok", "diverged": False,
                         "final_test_loss": 0.1, "max_abs_error": np.nan,
                         "max_abs_error_at": np.nan, "gelu_min": -0.125, "gelu_min_at": -0.5})
    return pd.DataFrame(rows)


def test_gelu_min_out_of_range_is_no_data_not_a_failure():
    c = _by_id(G.claims(_gelu_summary(), G.Params(z_max=0.5)))["gelu_min"]
    assert c.verdict is Verdict.NO_DATA and "z_max" in c.detail


def test_gelu_same_training_keeps_learning_rates_apart():
    rows = []
    for form in ("none", *G.APPROX):
        for lr in (0.1, 0.01):
            for s in SEEDS:
                base = {"run_id": f"{form}{lr}{s}", "approximate": form, "seed": s, "status": "ok",
                        "lr": lr, "layer": None}
                noise = 1 + 0.001 * _exact_noise(3, 1.0, s)[("none", *G.APPROX).index(form)]
                loss = ((0.1 if lr == 0.1 else 0.5) * noise
                        * (1.3 if (form == "tanh" and lr == 0.01) else 1))
                rows += [{**base, "step": 300, "metric": "test_loss", "value": loss}]
    s = G.summarize(pd.DataFrame(rows), G.Params())
    assert len(s) == 3 * 2 * len(SEEDS)
    cl = _by_id(G.claims(s, G.Params()))
    assert cl["same_training[tanh,lr=0.1]"].verdict is Verdict.REPRODUCED
    assert cl["same_training[tanh,lr=0.01]"].verdict is Verdict.NOT_REPRODUCED
    assert cl["same_training[sigmoid,lr=0.01]"].n == len(SEEDS)


# ---------------------------------------------------------------------------------------------
# linear_regions: two bias scales at the same seeds must not be merged by `.first()`


def test_linear_regions_keeps_bias_scales_apart():
    rows = []
    for sb, per in ((0.5, 1.0), (0.0, 0.03)):
        common = {"step": 0, "layer": None, "run_id": f"r{sb}", "status": "ok", "bias_scale": sb}
        for seed in range(4):
            for d in (1, 4):
                cond = {"construction": "random", "sweep": "shape", "phase": "init", "depth": d,
                        "width": 64 // d, "neurons": 64, "input_dim": 1, "seed": seed}
                v = per * 64 * (1 + 0.05 * seed)
                rows += [{**common, **cond, "metric": "pieces", "value": v},
                         {**common, **cond, "metric": "pieces_merged", "value": v}]
    s = LR.summarize(pd.DataFrame(rows), LR.Params())
    assert len(s) == 2 * 4 * 2
    cl = _by_id(LR.claims(s, LR.Params()))
    assert cl["random_per_neuron[input_dim=1,bias_scale=0.5]"].verdict is Verdict.REPRODUCED
    assert cl["random_per_neuron[input_dim=1,bias_scale=0]"].verdict is Verdict.NOT_REPRODUCED


# ---------------------------------------------------------------------------------------------
# Found by the review and fixed since: each test builds the table the old code judged wrongly.


def test_gradient_chain_hand_derivatives_see_a_sign_error():
    """The chain stores signed gradients and the mpmath reference is the signed product, so a
    hand derivative of the wrong sign fails the math claim (it passed while both were |.|)."""
    from experiments import gradient_chain as gc

    p = gc.Params(max_depth=6)
    good = get_activation("tanh")

    class Flipped:  # the registry's tanh with a hand derivative of the wrong sign
        max_slope = good.max_slope

        def __call__(self, z):
            return good(z)

        def deriv(self, z):
            return -good.deriv(z)

    rows = []
    for form, cw in (("article", 1.0), ("weighted", 0.7)):
        for depth in range(1, p.max_depth + 1):
            auto, analytic = gc.chain_gradient(Flipped(), depth, p.x, p.w1, cw)
            rows.append({"part": "chain", "activation": "tanh", "slope": np.nan, "beta": np.nan,
                         "elu_alpha": np.nan, "approximate": np.nan, "weight_scale": 0.7, "seed": 0,
                         "form": form, "chain_weight": cw, "depth": depth, "dfdw1": auto,
                         "dfdw1_analytic": analytic, "dfdw1_bound": abs(p.x) * depth})
    s = pd.DataFrame(rows).reindex(columns=gc.summarize(pd.DataFrame(), p).columns)
    c = _by_id(gc.claims(s, p))["hand_derivatives"]
    assert c.verdict is Verdict.FAIL


def test_identical_seeds_get_an_honest_interval():
    """All seeds agree: a yes/no outcome gets the exact binomial interval (2 of 2 is [0.16, 1]);
    any other value gets no interval, so at best 'partly' (never a zero-width certainty)."""
    from actlab.claims import above, over_seeds

    rule = above(0.5)
    # e.g. gradient_chain training_diverges: diverged minus control
    e = over_seeds([1.0, 1.0], rule)
    assert e.lo == pytest.approx(0.025 ** 0.5) and e.hi == 1.0
    assert rule.verdict(e.estimate, e.lo, e.hi) is Verdict.PARTLY  # 0.16 < 0.5: not shown
    e = over_seeds([0.7, 0.7, 0.7], rule)
    assert rule.verdict(e.estimate, e.lo, e.hi) is Verdict.PARTLY


def test_paired_refuses_duplicate_seed_ids():
    from actlab.claims import paired

    s = pd.DataFrame({"seed": [0, 0, 1, 1] * 2, "by": ["a"] * 4 + ["b"] * 4, "v": range(8)})
    with pytest.raises(ValueError):
        paired(s, "v", "by", "a", "b")
