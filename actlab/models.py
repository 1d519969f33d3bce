"""A plain MLP whose forward pass can record pre- and post-activations for the probes."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from actlab.activations import Activation
from actlab.config import Init, ModelConfig


class MLP(nn.Module):
    """depth hidden layers of `width` units, then a linear output layer (layer depth + 1)."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        cfg: ModelConfig,
        act: Activation,
        out_act: Activation | None = None,
    ) -> None:
        super().__init__()
        dims = [in_dim] + [cfg.width] * cfg.depth + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = act
        self.out_act = out_act
        # Added to the output: -inf outside the current task's classes gives a task-incremental
        # head (experiments/continual.py). Not a parameter; None means no mask.
        self.out_mask: Tensor | None = None
        self.reset(cfg)

    @torch.no_grad()
    def reset(self, cfg: ModelConfig) -> None:
        for layer in self.layers:
            if Init(cfg.init) is Init.orthogonal:
                nn.init.orthogonal_(layer.weight, gain=cfg.weight_scale)
            else:
                std = cfg.weight_scale / math.sqrt(layer.in_features)
                nn.init.normal_(layer.weight, 0.0, std)
            if cfg.bias_scale > 0:
                nn.init.normal_(layer.bias, 0.0, cfg.bias_scale)
            else:
                nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, record: list | None = None) -> Tensor:
        """With `record` a list, append (z, h) per layer; z stays in the graph, so the probes can
        ask autograd for dLoss/dz."""
        h = x
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            z = layer(h)
            act = self.act if i < last else self.out_act
            h = act(z) if act is not None else z
            if record is not None:
                record.append((z, h))
        return h if self.out_mask is None else h + self.out_mask
