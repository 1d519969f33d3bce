"""Exact linear pieces of a ReLU network along a line segment.

Along x(t) = p + t d, t in [t0, t1], every pre-activation of a ReLU net is piecewise affine in t.
We walk the layers: within each current piece, each unit's pre-activation alpha t + beta crosses
zero at most once; the crossings split the piece, and on each sub-piece the activation pattern is
fixed, so the next layer's input is again affine in t. The result is the exact list of pieces on
which the activation pattern is constant (`pieces`); merging neighbours whose output is the same
affine function gives `pieces_merged` (the number of linear pieces of the function itself).
"""

from __future__ import annotations

import numpy as np


def count_pieces(weights: list[np.ndarray], biases: list[np.ndarray], p: np.ndarray, d: np.ndarray,
                 t0: float, t1: float, rel_eps: float = 1e-10) -> tuple[int, int]:
    """(pieces, pieces_merged) of x -> W_L+1 relu(... relu(W_1 x + b_1)) + b_L+1 along p + t d.

    weights[i] has shape (out, in); the last (weights, bias) pair is the linear output layer.
    Crossings closer than rel_eps * (t1 - t0) to a piece boundary are ignored (float round-off)."""
    eps = rel_eps * (t1 - t0)
    lo = np.array([t0], dtype=np.float64)
    hi = np.array([t1], dtype=np.float64)
    a = (weights[0] @ d)[None, :]  # (pieces, units): z = a t + b on each piece
    b = (weights[0] @ p + biases[0])[None, :]
    n_hidden = len(weights) - 1
    for layer in range(n_hidden):
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.where(a != 0, -b / a, np.nan)
        inside = (t_star > lo[:, None] + eps) & (t_star < hi[:, None] - eps)
        new_lo, new_hi, parent = [], [], []
        for k in range(len(lo)):
            cuts = np.unique(t_star[k, inside[k]])
            if len(cuts) > 1:  # several units crossing at (numerically) one point: one cut
                cuts = cuts[np.concatenate([[True], np.diff(cuts) > eps])]
            edges = np.concatenate([[lo[k]], cuts, [hi[k]]])
            new_lo.append(edges[:-1])
            new_hi.append(edges[1:])
            parent.append(np.full(len(edges) - 1, k))
        lo, hi = np.concatenate(new_lo), np.concatenate(new_hi)
        parent = np.concatenate(parent)
        a, b = a[parent], b[parent]
        mid = 0.5 * (lo + hi)
        on = (a * mid[:, None] + b) > 0
        ha, hb = a * on, b * on  # relu(z) on this piece, still affine in t
        w, bias = weights[layer + 1], biases[layer + 1]
        a, b = ha @ w.T, hb @ w.T + bias
    pieces = len(lo)
    # merge neighbours computing the same affine output (slope and intercept)
    scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
    same = np.all(np.isclose(a[1:], a[:-1], rtol=1e-9, atol=1e-12 * scale)
                  & np.isclose(b[1:], b[:-1], rtol=1e-9, atol=1e-12 * scale), axis=1)
    return pieces, pieces - int(same.sum())


def tent_network(k: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """k hidden layers of width 2 computing the k-fold tent map f(x) = 2 relu(x) - 4 relu(x - 1/2)
    on [0, 1]: exactly 2^k linear pieces there."""
    w_in = np.array([[1.0], [1.0]])
    b_in = np.array([0.0, -0.5])
    w_mid = np.array([[2.0, -4.0], [2.0, -4.0]])
    weights, biases = [w_in], [b_in]
    for _ in range(k - 1):
        weights.append(w_mid)
        biases.append(b_in.copy())
    weights.append(np.array([[2.0, -4.0]]))
    biases.append(np.array([0.0]))
    return weights, biases


def sampled_pieces(weights, biases, p, d, t0, t1, n: int = 200_001) -> int:
    """Count activation-pattern changes on a dense grid (a lower bound of the exact count)."""
    t = np.linspace(t0, t1, n)
    h = p[None, :] + t[:, None] * d[None, :]
    changes = np.zeros(n - 1, dtype=bool)
    for w, bias in zip(weights[:-1], biases[:-1]):
        z = h @ w.T + bias
        on = z > 0
        changes |= np.any(on[1:] != on[:-1], axis=1)
        h = np.maximum(z, 0)
    return int(changes.sum()) + 1


def model_arrays(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    ws = [layer.weight.detach().cpu().double().numpy() for layer in model.layers]
    bs = [layer.bias.detach().cpu().double().numpy() for layer in model.layers]
    return ws, bs
