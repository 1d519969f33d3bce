"""The activation registry: one explicit entry per name, each a function and its analytic
derivative.

`ACTIVATIONS[name](cfg)` builds an `Activation` from an `ActivationConfig` (so parameters such as
`slope` and `beta` are read from the config). The derivative is written out by hand, not taken from
autograd: the probes (dead / saturated units) and the chain-rule experiment compare against it, and
tests compare every entry with torch.nn and with autograd. Adding an activation is one entry here
plus one line in tests/test_activations.py.

Two ways in without editing this file: `activation=custom activation.target=pkg.module:function`
(any importable elementwise function; its derivative from `activation.derivative` or autograd;
checked by `check_custom` before any training, its properties measured on a grid), and the
gradient-only ablation `activation.backward` (forward unchanged, the gradient below 0 zeroed or
leaked), applied to any entry by `get_activation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.config import ActivationConfig, Backward, ConfigError, GeluApprox
from actlab.names import ACTIVATION_NAMES, CUSTOM

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_SIGMOID_K = 1.702


@dataclass(frozen=True)
class Activation:
    name: str
    fn: Callable[[Tensor], Tensor]
    deriv: Callable[[Tensor], Tensor]
    monotone: bool  # non-decreasing on the whole real line
    piecewise_linear: bool

    def __call__(self, z: Tensor) -> Tensor:
        return self.fn(z)

    @cached_property
    def max_slope(self) -> float:
        """max |phi'(z)| over the real line, found on a dense float64 grid (exact enough for the
        1e-3 saturation threshold; the grid covers every maximum of the registered functions)."""
        z = torch.linspace(-30.0, 30.0, 600_001, dtype=torch.float64)
        return float(self.deriv(z).abs().max())

    @cached_property
    def measured(self) -> dict[str, float | bool]:
        """The properties experiments rely on, measured on a float64 grid, not declared: for a
        custom activation these are what the run records (and what tests compare with the
        registry's declared flags)."""
        return measure(self.fn, self.deriv, self.max_slope)


def _identity(c: ActivationConfig) -> Activation:
    return Activation("identity", lambda z: z, torch.ones_like, True, True)


def _linear(c: ActivationConfig) -> Activation:
    a = c.slope
    return Activation("linear", lambda z: a * z, lambda z: torch.full_like(z, a), a >= 0, True)


def _relu(c: ActivationConfig) -> Activation:
    # sign().clamp(0) is (z > 0) as a float; on CPU it is ~5x faster than comparing and casting
    return Activation("relu", torch.relu, lambda z: torch.sign(z).clamp_(min=0), True, True)


def _leaky_relu(c: ActivationConfig) -> Activation:
    s = c.slope
    return Activation(
        "leaky_relu",
        lambda z: F.leaky_relu(z, s),
        lambda z: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, s)),
        s >= 0,
        True,
    )


def _sigmoid(c: ActivationConfig) -> Activation:
    def d(z: Tensor) -> Tensor:
        s = torch.sigmoid(z)
        return s * (1 - s)

    return Activation("sigmoid", torch.sigmoid, d, True, False)


def _tanh(c: ActivationConfig) -> Activation:
    return Activation("tanh", torch.tanh, lambda z: 1 - torch.tanh(z) ** 2, True, False)


def _softplus(c: ActivationConfig) -> Activation:
    b = c.beta
    # logaddexp is the exact, overflow-free log(1 + e^(beta z)) everywhere, so its derivative is
    # sigmoid(beta z) at every z (torch's F.softplus switches to the identity above beta z = 20).
    return Activation(
        "softplus",
        lambda z: torch.logaddexp(b * z, torch.zeros_like(z)) / b,
        lambda z: torch.sigmoid(b * z),
        True,
        False,
    )


def _swish_parts(k: float) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    def fn(z: Tensor) -> Tensor:
        return F.silu(z) if k == 1.0 else z * torch.sigmoid(k * z)

    def d(z: Tensor) -> Tensor:
        s = torch.sigmoid(k * z)
        return s + k * z * s * (1 - s)

    return fn, d


