"""Mean-field theory of signal propagation in wide random MLPs (Poole et al. 2016; Schoenholz et
al. 2017), by Gauss-Hermite quadrature.

For weights N(0, sigma_w^2 / fan_in) and biases N(0, sigma_b^2), the pre-activation variance obeys
    q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2] + sigma_b^2,     z ~ N(0, 1),
and the backpropagated signal obeys |delta_l|^2 / |delta_{l+1}|^2 = chi(q_l) with
    chi(q) = sigma_w^2 E[phi'(sqrt(q) z)^2].
chi_1 = chi(q*) at the fixed point q*; the depth scale of gradients is xi = -1 / ln chi_1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from actlab.activations import Activation

_N_NODES = 200  # even: no node at z = 0, so kinks at 0 (relu) split exactly in half
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(_N_NODES)  # weight exp(-z^2 / 2)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)  # now sum(w f(z)) = E[f(z)], z ~ N(0, 1)
_Z = torch.from_numpy(_NODES)
_W = torch.from_numpy(_WEIGHTS)


def gauss_expect(f, q: float) -> float:
    """E[f(sqrt(q) z)] for z ~ N(0, 1)."""
    with torch.no_grad():
        return float((_W * f(math.sqrt(max(q, 0.0)) * _Z)).sum())


def q_map(act: Activation, q: float, sigma_w: float, sigma_b: float) -> float:
    return sigma_w**2 * gauss_expect(lambda u: act(u) ** 2, q) + sigma_b**2


def chi(act: Activation, q: float, sigma_w: float) -> float:
    return sigma_w**2 * gauss_expect(lambda u: act.deriv(u) ** 2, q)


def q_sequence(act: Activation, q1: float, sigma_w: float, sigma_b: float,
               depth: int) -> list[float]:
    """q_1..q_depth, the pre-activation variance of each layer from q_1 at the first layer."""
    qs = [q1]
    for _ in range(depth - 1):
        qs.append(q_map(act, qs[-1], sigma_w, sigma_b))
    return qs


def fixed_point(act: Activation, sigma_w: float, sigma_b: float, q0: float = 1.0,
                iters: int = 2000, tol: float = 1e-12) -> float:
    """q* by iterating the q map; inf when q grows without bound (e.g. linear with sigma_w > 1)."""
    q = q0
    for _ in range(iters):
        nxt = q_map(act, q, sigma_w, sigma_b)
        if not math.isfinite(nxt) or nxt > 1e12:
            return math.inf
        if abs(nxt - q) <= tol * max(1.0, q):
            return nxt
        q = nxt
    return q


def chi1(act: Activation, sigma_w: float, sigma_b: float) -> float:
    """chi_1 at the fixed point. For activations whose chi does not depend on q (linear, relu) an
    unbounded q is harmless; otherwise chi is taken at the last finite q."""
    q = fixed_point(act, sigma_w, sigma_b)
    if math.isinf(q):
        q = 1e12
    return chi(act, q, sigma_w)


def depth_scale(chi_1: float) -> float:
    """xi = -1 / ln chi_1 (infinite at the edge of chaos chi_1 = 1)."""
    return math.inf if chi_1 == 1 else -1.0 / math.log(chi_1)




# ---------------------------------------------------------------------------------------------
# The critical line and the depth scales (Schoenholz et al. 2017, "Deep Information Propagation").
#
# Quadrature. The 200-node Gauss-Hermite rule above has nodes ~0.16 apart near z = 0; once q* is
# large an activation's features (width ~1 in u = sqrt(q) z, e.g. tanh'^2) are narrower than that
# in z and the rule misses them (tanh at sigma_w = 20: chi_1 0.16 instead of ~10). The functions
# below use a composite Gauss-Legendre rule instead, with panels no wider than 1 in u where the
# features are (|u| <= 12) and 0.5 in z elsewhere, split at z = 0 (the kink of relu and its kin).
#
# Fixed points are found by root finding (brentq) on the gap of each map, bracketed on a grid,
# not by iterating: near the critical line the iteration slows down without bound (at sigma_b = 0
# tanh's q_l decays like 1/l at sigma_w = 1), while a bracketed root is exact to rounding.

Q_MIN, Q_MAX = 1e-14, 1e12  # below Q_MIN q* counts as 0, above Q_MAX as unbounded
_Q_GRID = np.geomspace(Q_MIN, Q_MAX, 157)  # 6 points per decade
_Z_CUT = 9.0  # |z| beyond this carries Gaussian weight < 1e-18
_U_FEATURES = 12.0  # an activation's features lie within |u| <= 12 (tanh is flat to e^-24 there)
_PANEL_Z = 0.5  # the widest panel in z (the Gaussian's own scale)


@lru_cache(maxsize=8)
def _legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _gl_panels(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = _legendre(order)
    a, b = edges[:-1, None], edges[1:, None]
    return ((a + b) / 2 + (b - a) / 2 * x).ravel(), ((b - a) / 2 * w).ravel()


def _split(lo: float, hi: float, width: float) -> np.ndarray:
    return np.linspace(lo, hi, max(1, math.ceil((hi - lo) / width - 1e-9)) + 1)


def _gauss_rule(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes on z >= 0 mirrored to the whole line, weights times the N(0, 1) density."""
    z = np.concatenate([-z[::-1], z])
    return z, np.concatenate([w[::-1], w]) * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


