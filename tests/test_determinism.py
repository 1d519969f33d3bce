"""The same config and seed give byte-identical metrics.csv on CPU."""

from dataclasses import replace

from omegaconf import OmegaConf

from actlab.effective import effective_config
from actlab.jobs import run_job, run_one
from actlab.registry import experiments
from actlab.results import run_name
from tests.helpers import compose

EXPERIMENTS = experiments()


def name_of(cfg, experiment="gradient_flow"):
    return run_name(effective_config(cfg, EXPERIMENTS[experiment].reads))


def test_same_config_same_bytes(tmp_path):
    outs = []
    for i in range(2):
        cfg = compose(["experiment=gradient_flow", "scale=smoke", "activation=tanh",
                       "model.depth=4", "trainer.steps=12", f"out_dir={tmp_path / str(i)}"])
        run_one(cfg, EXPERIMENTS["gradient_flow"])
        (run,) = (tmp_path / str(i) / "runs" / "gradient_flow").iterdir()
        outs.append((run.name, (run / "metrics.csv").read_bytes()))
    assert outs[0][0] == outs[1][0]  # the run name is derived from the config alone
    assert outs[0][1] == outs[1][1]


def test_batched_seeds_same_bytes(tmp_path):
    """A folded seed job is as reproducible as a single run; its seeds' names equal solo runs'."""
    outs = []
    for i in range(2):
        cfg = compose(["experiment=saturation", "scale=smoke", "activation=tanh", "seeds=[0,1,2]",
                       "trainer.steps=12", f"out_dir={tmp_path / str(i)}"])
        summaries = run_job(cfg, EXPERIMENTS["saturation"])
        assert [s["seeds_batched"] for s in summaries] == [3, 3, 3]
        runs = sorted((tmp_path / str(i) / "runs" / "saturation").iterdir())
        outs.append({r.name: (r / "metrics.csv").read_bytes() for r in runs})
    assert outs[0] == outs[1] and len(outs[0]) == 3
    solo = compose(["experiment=saturation", "scale=smoke", "activation=tanh", "seed=1",
                    "trainer.steps=12"])
    assert name_of(solo, "saturation") in outs[0]


def test_run_name_changes_with_the_config():
    a = compose(["model.depth=4"])
    b = compose(["model.depth=4", "trainer.lr=0.02"])
    c = compose(["model.depth=4", "trainer.threads=1", "out_dir=elsewhere", "seeds=[0,5]"])
    assert name_of(a) != name_of(b)
    assert name_of(a) == name_of(c)  # threads, out_dir and seeds do not change what seed 0 computes
    assert OmegaConf.select(a, "model.depth") == 4


def test_a_failing_batched_job_falls_back_to_one_seed_at_a_time(tmp_path, monkeypatch):
    def boom(cfg, device, seeds):
        raise RuntimeError("out of memory (simulated)")

    exp = replace(EXPERIMENTS["saturation"].load(), run_seeds=boom)
    cfg = compose(["experiment=saturation", "scale=smoke", "activation=tanh", "seeds=[0,1]",
                   "trainer.steps=4", f"out_dir={tmp_path}"])
    summaries = run_job(cfg, exp)
    assert [s["status"] for s in summaries] == ["ok", "ok"]
    assert [s["seeds_batched"] for s in summaries] == [1, 1]


def test_each_seed_of_a_job_records_its_own_values(tmp_path):
    """A value that interpolates ${seed} resolves per seed: each seed's config.yaml and run name
    are those of a solo run with that seed (the job's plain values are not reused across seeds)."""
    import yaml

    common = ["experiment=saturation", "scale=smoke", "activation=tanh", "trainer.steps=2",
              "task.data_seed=${seed}", f"out_dir={tmp_path}"]
    summaries = run_job(compose([*common, "seeds=[0,1,2]"]), EXPERIMENTS["saturation"])
    for s, summary in zip([0, 1, 2], summaries):
        run = tmp_path / "runs" / "saturation" / summary["run_id"]
        assert yaml.safe_load((run / "config.yaml").read_text())["task"]["data_seed"] == s
        assert summary["run_id"] == name_of(compose([*common, f"seed={s}"]), "saturation")
