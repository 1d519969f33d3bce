"""Command-line entry points: `actlab` (Hydra app), `actlab-collect`, `actlab-figures`,
`actlab-verify`. Data flows one way: config -> experiment -> trainer -> rows -> CSV -> claims
and figures; the last three commands read tables only and never train."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import sys
import time
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from actlab import __version__
from actlab.config import ConfigError, register_configs, validate
from actlab.errors import first_line, one_line
from actlab.results import (
    atomic_write_csv,
    atomic_write_text,
    collect,
    config_columns,
    config_dict,
    read_summary,
    run_name,
    tidy,
)
from experiments import EXPERIMENTS

FINISHED = ("ok", "diverged")  # summaries a rerun keeps
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
log = logging.getLogger("actlab")

register_configs()


def _check_writable(out: Path) -> None:
    probe_dir = out
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not os.access(probe_dir, os.W_OK) or not probe_dir.is_dir():
        raise ConfigError(f"out_dir={str(out)!r}: not a writable folder ({probe_dir} is not writable)")


def _with_seed(cfg: DictConfig, seed: int) -> DictConfig:
    """The config of one seed's run: `seed` set, `seeds` emptied (what its config.yaml records)."""
    sub = cfg.copy()
    with open_dict(sub):
        sub.seed, sub.seeds = seed, []
    return sub


def run_one(cfg: DictConfig, experiment: str) -> dict:
    """Run one configured experiment into OUT/runs/<experiment>/<run_name>/ and return its summary."""
    return run_job(cfg, experiment)[-1]


def run_job(cfg: DictConfig, experiment: str) -> list[dict]:
    """Run the configured experiment for `seed`, or for every seed in `seeds` (the actlab sweeper
    puts a seed sweep's seeds into one job), each into OUT/runs/<experiment>/<run_name>/; return
    the summaries. Seeds whose folder already holds a finished (ok or diverged) summary are
    skipped (force=true reruns them); the others train together as one batched computation when
    the experiment supports it (`run_seeds`), else one after another.

    Bad configuration raises ConfigError before anything is written. A failure inside a run is
    recorded as status 'failed' (a sweep goes on); a non-finite loss as 'diverged'."""
    from actlab.trainer import resolve_device

    if experiment not in EXPERIMENTS:
        raise ConfigError(f"experiment={experiment!r}: unknown; valid choices: {', '.join(EXPERIMENTS)}")
    validate(cfg)
    device = resolve_device(cfg.trainer)
    out = Path(cfg.out_dir)
    _check_writable(out)
    module = EXPERIMENTS[experiment]
    seeds = list(dict.fromkeys(cfg.seeds)) or [cfg.seed]
    subs = {s: _with_seed(cfg, s) for s in seeds}
    names = {s: run_name(subs[s]) for s in seeds}
    dirs = {s: out / "runs" / experiment / names[s] for s in seeds}
    summaries: dict[int, dict] = {}
    for s in seeds:
        done = read_summary(dirs[s])
        # finished results, ok or diverged, are kept; a failed or unfinished run is redone
        if done and done.get("status") in FINISHED and not cfg.force:
            log.info("skip %s/%s: already %s (force=true reruns it)", experiment, names[s], done["status"])
            summaries[s] = done
    pending = [s for s in seeds if s not in summaries]
    if not pending:
        return [summaries[s] for s in seeds]
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    # The summary marks a run as complete: remove a stale one first, so that a crash below leaves
    # the folder looking unfinished (collect skips it, a rerun redoes it).
    for s in pending:
        (dirs[s] / "summary.json").unlink(missing_ok=True)
    batched = len(pending) > 1 and hasattr(module, "run_seeds")
    groups = [pending] if batched else [[s] for s in pending]
    while groups:
        group = groups.pop(0)
        log.info("start %s/%s%s", experiment, names[group[0]],
                 f" and {len(group) - 1} more seeds, batched" if len(group) > 1 else "")
        t0 = time.perf_counter()
        error = None
        try:
            results = (module.run_seeds(subs[group[0]], device, group) if len(group) > 1
                       else {group[0]: module.run(subs[group[0]], device)})
        except ConfigError:
            raise
        except Exception as e:  # recorded, not fatal: the sweep goes on with its other runs
            if len(group) > 1:  # e.g. out of memory with K seeds at once: each seed on its own
                log.warning("batched run of %d seeds failed (%s: %s); running them one by one",
                            len(group), type(e).__name__, e)
                groups = [[s] for s in group] + groups
                continue
            results, error = {}, f"{type(e).__name__}: {e}"
            log.exception("run %s failed", names[group[0]])
        wall = (time.perf_counter() - t0) / len(group)
        for s in group:
            summaries[s] = _write_run(subs[s], experiment, names[s], dirs[s], results.get(s), error,
                                      wall, device, len(group))
    return [summaries[s] for s in seeds]


