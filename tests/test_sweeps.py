"""Sweeps never lose a result: resume after a kill, corrupt folders skipped, other launchers."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd

from actlab.results import collect
from tests.conftest import ROOT

SWEEP = ["-m", "experiment=gradient_flow", "scale=smoke", "activation=relu,tanh,sigmoid",
         "model.depth=2,3", "model.weight_scale=1.0,2.0"]  # 12 runs


def _summaries(out):
    return list((out / "runs" / "gradient_flow").glob("*/summary.json"))


def _sweep_until(out, n_done: int, **popen) -> subprocess.Popen:
    """Start SWEEP in a subprocess and return once `n_done` runs have finished (or it ended)."""
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", *SWEEP, f"out_dir={out}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "CI": "true"}, **popen)
    deadline = time.time() + 120
    while len(_summaries(out)) < n_done and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    return proc


def test_killed_sweep_resumes_with_every_result_once(cli, tmp_path):
    out = tmp_path / "out"
    proc = _sweep_until(out, 3, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_summaries(out))
    assert 3 <= done_before < 12, "the sweep should have been killed part-way"
    r = cli(*SWEEP, f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (r.stdout + r.stderr).count("skip gradient_flow/") >= done_before
    runs = list((out / "runs" / "gradient_flow").iterdir())
    assert len(runs) == 12
    assert all(json.loads((p / "summary.json").read_text())["status"] in ("ok", "diverged")
               for p in runs)
    table = pd.read_csv(out / "results" / "gradient_flow.csv")
    assert table["run_id"].nunique() == 12
    assert not table.duplicated(["run_id", "step", "layer", "metric"]).any()


# the sweep's tanh runs crash (a bug, a node failure); the rest must land and a rerun redo only
# those
CRASHING_TANH = """
import sys
from dataclasses import replace
from actlab.cli import EXPERIMENTS, main

real = EXPERIMENTS["gradient_flow"].load()

def run(cfg, device):
    if cfg.activation.name == "tanh":
        raise RuntimeError("simulated crash")
    return real.run(cfg, device)

# no run_seeds: every seed goes through the crashing run
EXPERIMENTS["gradient_flow"] = replace(real, run=run, run_seeds=None)
main()
"""


def test_a_crashing_run_is_recorded_and_redone_on_rerun(cli, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", CRASHING_TANH, *SWEEP, f"out_dir={out}"], cwd=ROOT,
                       capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert r.returncode == 1  # the sweep finished, but says that some runs failed
    assert r.stderr.strip().splitlines()[-1].startswith(
        "error: 4 run(s) failed, e.g. gradient_flow/tanh_")
    assert "RuntimeError: simulated crash" in r.stderr.strip().splitlines()[-1]
    status = {p.parent.name: json.loads(p.read_text()) for p in _summaries(out)}
    assert len(status) == 12, r.stderr[-2000:]
    failed = {k for k, v in status.items() if v["status"] == "failed"}
    assert len(failed) == 4 and all("simulated crash" in status[k]["error"] for k in failed)
    first = pd.read_csv(out / "results" / "gradient_flow.csv")  # collected at the sweep's end
    assert first["run_id"].nunique() == 8 and not set(first["run_id"]) & failed
    r = cli(*SWEEP, f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (r.stdout + r.stderr).count("skip gradient_flow/") == 8
    table = pd.read_csv(out / "results" / "gradient_flow.csv")
    assert table["run_id"].nunique() == 12 and (table["status"] == "ok").all()
    assert not table.duplicated(["run_id", "step", "layer", "metric"]).any()


def test_ctrl_c_says_how_to_resume(cli, tmp_path):
    out = tmp_path / "out"
    proc = _sweep_until(out, 1, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: rerun the same command to resume" in err and "Traceback" not in err
    r = cli(*SWEEP, f"out_dir={out}")
    assert r.returncode == 0 and len(_summaries(out)) == 12


def test_collect_skips_corrupt_and_unfinished_runs(cli, tmp_path):
    assert cli("-m", "experiment=gradient_flow", "scale=smoke", "activation=relu,tanh",
               "model.depth=2", "model.weight_scale=1.0", f"out_dir={tmp_path}").returncode == 0
    a, b = sorted((tmp_path / "runs" / "gradient_flow").iterdir())
    text = (a / "metrics.csv").read_text()
    (a / "metrics.csv").write_text(text[: len(text) // 2])  # truncated
    unfinished = tmp_path / "runs" / "gradient_flow" / "unfinished_run"
    unfinished.mkdir()
    (unfinished / "metrics.csv").write_text("run_id\n")
    messages = []
    written = collect(tmp_path, log=messages.append)
    table = pd.read_csv(written["gradient_flow"])
    assert set(table["run_id"]) == {b.name}
    assert any("corrupt metrics.csv" in m and a.name in m for m in messages)
    assert any("unfinished" in m for m in messages)
    r = cli("--out", str(tmp_path), module="collect")
    assert r.returncode == 0 and "skipped" in r.stderr and "Traceback" not in r.stderr


def test_unknown_launcher(cli, tmp_path):
    r = cli("-m", "hydra/launcher=nope", f"out_dir={tmp_path}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("error: hydra/launcher=nope: no such option; valid choices: "
                                "basic, joblib, slurm, submitit_local, submitit_slurm")


def test_submitit_local_then_collect(cli, tmp_path):
    r = cli("-m", "experiment=gradient_flow", "scale=smoke", "activation=relu,tanh",
            "model.depth=2", "model.weight_scale=1.0", "hydra/launcher=submitit_local",
            f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = pd.read_csv(tmp_path / "results" / "gradient_flow.csv")
    assert table["run_id"].nunique() == 2 and (table["status"] == "ok").all()


def test_slurm_launcher_config_takes_the_documented_overrides(cli):
    """No cluster here: compose the launcher as the README's SLURM command would and check it."""
    import yaml

    r = cli("experiment=gradient_flow", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
            "hydra.launcher.timeout_min=120", "hydra.launcher.cpus_per_task=4",
            "hydra.launcher.gpus_per_node=1", "--cfg", "hydra", "-p", "hydra.launcher")
    assert r.returncode == 0, r.stderr
    launcher = yaml.safe_load(r.stdout)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert (launcher["partition"], launcher["timeout_min"], launcher["cpus_per_task"],
            launcher["gpus_per_node"]) == ("gpu", 120, 4, 1)


