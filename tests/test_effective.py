"""Keys that do nothing are visible: one warning line, and they never enter a run's name or
table."""

import pandas as pd

from actlab.effective import effective_config, no_effect
from actlab.registry import experiments
from actlab.results import run_name
from tests.helpers import compose

EXPERIMENTS = experiments()


def _name(overrides, experiment):
    return run_name(effective_config(compose([f"experiment={experiment}", *overrides]),
                                     EXPERIMENTS[experiment].reads))


def test_unread_keys_do_not_change_the_run_name():
    assert _name(["activation=relu", "activation.slope=0.3"],
                 "gradient_flow") == _name(["activation=relu"], "gradient_flow")
    assert _name(["activation=leaky_relu", "activation.slope=0.3"], "gradient_flow") != \
        _name(["activation=leaky_relu"], "gradient_flow")
    assert _name(["model.depth=7"], "nonmonotonic") == _name([], "nonmonotonic")
    assert _name(["model.depth=7"], "gradient_flow") != _name([], "gradient_flow")
    assert not _name([], "nonmonotonic").split("_")[1].startswith("d")  # no model in the prefix


def test_no_effect_names_the_key_and_why():
    cfg = compose(["experiment=gradient_flow", "activation=relu", "activation.slope=0.3",
                   "model.depth=3"])
    lines = no_effect(["activation=relu", "activation.slope=0.3", "model.depth=3"], cfg,
                      "gradient_flow", EXPERIMENTS["gradient_flow"].reads)
    assert lines == ["activation.slope=0.3: activation relu does not read slope, so this has no "
                     "effect (kept out of the run name and table)"]
    cfg = compose(["experiment=nonmonotonic", "model.depth=7", "trainer.device=cpu"])
    lines = no_effect(["model.depth=7", "trainer.device=cpu", "seed=3"], cfg, "nonmonotonic",
                      EXPERIMENTS["nonmonotonic"].reads)
    assert len(lines) == 1 and lines[0].startswith(
        "model.depth=7: experiment nonmonotonic does not read model.*")


def test_a_single_run_warns_once_and_keeps_the_key_out_of_its_table(cli, tmp_path):
    r = cli("experiment=nonmonotonic", "scale=smoke", "model.depth=7", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "model.depth=7" in warnings[0]
    (run,) = (tmp_path / "runs" / "nonmonotonic").iterdir()
    df = pd.read_csv(run / "metrics.csv")
    assert df["depth"].isna().all() and df["width"].isna().all()


def test_an_experiment_can_read_single_keys_of_a_group():
    """signal_propagation probes at initialization: of the trainer it reads only the dtype."""
    reads = EXPERIMENTS["signal_propagation"].reads
    assert "trainer.dtype" in reads and "trainer" not in reads
    assert _name(["trainer.lr=0.5"], "signal_propagation") == _name([], "signal_propagation")
    assert _name(["trainer.dtype=float64"], "signal_propagation") != _name([], "signal_propagation")
    cfg = compose(["experiment=signal_propagation", "trainer.lr=0.5"])
    overrides = ["trainer.lr=0.5", "trainer.dtype=float64"]
    (line,) = no_effect(overrides, cfg, "signal_propagation", reads)
    assert line.startswith(
        "trainer.lr=0.5: experiment signal_propagation reads only trainer.dtype")
