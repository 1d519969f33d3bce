"""SGD and Adam, written out: the same arithmetic as torch.optim's single-tensor code path (the one
torch takes on the CPU), operation for operation, so that a run's numbers do not change.

Why not torch.optim: constructing any torch.optim optimizer imports torch._dynamo (about 1.2 s on
the reference machine, more than the whole of a small run), and each step goes through profiler
and hook wrappers. A sweep of thousands of small runs pays that in every worker process; these
twenty lines do not. tests/test_optim.py checks them against torch.optim bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor


class SGD:
    """Plain SGD: p <- p - lr * grad (no momentum, no weight decay)."""

    def __init__(self, params, lr: float):
        self.params: list[Tensor] = list(params)
        self.lr = float(lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-self.lr)


class Adam(SGD):
    """Adam (Kingma & Ba 2015) with torch's defaults: betas (0.9, 0.999), eps 1e-8, bias
    correction; a parameter's moments start at its first gradient, as in torch."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.state: dict[int, tuple[Tensor, Tensor, list[int]]] = {}

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.beta1, self.beta2
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if i not in self.state:
                self.state[i] = (torch.zeros_like(p), torch.zeros_like(p), [0])
            m, v, count = self.state[i]
            count[0] += 1
            step = float(count[0])
            g = p.grad
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            step_size = self.lr / (1 - b1**step)
            denom = (v.sqrt() / (1 - b2**step) ** 0.5).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)