def _gelu(c: ActivationConfig) -> Activation:
    approx = GeluApprox(c.approximate)
    if approx is GeluApprox.sigmoid:
        fn, d = _swish_parts(_GELU_SIGMOID_K)
    elif approx is GeluApprox.tanh:

        def fn(z: Tensor) -> Tensor:
            return F.gelu(z, approximate="tanh")

        def d(z: Tensor) -> Tensor:
            u = _SQRT_2_OVER_PI * (z + 0.044715 * z**3)
            t = torch.tanh(u)
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * z**2)
            return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * du

    else:

        def fn(z: Tensor) -> Tensor:
            return F.gelu(z)

        def d(z: Tensor) -> Tensor:
            cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2.0)))
            pdf = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
            return cdf + z * pdf

    return Activation("gelu", fn, d, False, False)


def _swish(c: ActivationConfig) -> Activation:
    fn, d = _swish_parts(c.beta)
    return Activation("swish", fn, d, False, False)


def _elu(c: ActivationConfig) -> Activation:
    a = c.alpha
    return Activation(
        "elu",
        lambda z: F.elu(z, alpha=a),
        lambda z: torch.where(z > 0, torch.ones_like(z), a * torch.exp(torch.clamp(z, max=0))),
        a >= 0,
        False,
    )


def _selu(c: ActivationConfig) -> Activation:
    a, k = 1.6732632423543772, 1.0507009873554805  # torch's (Klambauer et al. 2017) constants
    return Activation("selu", F.selu,
                      lambda z: k * torch.where(z > 0, torch.ones_like(z),
                                                a * torch.exp(torch.clamp(z, max=0))),
                      True, False)


# celu and hardsigmoid are written out instead of calling F.celu / F.hardsigmoid: torch's backward
# of those uses a float32 constant (1/alpha, 1/6) even in float64, so autograd through them is off
# by ~1e-7 relative, and the chain-rule experiment checks autograd to 1e-12. The forward values
# equal torch's (tests/test_activations.py).
def _celu(c: ActivationConfig) -> Activation:
    a = c.alpha
    return Activation(
        "celu",
        lambda z: torch.where(z > 0, z, a * torch.expm1(torch.clamp(z, max=0) / a)),
        lambda z: torch.where(z > 0, torch.ones_like(z), torch.exp(torch.clamp(z, max=0) / a)),
        True,
        False,
    )


def _mish(c: ActivationConfig) -> Activation:
    def d(z: Tensor) -> Tensor:
        t = torch.tanh(F.softplus(z))
        return t + z * torch.sigmoid(z) * (1 - t * t)

    return Activation("mish", F.mish, d, False, False)


def _hardswish(c: ActivationConfig) -> Activation:
    def d(z: Tensor) -> Tensor:
        mid = (2 * z + 3) / 6
        return torch.where(z < -3, torch.zeros_like(z), torch.where(z > 3, torch.ones_like(z), mid))

    return Activation("hardswish", F.hardswish, d, False, False)


def _inside(z: Tensor, lo: float, hi: float, slope: float = 1.0) -> Tensor:
    return ((z > lo) & (z < hi)).to(z.dtype) * slope


def _hardsigmoid(c: ActivationConfig) -> Activation:
    return Activation("hardsigmoid", lambda z: torch.clamp(z + 3, 0, 6) / 6,
                      lambda z: _inside(z, -3.0, 3.0, 1 / 6),
                      True, True)


def _hardtanh(c: ActivationConfig) -> Activation:
    lo, hi = c.min_val, c.max_val
    return Activation("hardtanh", lambda z: F.hardtanh(z, lo, hi), lambda z: _inside(z, lo, hi),
                      True, True)


def _relu6(c: ActivationConfig) -> Activation:
    return Activation("relu6", F.relu6, lambda z: _inside(z, 0.0, 6.0), True, True)


def _softsign(c: ActivationConfig) -> Activation:
    return Activation("softsign", F.softsign, lambda z: 1 / (1 + z.abs()) ** 2, True, False)


def _silu(c: ActivationConfig) -> Activation:
    fn, d = _swish_parts(1.0)
    return Activation("silu", fn, d, False, False)


def _logsigmoid(c: ActivationConfig) -> Activation:
    return Activation("logsigmoid", F.logsigmoid, lambda z: torch.sigmoid(-z), True, False)


def _tanhshrink(c: ActivationConfig) -> Activation:
    return Activation("tanhshrink", F.tanhshrink, lambda z: torch.tanh(z) ** 2, True, False)

