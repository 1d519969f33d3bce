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


# ---------------------------------------------------------------------------------------------
# The critical line and the depth scales (actlab.meanfield's root finding and composite rule)


def test_composite_rule_against_quad_where_gauss_hermite_fails():
    """E[sech^4(sqrt(q) z)] at large q: tanh' is narrower than the Gauss-Hermite node spacing."""
    from actlab.meanfield import expect

    def sech4(u):
        return (2 * math.exp(-abs(u)) / (1 + math.exp(-2 * abs(u)))) ** 4

    tanh = get_activation("tanh")
    for q in (0.01, 1.0, 25.0, 400.0):
        ref = _quad_expect(sech4, q)
        assert expect(lambda u: tanh.deriv(u) ** 2, q) == pytest.approx(ref, rel=1e-10)
    assert gauss_expect(lambda u: tanh.deriv(u) ** 2, 400.0) < 0.5 * _quad_expect(sech4, 400.0)


@pytest.mark.parametrize("name,sw,sb", [("tanh", 1.5, 0.3), ("tanh", 2.5, 0.0), ("relu", 1.2, 0.3),
                                        ("sigmoid", 3.0, 0.1)])
def test_q_star_by_root_finding_agrees_with_iteration(name, sw, sb):
    from actlab.meanfield import q_star

    act = get_activation(name)
    assert q_star(act, sw, sb) == pytest.approx(fixed_point(act, sw, sb), rel=1e-7)


def test_q_star_limits():
    from actlab.meanfield import q_star

    assert q_star(get_activation("tanh"), 0.8, 0.0) == 0.0  # ordered at sigma_b = 0: q -> 0
    assert math.isinf(q_star(get_activation("relu"), 1.6, 0.3))  # sigma_w^2 / 2 > 1: q grows


@pytest.mark.parametrize("name,params,sb,expected", [
    ("relu", {}, 0.0, math.sqrt(2)),
    ("tanh", {}, 0.0, 1.0),
    ("linear", {"slope": 0.5}, 0.0, 2.0),
    ("linear", {"slope": 1.8}, 0.2, 1 / 1.8),
])
def test_critical_weight_scale_closed_forms(name, params, sb, expected):
    from actlab.meanfield import critical_weight_scale

    crit = critical_weight_scale(get_activation(name, **params), sb)
    assert crit.weight_scale == pytest.approx(expected, rel=1e-6, abs=0)


def test_tanh_critical_weight_scale_grows_with_the_bias():
    from actlab.meanfield import chi1_star, critical_weight_scale

    tanh = get_activation("tanh")
    crit = [critical_weight_scale(tanh, sb).weight_scale for sb in (0.0, 0.1, 0.3, 0.6)]
    assert crit[0] == pytest.approx(1.0, abs=1e-6)
    assert all(b > a for a, b in zip(crit, crit[1:])) and crit[1] > 1
    for sb, sw in zip((0.1, 0.3, 0.6), crit[1:]):  # the root is a root
        assert chi1_star(tanh, sw, sb) == pytest.approx(1.0, abs=1e-9)


def test_no_root_is_nan_with_the_reason():
    from actlab.meanfield import critical_weight_scale

    crit = critical_weight_scale(get_activation("swish"), 0.3)  # q* jumps to inf: chi_1 jumps
    assert math.isnan(crit.weight_scale) and math.isfinite(crit.edge)
    assert crit.reason.startswith("chi_1 never equals 1: it jumps")
    crit = critical_weight_scale(get_activation("linear", slope=0.01), 0.0, hi=20.0)
    assert math.isnan(crit.weight_scale) and "chi_1 < 1 for every sigma_w" in crit.reason


def test_xi_c_diverges_at_the_critical_line():
    from actlab.meanfield import critical_weight_scale, depth_scales

    tanh = get_activation("tanh")
    sw_c = critical_weight_scale(tanh, 0.3).weight_scale
    for side in (-1, 1):
        xs = [depth_scales(tanh, sw_c * (1 + side * e), 0.3).xi_c for e in (0.1, 0.01, 0.001)]
        assert xs[0] < xs[1] < xs[2] and xs[2] > 100
    assert math.isinf(depth_scales(tanh, sw_c, 0.3).xi_c)


def test_xi_q_against_schoenholz_form_with_autograd_second_derivative():
    """xi_q^-1 = -ln(chi_1 + sigma_w^2 E[phi'' phi]) with phi'' by autograd, vs the
    integration-by-parts form used by q_slope."""
    from actlab.meanfield import depth_scales, expect

    tanh = get_activation("tanh")
    sw, sb = 1.3, 0.2
    ds = depth_scales(tanh, sw, sb)

    def phi2(u):
        with torch.enable_grad():  # expect() evaluates under no_grad
            u = u.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(tanh.deriv(u).sum(), u)
        return g

    slope = ds.chi1 + sw**2 * expect(lambda u: phi2(u) * tanh(u), ds.q_star)
    assert ds.q_slope == pytest.approx(slope, rel=1e-10)
    assert ds.xi_q == pytest.approx(-1 / math.log(slope), rel=1e-9)


def test_correlation_map_fixed_point_and_slope():
    from actlab.meanfield import c_map, chi_c, depth_scales

    tanh = get_activation("tanh")
    ds = depth_scales(tanh, 2.0, 0.3)  # chaotic: c* < 1
    assert 0 < ds.c_star < 1 and ds.chi1 > 1
    assert c_map(tanh, ds.c_star, ds.q_star, 2.0, 0.3) == pytest.approx(ds.c_star, abs=1e-10)
    assert c_map(tanh, 1.0, ds.q_star, 2.0, 0.3) == pytest.approx(1.0, abs=1e-10)
    # chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] is the slope of the c map (finite differences)
    h = 1e-5
    fd = (c_map(tanh, ds.c_star + h, ds.q_star, 2.0, 0.3)
          - c_map(tanh, ds.c_star - h, ds.q_star, 2.0, 0.3)) / (2 * h)
    assert chi_c(tanh, ds.c_star, ds.q_star, 2.0) == pytest.approx(fd, rel=1e-6)
    assert ds.xi_c == pytest.approx(-1 / math.log(fd), rel=1e-5)
    # sigma_b = 0, odd phi, chaotic: c* = 0 by symmetry
    assert depth_scales(tanh, 2.0, 0.0).c_star == pytest.approx(0.0, abs=1e-12)
    ordered = depth_scales(tanh, 0.8, 0.3)
    assert ordered.c_star == 1.0 and ordered.xi_c == pytest.approx(-1 / math.log(ordered.chi1))
