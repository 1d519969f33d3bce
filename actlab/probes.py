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

# below this an rms computed from float32 squares may have lost digits to underflow
TINY = 1e-15
NEAR_ZERO = 1e-3  # "near-dead" / "saturated": |phi'| below this fraction of the maximum slope


def rms(t: Tensor, dims: tuple[int, ...] | None = None) -> Tensor:
    """Root mean square over `dims` (all by default), scaled first so that squaring tiny float32
    values cannot underflow (deep vanishing gradients reach 1e-30 and below)."""
    t = t.detach()
    dims = tuple(range(t.dim())) if dims is None else dims
    m = t.abs().amax(dim=dims, keepdim=True)
    safe = torch.where(m > 0, m, torch.ones_like(m))
    return ((m * (t / safe).pow(2).mean(dim=dims, keepdim=True).sqrt()).squeeze(dims) if dims
            else t.abs())


def unit_stats(deriv: Tensor, max_slope: float) -> dict[str, float]:
    """Dead / near-dead / saturated fractions from phi'(z) of shape (batch, units).

    Activation-aware on purpose: a unit is dead when its *derivative* is zero on every input, not
    when its output is zero or negative (that would call every tanh unit with z < 0 dead)."""
    return {k: v.item() for k, v in _unit_stats(deriv.clone(), max_slope).items()}


def _unit_stats(deriv: Tensor, max_slope: float) -> dict[str, Tensor]:
    """The same on (..., batch, units), one value per leading index (one per stacked layer).
    Overwrites `deriv`: on the CPU, fresh megabyte-sized temporaries and full-size comparisons
    are most of a probe's cost, so this reduces to each unit's largest |phi'| first and counts
    the small entries with in-place float ops."""
    a = deriv.abs_()
    per_unit = a.amax(-2)  # a unit is dead iff its largest |phi'| over the batch is 0
    small = NEAR_ZERO * max_slope
    n = a.shape[-2] * a.shape[-1]
    # sign(min(|phi'| - small, 0)) is -1 exactly where |phi'| < small, else 0
    n_small = a.sub_(small).clamp_(max=0).sign_().sum((-2, -1)).neg_()
    return {
        "dead_fraction": (per_unit == 0).float().mean(-1),
        "near_dead_fraction": (per_unit < small).float().mean(-1),
        "saturated_fraction": n_small / n,
    }


def _rms_each(ts: list[Tensor]) -> Tensor:
    """rms of each tensor in `ts` (same shapes) as one fused norm call; only when some result is
    so small that its squares may have underflowed, recomputed the scaled way (`rms`)."""
    ts = [t.detach() for t in ts]
    norms = torch.stack(torch._foreach_norm(ts)) / ts[0].numel() ** 0.5
    if bool((norms < TINY).any()):
        return rms(torch.stack(ts), tuple(range(1, ts[0].dim() + 1)))
    return norms


def _stats(zs: list[Tensor], hs: list[Tensor], gzs: list[Tensor],
           act: Activation | None) -> dict[str, Tensor]:
    """Probe statistics of same-shaped layers, computed together so each is a handful of tensor
    ops whatever the depth (per-layer small ops cost more than the training step of a small net)."""
    stats = {"delta_rms": _rms_each(gzs), "act_rms": _rms_each(hs)}
    if act is not None:
        stats.update(_unit_stats(act.deriv(torch.stack(zs).detach()), act.max_slope))
    return stats


def probe(model: MLP, x: Tensor, loss_of) -> tuple[Tensor, list[dict]]:
    """(output, rows (layer, metric, value) of every probe) on the batch x; `loss_of(output)` is
    the loss; the detached output lets the caller log loss/accuracy without another forward.
    Hidden layers are probed together (they share a shape), the output layer on its own."""
    record: list[tuple[Tensor, Tensor]] = []
    out = model(x, record=record)
    loss = loss_of(out)
    zs = [z for z, _ in record]
    weights = [layer.weight for layer in model.layers]
    grads = torch.autograd.grad(loss, weights + zs, allow_unused=True)
    gw, gz = grads[: len(weights)], grads[len(weights):]
    n = len(record) - 1  # hidden layers 1..n, output layer n + 1
    with torch.no_grad():
        norms = torch.stack(torch._foreach_norm(list(gw)))
        groups = [(range(1, n + 1), norms[:n],
                   _stats(zs[:-1], [h for _, h in record[:-1]], gz[:-1], model.act)),
                  (range(n + 1, n + 2), norms[n:],
                   _stats(zs[-1:], [record[-1][1]], gz[-1:], model.out_act))]
        # gathered as tensors and read back in one transfer (no per-value sync)
        keys, blocks = [], []
        for layers, grad_norms, stats in groups:
            keys += [(layer, k) for layer in layers for k in ["grad_norm", *stats]]
            cols = [grad_norms, *stats.values()]
            blocks.append(torch.stack([c.to(torch.float64) for c in cols]).T.flatten())
        numbers = torch.cat(blocks).tolist()
    return out.detach(), [{"layer": layer, "metric": k, "value": v}
                          for (layer, k), v in zip(keys, numbers)]
