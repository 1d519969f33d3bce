"""Activations a user might write in their own module, good and bad, for tests/test_custom.py."""

import torch


def scaled_tanh(z):  # LeCun's 1.7159 tanh(2z/3)
    return 1.7159 * torch.tanh(2 * z / 3)


def scaled_tanh_deriv(z):
    return 1.7159 * (2 / 3) * (1 - torch.tanh(2 * z / 3) ** 2)


def wrong_deriv(z):  # forgets the chain factor 2/3
    return 1.7159 * (1 - torch.tanh(2 * z / 3) ** 2)


def bent_relu(z):  # piecewise linear, monotone, not saturating: two slopes
    return torch.where(z > 0, z, 0.2 * z)


def dip(z):  # non-monotone and smooth
    return z * torch.exp(-z * z / 8)


def softmax(z):  # not elementwise
    return torch.softmax(z, dim=-1)


def shrinks(z):
    return z[..., :1]


def as_float32(z):
    return torch.tanh(z).float()


def blows_up(z):
    return 1 / z


def not_a_tensor(z):
    return z.tolist()


def raises(z):
    raise RuntimeError("boom")


NOT_CALLABLE = 3.0
