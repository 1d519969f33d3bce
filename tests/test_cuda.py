"""CUDA: every experiment at smoke scale on the GPU, and CPU-vs-CUDA agreement of the probes.
Skipped without a CUDA device; scripts/gpu_check.sh runs them on a GPU machine."""

import pytest
import torch

from actlab.runner import build
from actlab.trainer import train
from tests.helpers import compose

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_every_experiment_on_cuda(cli, tmp_path):
    r = cli("-m", "experiment=glob(*)", "scale=smoke", "trainer.device=cuda", f"out_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    for summary in (tmp_path / "runs").glob("*/*/summary.json"):
        s = json.loads(summary.read_text())
        assert s["status"] in ("ok", "diverged"), (summary, s)
        assert s["device"].startswith("cuda")


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_probes_agree_cpu_cuda(activation):
    rows = {}
    for device in ("cpu", "cuda"):
        cfg = compose(["experiment=gradient_flow", "scale=smoke", f"activation={activation}",
                       "model.depth=6", "trainer.steps=0", "trainer.dtype=float64"])
        model, task = build(cfg, torch.device(device))
        res = train(model, task, cfg.trainer, seed=0)
        rows[device] = {(r["layer"], r["metric"]): r["value"] for r in res.rows}
    assert rows["cpu"].keys() == rows["cuda"].keys()
    for key, v in rows["cpu"].items():
        assert rows["cuda"][key] == pytest.approx(v, rel=1e-9, abs=1e-12), key


def test_batched_seeds_on_cuda_match_cpu():
    """A folded seed sweep on the GPU: every seed's rows equal the CPU batched run's (float64)."""
    from actlab.batched import train_many
    from actlab.runner import build_model, build_task

    out = {}
    for device in ("cpu", "cuda"):
        cfg = compose(["experiment=gradient_flow", "scale=smoke", "activation=tanh",
                       "model.depth=4", "trainer.steps=20", "trainer.log_every=10",
                       "trainer.dtype=float64"])
        task = build_task(cfg, torch.device(device))
        seeds = [0, 1, 2]
        results = train_many([build_model(cfg, task, s) for s in seeds], task, cfg.trainer, seeds)
        out[device] = [{(r["step"], r["layer"], r["metric"]): r["value"] for r in res.rows}
                       for res in results]
    for cpu, cuda in zip(out["cpu"], out["cuda"]):
        assert cpu.keys() == cuda.keys()
        for key, v in cpu.items():
            assert cuda[key] == pytest.approx(v, rel=1e-7, abs=1e-10), key
