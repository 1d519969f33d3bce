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
