"""Probes on nets small enough to compute by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from actlab.activations import get_activation
from actlab.config import ModelConfig
from actlab.models import MLP
from actlab.probes import probe, unit_stats


def tiny_relu_net() -> MLP:
    # x -> z1 = (x, -x) -> relu -> out = h1[0] + h1[1]; the second hidden unit is dead for x > 0
    net = MLP(1, 1, ModelConfig(depth=1, width=2), get_activation("relu"))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        net.layers[0].bias.zero_()
        net.layers[1].weight.copy_(torch.tensor([[1.0, 1.0]]))
        net.layers[1].bias.zero_()
    return net


def test_probe_values_by_hand():
    net = tiny_relu_net()
    x = torch.tensor([[1.0], [2.0]])
    y = torch.zeros(2, 1)
    out, rows = probe(net, x, lambda out: F.mse_loss(out, y))
    assert out.flatten().tolist() == [1.0, 2.0]
    got = {(r["layer"], r["metric"]): r["value"] for r in rows}
    # out = (1, 2), loss = 2.5, dL/dout = 2 (out - y) / 2 = (1, 2)
    assert got[(2, "delta_rms")] == pytest.approx(math.sqrt(2.5))
    assert got[(2, "grad_norm")] == pytest.approx(5.0)  # dL/dW2 = (1*1 + 2*2, 0)
    assert got[(2, "act_rms")] == pytest.approx(math.sqrt(2.5))
    # dL/dz1 = ((1, 0), (2, 0)); dL/dW1 = (5, 0)^T; h1 = ((1, 0), (2, 0))
    assert got[(1, "delta_rms")] == pytest.approx(math.sqrt(1.25))
    assert got[(1, "grad_norm")] == pytest.approx(5.0)
    assert got[(1, "act_rms")] == pytest.approx(math.sqrt(1.25))
    assert got[(1, "dead_fraction")] == 0.5
    assert got[(1, "near_dead_fraction")] == 0.5
    assert got[(1, "saturated_fraction")] == 0.5
    assert (2, "dead_fraction") not in got  # no output activation: no unit statistics there


def test_probe_leaves_parameter_grads_alone():
    net = tiny_relu_net()
    x = torch.tensor([[1.0], [2.0]])
    probe(net, x, lambda out: out.pow(2).mean())
    assert all(p.grad is None for p in net.parameters())


def test_dead_means_zero_derivative_not_nonpositive_output():
    z = torch.linspace(-2.0, -0.5, 50).reshape(10, 5)  # every output <= 0 for relu, tanh, leaky
    relu, tanh, leaky = (get_activation(n) for n in ("relu", "tanh", "leaky_relu"))
    assert unit_stats(relu.deriv(z), relu.max_slope)["dead_fraction"] == 1.0
    # a tutorial's "output <= 0" rule would call all of these dead; they are not
    assert unit_stats(tanh.deriv(z), tanh.max_slope)["dead_fraction"] == 0.0
    assert unit_stats(tanh.deriv(z), tanh.max_slope)["near_dead_fraction"] == 0.0
    s = unit_stats(leaky.deriv(z), leaky.max_slope)  # slope 0.01 >= 1e-3 of max slope 1
    assert s["dead_fraction"] == 0.0 and s["near_dead_fraction"] == 0.0


def test_near_dead_softplus_far_left():
    sp = get_activation("softplus")
    z = torch.full((4, 3), -10.0)
    z[:, 2] = 0.0  # one healthy unit
    s = unit_stats(sp.deriv(z), sp.max_slope)
    assert s["dead_fraction"] == 0.0  # sigmoid(-10) = 4.5e-5 > 0: alive
    assert s["near_dead_fraction"] == pytest.approx(2 / 3)  # but below 1e-3 of the max slope


def test_stacked_probe_equals_layer_by_layer():
    """The probe stacks hidden layers to save small ops: check it against a plain per-layer loop."""
    torch.manual_seed(0)
    act = get_activation("tanh")
    net = MLP(3, 2, ModelConfig(depth=4, width=6, weight_scale=2.5), act)
    with torch.no_grad():
        net.layers[2].weight.mul_(1e-3)  # layers of very different magnitudes
    x = torch.randn(40, 3)
    _, rows = probe(net, x, lambda out: out.pow(2).mean())
    got = {(r["layer"], r["metric"]): r["value"] for r in rows}
    record = []
    loss = net(x, record=record).pow(2).mean()
    gz = torch.autograd.grad(loss, [z for z, _ in record], retain_graph=True)
    loss.backward()
    for i, ((z, h), layer, g) in enumerate(zip(record, net.layers, gz), start=1):
        assert got[(i, "grad_norm")] == pytest.approx(layer.weight.grad.norm().item(), rel=1e-5)
        assert got[(i, "delta_rms")] == pytest.approx(g.pow(2).mean().sqrt().item(), rel=1e-5)
        assert got[(i, "act_rms")] == pytest.approx(h.detach().pow(2).mean().sqrt().item(),
                                                    rel=1e-5)
        if i <= 4:
            d = act.deriv(z.detach())
            assert got[(i, "saturated_fraction")] == pytest.approx(
                (d.abs() < 1e-3 * act.max_slope).float().mean().item())
    assert len(rows) == 4 * 6 + 3


def test_tiny_gradients_do_not_underflow():
    """float32 deltas around 1e-30 square to 1e-60, below float32's range: still measured."""
    net = tiny_relu_net()
    x = torch.tensor([[1.0], [2.0]])
    _, rows = probe(net, x, lambda out: 1e-30 * out.sum())
    got = {(r["layer"], r["metric"]): r["value"] for r in rows}
    assert got[(2, "delta_rms")] == pytest.approx(1e-30, rel=1e-5)
    assert got[(1, "delta_rms")] == pytest.approx(1e-30 * math.sqrt(0.5), rel=1e-5)