def test_fold_seeds():
    from hydra_plugins.actlab_sweeper.actlab_sweeper import fold_seeds

    jobs = [["a=1", "seed=0"], ["a=1", "seed=1"], ["a=2", "seed=0"], ["a=2", "seed=1"], ["b=3"]]
    assert fold_seeds(jobs) == [["a=1", "seed=0", "seeds=[0,1]"], ["a=2", "seed=0", "seeds=[0,1]"],
                                ["b=3"]]
    assert fold_seeds([["a=1", "seed=4"]]) == [["a=1", "seed=4"]]  # a single seed stays a plain run


def test_seed_sweep_is_one_batched_job_and_resumes(cli, tmp_path):
    """`seed=0,1,2` folds into one job that trains the seeds together; a seed already done is
    skipped and the rest still train batched; every seed ends with its own run folder."""
    base = ["experiment=gradient_flow", "scale=smoke", "activation=tanh", "model.depth=3",
            "model.weight_scale=1.0", f"out_dir={tmp_path}"]
    assert cli(*base, "seed=1").returncode == 0  # one seed by itself first
    r = cli("-m", *base, "seed=0,1,2")
    assert r.returncode == 0, r.stderr[-2000:]
    log = r.stdout + r.stderr
    assert log.count("#0 :") == 1 and "#1 :" not in log  # one job
    assert "skip gradient_flow/tanh_d3" in log and "and 1 more seeds, batched" in log
    runs = sorted((tmp_path / "runs" / "gradient_flow").iterdir())
    assert len(runs) == 3
    summaries = {json.loads((p / "summary.json").read_text())["run_id"]:
                 json.loads((p / "summary.json").read_text()) for p in runs}
    assert sorted(s.get("seeds_batched", 1) for s in summaries.values()) == [1, 2, 2]
    table = pd.read_csv(tmp_path / "results" / "gradient_flow.csv")
    assert sorted(table["seed"].unique()) == [0, 1, 2]
    assert not table.duplicated(["run_id", "step", "layer", "metric"]).any()
    # the plain grid is one override away
    r = cli("-m", *base, "seed=0,1,2", "hydra.sweeper.group_seeds=false", "force=true")
    assert r.returncode == 0 and "#2 :" in r.stdout + r.stderr
