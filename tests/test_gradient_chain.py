"""The chain-rule product against autograd, and the exact linear growth."""

import math

import pytest

from actlab.activations import ACTIVATIONS, get_activation
from experiments.gradient_chain import chain_gradient, rel_error


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("w", [1.0, 0.7])
def test_product_equals_autograd(name, w):
    act = get_activation(name, slope=1.8 if name == "linear" else 0.1)
    for depth in (1, 2, 7, 30, 50):
        auto, analytic = chain_gradient(act, depth, x=0.5, w1=1.0, w=w)
        assert rel_error(auto, analytic) < 1e-12, (name, depth, auto, analytic)


@pytest.mark.parametrize("s,a", [(0.7, 1.8), (1.0, 1.5), (0.5, 1.1)])
def test_linear_chain_is_geometric(s, a):
    act = get_activation("linear", slope=a)
    for depth in (1, 5, 20):
        auto, _ = chain_gradient(act, depth, x=0.5, w1=1.0, w=s)
        assert auto == pytest.approx(0.5 * a * (s * a) ** (depth - 1), rel=1e-12)
    assert math.log(0.7 * 1.8) == pytest.approx(0.2311, abs=1e-4)


def test_sigmoid_bound():
    act = get_activation("sigmoid")
    for depth in range(1, 30):
        auto, _ = chain_gradient(act, depth, x=0.5, w1=1.0, w=1.0)
        assert abs(auto) <= 0.5 * 0.25**depth
