"""Every experiment config at smoke scale, then collect, figures and verify on its output."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from actlab.registry import experiments
from actlab.results import BASE_COLUMNS
from tests.conftest import ROOT, run_cli

EXPERIMENTS = experiments()


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory):
    """Every experiment's smoke grid, run once for this module through the console script's
    `experiment=glob(*)` sweep; the pipeline test below then finds every run finished."""
    out = tmp_path_factory.mktemp("smoke") / "out"
    r = run_cli("-m", "experiment=glob(*)", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_every_experiment_config_runs(smoke_out):
    """`experiment=glob(*)`: every experiment runs its own smoke grid (the actlab sweeper expands
    each experiment's YAML grid; Hydra alone would give them all the default experiment's)."""
    import yaml

    out = smoke_out
    for exp in EXPERIMENTS:
        runs = list((out / "runs" / exp).iterdir())
        assert runs, exp
        smoke = yaml.safe_load((ROOT / "configs" / "scale" / "by_experiment"
                                / f"smoke_{exp}.yaml").read_text())
        grid = ((smoke or {}).get("hydra") or {}).get("sweeper", {}).get("params", {})
        if "activation" in grid:  # the runs' activations are this experiment's own, no others
            ran = {yaml.safe_load((run / "config.yaml").read_text())["activation"]["name"]
                   for run in runs}
            assert ran == set(str(grid["activation"]).split(",")), exp
        for run in runs:
            summary = json.loads((run / "summary.json").read_text())
            assert summary["status"] in ("ok", "diverged"), (run, summary)
            df = pd.read_csv(run / "metrics.csv", low_memory=False)
            assert list(df.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
            assert len(df) == summary["rows"]
    # the multirun callback collected every experiment's table
    for exp in EXPERIMENTS:
        assert (out / "results" / f"{exp}.csv").exists()


def test_smoke_pipeline(smoke_out):
    """What `make figures` does, at smoke scale: every experiment's grid (already run by the
    sweep above: run_all finds each run finished and skips it, which is the resume path), tables,
    figures, claims."""
    out = smoke_out
    r = subprocess.run([sys.executable, "scripts/run_all.py", "--out", str(out),
                        "--scale", "smoke"],
                       cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env={**__import__("os").environ, "CI": "true"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    claims = pd.read_csv(out / "claims.csv")
    assert set(claims["experiment"]) == set(EXPERIMENTS)
    math_claims = claims[claims["kind"] == "math"]
    assert (math_claims["verdict"].isin(["pass", "no data"])).all(), math_claims
    assert (math_claims["verdict"] == "pass").sum() >= len(EXPERIMENTS)
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) >= len(EXPERIMENTS)
    assert all(p.stat().st_size > 5000 for p in pngs)
    assert all(p.with_suffix(".pdf").exists() for p in pngs)
    report = (out / "report.md").read_text()
    assert all(f"## {exp}" in report for exp in EXPERIMENTS)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(pngs)


def test_rerun_skips_finished_runs(cli, tmp_path):
    args = ["experiment=gradient_flow", "scale=smoke", "model.depth=2", f"out_dir={tmp_path}"]
    assert cli(*args).returncode == 0
    (run,) = (tmp_path / "runs" / "gradient_flow").iterdir()
    before = (run / "metrics.csv").stat().st_mtime_ns
    r = cli(*args)
    assert r.returncode == 0 and "skip" in r.stdout + r.stderr
    assert (run / "metrics.csv").stat().st_mtime_ns == before


def test_diverged_run_is_recorded(cli, tmp_path):
    r = cli("experiment=gradient_flow", "scale=smoke", "activation=linear", "activation.slope=3",
            "model.weight_scale=3", "model.depth=8", "trainer.lr=1.0", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "runs" / "gradient_flow").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_step"] is not None
    # a finished result: a rerun keeps it instead of training it again
    r = cli("experiment=gradient_flow", "scale=smoke", "activation=linear", "activation.slope=3",
            "model.weight_scale=3", "model.depth=8", "trainer.lr=1.0", f"out_dir={tmp_path}")
    assert r.returncode == 0 and "already diverged" in r.stdout + r.stderr
