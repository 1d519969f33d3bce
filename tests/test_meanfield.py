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


def _sech4(u: float) -> float:
    """tanh'(u)^2 = sech(u)^4, written without overflow."""
    return (2 * math.exp(-abs(u)) / (1 + math.exp(-2 * abs(u)))) ** 4


def _tanh_q_star_by_quad(sw: float, sb: float) -> float:
    """q* as the root of q - sw^2 E[tanh^2] - sb^2 (brentq on the quad map, away from the unstable
    q = 0 when sb = 0): another method than actlab.meanfield."""
    from scipy.optimize import brentq

    def gap(q):
        return sw**2 * _quad_expect(lambda u: math.tanh(u) ** 2, q) + sb**2 - q

    return brentq(gap, 1e-6, sw**2 + sb**2 + 1.0, xtol=1e-14, rtol=1e-13)


def _tanh_chi1_by_quad(sw: float, sb: float) -> float:
    """chi_1 = sw^2 E[sech^4(sqrt(q*) z)] at the quad q*."""
    return sw**2 * _quad_expect(_sech4, _tanh_q_star_by_quad(sw, sb))


@pytest.mark.parametrize("sw,sb", [(1.5, 0.0), (2.5, 0.0), (1.2, 0.3), (0.8, 0.5)])
def test_tanh_chi1_against_quad_and_root_finding(sw, sb):
    """q* and chi_1 by adaptive quadrature and brentq on the quad map (see the helpers)."""
    q_star = _tanh_q_star_by_quad(sw, sb)
    expected = _tanh_chi1_by_quad(sw, sb)
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

    tanh = get_activation("tanh")
    for q in (0.01, 1.0, 25.0, 400.0):
        ref = _quad_expect(_sech4, q)
        assert expect(lambda u: tanh.deriv(u) ** 2, q) == pytest.approx(ref, rel=1e-10)
    assert gauss_expect(lambda u: tanh.deriv(u) ** 2, 400.0) < 0.5 * _quad_expect(_sech4, 400.0)


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
    for sb, sw in zip((0.1, 0.3, 0.6), crit[1:]):
        # the root is a root: chi_1 there by adaptive quadrature, q* re-solved on the quad map
        # (not the composite rule and root finder that found it) ...
        assert _tanh_chi1_by_quad(sw, sb) == pytest.approx(1.0, abs=1e-9)
        # ... and a root to the precision the critical line needs: 0.1% off, chi_1 is off by more
        assert abs(_tanh_chi1_by_quad(sw * 1.001, sb) - 1) > 1e-4
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


def _tanh_c_map_by_trapezoid(c: float, q: float, sw: float, sb: float) -> float:
    """(sw^2 E[tanh(u1) tanh(u2)] + sb^2) / q with u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 +
    sqrt(1 - c^2) z2), by the trapezoid rule on a uniform grid in (z1, z2): exponentially
    accurate for an analytic integrand with Gaussian tails (tanh's nearest pole is at
    z = i pi / (2 sqrt q), far from the step), and another method than the composite
    Gauss-Legendre rule in actlab.meanfield."""
    h = 0.02
    z = np.arange(-11.0, 11.0 + h / 2, h)
    w = h * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    s = math.sqrt(q)
    t1 = np.tanh(s * z)
    t2 = np.tanh(s * (c * z[:, None] + math.sqrt(1 - c * c) * z[None, :]))
    return (sw**2 * float(w @ (t1[:, None] * t2) @ w) + sb**2) / q


def test_correlation_map_fixed_point_and_slope():
    """c*, the c map and chi_c against q* by quad + brentq, the c map by the trapezoid rule and c*
    by brentq on it: references computed another way than actlab.meanfield."""
    from scipy.optimize import brentq

    from actlab.meanfield import c_map, chi_c, depth_scales

    tanh = get_activation("tanh")
    sw, sb = 2.0, 0.3
    ds = depth_scales(tanh, sw, sb)  # chaotic: c* < 1
    q = _tanh_q_star_by_quad(sw, sb)
    assert ds.q_star == pytest.approx(q, rel=1e-9)
    c_ref = brentq(lambda c: _tanh_c_map_by_trapezoid(c, q, sw, sb) - c, 0.0, 0.99, xtol=1e-14)
    assert 0 < c_ref < 1 and ds.chi1 > 1
    assert ds.c_star == pytest.approx(c_ref, abs=1e-9)
    for c in (0.0, 0.5, c_ref, 0.999):  # the map itself, not only at its fixed point
        assert c_map(tanh, c, ds.q_star, sw, sb) == pytest.approx(
            _tanh_c_map_by_trapezoid(c, q, sw, sb), abs=1e-10)
    # c = 1 is a fixed point: (sw^2 E[tanh^2] + sb^2) / q* = 1 by q*'s definition
    assert c_map(tanh, 1.0, ds.q_star, sw, sb) == pytest.approx(1.0, abs=1e-10)
    # chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] is the slope of the c map (finite differences of the
    # trapezoid map)
    h = 1e-5
    fd = (_tanh_c_map_by_trapezoid(c_ref + h, q, sw, sb)
          - _tanh_c_map_by_trapezoid(c_ref - h, q, sw, sb)) / (2 * h)
    assert chi_c(tanh, ds.c_star, ds.q_star, sw) == pytest.approx(fd, rel=1e-6)
    assert ds.xi_c == pytest.approx(-1 / math.log(fd), rel=1e-5)
    # sigma_b = 0, odd phi, chaotic: c* = 0 by symmetry
    assert depth_scales(tanh, 2.0, 0.0).c_star == pytest.approx(0.0, abs=1e-12)
    ordered = depth_scales(tanh, 0.8, 0.3)
    assert ordered.c_star == 1.0 and ordered.xi_c == pytest.approx(-1 / math.log(ordered.chi1))
