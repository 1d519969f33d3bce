"""Quadrature against closed forms."""

import math

import numpy as np
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


def _quad_expect(f, q: float) -> float:
    """E[f(sqrt(q) z)], z ~ N(0, 1), by adaptive quadrature (scipy), not Gauss-Hermite."""
    from scipy.integrate import quad

    val, _ = quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                  -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)
    return val


@pytest.mark.parametrize("sw,sb", [(1.5, 0.0), (2.5, 0.0), (1.2, 0.3), (0.8, 0.5)])
def test_tanh_chi1_against_quad_and_root_finding(sw, sb):
    """q* as the root of q - sw^2 E[tanh^2] - sb^2 (brentq on the quad map, away from the unstable
    q = 0 when sb = 0), chi_1 = sw^2 E[sech^4(sqrt(q*) z)]: another method than actlab.meanfield."""
    from scipy.optimize import brentq

    def gap(q):
        return sw**2 * _quad_expect(lambda u: math.tanh(u) ** 2, q) + sb**2 - q

    q_star = brentq(gap, 1e-6, sw**2 + sb**2 + 1.0, xtol=1e-14)
    expected = sw**2 * _quad_expect(
        lambda u: (2 * math.exp(-abs(u)) / (1 + math.exp(-2 * abs(u)))) ** 4, q_star)
    act = get_activation("tanh")
    # 200-node Gauss-Hermite on tanh (complex poles at i pi / (2 sqrt q)) is good to ~1e-8 in q*
    # and ~1e-6 in chi_1 at sw = 2.5 (mpmath agrees with quad to 1e-15); the claims need 1e-2
    assert fixed_point(act, sw, sb) == pytest.approx(q_star, rel=1e-6)
    assert chi1(act, sw, sb) == pytest.approx(expected, rel=1e-5)


def test_linear_and_depth_scale():
    lin = get_activation("linear", slope=1.8)
    assert chi(lin, 3.7, 0.7) == pytest.approx((0.7 * 1.8) ** 2, rel=1e-12)
    assert depth_scale(math.exp(-0.5)) == pytest.approx(2.0)
    assert math.isinf(depth_scale(1.0))
