"""Bad input: one clear line naming the key (and the valid choices), non-zero exit, nothing written."""

import pytest
import torch

CASES = [
    # (overrides, text that must appear in the error)
    (["activation=relu6"], "activation/relu6"),
    (["activation.name=relu6"], "valid choices: elu, gelu, identity"),
    (["model.depth=-1"], "model.depth=-1"),
    (["model.depth=0"], "model.depth=0"),
    (["model.width=0"], "model.width=0"),
    (["model.weight_scale=0"], "model.weight_scale=0"),
    (["trainer.lr=-0.1"], "trainer.lr=-0.1"),
    (["model.depth=abc"], "model.depth"),
    (["model.dept=3"], "dept"),
    (["model.init=xavier"], "model.init"),
    (["task=imagenet"], "task/imagenet"),
    (["experiment=nope"], "experiment/nope"),
]


@pytest.mark.parametrize("overrides,needle", CASES, ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_bad_config_fails_cleanly(cli, tmp_path, overrides, needle):
    out = tmp_path / "out"
    r = cli(f"out_dir={out}", "trainer.steps=1", *overrides)
    assert r.returncode != 0
    assert needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (out / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_gpu(cli, tmp_path):
    r = cli(f"out_dir={tmp_path}", "trainer.device=cuda")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("error: trainer.device='cuda'")
    assert not (tmp_path / "runs").exists()


def test_unwritable_out_dir(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = cli(f"out_dir={blocker / 'sub'}", "trainer.steps=1")
    assert r.returncode == 2
    assert "out_dir=" in r.stderr and "Traceback" not in r.stderr
