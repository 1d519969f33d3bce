"""`activation=custom`: a user's function, its derivative from autograd or their own, properties
measured on a grid, bad functions refused in one line; and the gradient-only ablation
`activation.backward` against autograd of the plain functions."""

import json
import math

import pytest
import torch

from actlab.activations import get_activation
from actlab.config import ActivationConfig, Backward, ConfigError
from actlab.custom import check_custom

T = "tests.custom_acts:"


def custom(name: str, deriv: str | None = None):
    return get_activation(ActivationConfig(name="custom", target=T + name,
                                           derivative=T + deriv if deriv else None))


def test_autograd_derivative_is_the_closed_form():
    act = custom("scaled_tanh")
    z = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    closed = 1.7159 * (2 / 3) / torch.cosh(2 * z / 3) ** 2  # sech^2, another method than autograd
    torch.testing.assert_close(act.deriv(z), closed, rtol=1e-12, atol=1e-14)
    assert act.name == T + "scaled_tanh"


def test_given_derivative_is_used_and_checked():
    act = custom("scaled_tanh", "scaled_tanh_deriv")
    assert act.deriv is not None
    with pytest.raises(ConfigError, match=r"activation.derivative=.*disagrees with autograd"):
        custom("scaled_tanh", "wrong_deriv")


@pytest.mark.parametrize("name,monotone,pl,saturating,max_slope", [
    ("scaled_tanh", True, False, True, 1.7159 * 2 / 3),
    ("bent_relu", True, True, False, 1.0),
    ("dip", False, False, True, 1.0),
])
def test_properties_are_measured(name, monotone, pl, saturating, max_slope):
    m = custom(name).measured
    assert (m["monotone"], m["piecewise_linear"], m["saturating"]) == (monotone, pl, saturating)
    assert m["max_slope"] == pytest.approx(max_slope, rel=1e-6)


@pytest.mark.parametrize("target,needle", [
    (None, "activation=custom needs activation.target=module:function"),
    ("scaled_tanh", "expected 'module:function'"),
    ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
    (T + "missing", "has no attribute 'missing'"),
    (T + "NOT_CALLABLE", "is a float, not callable"),
    (T + "softmax", "not elementwise"),
    (T + "shrinks", "it must keep shape and dtype"),
    (T + "as_float32", "it must keep shape and dtype"),
    (T + "blows_up", "not finite at z="),
    (T + "not_a_tensor", "returned a list, not a tensor"),
    (T + "raises", "failed (RuntimeError: boom)"),
])
def test_bad_functions_are_refused_in_one_line(target, needle):
    with pytest.raises(ConfigError) as e:
        check_custom(target, None)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith("activation.target=")


def test_custom_through_the_cli(cli, tmp_path):
    """A custom activation trains end to end and is labelled by its target; a bad one stops the
    command in one line with nothing written."""
    r = cli("experiment=gradient_flow", "activation=custom", f"activation.target={T}dip",
            "scale=smoke", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "runs" / "gradient_flow").iterdir()
    assert run.name.startswith("tests.custom_acts-dip_")
    head = (run / "metrics.csv").read_text().splitlines()[1]
    assert f"{T}dip" in head
    props = json.loads((run / "summary.json").read_text())["activation_properties"]
    assert props["monotone"] is False and props["saturating"] is True
    bad = tmp_path / "bad"
    r = cli("activation=custom", f"activation.target={T}softmax", f"out_dir={bad}")
    assert r.returncode != 0 and "not elementwise" in r.stderr and "Traceback" not in r.stderr
    assert not (bad / "runs").exists()


# --- the gradient-only ablation -----------------------------------------------------------------

Z = torch.linspace(-4, 4, 801, dtype=torch.float64)
Z = Z[Z.abs() > 1e-9]


def grad_of(act, z):
    z = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(act(z).sum(), z)
    return g


@pytest.mark.parametrize("name,params", [("relu", {}), ("leaky_relu", {"slope": 0.1}),
                                         ("tanh", {}), ("gelu", {})])
def test_backward_modes_against_autograd(name, params):
    plain = get_activation(ActivationConfig(name=name, **params))
    zero = get_activation(ActivationConfig(name=name, backward=Backward.zero_below, **params))
    # the forward pass is unchanged
    assert torch.equal(zero(Z), plain(Z))
    g = grad_of(zero, Z)
    torch.testing.assert_close(g[Z > 0], grad_of(plain, Z)[Z > 0], rtol=1e-12, atol=0)
    assert (g[Z < 0] == 0).all()
    torch.testing.assert_close(zero.deriv(Z), g, rtol=1e-12, atol=0)


def test_leaky_below_makes_relu_train_like_leaky_and_zero_below_the_reverse():
    """relu with leaky_below has leaky_relu's gradient; leaky_relu with zero_below has relu's
    (both against autograd of the plain other function)."""
    a = 0.05
    relu_leaky = get_activation(ActivationConfig(name="relu", backward=Backward.leaky_below,
                                                 slope=a))
    leaky = get_activation(ActivationConfig(name="leaky_relu", slope=a))
    torch.testing.assert_close(grad_of(relu_leaky, Z), grad_of(leaky, Z), rtol=0, atol=0)
    assert torch.equal(relu_leaky(Z), torch.relu(Z))
    leaky_zero = get_activation(ActivationConfig(name="leaky_relu", slope=a,
                                                 backward=Backward.zero_below))
    relu = get_activation("relu")
    torch.testing.assert_close(grad_of(leaky_zero, Z), grad_of(relu, Z), rtol=0, atol=0)
    assert not torch.equal(leaky_zero(Z), relu(Z))


def test_backward_mode_under_vmap():
    act = get_activation(ActivationConfig(name="tanh", backward=Backward.zero_below))
    z = torch.randn(3, 50, dtype=torch.float64)
    out = torch.func.vmap(torch.func.grad(lambda v: act(v).sum()))(z)
    ref = torch.where(z < 0, 0.0, 1 - torch.tanh(z) ** 2)
    torch.testing.assert_close(out, ref)
    assert math.isfinite(float(out.sum()))
