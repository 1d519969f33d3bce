"""born_dead's batched Monte Carlo, softplus revival times, and the dead-unit tracker."""

import math

import pytest
import torch

from actlab.activations import get_activation
from actlab.claims import clopper_pearson
from experiments.born_dead import bound, constant_fraction
from experiments.softplus_revival import steps_to_revive


def test_one_hidden_layer_is_never_dead():
    gen = torch.Generator().manual_seed(0)
    assert constant_fraction(1, 2, "he", 500, 0.0, 1.0, 51, gen) == 0
    assert bound(1, 2) == 0


def test_width_one_matches_closed_form():
    # width 1, zero bias: each layer after the first kills the signal with probability exactly 1/2
    gen = torch.Generator().manual_seed(1)
    n, depth = 4000, 4
    k = constant_fraction(depth, 1, "he", n, 0.0, 1.0, 51, gen)
    lo, hi = clopper_pearson(k, n, 0.999)
    assert lo <= 1 - 0.5 ** (depth - 1) <= hi
    assert bound(depth, 1) == pytest.approx(1 - 0.5 ** (depth - 1))


def test_clopper_pearson_edges():
    assert clopper_pearson(0, 100, 0.95)[0] == 0.0
    assert clopper_pearson(100, 100, 0.95)[1] == 1.0
    lo, hi = clopper_pearson(50, 100, 0.95)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.2, abs=0.02)


def test_revival_times():
    relu = get_activation("relu")
    assert all(math.isnan(s) for s in steps_to_revive(relu, [-1.0, -3.0], 0.5, 500, 16))
    leaky = get_activation("leaky_relu", slope=0.1)
    s1, s2 = steps_to_revive(leaky, [-1.0, -4.0], 0.5, 10_000, 16)
    assert s1 < s2 < 8 * s1  # roughly proportional to |z0|, not exponential
    sp = get_activation("softplus")
    a, b = steps_to_revive(sp, [-3.0, -6.0], 0.5, 100_000, 16)
    assert b / a > math.exp(3) / 3  # grows like e^|z0|
