"""Run every experiment's default grid, then collect, draw every figure and check every claim.

    python scripts/run_all.py --out outputs              # what `make figures` does
    python scripts/run_all.py --out /tmp/o --scale smoke # the same in seconds
    python scripts/run_all.py --only gradient_flow       # one experiment

The grids run in this one process (actlab.grid: the grid `actlab -m experiment=NAME` would run,
seeds batched), so the start-up (Python, torch, Hydra) is paid once, not per experiment or job.
Finished runs are skipped on a rerun (their summary.json says ok), so an interrupted call
resumes. At the end it prints, per experiment, the wall time, the runs' own compute time and the
share of the wall time spent computing.
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="outputs")
    p.add_argument("--scale", default="default", choices=["default", "smoke", "full"])
    p.add_argument("--only", nargs="*", default=None, help="experiments to run (default: all)")
    p.add_argument("overrides", nargs="*", help="extra Hydra overrides for every experiment")
    args = p.parse_args()
    t_start = time.perf_counter()
    from actlab.config import ConfigError
    from actlab.grid import run_grid
    from actlab.registry import experiments

    registry = experiments()
    names = args.only or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        print(f"error: --only {' '.join(unknown)}: unknown; valid choices: {', '.join(registry)}",
              file=sys.stderr)
        return 2
    times, compute, failed = {}, {}, []
    startup = time.perf_counter() - t_start
    for name in names:
        t0 = time.perf_counter()
        overrides = [f"scale={args.scale}", f"out_dir={args.out}", *args.overrides]
        print(f"== {name}: actlab -m experiment={name} {' '.join(overrides)}", flush=True)

        def progress(i, n, job, name=name, t0=t0):
            shown = " ".join(o for o in job if not o.startswith(("experiment=", "out_dir=",
                                                                 "scale=")))
            print(f"  [{i + 1}/{n}] {time.perf_counter() - t0:6.1f} s  {shown}", flush=True)

        try:
            summaries = run_grid(registry[name], overrides, progress=progress)
        except ConfigError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            return 2
        times[name] = time.perf_counter() - t0
        fresh = [s for s in summaries if not s.get("skipped")]
        compute[name] = sum(s.get("wall_time_s", 0.0) for s in fresh)
        failed += [(name, s["run_id"], s.get("error")) for s in fresh
                   if s.get("status") == "failed"]
    t_analysis = time.perf_counter()
    from actlab.cli import collect_main, figures_main, report_main, verify_main

    out = ["--out", args.out]
    if collect_main(out) or figures_main(out):
        return 1
    rc = verify_main(out)
    report_main(out)
    analysis = time.perf_counter() - t_analysis
    total = time.perf_counter() - t_start
    print("\ntime per experiment (wall = what it took here; compute = its runs' own time):")
    print(f"  {'experiment':<24s} {'wall s':>8s} {'compute s':>10s} {'share':>6s}")
    for name, t in times.items():
        share = compute[name] / t if t > 0 else float("nan")
        print(f"  {name:<24s} {t:8.1f} {compute[name]:10.1f} {share:6.0%}")
    runs_wall, runs_compute = sum(times.values()), sum(compute.values())
    print(f"  {'all runs':<24s} {runs_wall:8.1f} {runs_compute:10.1f} "
          f"{runs_compute / max(runs_wall, 1e-9):6.0%}")
    print(f"start-up {startup:.1f} s; collect, figures, claims, report {analysis:.1f} s; "
          f"total {total:.1f} s; compute share of the total {runs_compute / total:.0%} "
          "(runs skipped as already finished count as no compute)")
    if failed:
        name, run, error = failed[0]
        print(f"error: {len(failed)} run(s) failed, e.g. {name}/{run}: {error}; rerun the same "
              "command to retry them", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
