"""K independent seeds of one architecture trained as one batched computation.

Each seed's weights are initialized exactly as a separate `MLP` with that seed would be, and its
minibatches come from a generator seeded the same way as in `actlab.trainer.train`, so seed k of a
batched run follows the same trajectory as the separate run (up to float summation order): the
batch dimension buys speed, not different results. Whole-network metrics only (no probes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actlab.activations import Activation
from actlab.config import ModelConfig, Optimizer, TrainerConfig
from actlab.models import MLP
from actlab.runner import seed_everything
from actlab.tasks import Task


class BatchedMLP(nn.Module):
    """Weights of K MLPs stacked on a leading dimension; forward takes (K, batch, in)."""

    def __init__(self, in_dim: int, out_dim: int, cfg: ModelConfig, act: Activation, seeds: list[int]) -> None:
        super().__init__()
        nets = []
        for s in seeds:
            seed_everything(s)
            nets.append(MLP(in_dim, out_dim, cfg, act))
        n_layers = len(nets[0].layers)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([n.layers[i].weight.detach() for n in nets])) for i in range(n_layers))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([n.layers[i].bias.detach() for n in nets])) for i in range(n_layers))
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = self.act(h)
        return h


def train_batched(model: BatchedMLP, task: Task, tc: TrainerConfig, seeds: list[int]) -> dict[int, list[dict]]:
    """Regression (MSE) training of every seed at once; returns {seed: [(step, loss) rows]}."""
    k = len(seeds)
    n = task.x_train.shape[0]
    bs = n if tc.batch_size == 0 else min(tc.batch_size, n)
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=tc.lr) if Optimizer(tc.optimizer) is Optimizer.adam
           else torch.optim.SGD(params, lr=tc.lr))
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    rows: dict[int, list[dict]] = {s: [] for s in seeds}
    x_eval = task.x_train[:512].expand(k, -1, -1)
    y_eval = task.y_train[:512].expand(k, -1, -1)

    def log(step: int) -> None:
        with torch.no_grad():
            per_seed = ((model(x_eval) - y_eval) ** 2).mean(dim=(1, 2)).tolist()
        for s, v in zip(seeds, per_seed):
            rows[s].append({"step": step, "layer": None, "metric": "loss", "value": v})

    for step in range(tc.steps + 1):
        if step % tc.log_every == 0 or step == tc.steps:
            log(step)
        if step == tc.steps:
            break
        if bs < n:
            idx = torch.stack([torch.randint(0, n, (bs,), generator=g) for g in gens]).to(task.x_train.device)
            xb, yb = task.x_train[idx], task.y_train[idx]
        else:
            xb, yb = task.x_train.expand(k, -1, -1), task.y_train.expand(k, -1, -1)
        # the sum over seeds of each seed's mean loss: each slice gets exactly its own gradient
        loss = F.mse_loss(model(xb), yb, reduction="none").mean(dim=(1, 2)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return rows
