"""A user's own activation: `activation=custom activation.target=pkg.module:function`.

The function is imported by its "module:function" path (the current folder is searched too, so a
`myact.py` beside the command works), its derivative is `activation.derivative` or, without one,
autograd's (one backward pass of the sum, exact for an elementwise function), and everything
experiments rely on (monotone, piecewise linear, max slope, saturating) is measured on a grid,
never assumed. `check_custom` runs before any training and refuses, in one line naming the key,
a target that cannot be imported or called, changes the shape or dtype, is not finite on a test
grid, or a derivative that disagrees with autograd.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from functools import lru_cache

import torch
from torch import Tensor

from actlab.activations import Activation, measure
from actlab.config import ActivationConfig, ConfigError

PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
# The test grid: wide enough to reach any saturation, dense enough to catch a wrong derivative.
GRID = (-20.0, 20.0, 4001)
DERIV_RTOL, DERIV_ATOL = 1e-4, 1e-6


def grid(dtype: torch.dtype) -> Tensor:
    """The test points: an even grid over GRID plus 0 itself (where 1/z-like code breaks)."""
    return torch.cat([torch.linspace(*GRID, dtype=dtype), torch.zeros(1, dtype=dtype)])


def label(target: str) -> str:
    """How tables and run names show a custom activation: its target path, readable and stable
    across runs ("myact:scaled_tanh")."""
    return target


def resolve(key: str, path: str) -> Callable:
    """Import `module:function` and return the callable; ConfigError naming `key` otherwise."""
    if not isinstance(path, str) or not PATH.match(path):
        raise ConfigError(f"{key}={path!r}: expected 'module:function' "
                          "(e.g. myact:scaled_tanh for a function in ./myact.py)")
    module, _, name = path.partition(":")
    if os.getcwd() not in sys.path:  # a module beside the command, as a user expects
        sys.path.append(os.getcwd())
    try:
        mod = importlib.import_module(module)
    except Exception as e:  # ImportError, or an error while the module runs
        raise ConfigError(f"{key}={path!r}: cannot import module {module!r} "
                          f"({type(e).__name__}: {e})") from None
    fn = getattr(mod, name, None)
    if fn is None:
        raise ConfigError(f"{key}={path!r}: module {module!r} has no attribute {name!r}")
    if not callable(fn):
        raise ConfigError(f"{key}={path!r}: {name!r} is a {type(fn).__name__}, not callable")
    return fn


def autograd_derivative(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """phi'(z) elementwise from one backward pass of sum(phi(z)) (valid because phi acts on each
    element alone)."""
    def deriv(z: Tensor) -> Tensor:
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(fn(zz).sum(), zz)
        return g

    return deriv


def custom_activation(cfg: ActivationConfig) -> Activation:
    check_custom(cfg.target, cfg.derivative)
    return _build(cfg.target, cfg.derivative)


@lru_cache(maxsize=32)
def _build(target: str, derivative: str | None) -> Activation:
    fn = resolve("activation.target", target)
    deriv = (resolve("activation.derivative", derivative) if derivative
             else autograd_derivative(fn))
    act = Activation(label(target), fn, deriv, monotone=False, piecewise_linear=False)
    m = act.measured
    # the flags experiments read come from the grid, not from a declaration
    return Activation(label(target), fn, deriv, monotone=m["monotone"],
                      piecewise_linear=m["piecewise_linear"])


@lru_cache(maxsize=32)
def check_custom(target: str | None, derivative: str | None) -> None:
    """Refuse a custom activation that would fail or mislead, before anything runs."""
    if not target:
        raise ConfigError("activation.target=None: activation=custom needs "
                          "activation.target=module:function (e.g. myact:scaled_tanh)")
    fn = resolve("activation.target", target)
    for dtype in (torch.float32, torch.float64):
        z = grid(dtype).reshape(1, -1)
        try:
            y = fn(z)
        except Exception as e:
            raise ConfigError(f"activation.target={target!r}: calling it on a {dtype} tensor "
                              f"failed ({type(e).__name__}: {e})") from None
        if not isinstance(y, Tensor):
            raise ConfigError(f"activation.target={target!r}: returned a {type(y).__name__}, "
                              "not a tensor")
        if y.shape != z.shape or y.dtype != z.dtype:
            raise ConfigError(f"activation.target={target!r}: maps a {tuple(z.shape)} {dtype} "
                              f"tensor to a {tuple(y.shape)} {y.dtype} one; it must keep shape "
                              "and dtype (an elementwise function)")
        if not torch.isfinite(y).all():
            bad = float(z[~torch.isfinite(y)][0])
            raise ConfigError(f"activation.target={target!r}: not finite at z={bad:g} "
                              f"(tested on [{GRID[0]:g}, {GRID[1]:g}])")
    # elementwise: each output depends on its own input only (a softmax or a norm does not)
    z = grid(torch.float64)
    full = fn(z)
    split = torch.cat([fn(z[:7]), fn(z[7:])])  # the same points in two calls
    column = fn(z.reshape(-1, 1)).flatten()  # ... and as a column
    if not (torch.allclose(split, full, rtol=1e-12, atol=1e-12)
            and torch.allclose(column, full, rtol=1e-12, atol=1e-12)):
        raise ConfigError(f"activation.target={target!r}: not elementwise (the output at a "
                          "point depends on the other inputs)")
    auto = autograd_derivative(fn)
    try:
        g = auto(z)
    except Exception as e:
        if not derivative:
            raise ConfigError(f"activation.target={target!r}: autograd cannot differentiate it "
                              f"({type(e).__name__}: {e}); give activation.derivative") from None
        g = None
    if not derivative:
        return
    d = resolve("activation.derivative", derivative)
    try:
        dz = d(z)
    except Exception as e:
        raise ConfigError(f"activation.derivative={derivative!r}: calling it failed "
                          f"({type(e).__name__}: {e})") from None
    if not isinstance(dz, Tensor) or dz.shape != z.shape:
        raise ConfigError(f"activation.derivative={derivative!r}: must map a tensor to one of "
                          "the same shape")
    if g is not None:
        # Random points away from the grid avoid kinks, where autograd picks a side.
        pts = torch.empty(2001, dtype=torch.float64).uniform_(
            GRID[0], GRID[1], generator=torch.Generator().manual_seed(1))
        mine, ref = d(pts), auto(pts)
        off = ~torch.isclose(mine, ref, rtol=DERIV_RTOL, atol=DERIV_ATOL)
        if off.any():
            i = int(off.nonzero()[0])
            raise ConfigError(
                f"activation.derivative={derivative!r}: disagrees with autograd of "
                f"{target} at z={float(pts[i]):.4g} ({float(mine[i]):.6g} vs "
                f"{float(ref[i]):.6g}; tolerance rtol={DERIV_RTOL:g}, atol={DERIV_ATOL:g})")


def properties(target: str, derivative: str | None = None) -> dict:
    """The grid-measured properties a run with this custom activation records."""
    act = _build(target, derivative)
    return dict(measure(act.fn, act.deriv, act.max_slope))
