"""Speed benchmark: ratios, measured side by side in one process; writes OUT/bench.csv.

    python scripts/bench.py --out outputs [--steps 300] [--device cpu]
    python scripts/bench.py --quick        # the same ratios at smaller sizes, no parallel sweeps

0. start-up: `actlab --help` (no torch import) in seconds, and one trivial run minus torch's own
   import; the per-job overhead of a sweep of 200 trivial runs run in one process (actlab.grid);
   results tables at 10x the default scale's rows: CSV load vs the Parquet copy;

1. trainer overhead: actlab's train() vs a bare hand-written PyTorch loop (depth 10, width 64,
   batch 256), without probes and with the standard probes every 10 steps;
2. seeds as a batch dimension: 32 seeds (depth 10, width 32, batch 128) in one batched run vs 32
   sequential bare loops;
3. hardware use: training at depth 4, width 512, batch 512 as a fraction of this machine's
   float32 matrix-multiply rate (FLOPs per step ~ 6 * batch * weights);
4. the exact linear-piece counter on a depth-10, width-64 net;
5. local parallel sweeps: a 4-run sweep with Hydra's joblib launcher, 2 workers vs 1 (skipped if
   the hydra-joblib-launcher plugin is not installed), next to the machine's own ceiling: two bare
   1-thread training processes side by side vs one after the other.
Targets (issue 7, on the 2-core reference machine): 1. <= 1.10x without probes, <= 1.3x with
probes; 2. >= 5x; 3. >= 60%; 5. >= 1.7x. Issue 18: --help < 1 s, a trivial run <= torch's import
+ 1 s, sweep overhead < 50 ms per job.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from actlab.activations import get_activation
from actlab.config import ModelConfig, TaskConfig, TrainerConfig
from actlab.models import MLP
from actlab.results import atomic_write_text
from actlab.tasks import make_task
from actlab.trainer import train


def bare_loop(model, x, y, steps: int, bs: int, lr: float, seed: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    for _ in range(steps):
        idx = torch.randint(0, n, (bs,), generator=gen)
        loss = F.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _model(depth: int, width: int, in_dim: int, device) -> MLP:
    torch.manual_seed(0)
    cfg = ModelConfig(depth=depth, width=width, weight_scale=2**0.5)
    return MLP(in_dim, 1, cfg, get_activation("relu")).to(device)


def timeit(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved(fns: dict, reference: str, rounds: int = 7) -> dict[str, tuple[float, float]]:
    """{name: (best seconds, median ratio to `reference`)}. The functions take turns within each
    round and each ratio pairs times from the same round, so a slow spell of a shared virtual
    machine (common here: run-to-run noise of +-20%) hits both sides of a ratio alike."""
    for f in fns.values():
        f()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            times[k].append(timeit(f, repeat=1))
    ref = times[reference]
    return {k: (min(v), statistics.median(a / b for a, b in zip(v, ref))) for k, v in times.items()}


def overhead(steps: int, device) -> list[dict]:
    task = make_task(TaskConfig(name="teacher", n_train=4096, n_test=256,
                                in_dim=16)).to(device, torch.float32)
    variants = {"bare": lambda: bare_loop(_model(10, 64, 16, device), task.x_train, task.y_train,
                                          steps, 256, 0.01, 0)}
    labels = {"trainer, no probes": (False, steps, 1.10),
              "trainer, probes every 10": (True, 10, 1.3)}
    for label, (probes, log_every, _) in labels.items():
        tc = TrainerConfig(steps=steps, lr=0.01, batch_size=256, log_every=log_every, probes=probes)
        variants[label] = lambda tc=tc: train(_model(10, 64, 16, device), task, tc, seed=0)
    t = interleaved(variants, "bare")
    return [{"benchmark": label, "seconds": t[label][0], "reference_seconds": t["bare"][0],
             "ratio": t[label][1], "target": target, "better": "lower",
             "detail": "median of 7 paired rounds"}
            for label, (_, _, target) in labels.items()]


def hardware(steps: int, device) -> list[dict]:
    n = 512
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    reps = 200
    t_mm = timeit(lambda: [a @ b for _ in range(reps)])
    peak = 2 * n**3 * reps / t_mm
    depth, width, batch = 4, 512, 512
    model = _model(depth, width, 512, device)
    x = torch.randn(batch * 4, 512, device=device)
    y = torch.randn(batch * 4, 1, device=device)
    n_weights = sum(p.numel() for p in model.parameters())
    t = timeit(lambda: bare_loop(model, x, y, steps, batch, 1e-4, 0))
    rate = 6 * batch * n_weights * steps / t
    return [{"benchmark": "training FLOP rate / matmul rate (depth 4, width 512, batch 512)",
             "seconds": t, "reference_seconds": t_mm, "ratio": rate / peak, "target": 0.60,
             "better": "higher", "detail": f"{rate / 1e9:.1f} vs {peak / 1e9:.1f} GFLOP/s"}]


def _seed_setup(steps: int, device):
    """The seed-batching benchmarks' shared setting: K = 32 seeds of depth 10, width 32, batch 128
    on a 4096-example teacher task."""
    task = make_task(TaskConfig(name="teacher", n_train=4096, n_test=256,
                                in_dim=16)).to(device, torch.float32)
    cfg = ModelConfig(depth=10, width=32, weight_scale=2**0.5)
    tc = TrainerConfig(steps=steps, lr=0.01, batch_size=128, log_every=steps, probes=False)
    return 32, task, cfg, get_activation("relu"), tc


def batched_seeds(steps: int, device) -> list[dict]:
    """K = 32 seeds of depth 10, width 32, batch 128: one batched run vs 32 sequential bare
    loops."""
    from actlab.batched import train_many

    k, task, cfg, act, tc = _seed_setup(steps, device)

    def sequential():
        for s in range(k):
            torch.manual_seed(s)
            bare_loop(MLP(16, 1, cfg, act).to(device), task.x_train, task.y_train, steps, 128,
                      0.01, s)

    def batched():
        models = []
        for s in range(k):
            torch.manual_seed(s)
            models.append(MLP(16, 1, cfg, act).to(device))
        train_many(models, task, tc, list(range(k)))

    # paired rounds like the trainer ratios: one unpaired pair ranged 4.6x-7.6x on this VM
    t = interleaved({"sequential": sequential, "batched": batched}, "batched", rounds=3)
    return [{"benchmark": "32 seeds batched vs 32 sequential bare loops, speed-up",
             "seconds": t["batched"][0],
             "reference_seconds": t["sequential"][0], "ratio": t["sequential"][1], "target": 5.0,
             "better": "higher", "detail": "median of 3 paired rounds"}]


def region_counter() -> list[dict]:
    """The exact linear-piece counter on a random depth-10, width-64 ReLU net (8-D line)."""
    import math

    import numpy as np

    from actlab.regions import count_pieces, model_arrays

    torch.manual_seed(0)
    net = MLP(8, 1, ModelConfig(depth=10, width=64, weight_scale=math.sqrt(2), bias_scale=0.5),
              get_activation("relu")).double()
    ws, bs = model_arrays(net)
    d = np.ones(8) / math.sqrt(8)
    pieces = count_pieces(ws, bs, np.zeros(8), d, -3.0, 3.0)[0]
    t = timeit(lambda: count_pieces(ws, bs, np.zeros(8), d, -3.0, 3.0), repeat=5)
    return [{"benchmark": "exact piece count, depth 10 x width 64, line in 8-D (seconds)",
             "seconds": t,
             "ratio": t, "detail": f"{pieces} pieces; {pieces / t:,.0f} pieces/s"}]


_WORKER = """
import sys, time, torch, torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)
layers = []
for _ in range(10):
    layers += [torch.nn.Linear(64, 64), torch.nn.ReLU()]