@lru_cache(maxsize=1024)
def _z_rule_np(q: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    s = math.sqrt(max(q, 0.0))
    inner = min(_U_FEATURES / s, _Z_CUT) if s > 0 else _Z_CUT
    edges = _split(0.0, inner, min(1.0 / s, _PANEL_Z) if s > 0 else _PANEL_Z)
    if inner < _Z_CUT:
        edges = np.concatenate([edges, _split(inner, _Z_CUT, _PANEL_Z)[1:]])
    return _gauss_rule(*_gl_panels(edges, order))


def z_rule(q: float, order: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """(nodes, weights) with sum(w f(z)) = E[f(z)], z ~ N(0, 1), for f(z) = g(sqrt(q) z): panels
    no wider than 1 in u = sqrt(q) z on |u| <= 12, no wider than 0.5 in z beyond."""
    z, w = _z_rule_np(float(q), order)
    return torch.from_numpy(z), torch.from_numpy(w)


def expect_many(f, qs) -> np.ndarray:
    """E[f(sqrt(q) z)] for each q of `qs`, in one evaluation of f (each q with its own rule)."""
    rules = [_z_rule_np(float(q), 10) for q in qs]
    u = np.concatenate([math.sqrt(max(q, 0.0)) * z for q, (z, _) in zip(qs, rules)])
    w = torch.from_numpy(np.concatenate([w for _, w in rules]))
    seg = torch.from_numpy(np.repeat(np.arange(len(rules)), [len(z) for z, _ in rules]))
    with torch.no_grad():
        vals = w * f(torch.from_numpy(u))
        return torch.zeros(len(rules), dtype=vals.dtype).index_add_(0, seg, vals).numpy()


def expect(f, q: float) -> float:
    """E[f(sqrt(q) z)], z ~ N(0, 1), by the composite rule `z_rule`."""
    z, w = z_rule(q)
    with torch.no_grad():
        return float((w * f(math.sqrt(max(q, 0.0)) * z)).sum())


def expect_pair(f, g, q: float, c: float) -> float:
    """E[f(u1) g(u2)] for u1, u2 jointly Gaussian with variance q and correlation c:
    u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + r z2), r = sqrt(1 - c^2). A tensor rule of uniform
    panels (order 6), no wider than 1 in u along each axis, so a feature anywhere is resolved."""
    s = math.sqrt(max(q, 0.0))
    r = math.sqrt(max(1.0 - c * c, 0.0))
    rules = []
    for scale in (s, s * r):
        width = min(1.0 / scale, _PANEL_Z) if scale > 0 else _PANEL_Z
        z, w = _gauss_rule(*_gl_panels(_split(0.0, _Z_CUT, width), 6))
        rules.append((torch.from_numpy(z), torch.from_numpy(w)))
    (z1, w1), (z2, w2) = rules
    u1 = s * z1[:, None]
    u2 = s * (c * z1[:, None] + r * z2[None, :])
    with torch.no_grad():
        inner = (g(u2) * w2[None, :]).sum(1)
        return float((w1 * f(u1[:, 0]) * inner).sum())


def _brentq(f, a: float, b: float) -> float:
    from scipy.optimize import brentq

    return float(brentq(f, a, b, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200))


def _root(f, a: float, b: float) -> float:
    """brentq on [a, b]; where f's sign at the ends does not differ after all (both ends at
    rounding level, e.g. a map that is the identity), the end with the smaller |f|."""
    a, b = sorted((a, b))
    fa, fb = f(a), f(b)
    if fa == 0 or fb == 0 or (fa > 0) == (fb > 0):
        return a if abs(fa) <= abs(fb) else b
    return _brentq(f, a, b)


def q_gap(act: Activation, q: float, sigma_w: float, sigma_b: float) -> float:
    """q_map(q) - q, by the composite rule."""
    return sigma_w**2 * expect(lambda u: act(u) ** 2, q) + sigma_b**2 - q


def q_star(act: Activation, sigma_w: float, sigma_b: float, q0: float = 1.0) -> float:
    """The fixed point q* the iteration of the q map from q0 converges to, by root finding: the map
    is non-decreasing in q, so the iteration moves monotonically towards the nearest root of the
    gap q_map(q) - q in the direction of the gap at q0. 0 when q decays to 0 (no root in
    [Q_MIN, q0]), inf when it grows without bound (no root in [q0, Q_MAX])."""
    def gap(q: float) -> float:
        return q_gap(act, q, sigma_w, sigma_b)

    g0 = gap(q0)
    if g0 == 0:
        return q0
    grid = _Q_GRID[_Q_GRID > q0] if g0 > 0 else _Q_GRID[_Q_GRID < q0][::-1]
    gaps = sigma_w**2 * expect_many(lambda u: act(u) ** 2, grid) + sigma_b**2 - grid
    prev = q0
    for q, g in zip(grid.tolist(), gaps.tolist()):
        if not math.isfinite(g):
            break
        if g == 0:
            return q
        if (g > 0) != (g0 > 0):  # the first sign change in the direction of travel
            return _root(gap, prev, q)
        prev = q
    return math.inf if g0 > 0 else 0.0


def chi_at(act: Activation, q: float, sigma_w: float) -> float:
    """sigma_w^2 E[phi'(sqrt(q) z)^2] by the composite rule; q = inf and q = 0: the limits, taken
    at Q_MAX and Q_MIN (at q = 0 itself a kink at 0 would count phi'(0), e.g. relu's 0, instead of
    the limit sigma_w^2 / 2)."""
    return sigma_w**2 * expect(lambda u: act.deriv(u) ** 2, min(max(q, Q_MIN), Q_MAX))


def chi1_star(act: Activation, sigma_w: float, sigma_b: float) -> float:
    """chi_1 at q* from `q_star` (at q* = inf the limit: exact for a chi that does not depend on
    q, e.g. relu's sigma_w^2 / 2)."""
    return chi_at(act, q_star(act, sigma_w, sigma_b), sigma_w)


@dataclass(frozen=True)
class Critical:
    weight_scale: float  # sigma_w where chi_1 = 1 (crossing from below); nan where there is none
    edge: float  # where the ordered phase ends: that crossing, or where chi_1 jumps over 1
    reason: str  # why weight_scale is nan, or a note (say, q* is unbounded there)
    q_star: float  # q* at the edge (inf: chi_1 reaches 1 only as q grows without bound)


def critical_weight_scale(act: Activation, sigma_b: float, lo: float = 0.05,
                          hi: float = 20.0, n: int = 60) -> Critical:
    """The smallest sigma_w in [lo, hi] where chi_1 crosses 1 from below (order -> chaos), by brentq
    on chi_1(sigma_w) - 1 bracketed on a geometric grid of n points. Where chi_1 jumps over 1
    instead (q* jumps to another fixed point, e.g. to inf for swish and gelu: the finite one
    disappears) there is no sigma_w with chi_1 = 1: weight_scale is nan, `edge` says where."""
    grid = np.geomspace(lo, hi, n)
    f = np.array([chi1_star(act, float(s), sigma_b) - 1.0 for s in grid])
    crossings = int(np.sum(np.sign(f[:-1]) * np.sign(f[1:]) < 0))
    up = [i for i in range(n - 1) if f[i] < 0 <= f[i + 1]]
    if not up:
        finite = f[np.isfinite(f)]
        if not len(finite):
            why = "chi_1 is not finite on the search grid"
        elif (finite < 0).all():
            why = (f"chi_1 < 1 for every sigma_w in [{lo:g}, {hi:g}] "
                   f"(largest {finite.max() + 1:.3g})")
        elif (finite >= 0).all():
            why = (f"chi_1 >= 1 for every sigma_w in [{lo:g}, {hi:g}] "
                   f"(smallest {finite.min() + 1:.3g})")
        else:
            why = f"chi_1 crosses 1 only downwards in [{lo:g}, {hi:g}]"
        return Critical(math.nan, math.nan, why, math.nan)
    i = up[0]
    root = _root(lambda s: chi1_star(act, s, sigma_b) - 1.0, float(grid[i]), float(grid[i + 1]))
    q = q_star(act, root, sigma_b)
    below, above = (chi1_star(act, root * (1 + e), sigma_b) for e in (-1e-7, 1e-7))
    notes = []
    if crossings > 1:
        notes.append(f"chi_1 - 1 changes sign {crossings} times in [{lo:g}, {hi:g}]: "
                     "the first upward crossing")
    if above - below > 1e-3:
        q_lo, q_hi = (q_star(act, root * (1 + e), sigma_b) for e in (-1e-7, 1e-7))
        why = (f"chi_1 never equals 1: it jumps from {below:.4g} to {above:.4g} at sigma_w = "
               f"{root:.6g}, where q* jumps from {q_lo:.4g} to {q_hi:.4g} (that fixed point "
               "disappears; which one the inputs reach depends on their q_1, here 1)")
        return Critical(math.nan, root, "; ".join([why, *notes]), q)
    if math.isinf(q):
        notes.insert(0, "q* is unbounded at the crossing: chi_1 reaches 1 only as q grows "
                        "without bound")
    return Critical(root, root, "; ".join(notes), q)


def q_slope(act: Activation, q: float, sigma_w: float) -> float:
    """d q_map / d q at q: sigma_w^2 E[phi'(u)^2 + phi(u) phi''(u)] (Schoenholz et al.'s
    chi_1 + sigma_w^2 int Dz phi'' phi), written by Gaussian integration by parts as
    sigma_w^2 E[z phi(u) phi'(u)] / sqrt(q), u = sqrt(q) z: no second derivative needed (and right
    at kinks: relu gives sigma_w^2 / 2). q <= Q_MIN is taken at Q_MIN (the limit q -> 0)."""
    s = math.sqrt(max(q, Q_MIN))
    return sigma_w**2 * expect(lambda u: u * act(u) * act.deriv(u), s * s) / (s * s)


def c_map(act: Activation, c: float, q: float, sigma_w: float, sigma_b: float) -> float:
    """The correlation of two inputs one layer on, from correlation c at variance q = q*:
    (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q."""
    return (sigma_w**2 * expect_pair(act, act, q, c) + sigma_b**2) / q


def chi_c(act: Activation, c: float, q: float, sigma_w: float) -> float:
    """The slope of the correlation map at c: sigma_w^2 E[phi'(u1) phi'(u2)] (chi_1 at c = 1)."""
    if c >= 1.0:
        return chi_at(act, q, sigma_w)
    return sigma_w**2 * expect_pair(act.deriv, act.deriv, q, c)


def c_star(act: Activation, q: float, sigma_w: float, sigma_b: float) -> float:
    """The correlation two orthogonal inputs converge to at variance q*. c = 1 is always a fixed
    point and c_map(0) >= 0 (at c = 0 the two are independent), so from c = 0 the iteration
    climbs to the smallest root of c_map(c) - c in [0, 1]: 1 in the ordered phase."""
    def gap(c: float) -> float:
        return c_map(act, c, q, sigma_w, sigma_b) - c

    prev = 0.0
    if gap(prev) <= 0:
        return 0.0
    for c in np.concatenate([np.linspace(0.05, 0.95, 19), 1 - np.geomspace(2e-2, 1e-6, 9)]):
        if gap(float(c)) < 0:
            return _root(gap, prev, float(c))
        prev = float(c)
    return 1.0


@dataclass(frozen=True)
class DepthScales:
    q_star: float
    c_star: float
    chi1: float
    chi_c: float  # the correlation map's slope at c*
    q_slope: float  # the q map's slope at q*
    xi_q: float  # -1 / ln q_slope
    xi_c: float  # -1 / ln chi_c: inf on the critical line
    reason: str = ""  # why xi_c (and xi_q) are nan, if they are


def depth_scales(act: Activation, sigma_w: float, sigma_b: float) -> DepthScales:
    """xi_q and xi_c at (sigma_w, sigma_b) (Schoenholz et al. 2017, eqs. 6 and 8):
    xi_q^-1 = -ln(chi_1 + sigma_w^2 int Dz phi'' phi) at q*, xi_c^-1 = -ln chi_c at (q*, c*) with
    chi_c = sigma_w^2 int Dz1 Dz2 phi'(u1) phi'(u2), which is chi_1 at c* = 1 (the ordered
    phase). Both need a finite q* > 0: where q grows without bound they are nan; where q* = 0 the
    signal vanishes and the correlation map at q* is undefined (xi_c nan), each with the reason."""
    q = q_star(act, sigma_w, sigma_b)
    c1 = chi_at(act, q, sigma_w)
    if math.isinf(q):
        return DepthScales(q, math.nan, c1, math.nan, math.nan, math.nan, math.nan,
                           "q grows without bound (no finite fixed point q*)")
    qs = q_slope(act, q, sigma_w)
    xq = depth_scale(qs) if 0 < qs <= 1 else math.nan
    if q == 0.0:
        return DepthScales(q, math.nan, c1, math.nan, qs, xq, math.nan,
                           "q* = 0: the signal vanishes and the correlation map at q* is undefined")
    if c1 < 1:
        cs, cc = 1.0, c1
    else:
        cs = c_star(act, q, sigma_w, sigma_b)
        cc = chi_c(act, cs, q, sigma_w)
    if abs(cc - 1) <= 1e-9:  # on the critical line (to the root finder's precision)
        cc = 1.0
    xc = depth_scale(cc) if 0 < cc <= 1 else math.nan
    why = "" if not math.isnan(xc) else f"chi_c = {cc:.4g} at c* = {cs:.4g} is outside (0, 1]"
    return DepthScales(q, cs, c1, cc, qs, xq, xc, why)


def c_sequence(act: Activation, c1: float, q: float, sigma_w: float, sigma_b: float,
               depth: int) -> list[float]:
    """c_1..c_depth at the fixed variance q: the theory's correlation of two inputs, layer by
    layer."""
    cs = [c1]
    for _ in range(depth - 1):
        cs.append(c_map(act, cs[-1], q, sigma_w, sigma_b))
    return cs
