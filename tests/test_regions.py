"""The exact piece counter: hand-built nets, the tent map, and dense sampling on random nets."""

import math

import numpy as np
import pytest
import torch

from actlab.activations import get_activation
from actlab.config import ModelConfig
from actlab.models import MLP
from actlab.regions import count_pieces, model_arrays, sampled_pieces, tent_network
from experiments.linear_collapse import fold, lstsq_loss


def test_hand_built_breakpoints():
    # relu(x) + relu(x - 1) - relu(x - 2) on [-1, 3]: kinks at 0, 1, 2 -> 4 pieces
    w = [np.array([[1.0], [1.0], [1.0]]), np.array([[1.0, 1.0, -1.0]])]
    b = [np.array([0.0, -1.0, -2.0]), np.array([0.0])]
    assert count_pieces(w, b, np.zeros(1), np.ones(1), -1.0, 3.0) == (4, 4)
    # two units with the same kink: one breakpoint; opposite slopes that cancel: merged away
    w = [np.array([[1.0], [1.0]]), np.array([[1.0, -1.0]])]
    b = [np.array([0.0, 0.0]), np.array([0.0])]
    assert count_pieces(w, b, np.zeros(1), np.ones(1), -1.0, 1.0) == (2, 1)


@pytest.mark.parametrize("k", range(1, 11))
def test_tent_map_has_2_to_the_k_pieces(k):
    w, b = tent_network(k)
    assert count_pieces(w, b, np.zeros(1), np.ones(1), 0.0, 1.0) == (2**k, 2**k)


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_dense_sampling(seed):
    torch.manual_seed(seed)
    net = MLP(3, 1, ModelConfig(depth=3, width=12, weight_scale=math.sqrt(2), bias_scale=0.3),
              get_activation("relu")).double()
    ws, bs = model_arrays(net)
    d = np.random.default_rng(seed).normal(size=3)
    d /= np.linalg.norm(d)
    exact, _ = count_pieces(ws, bs, np.zeros(3), d, -2.0, 2.0)
    assert sampled_pieces(ws, bs, np.zeros(3), d, -2.0, 2.0, n=400_001) == exact


def test_fold_is_exact():
    torch.manual_seed(0)
    net = MLP(4, 2, ModelConfig(depth=6, width=8, bias_scale=0.5),
              get_activation("linear", slope=0.8)).double()
    w, b = fold(net, 0.8)
    x = torch.randn(50, 4, dtype=torch.float64)
    torch.testing.assert_close(net(x), x @ w.T + b, rtol=1e-12, atol=1e-12)
    y = torch.randn(50, 2, dtype=torch.float64)
    assert lstsq_loss(x, y) <= float(((x @ w.T + b - y) ** 2).mean())
