"""Task sequences, logit masks and the protected-weight tracking of the continual experiment."""

from types import SimpleNamespace

import torch

from actlab.config import TaskConfig
from actlab.tasks import make_task
from experiments.continual import make_sequence


def test_split_sequence_masks_and_classes(tmp_path):
    base = make_task(TaskConfig(name="digits", n_train=600, n_test=200, in_dim=64, out_dim=10),
                     tmp_path)
    seq = make_sequence(base, SimpleNamespace(sequence="split", head="task", n_tasks=0), seed=0)
    assert len(seq) == 5
    for k, (task, mask) in enumerate(seq):
        assert set(task.y_train.unique().tolist()) == {2 * k, 2 * k + 1}
        assert torch.isinf(mask).sum() == 8 and mask[2 * k] == 0 and mask[2 * k + 1] == 0
    shared = make_sequence(base, SimpleNamespace(sequence="split", head="shared", n_tasks=0),
                           seed=0)
    assert all((m == 0).all() for _, m in shared)


def test_permuted_sequence_is_a_permutation(tmp_path):
    base = make_task(TaskConfig(name="digits", n_train=300, n_test=100, in_dim=64, out_dim=10),
                     tmp_path)
    seq = make_sequence(base, SimpleNamespace(sequence="permuted", head="shared", n_tasks=3),
                        seed=1)
    assert torch.equal(seq[0][0].x_train, base.x_train)
    x1 = seq[1][0].x_train
    assert not torch.equal(x1, base.x_train)
    assert torch.equal(x1.sort(1).values, base.x_train.sort(1).values)


def test_masked_logits():
    from actlab.activations import get_activation
    from actlab.config import ModelConfig
    from actlab.models import MLP

    net = MLP(3, 4, ModelConfig(depth=1, width=5), get_activation("relu"))
    mask = torch.tensor([0.0, float("-inf"), 0.0, float("-inf")])
    net.out_mask = mask
    x = torch.randn(5, 3)
    out = net(x)
    assert torch.isinf(out[:, 1]).all() and torch.isin(out.argmax(1), torch.tensor([0, 2])).all()
    net.out_mask = None
    assert torch.equal(out[:, [0, 2]], net(x)[:, [0, 2]])


def test_mnist1d_is_generated_and_cached(tmp_path):
    c = TaskConfig(name="mnist1d", n_train=800, n_test=200, in_dim=40, out_dim=10)
    a = make_task(c, tmp_path)
    assert list(tmp_path.glob("mnist1d_*.npz"))
    b = make_task(c, tmp_path)  # from the cache
    assert torch.equal(a.x_train, b.x_train) and a.x_train.shape == (800, 40)
    assert set(a.y_train.unique().tolist()) == set(range(10))