m = torch.nn.Sequential(*layers, torch.nn.Linear(64, 1))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
x, y = torch.randn(128, 64), torch.randn(128, 1)
for _ in range(int(sys.argv[1])):
    loss = F.mse_loss(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
"""


def parallel_ceiling(steps: int = 4000) -> list[dict]:
    """What two cores give two independent 1-thread processes here (no Hydra, no actlab): the
    ceiling for any 2-worker sweep. Both timings include interpreter and torch start-up."""
    def procs(n: int) -> float:
        t0 = time.perf_counter()
        ps = [subprocess.Popen([sys.executable, "-c", _WORKER, str(steps)]) for _ in range(n)]
        for q in ps:
            q.wait()
        return time.perf_counter() - t0

    one = min(procs(1) for _ in range(2)) * 2  # two runs one after the other
    two = min(procs(2) for _ in range(2))  # two runs side by side
    return [{"benchmark": "ceiling: 2 bare 1-thread processes side by side vs in turn",
             "seconds": two,
             "reference_seconds": one, "ratio": one / two, "better": "higher",
             "detail": "what the hardware allows a 2-worker sweep"}]


def joblib_sweep() -> list[dict]:
    try:
        import hydra_plugins.hydra_joblib_launcher  # noqa: F401
    except ImportError:
        return [{"benchmark": "joblib 2 workers vs 1 (4-run sweep)", "ratio": float("nan"),
                 "detail": "skipped: pip install hydra-joblib-launcher"}]
    times = {1: float("inf"), 2: float("inf")}
    # best of two, alternating: one sweep takes long enough to catch a slow spell
    for _ in range(2):
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as out:
                # four runs of the suite's typical size (depth 10, width 64, the net of benchmark
                # 1) that differ in weight scale; a seed sweep would fold into one batched job
                cmd = [sys.executable, "-m", "actlab", "-m", "experiment=gradient_flow",
                       "activation=relu", "model.depth=10", "model.width=64", "trainer.steps=6000",
                       "trainer.probes=false",
                       "trainer.batch_size=128", "model.weight_scale=1.38,1.40,1.42,1.44", "seed=0",
                       "hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}", f"out_dir={out}"]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True,
                               env={**os.environ, "CI": "true"})
                times[jobs] = min(times[jobs], time.perf_counter() - t0)
    return [{"benchmark": "joblib 2 workers vs 1 (4-run sweep), speed-up", "seconds": times[2],
             "reference_seconds": times[1], "ratio": times[1] / times[2], "target": 1.7,
             "better": "higher", "detail": "best of 2 alternating sweeps each"}]


def vmap_engine(steps: int, device) -> list[dict]:
    """PyTorch's ensembling recipe (torch.func.stack_module_state + functional_call + vmap) as
    the seed-batched engine, against actlab's hand-written stacked path (actlab.batched), on the
    same K = 32 models, data and minibatches: which one should the engine be?"""
    from torch.func import functional_call, stack_module_state

    from actlab.batched import train_many

    k, task, cfg, act, tc = _seed_setup(steps, device)

    def models():
        out = []
        for s in range(k):
            torch.manual_seed(s)
            out.append(MLP(16, 1, cfg, act).to(device))
        return out

    def stacked():
        train_many(models(), task, tc, list(range(k)))

    def vmapped():
        ms = models()
        params, buffers = stack_module_state(ms)
        base = ms[0]

        def f(p, b, x):
            return functional_call(base, (p, b), (x,))

        batched = torch.vmap(f)
        opt = torch.optim.SGD(list(params.values()), lr=tc.lr)
        gens = [torch.Generator().manual_seed(s) for s in range(k)]
        n = task.x_train.shape[0]
        for _ in range(steps):
            idx = torch.stack([torch.randint(0, n, (128,), generator=g) for g in gens]).to(device)
            loss = ((batched(params, buffers, task.x_train[idx])
                     - task.y_train[idx]) ** 2).flatten(1).mean(1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()

    t = interleaved({"stacked": stacked, "vmap": vmapped}, "stacked", rounds=3)
    return [{"benchmark": "torch.func vmap engine / hand-written stacked engine, time",
             "seconds": t["vmap"][0],
             "reference_seconds": t["stacked"][0], "ratio": t["vmap"][1], "better": "lower",
             "detail": "32 seeds, median of 3 paired rounds (> 1: the stacked path is faster)"}]


def _wall(cmd: list[str], repeat: int = 3, exit_code: int = 0) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, env={**os.environ, "CI": "true"})
        if r.returncode != exit_code:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}, expected {exit_code}: "
                               f"{r.stderr.decode()[-500:]}")
        best = min(best, time.perf_counter() - t0)
    return best


def startup() -> list[dict]:
    """`actlab --help` (answered without torch) against `python -c pass`, and one trivial run
    against torch's own import: what a user waits for before any work."""
    py = sys.executable
    bare = _wall([py, "-c", "pass"])
    helped = _wall([py, "-m", "actlab", "--help"])
    refused = _wall([py, "-m", "actlab", "model.depth=-1"], exit_code=2)
    torch_import = _wall([py, "-c", "import torch"])
    with tempfile.TemporaryDirectory() as out:
        trivial = _wall([py, "-m", "actlab", "experiment=gradient_flow", "model.depth=1",
                         "model.width=4", "trainer.steps=1", f"out_dir={out}", "force=true"])
    return [{"benchmark": "start-up: actlab --help, seconds (vs python -c pass)",
             "seconds": helped, "reference_seconds": bare, "ratio": helped, "target": 1.0,
             "better": "lower", "detail": f"{helped / bare:.0f}x python -c pass ({bare:.3f} s)"},
            {"benchmark": "start-up: a config error answered (model.depth=-1), seconds",
             "seconds": refused, "reference_seconds": bare, "ratio": refused, "target": 1.0,
             "better": "lower", "detail": f"{refused / bare:.0f}x python -c pass, no torch"},
            {"benchmark": "start-up: one trivial run minus torch's import, seconds",
             "seconds": trivial, "reference_seconds": torch_import,
             "ratio": trivial - torch_import, "target": 1.0, "better": "lower",
             "detail": f"run {trivial:.2f} s, import torch {torch_import:.2f} s"}]


def sweep_overhead(n_jobs: int = 200, start: float = 0.0) -> list[dict]:
    """A sweep of n_jobs trivial runs (depth 1, width 4, one step; they differ in lr) run by
    actlab.grid in one process: its wall time plus one start-up (`start`, a trivial run's cost)
    against the sum of the runs' own time (as each summary.json records it) plus that start-up
    (issue 18's target: within 1.2x), and the overhead per job (target < 50 ms)."""
    from actlab.grid import run_grid
    from actlab.registry import experiments

    exp = experiments()["gradient_flow"]
    lrs = ",".join(f"{0.001 * (i + 1):g}" for i in range(n_jobs))
    with tempfile.TemporaryDirectory() as out:
        args = ["activation=relu", "model.depth=1", "model.width=4", "model.weight_scale=1.0",
                "trainer.steps=1", "seed=0", f"trainer.lr={lrs}", f"out_dir={out}"]
        run_grid(exp, args[:-2] + ["trainer.lr=0.5", f"out_dir={out}"])  # warm-up
        t0 = time.perf_counter()
        summaries = run_grid(exp, args)
        wall = time.perf_counter() - t0
    own = sum(x["wall_time_s"] for x in summaries)
    n = len(summaries)
    per_job = (wall - own) / n
    # (wall + S) / (own + S) <= 1.2 with wall = own + n * per_job holds once a run's own time
    # is at least 5 * per_job - S / n: the run length at which this overhead meets the target
    break_even = max(0.0, 5 * per_job - start / n)
    return [{"benchmark": f"sweep of {n} trivial runs: (wall + start-up) / "
                          "(runs' own time + start-up)",
             "seconds": wall + start, "reference_seconds": own + start,
             "ratio": (wall + start) / max(own + start, 1e-9), "target": 1.2, "better": "lower",
             "detail": f"runs' own time {own:.2f} s ({1000 * own / n:.1f} ms a run), wall "
                       f"{wall:.2f} s, start-up {start:.2f} s; within 1.2x for runs of "
                       f">= {1000 * break_even:.0f} ms"},
            {"benchmark": "sweep overhead per job, ms", "seconds": per_job,
             "ratio": 1000 * per_job, "target": 50, "better": "lower",
             "detail": "compose + check + run folder + atomic writes, per job"}]


def table_io(rows: int) -> list[dict]:
    """Collect's write (CSV + schema + Parquet) and a reader's load of a tidy table of `rows` rows
    shaped like results/*.csv (default scale holds ~315k rows over all tables; the default run
    of this benchmark uses 10x that): CSV load time against the Parquet copy's."""
    import numpy as np
    import pandas as pd

    from actlab.results import read_table, write_table

    rng = np.random.default_rng(0)
    acts = np.array(["relu", "tanh", "gelu", "swish", "sigmoid"])
    table = pd.DataFrame({
        "run_id": pd.Series(rng.integers(0, 5000, rows)).map(lambda i: f"run{i:05d}"),
        "experiment": "toy", "activation": acts[rng.integers(0, 5, rows)],
        "depth": rng.integers(1, 30, rows), "width": 64, "weight_scale": 1.0, "task": "teacher",
        "seed": rng.integers(0, 10, rows), "step": rng.integers(0, 300, rows),
        "layer": pd.array(np.where(rng.random(rows) < 0.5, rng.integers(1, 20, rows), -1),
                          dtype="Int64"),
        "metric": np.array(["loss", "grad_norm", "dead_fraction"])[rng.integers(0, 3, rows)],
        "value": rng.standard_normal(rows),
        "approximate": np.where(rng.random(rows) < 0.2, "tanh", None)})
    table["layer"] = table["layer"].mask(table["layer"] < 0)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "toy.csv"
        t0 = time.perf_counter()
        write_table(path, table)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        read_table(path)
        t_pq = time.perf_counter() - t0
        os.utime(path.with_suffix(".parquet"), (0, 0))  # older than the CSV: read the CSV
        t0 = time.perf_counter()
        read_table(path)
        t_csv = time.perf_counter() - t0
        size_csv = path.stat().st_size / 2**20
        size_pq = path.with_suffix(".parquet").stat().st_size / 2**20
    return [{"benchmark": f"table load at {rows:,} rows: CSV / Parquet time", "seconds": t_pq,
             "reference_seconds": t_csv, "ratio": t_csv / t_pq, "better": "higher",
             "detail": f"CSV {t_csv:.2f} s ({size_csv:.0f} MB), Parquet {t_pq:.2f} s "
                       f"({size_pq:.0f} MB); collect's write of both {t_write:.1f} s"}]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="outputs")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="fewer steps, no parallel sweeps: about a minute or two")
    args = p.parse_args()
    device = torch.device(args.device)
    steps = min(args.steps, 100) if args.quick else args.steps
    rows: list[dict] = []
    parts = [("start-up", startup),
             ("sweep overhead", lambda: sweep_overhead(50 if args.quick else 200,
                                                       rows[2]["seconds"])),
             ("trainer overhead", lambda: overhead(steps, device)),
             ("seeds as a batch", lambda: batched_seeds(steps, device)),
             ("vmap engine", lambda: vmap_engine(steps, device)),
             ("hardware use", lambda: hardware(max(20, steps // 10), device)),
             ("region counter", region_counter),
             ("table I/O", lambda: table_io(315_000 if args.quick else 3_150_000))]
    if not (args.skip_sweep or args.quick):
        parts += [("parallel ceiling", parallel_ceiling), ("joblib sweep", joblib_sweep)]
    t_all = time.perf_counter()
    for i, (name, fn) in enumerate(parts, 1):
        print(f"[{i}/{len(parts)}] {name} ({time.perf_counter() - t_all:.0f} s so far)",
              flush=True)
        rows += fn()
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'benchmark':<66} {'ratio':>7} {'target':>7}  detail")
    for r in rows:
        tgt = r.get("target")
        mark = ""
        if tgt is not None and r["ratio"] == r["ratio"]:
            ok = r["ratio"] <= tgt if r.get("better") == "lower" else r["ratio"] >= tgt
            mark = "ok" if ok else ("missed (--quick)" if args.quick else "MISSED")
        print(f"{r['benchmark']:<66} {r['ratio']:7.3f} {tgt if tgt else '':>7}  "
              f"{mark} {r.get('detail', '')}")
    if args.quick:
        print("--quick: fewer steps and jobs, a check that the script works; the targets are "
              "for a full run")
    keys = ["benchmark", "seconds", "reference_seconds", "ratio", "target", "better", "detail"]
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in keys})
    atomic_write_text(Path(args.out) / "bench.csv", text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
