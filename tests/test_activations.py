"""Every registry entry against torch.nn (where torch has it) and its derivative against
autograd."""

import math

import pytest
import torch
from torch import nn

from actlab.activations import ACTIVATIONS, get_activation
from actlab.config import ActivationConfig, ConfigError

Z = torch.linspace(-8, 8, 2001, dtype=torch.float64)

# name, config parameters, the torch.nn reference (None: no module, a lambda instead)
CASES = [
    ("identity", {}, nn.Identity()),
    ("linear", {"slope": 1.8}, lambda z: 1.8 * z),
    ("linear", {"slope": -0.5}, lambda z: -0.5 * z),
    ("relu", {}, nn.ReLU()),
    ("leaky_relu", {"slope": 0.01}, nn.LeakyReLU(0.01)),
    ("leaky_relu", {"slope": 0.3}, nn.LeakyReLU(0.3)),
    ("sigmoid", {}, nn.Sigmoid()),
    ("tanh", {}, nn.Tanh()),
    ("softplus", {"beta": 1.0}, nn.Softplus(beta=1.0)),
    ("softplus", {"beta": 2.5}, nn.Softplus(beta=2.5)),
    ("gelu", {"approximate": "none"}, nn.GELU()),
    ("gelu", {"approximate": "tanh"}, nn.GELU(approximate="tanh")),
    ("gelu", {"approximate": "sigmoid"}, lambda z: z * torch.sigmoid(1.702 * z)),
    ("swish", {"beta": 1.0}, nn.SiLU()),
    ("swish", {"beta": 2.0}, lambda z: z * torch.sigmoid(2.0 * z)),
    ("elu", {"alpha": 1.0}, nn.ELU()),
    ("elu", {"alpha": 0.5}, nn.ELU(alpha=0.5)),
    ("selu", {}, nn.SELU()),
    ("celu", {"alpha": 1.0}, nn.CELU()),
    ("celu", {"alpha": 0.4}, nn.CELU(alpha=0.4)),
    ("mish", {}, nn.Mish()),
    ("hardswish", {}, nn.Hardswish()),
    ("hardsigmoid", {}, nn.Hardsigmoid()),
    ("hardtanh", {}, nn.Hardtanh()),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}, nn.Hardtanh(-0.5, 2.0)),
    ("relu6", {}, nn.ReLU6()),
    ("softsign", {}, nn.Softsign()),
    ("silu", {}, nn.SiLU()),
    ("logsigmoid", {}, nn.LogSigmoid()),
    ("tanhshrink", {}, nn.Tanhshrink()),
]


def test_every_registered_activation_has_a_case():
    assert {c[0] for c in CASES} == set(ACTIVATIONS)


@pytest.mark.parametrize("name,params,ref", CASES,
                         ids=lambda c: str(c) if isinstance(c, str) else "")
def test_matches_torch(name, params, ref):
    act = get_activation(ActivationConfig(name=name, **params))
    torch.testing.assert_close(act(Z), ref(Z), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,params,ref", CASES,
                         ids=lambda c: str(c) if isinstance(c, str) else "")
def test_derivative_matches_autograd(name, params, ref):
    act = get_activation(ActivationConfig(name=name, **params))
    z = Z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(act(z).sum(), z)
    # piecewise functions: compare away from the kinks, where autograd picks a side
    kinks = torch.tensor([0.0, -3.0, 3.0, 6.0, -1.0, 1.0, -0.5, 2.0], dtype=torch.float64)
    keep = (Z[:, None] - kinks).abs().min(dim=1).values > 1e-9
    torch.testing.assert_close(act.deriv(Z)[keep], g[keep], rtol=1e-10, atol=1e-12)


def test_max_slopes():
    assert get_activation("sigmoid").max_slope == pytest.approx(0.25, abs=1e-9)
    assert get_activation("tanh").max_slope == pytest.approx(1.0, abs=1e-9)
    assert get_activation("linear", slope=1.8).max_slope == pytest.approx(1.8)
    # GELU's derivative peaks at 1.1289 (z = sqrt 2); swish's at 1.0998 for any beta
    assert get_activation("gelu").max_slope == pytest.approx(1.12890, abs=1e-4)
    assert get_activation("swish", beta=3.0).max_slope == pytest.approx(1.09984, abs=1e-4)


def test_softplus_is_exact_far_out():
    act = get_activation("softplus")
    z = torch.tensor([-50.0, 50.0, 200.0], dtype=torch.float64)
    torch.testing.assert_close(act(z), torch.log1p(torch.exp(z.clamp(max=100))).where(z < 100, z))
    assert math.isfinite(act(torch.tensor([1e4])).item())


@pytest.mark.parametrize("name,params,ref", CASES,
                         ids=lambda c: str(c) if isinstance(c, str) else "")
def test_declared_flags_match_the_grid(name, params, ref):
    """The registry's declared monotone / piecewise-linear flags against the grid measurement a
    custom activation gets (two methods that must agree)."""
    act = get_activation(ActivationConfig(name=name, **params))
    m = act.measured
    assert (m["monotone"], m["piecewise_linear"]) == (act.monotone, act.piecewise_linear)


def test_silu_is_swish_with_beta_one_exactly():
    z = torch.randn(10_000, dtype=torch.float32, generator=torch.Generator().manual_seed(0)) * 5
    a, b = get_activation("silu"), get_activation("swish", beta=1.0)
    assert torch.equal(a(z), b(z)) and torch.equal(a.deriv(z), b.deriv(z))


def test_saturating_flag():
    sat = {n: get_activation(n).measured["saturating"] for n in ACTIVATIONS}
    assert {n for n, v in sat.items() if v} == {"sigmoid", "tanh", "hardsigmoid", "hardtanh",
                                                 "relu6", "softsign"}


def test_unknown_name_lists_choices():
    with pytest.raises(ConfigError) as e:
        get_activation("relu7")
    assert "activation.name" in str(e.value)
    for name in ACTIVATIONS:
        assert name in str(e.value)