def _write_run(cfg: DictConfig, experiment: str, name: str, run_dir: Path, result, error: str | None,
               wall: float, device, batch: int) -> dict:
    """Write one run's config.yaml, metrics.csv and, last, summary.json (each atomically)."""
    if result is None:
        rows, status, final, div = [], "failed", {}, None
        error = error or "no result"
    else:
        rows, status, final, div = result.rows, result.status, result.final, result.diverged_step
    df = tidy(rows, config_columns(cfg, experiment, name))
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(config_dict(cfg)))
    atomic_write_csv(run_dir / "metrics.csv", df)
    summary = {
        "experiment": experiment, "run_id": name, "status": status, "diverged_step": div,
        "error": error, "final": final, "rows": len(df), "wall_time_s": round(wall, 3),
        "seeds_batched": batch, "device": str(device),
        "versions": {"actlab": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, default=float))
    log.info("end %s/%s: %s in %.2fs", experiment, name, status, wall)
    return summary


def _worker_threads(cfg: DictConfig) -> None:
    """Under a parallel local launcher, give each worker its share of the cores: two workers with
    torch's default thread count each on two cores run ten times slower, not twice as fast."""
    launcher = HydraConfig.get().launcher
    if cfg.trainer.threads == 0 and "joblib" in str(launcher.get("_target_", "")).lower():
        n_jobs = int(launcher.get("n_jobs", -1))
        cores = os.cpu_count() or 1
        n_jobs = cores if n_jobs <= 0 else n_jobs
        torch.set_num_threads(max(1, cores // n_jobs))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    experiment = HydraConfig.get().runtime.choices.get("experiment")
    _worker_threads(cfg)
    try:
        run_job(cfg, experiment)
    except ConfigError as e:
        if _INTERRUPTED:  # whatever broke after a Ctrl-C is the interrupt's doing
            raise KeyboardInterrupt from None
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def _out_dirs_from_argv(argv: list[str]) -> list[str]:
    for arg in argv:
        key, _, value = arg.lstrip("+").partition("=")
        if key == "out_dir":
            return [v for v in value.split(",") if v]
    return ["outputs"]


def main() -> None:
    """actlab [experiment=NAME] [key=value ...] | actlab -m experiment=NAME [sweeps ...]"""
    # Hydra makes its log folder under out_dir before our code runs: check it first, so that an
    # unwritable out_dir gets one clear line instead of a traceback.
    try:
        for out in _out_dirs_from_argv(sys.argv[1:]):
            _check_writable(Path(out))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    # Hydra prints a bad override as a paragraph and exits 1; let it raise instead and print one
    # line. HYDRA_FULL_ERROR=1 set by the user still gets the full traceback.
    wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    started = time.time()
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        _hydra_main()
    except (KeyboardInterrupt, Exception) as e:
        if wants_traceback:
            raise
        if _INTERRUPTED or isinstance(e, KeyboardInterrupt):
            _exit_interrupted()
        message = one_line(e)
        if message is None:  # not a configuration error: say what broke, keep the traceback opt-in
            print(f"error: {type(e).__name__}: {first_line(e)} (HYDRA_FULL_ERROR=1 shows the traceback)",
                  file=sys.stderr)
            sys.exit(1)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    if _INTERRUPTED:  # a Ctrl-C that some library code swallowed still ends the command
        _exit_interrupted()
    # A crashed run does not stop a sweep; it is recorded, and the command says so at the end.
    failed = _failed_since(_out_dirs_from_argv(sys.argv[1:]), started)
    if failed:
        first_name, first_error = failed[0]
        print(f"error: {len(failed)} run(s) failed, e.g. {first_name}: {first_error}; each summary.json holds "
              "its error and the run's log the traceback; rerun the same command to retry them", file=sys.stderr)
        sys.exit(1)


_INTERRUPTED = False


def _on_sigint(signum, frame) -> None:
    """Ctrl-C: remember it (so that whatever it breaks on the way out is reported as the
    interrupt, not as a bad config), then interrupt as Python does."""
    global _INTERRUPTED
    _INTERRUPTED = True
    raise KeyboardInterrupt


def _exit_interrupted() -> None:
    # finished runs are on disk (atomic writes); the one in progress left no summary
    print("interrupted: rerun the same command to resume (finished runs are skipped)", file=sys.stderr)
    sys.exit(130)


def _failed_since(outs: list[str], since: float) -> list[tuple[str, str]]:
    """(experiment/run, error) of every run whose summary, written after `since`, says failed:
    the runs this command attempted, whatever launcher ran them."""
    failed = []
    for out in outs:
        for path in sorted(Path(out).glob("runs/*/*/summary.json")):
            try:
                if path.stat().st_mtime < since:
                    continue
                summary = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if summary.get("status") == "failed":
                failed.append((f"{path.parent.parent.name}/{path.parent.name}", summary.get("error", "")))
    return failed


def _out_parser(prog: str, description: str, example: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, epilog=f"example: {example}")
    p.add_argument("--out", default="outputs", help="the out_dir the runs were written to (default: outputs)")
    return p


def _tables_or_complain(out: Path) -> dict | None:
    from actlab.results import load_results

    tables = load_results(out)
    if not tables:
        print(f"no results under {out / 'results'}: run actlab-collect first", file=sys.stderr)
        return None
    return tables


def _params_of_runs(out: Path, tables: dict) -> tuple[dict, dict, dict]:
    """Per experiment: the Params its runs used, whether they all ran at smoke scale, and, for a
    table whose runs mix params, the one line that says so (its claims are then not evaluated)."""
    from actlab.results import MixedParams, load_run_records, resolve_params, smoke_only

    records = load_run_records(out)
    params, smoke, mixed = {}, {}, {}
    for exp, df in tables.items():
        if exp not in EXPERIMENTS:
            continue
        rec = records.get(exp, {})
        smoke[exp] = smoke_only(rec, df)
        try:
            params[exp] = resolve_params(EXPERIMENTS[exp].Params, rec, df)
        except MixedParams as e:
            mixed[exp] = f"{exp}: {e}"
    return params, smoke, mixed


def collect_main(argv: list[str] | None = None) -> int:
    args = _out_parser("actlab-collect", "Merge every run folder into OUT/results/<experiment>.csv.",
                       "actlab-collect --out outputs").parse_args(argv)
    written = collect(Path(args.out), log=lambda m: print(m, file=sys.stderr))
    for exp, path in written.items():
        print(f"{exp}: {path}")
    if not written:
        print(f"no runs found under {Path(args.out) / 'runs'}", file=sys.stderr)
        return 1
    return 0


def figures_main(argv: list[str] | None = None) -> int:
    from actlab.plotting import save_figure

    args = _out_parser("actlab-figures", "Draw every figure from OUT/results/*.csv (no training) "
                       "into OUT/figures/ as PNG and PDF.", "actlab-figures --out outputs").parse_args(argv)
    out = Path(args.out)
    tables = _tables_or_complain(out)
    if tables is None:
        return 1
    params, _, mixed = _params_of_runs(out, tables)
    for line in mixed.values():
        print(f"error: {line}", file=sys.stderr)
    for exp, df in tables.items():
        if exp not in EXPERIMENTS or exp in mixed:
            continue
        for name, fig in EXPERIMENTS[exp].figures(df, params[exp]).items():
            for path in save_figure(fig, out / "figures", name):
                print(path)
    return 0


def verify_main(argv: list[str] | None = None) -> int:
    from actlab.claims import Claim, Kind, Verdict, claims_table, evaluate, format_table, problems

    args = _out_parser("actlab-verify", "Evaluate every experiment's claims from OUT/results/*.csv "
                       "with the params their runs used, print them, write OUT/claims.csv; exit 1 "
                       "if a math claim fails, a claims function raises, a math claim has no data "
                       "beyond smoke scale, or a table mixes params.",
                       "actlab-verify --out outputs").parse_args(argv)
    out = Path(args.out)
    tables = _tables_or_complain(out)
    if tables is None:
        return 1
    params, smoke, mixed = _params_of_runs(out, tables)
    claims = evaluate(EXPERIMENTS, {k: v for k, v in tables.items() if k not in mixed}, params)
    claims += [Claim(experiment=exp, claim="params", statement="The table's runs share one set of params.",
                     kind=Kind.EMPIRICAL, verdict=Verdict.ERROR, detail=line) for exp, line in mixed.items()]
    table = claims_table(claims)
    atomic_write_csv(out / "claims.csv", table)
    print(format_table(table))
    lines = problems(claims, smoke)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


def report_main(argv: list[str] | None = None) -> int:
    from actlab.report import build_report

    args = _out_parser("actlab-report", "Write OUT/report.md and a self-contained OUT/report.html from "
                       "OUT/results/*.csv and OUT/figures/ (no training).",
                       "actlab-report --out outputs").parse_args(argv)
    out = Path(args.out)
    tables = _tables_or_complain(out)
    if tables is None:
        return 1
    params, _, mixed = _params_of_runs(out, tables)
    for line in mixed.values():
        print(f"error: {line}", file=sys.stderr)
    tables = {k: v for k, v in tables.items() if k not in mixed}
    for path in build_report(out, tables, EXPERIMENTS, params):
        print(path)
    return 0
