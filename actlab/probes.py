"""Per-layer probes of a network on a fixed probe batch.

For hidden layers l = 1..depth and the output layer (depth + 1):
  grad_norm          Frobenius norm of dLoss/dW_l
  delta_rms          root mean square of dLoss/dz_l over batch and units (z_l the pre-activation)
  act_rms            root mean square of the post-activation h_l
  dead_fraction      fraction of units whose phi'(z) is exactly 0 for every input of the batch
  near_dead_fraction fraction of units whose max |phi'(z)| over the batch is < 1e-3 * max |phi'|
  saturated_fraction fraction of (input, unit) pairs with |phi'(z)| < 1e-3 * max |phi'|
The last three need an activation, so the output layer reports them only with an out_activation.
Gradients come from torch.autograd.grad, so probing never touches the parameters' .grad.
"""

from __future__ import annotations

import torch
from torch import Tensor

from actlab.activations import Activation
from actlab.models import MLP

NEAR_ZERO = 1e-3  # "near-dead" / "saturated": |phi'| below this fraction of the maximum slope


def rms(t: Tensor) -> Tensor:
    """Root mean square (a 0-d tensor), scaled first so that squaring tiny float32 values cannot
    underflow (deep vanishing gradients reach 1e-30 and below)."""
    t = t.detach()
    m = t.abs().max()
    safe = torch.where(m > 0, m, torch.ones_like(m))
    return m * (t / safe).pow(2).mean().sqrt()


def unit_stats(deriv: Tensor, max_slope: float) -> dict[str, float]:
    """Dead / near-dead / saturated fractions from phi'(z) of shape (batch, units).

    Activation-aware on purpose: a unit is dead when its *derivative* is zero on every input, not
    when its output is zero or negative (that would call every tanh unit with z < 0 dead)."""
    return {k: v.item() for k, v in _unit_stats(deriv, max_slope).items()}


def _unit_stats(deriv: Tensor, max_slope: float) -> dict[str, Tensor]:
    small = deriv.abs() < NEAR_ZERO * max_slope
    return {
        "dead_fraction": (deriv == 0).all(0).float().mean(),
        "near_dead_fraction": small.all(0).float().mean(),
        "saturated_fraction": small.float().mean(),
    }


def probe(model: MLP, x: Tensor, loss_of) -> list[dict]:
    """Rows (layer, metric, value) of every probe on the batch x. `loss_of(output)` is the loss."""
    record: list[tuple[Tensor, Tensor]] = []
    out = model(x, record=record)
    loss = loss_of(out)
    zs = [z for z, _ in record]
    weights = [layer.weight for layer in model.layers]
    grads = torch.autograd.grad(loss, weights + zs, allow_unused=True)
    gw, gz = grads[: len(weights)], grads[len(weights):]
    keys, values = [], []  # gathered as tensors, read back in one transfer (no per-value sync)
    last = len(model.layers) - 1
    with torch.no_grad():
        for i, ((z, h), g_w, g_z) in enumerate(zip(record, gw, gz)):
            stats = {"grad_norm": g_w.norm(), "delta_rms": rms(g_z), "act_rms": rms(h)}
            act: Activation | None = model.act if i < last else model.out_act
            if act is not None:
                stats.update(_unit_stats(act.deriv(z.detach()), act.max_slope))
            keys += [(i + 1, k) for k in stats]
            values += [v.to(torch.float64) for v in stats.values()]
        numbers = torch.stack(values).tolist()
    return [{"layer": layer, "metric": k, "value": v} for (layer, k), v in zip(keys, numbers)]
