"""Quadrature against closed forms."""

import math

import pytest
import torch

from actlab.activations import get_activation
from actlab.meanfield import chi, chi1, depth_scale, fixed_point, gauss_expect


def test_gauss_expect_moments():
    assert gauss_expect(lambda u: u**2, 2.5) == pytest.approx(2.5, rel=1e-12)
    assert gauss_expect(lambda u: u**4, 1.0) == pytest.approx(3.0, rel=1e-12)
    assert gauss_expect(torch.cos, 1.0) == pytest.approx(math.exp(-0.5), rel=1e-12)


@pytest.mark.parametrize("sw,sb", [(1.0, 0.0), (math.sqrt(2), 0.0), (2.0, 0.0), (1.2, 0.3)])
def test_relu_closed_form(sw, sb):
    relu = get_activation("relu")
    assert chi1(relu, sw, sb) == pytest.approx(sw**2 / 2, rel=1e-12)
    if sw**2 / 2 < 1 and sb > 0:  # q* = sb^2 / (1 - sw^2 / 2)
        assert fixed_point(relu, sw, sb) == pytest.approx(sb**2 / (1 - sw**2 / 2), rel=1e-9)


@pytest.mark.parametrize("sw", [0.3, 0.5, 0.8, 0.95])
def test_tanh_below_one_is_ordered(sw):
    # sigma_b = 0, sigma_w < 1: q* = 0 and chi_1 = sigma_w^2 tanh'(0)^2 = sigma_w^2
    assert chi1(get_activation("tanh"), sw, 0.0) == pytest.approx(sw**2, rel=1e-6)


def test_tanh_chaotic_value():
    assert chi1(get_activation("tanh"), 1.5, 0.0) == pytest.approx(1.1393, abs=1e-4)


def test_linear_and_depth_scale():
    lin = get_activation("linear", slope=1.8)
    assert chi(lin, 3.7, 0.7) == pytest.approx((0.7 * 1.8) ** 2, rel=1e-12)
    assert depth_scale(math.exp(-0.5)) == pytest.approx(2.0)
    assert math.isinf(depth_scale(1.0))
