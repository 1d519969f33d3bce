"""The chain-rule product against autograd and against the mpmath reference, the exact linear
growth, and the suprema of sigma' the chain bound uses."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from actlab.activations import ACTIVATIONS, get_activation
from experiments.gradient_chain import chain_gradient, reference_chain, rel_error, sup_slope

PARAMS = {"linear": {"slope": 1.8}, "leaky_relu": {"slope": 0.1}, "softplus": {"beta": 1.0},
          "swish": {"beta": 1.0}, "elu": {"alpha": 1.0}}


def _ref_args(name: str) -> tuple:
    p = PARAMS.get(name, {})
    return (name, p.get("slope"), p.get("beta"), p.get("alpha"), "none" if name == "gelu" else None)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("w", [1.0, 0.7])
def test_product_equals_autograd_and_the_mpmath_reference(name, w):
    act = get_activation(name, **PARAMS.get(name, {}))
    ref = reference_chain(*_ref_args(name), 0.5, 1.0, w, 50)
    for depth in (1, 2, 7, 30, 50):
        auto, analytic = chain_gradient(act, depth, x=0.5, w1=1.0, w=w)
        assert rel_error(auto, analytic) < 1e-12, (name, depth, auto, analytic)
        # tanhshrink ~ z^3/3 near 0: its chain underflows float64; both sides must then be ~0
        underflow = abs(ref[depth - 1]) < 1e-290 and abs(auto) < 1e-290
        assert underflow or rel_error(auto, ref[depth - 1]) < 1e-12, (name, depth, auto,
                                                                      ref[depth - 1])


def test_the_reference_would_see_a_wrong_derivative():
    # sigmoid with the derivative off by 1% at every layer: 50 layers away from the reference
    ref = reference_chain("sigmoid", None, None, None, None, 0.5, 1.0, 1.0, 10)
    auto, _ = chain_gradient(get_activation("sigmoid"), 10, x=0.5, w1=1.0, w=1.0)
    assert rel_error(auto * 1.01**10, ref[9]) > 0.05
    assert rel_error(-auto, ref[9]) > 1  # and a sign error (the reference is signed)


@pytest.mark.parametrize("s,a", [(0.7, 1.8), (1.0, 1.5), (0.5, 1.1)])
def test_linear_chain_is_geometric(s, a):
    act = get_activation("linear", slope=a)
    depths = np.arange(1, 21)
    grads = [chain_gradient(act, int(d), x=0.5, w1=1.0, w=s)[0] for d in depths]
    for d, g in zip(depths, grads):
        assert g == pytest.approx(0.5 * a * (s * a) ** (d - 1), rel=1e-12)
    fitted = np.polyfit(depths, np.log(np.abs(grads)), 1)[0]
    assert fitted == pytest.approx(math.log(s * a), abs=1e-10)


def test_sigmoid_bound():
    act = get_activation("sigmoid")
    for depth in range(1, 30):
        auto, _ = chain_gradient(act, depth, x=0.5, w1=1.0, w=1.0)
        assert abs(auto) <= 0.5 * sup_slope("sigmoid", None, None, None, None) ** depth


@pytest.mark.parametrize("name,approximate,beta", [("gelu", "none", None), ("gelu", "tanh", None),
                                                   ("gelu", "sigmoid", None), ("swish", None, 1.0),
                                                   ("swish", None, 2.5)])
def test_sup_slope_of_smooth_non_monotone_activations(name, approximate, beta):
    """Root finding on sigma'' against a bounded numerical maximization of the registry's sigma'."""
    kw = {"approximate": approximate} if name == "gelu" else {"beta": beta}
    act = get_activation(name, **kw)
    import torch

    def neg(z):
        return -float(act.deriv(torch.tensor(z, dtype=torch.float64)))

    best = -minimize_scalar(neg, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-10}).fun
    sup = sup_slope(name, None, beta, None, approximate)
    assert sup == pytest.approx(best, rel=1e-9)
    assert sup > 1.05  # an interior maximum above the limit 1: not a constant
