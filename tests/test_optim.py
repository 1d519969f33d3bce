"""actlab.optim against torch.optim: the same updates, bit for bit, on the CPU (another
implementation of the same arithmetic, so a run's numbers do not depend on which is used)."""

import pytest
import torch

from actlab import optim


def _train(opt_cls, lr, steps=25, dtype=torch.float64):
    torch.manual_seed(0)
    w1 = torch.randn(8, 5, dtype=dtype, requires_grad=True)
    w2 = torch.randn(1, 8, dtype=dtype, requires_grad=True)
    unused = torch.zeros(3, dtype=dtype, requires_grad=True)  # never gets a gradient
    x, y = torch.randn(32, 5, dtype=dtype), torch.randn(32, 1, dtype=dtype)
    opt = opt_cls([w1, w2, unused], lr=lr)
    for _ in range(steps):
        loss = ((torch.tanh(x @ w1.T) @ w2.T - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return w1.detach(), w2.detach(), unused.detach()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ours, theirs, lr", [(optim.SGD, torch.optim.SGD, 0.05),
                                              (optim.Adam, torch.optim.Adam, 0.01)])
def test_same_updates_as_torch_optim(ours, theirs, lr, dtype):
    a, b = _train(ours, lr, dtype=dtype), _train(theirs, lr, dtype=dtype)
    for p, q in zip(a, b):
        assert torch.equal(p, q)
    assert not torch.equal(a[0], _train(ours, lr, steps=0, dtype=dtype)[0])  # it did move


def test_adam_is_not_sgd():
    # the comparison above could pass with two identical wrong optimizers only if they matched
    # torch; this guards against Adam silently falling back to SGD
    assert not torch.equal(_train(optim.Adam, 0.01)[0], _train(optim.SGD, 0.01)[0])
