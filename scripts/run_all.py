"""Run every experiment's default grid, then collect, draw every figure and check every claim.

    python scripts/run_all.py --out outputs              # what `make figures` does
    python scripts/run_all.py --out /tmp/o --scale smoke # the same in seconds
    python scripts/run_all.py --only gradient_flow       # one experiment

Finished runs are skipped on a rerun (their summary.json says ok), so an interrupted call resumes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from actlab.registry import experiments


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="outputs")
    p.add_argument("--scale", default="default", choices=["default", "smoke"])
    p.add_argument("--only", nargs="*", default=None, help="experiments to run (default: all)")
    p.add_argument("overrides", nargs="*", help="extra Hydra overrides for every experiment")
    args = p.parse_args()
    registry = experiments()
    names = args.only or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        print(f"error: --only {' '.join(unknown)}: unknown; valid choices: {', '.join(registry)}",
              file=sys.stderr)
        return 2
    times = {}
    for name in names:
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "actlab", "-m", f"experiment={name}", f"scale={args.scale}",
               f"out_dir={args.out}", *args.overrides]
        print(f"== {name}: {' '.join(cmd[2:])}", flush=True)
        rc = subprocess.call(cmd)
        times[name] = time.perf_counter() - t0
        if rc != 0:
            print(f"error: experiment {name} exited with {rc}", file=sys.stderr)
            return rc
    from actlab.cli import collect_main, figures_main, report_main, verify_main

    out = ["--out", args.out]
    if collect_main(out) or figures_main(out):
        return 1
    rc = verify_main(out)
    report_main(out)
    print("\nwall time per experiment:")
    for name, t in times.items():
        print(f"  {name:<24s} {t:7.1f} s")
    print(f"  {'total':<24s} {sum(times.values()):7.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
