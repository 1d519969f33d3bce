"""Bad input: one clear line naming the key (and the valid choices), non-zero exit, nothing
written."""

import pytest
import torch

CASES = [
    # (overrides, text that must appear in the one-line error)
    (["activation=relu7"],
     "activation=relu7: no such option; valid choices: celu, custom, elu, gelu, hardsigmoid"),
    (["activation.name=relu7"], "valid choices: celu, elu, gelu, hardsigmoid"),
    (["activation=custom"], "activation=custom needs activation.target=module:function"),
    (["activation=custom", "activation.target=nope_xyz:f"], "cannot import module 'nope_xyz'"),
    (["activation.backward=sideways"], "activation.backward=sideways: Invalid value 'sideways', "
     "expected one of [exact, zero_below, leaky_below]"),
    (["activation=hardtanh", "activation.min_val=2"],
     "activation.max_val=1.0: must be > activation.min_val=2.0"),
    (["model.depth=-1"], "model.depth=-1"),
    (["model.depth=0"], "model.depth=0"),
    (["model.width=0"], "model.width=0"),
    (["model.weight_scale=0"], "model.weight_scale=0"),
    (["model.weight_scale=-1.5"], "model.weight_scale=-1.5: must be > 0"),
    (["trainer.lr=-0.1"], "trainer.lr=-0.1"),
    (["trainer.lr=0"], "trainer.lr=0"),
    (["trainer.lr=fast"],
     "trainer.lr=fast: Value 'fast' of type 'str' could not be converted to Float"),
    (["trainer.device=tpu"],
     "trainer.device=tpu: Invalid value 'tpu', expected one of [auto, cpu, cuda]"),
    (["model.depth=abc"],
     "model.depth=abc: Value 'abc' of type 'str' could not be converted to Integer"),
    (["activation.slope=steep"], "activation.slope=steep"),
    (["model.dept=3"], "model.dept: no such key; valid keys: depth, width"),
    (["+model.dept=3"], "model.dept: no such key; valid keys: depth, width"),
    (["+params.nope=1"], "params.nope: no such key; valid keys: none"),  # gradient_flow has none
    (["experiment=gelu_approx", "+params.nope=1"],
     "params.nope: no such key; valid keys: z_max, points"),
    (["model.init=xavier"],
     "model.init=xavier: Invalid value 'xavier', expected one of [gaussian, orthogonal]"),
    (["model.depth=["], "model.depth=[: cannot parse"),
    (["task=imagenet"],
     "task=imagenet: no such option; valid choices: digits, mnist1d, sine, teacher, xor"),
    (["trainer=fast"], "trainer=fast: no such option; valid choices: default"),
    (["experiment=nope"], "experiment=nope: no such option; valid choices: born_dead, continual"),
    (["-m", "activation=relu,relu7"], "activation=relu7: no such option"),
    # a bad value anywhere in a grid stops the sweep before its first run
    (["-m", "model.depth=2,-1"], "model.depth=-1: must be an integer >= 1"),
    (["-m", "activation=relu,tanh", "trainer.lr=0.1,0"], "trainer.lr=0"),
    # non-finite floats, out-of-range seeds, unrepresentable rates, impossible sizes
    (["model.weight_scale=inf"], "model.weight_scale=inf: must be a finite number"),
    (["activation=leaky_relu", "activation.slope=nan"],
     "activation.slope=nan: must be a finite number"),
    (["task.noise=-inf"], "task.noise=-inf: must be a finite number"),
    (["seed=-1"], "seed=-1: must be an integer in [0, 2^32 - 1]"),
    (["seed=4294967296"], "seed=4294967296: must be an integer in [0, 2^32 - 1]"),
    (["trainer.lr=1e308"], "trainer.lr=1e+308: not representable in trainer.dtype=float32"),
    (["model.width=100000", "model.depth=100000"], "GiB"),
    # experiment choices are typed: a bad one stops the sweep before its first job
    (["-m", "experiment=dead_relu", "params.cause=lr,foo"],
     "params.cause=foo: Invalid value 'foo', expected one of [lr, bias, narrow]"),
    (["experiment=continual", "params.head=both"],
     "params.head=both: Invalid value 'both', expected one of [task, shared]"),
]


@pytest.mark.parametrize("overrides,needle", CASES,
                         ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_bad_config_fails_cleanly(cli_here, tmp_path, overrides, needle):
    out = tmp_path / "out"
    r = cli_here(*overrides, f"out_dir={out}", "trainer.steps=1")
    assert r.returncode != 0
    assert needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not (out / "runs").exists()


def test_one_bad_config_through_the_console_script(cli, tmp_path):
    """The cases above run in this process; one goes through a fresh interpreter as a user's
    shell would run it."""
    r = cli("model.depth=-1", f"out_dir={tmp_path}", "trainer.steps=1")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: model.depth=-1: must be an integer >= 1"


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
