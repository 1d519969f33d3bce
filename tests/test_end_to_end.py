"""Every experiment config at smoke scale, then collect, figures and verify on its output."""

import json

import pandas as pd

from actlab.results import BASE_COLUMNS
from experiments import EXPERIMENTS


def test_every_experiment_at_smoke_scale(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("-m", "experiment=glob(*)", "scale=smoke", f"out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    for exp in EXPERIMENTS:
        runs = list((out / "runs" / exp).iterdir())
        assert runs, exp
        for run in runs:
            summary = json.loads((run / "summary.json").read_text())
            assert summary["status"] in ("ok", "diverged"), (run, summary)
            df = pd.read_csv(run / "metrics.csv")
            assert list(df.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
            assert len(df) == summary["rows"]

    r = cli("--out", str(out), module="collect")
    assert r.returncode == 0, r.stderr
    for exp in EXPERIMENTS:
        assert (out / "results" / f"{exp}.csv").exists()

    r = cli("--out", str(out), module="figures")
    assert r.returncode == 0, r.stderr
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert len(pngs) >= len(EXPERIMENTS)
    assert all((out / "figures" / p).stat().st_size > 5000 for p in pngs)

    r = cli("--out", str(out), module="verify")
    assert r.returncode == 0, r.stdout + r.stderr
    claims = pd.read_csv(out / "claims.csv")
    assert set(claims["experiment"]) == set(EXPERIMENTS)
    math_claims = claims[claims["kind"] == "math"]
    assert (math_claims["verdict"] == "pass").all(), math_claims


def test_rerun_skips_finished_runs(cli, tmp_path):
    args = ["experiment=gradient_flow", "scale=smoke", "model.depth=2", f"out_dir={tmp_path}"]
    assert cli(*args).returncode == 0
    (run,) = (tmp_path / "runs" / "gradient_flow").iterdir()
    before = (run / "metrics.csv").stat().st_mtime_ns
    r = cli(*args)
    assert r.returncode == 0 and "skip" in r.stdout + r.stderr
    assert (run / "metrics.csv").stat().st_mtime_ns == before
