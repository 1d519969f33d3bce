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


def test_killed_sweep_resumes_with_every_result_once(cli, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", *SWEEP, f"out_dir={out}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "CI": "true"}, start_new_session=True)
    deadline = time.time() + 120
    while len(_summaries(out)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_summaries(out))
    assert 3 <= done_before < 12, "the sweep should have been killed part-way"
    r = cli(*SWEEP, f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (r.stdout + r.stderr).count("skip gradient_flow/") >= done_before
    runs = list((out / "runs" / "gradient_flow").iterdir())
    assert len(runs) == 12
    assert all(json.loads((p / "summary.json").read_text())["status"] in ("ok", "diverged") for p in runs)
    table = pd.read_csv(out / "results" / "gradient_flow.csv")
    assert table["run_id"].nunique() == 12
    assert not table.duplicated(["run_id", "step", "layer", "metric"]).any()


def test_collect_skips_corrupt_and_unfinished_runs(cli, tmp_path):
    assert cli("-m", "experiment=gradient_flow", "scale=smoke", "activation=relu,tanh", "model.depth=2",
               "model.weight_scale=1.0", f"out_dir={tmp_path}").returncode == 0
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
    assert r.returncode != 0 and "hydra/launcher/nope" in r.stderr and "Traceback" not in r.stderr


def test_submitit_local_then_collect(cli, tmp_path):
    r = cli("-m", "experiment=gradient_flow", "scale=smoke", "activation=relu,tanh", "model.depth=2",
            "model.weight_scale=1.0", "hydra/launcher=submitit_local", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    table = pd.read_csv(tmp_path / "results" / "gradient_flow.csv")
    assert table["run_id"].nunique() == 2 and (table["status"] == "ok").all()
