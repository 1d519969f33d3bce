"""The same config and seed give byte-identical metrics.csv on CPU."""

from omegaconf import OmegaConf

from actlab.cli import run_one
from tests.helpers import compose


def test_same_config_same_bytes(tmp_path):
    outs = []
    for i in range(2):
        cfg = compose(["experiment=gradient_flow", "scale=smoke", "activation=tanh",
                       "model.depth=4", "trainer.steps=12", f"out_dir={tmp_path / str(i)}"])
        run_one(cfg, "gradient_flow")
        (run,) = (tmp_path / str(i) / "runs" / "gradient_flow").iterdir()
        outs.append((run.name, (run / "metrics.csv").read_bytes()))
    assert outs[0][0] == outs[1][0]  # the run name is derived from the config alone
    assert outs[0][1] == outs[1][1]


def test_run_name_changes_with_the_config():
    from actlab.results import run_name

    a = compose(["model.depth=4"])
    b = compose(["model.depth=4", "trainer.lr=0.02"])
    c = compose(["model.depth=4", "trainer.threads=1", "out_dir=elsewhere"])
    assert run_name(a) != run_name(b)
    assert run_name(a) == run_name(c)  # threads and out_dir do not change what is computed
    assert OmegaConf.select(a, "model.depth") == 4