ACTIVATIONS: dict[str, Callable[[ActivationConfig], Activation]] = {
    "identity": _identity,
    "linear": _linear,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softplus": _softplus,
    "gelu": _gelu,
    "swish": _swish,
    "elu": _elu,
    "selu": _selu,
    "celu": _celu,
    "mish": _mish,
    "hardswish": _hardswish,
    "hardsigmoid": _hardsigmoid,
    "hardtanh": _hardtanh,
    "relu6": _relu6,
    "softsign": _softsign,
    "silu": _silu,
    "logsigmoid": _logsigmoid,
    "tanhshrink": _tanhshrink,
}
if tuple(ACTIVATIONS) != ACTIVATION_NAMES:  # the torch-free list the config is checked against
    raise ImportError("actlab.names.ACTIVATION_NAMES and actlab.activations.ACTIVATIONS differ")


def get_activation(cfg: ActivationConfig | str, **params) -> Activation:
    """Build an activation from its config (or a name plus keyword parameters), with its backward
    mode applied."""
    if isinstance(cfg, str):
        cfg = ActivationConfig(name=cfg, **params)
    # A registered activation is a pure function of its config: build it (and measure its
    # max_slope on a 600k-point grid, ~3 ms) once per process, not once per run of a sweep.
    key = tuple(getattr(cfg, f.name, None) for f in fields(ActivationConfig))
    if key in _BUILT:
        return _BUILT[key]
    if cfg.name == CUSTOM:  # a user's function may change between calls: built each time
        from actlab.custom import custom_activation

        return with_backward(custom_activation(cfg), Backward(cfg.backward), cfg.slope)
    if cfg.name not in ACTIVATIONS:
        raise ConfigError(f"activation.name={cfg.name!r}: unknown activation; valid choices: "
                          + ", ".join(sorted(ACTIVATIONS) + [CUSTOM]))
    act = with_backward(ACTIVATIONS[cfg.name](cfg), Backward(cfg.backward), cfg.slope)
    _BUILT[key] = act
    return act


_BUILT: dict[tuple, Activation] = {}


def with_backward(act: Activation, mode: Backward, slope: float) -> Activation:
    """The activation with its gradient for z < 0 replaced (0, or `slope`) and its forward pass
    unchanged: one custom autograd function, whose derivative is also what the probes see (a
    unit is dead when no gradient passes it, whatever its output)."""
    if mode is Backward.exact:
        return act
    below = 0.0 if mode is Backward.zero_below else slope
    base = act.deriv

    def deriv(z: Tensor) -> Tensor:
        return torch.where(z < 0, torch.full_like(z, below), base(z))

    class _Override(torch.autograd.Function):
        generate_vmap_rule = True  # so the vmap engine (actlab.batched) can batch it

        @staticmethod
        def forward(z):
            return act.fn(z)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (z,) = ctx.saved_tensors
            return grad * deriv(z)

    return Activation(act.name, _Override.apply, deriv, act.monotone, act.piecewise_linear)


def measure(fn: Callable[[Tensor], Tensor], deriv: Callable[[Tensor], Tensor],
            max_slope: float) -> dict[str, float | bool]:
    """Grid measurements of a function: monotone (non-decreasing: phi' >= 0 everywhere), piecewise
    linear (phi' takes few distinct values: constant between kinks), saturating (phi' -> 0 on
    both sides: |phi'(+-1e3)| below 1e-3 of the max slope), its max slope and phi(0), phi'(0)."""
    z = torch.linspace(-30.0, 30.0, 60_001, dtype=torch.float64)
    d = deriv(z)
    tol = 1e-9 * max(max_slope, 1e-300)
    far = deriv(torch.tensor([-1e3, 1e3], dtype=torch.float64)).abs()
    levels = torch.unique(torch.round(d / max(max_slope, 1e-300), decimals=9))
    zero = torch.zeros(1, dtype=torch.float64)
    return {
        "monotone": bool((d >= -tol).all()),  # non-decreasing, as the registry declares
        "piecewise_linear": bool(len(levels) <= 8),
        "saturating": bool((far < 1e-3 * max_slope).all()),
        "max_slope": float(max_slope),
        "value_at_0": float(fn(zero)),
        "slope_at_0": float(deriv(zero)),
    }
