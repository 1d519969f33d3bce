"""Command-line entry points: `actlab` (the Hydra app: compose, then actlab.jobs runs the job)
and the analysis family `actlab-collect`, `actlab-figures`, `actlab-verify`, `actlab-report`,
which read tables only and never train. This module composes and translates errors; the work is
in actlab.jobs (running), actlab.results (tables), actlab.claims and actlab.report."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from actlab.config import ConfigError, check_writable, config_dict, register_configs, validate
from actlab.errors import first_line, one_line
from actlab.registry import experiments

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
log = logging.getLogger("actlab")

EXPERIMENTS = experiments()
register_configs(EXPERIMENTS)


def _worker_threads(cfg: DictConfig) -> None:
    """Under a parallel local launcher, give each worker its share of the cores: two workers with
    torch's default thread count each on two cores run ten times slower, not twice as fast."""
    launcher = HydraConfig.get().launcher
    if cfg.trainer.threads == 0 and "joblib" in str(launcher.get("_target_", "")).lower():
        n_jobs = int(launcher.get("n_jobs", -1))
        cores = os.cpu_count() or 1
        n_jobs = cores if n_jobs <= 0 else n_jobs
        import torch

        torch.set_num_threads(max(1, cores // n_jobs))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    name = hc.runtime.choices.get("experiment")
    _worker_threads(cfg)
    try:
        if name not in EXPERIMENTS:
            raise ConfigError(f"experiment={name!r}: unknown; "
                              f"valid choices: {', '.join(EXPERIMENTS)}")
        # Checked before anything heavy is imported: a bad value is answered without torch.
        plain = config_dict(cfg)
        validate(cfg, plain)
        from actlab.jobs import run_job  # (torch, pandas and this experiment's module from here)

        exp = EXPERIMENTS[name]
        if str(hc.mode) == "RunMode.RUN":  # a single run: say which typed keys change nothing
            from actlab.effective import no_effect

            for line in no_effect(list(hc.overrides.task), cfg, name, exp.reads):
                print(f"warning: {line}", file=sys.stderr)
        run_job(cfg, exp, checked=True, plain=plain)
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
    """actlab [experiment=NAME] [key=value ...] | actlab -m experiment=NAME [sweeps ...]
    (the console script is actlab.entry:main, which answers --help and subcommands first)"""
    # Hydra makes its log folder under out_dir before our code runs: check it first, so that an
    # unwritable out_dir gets one clear line instead of a traceback.
    try:
        for out in _out_dirs_from_argv(sys.argv[1:]):
            check_writable(Path(out))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    # Hydra prints a bad override as a paragraph and exits 1; let it raise instead and print one
    # line. HYDRA_FULL_ERROR=1 set by the user still gets the full traceback.
    user_setting = os.environ.get("HYDRA_FULL_ERROR")
    wants_traceback = user_setting == "1"
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
            print(f"error: {type(e).__name__}: {first_line(e)} "
                  "(HYDRA_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
            sys.exit(1)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    finally:  # called again in the same process (tests, notebooks): the user's setting again
        if user_setting is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = user_setting
    if _INTERRUPTED:  # a Ctrl-C that some library code swallowed still ends the command
        _exit_interrupted()
    # A crashed run does not stop a sweep; it is recorded, and the command says so at the end.
    from actlab.jobs import failed_since

    failed = failed_since(_out_dirs_from_argv(sys.argv[1:]), started)
    if failed:
        first_name, first_error = failed[0]
        print(f"error: {len(failed)} run(s) failed, e.g. {first_name}: {first_error}; "
              "each summary.json holds its error and the run's log the traceback; "
              "rerun the same command to retry them", file=sys.stderr)
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
    print("interrupted: rerun the same command to resume (finished runs are skipped)",
          file=sys.stderr)
    sys.exit(130)


def _out_parser(prog: str, description: str, example: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, epilog=f"example: {example}")
    p.add_argument("--out", default="outputs",
                   help="the out_dir the runs were written to (default: outputs)")
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
            params[exp] = resolve_params(EXPERIMENTS[exp].params, rec, df)
        except MixedParams as e:
            mixed[exp] = f"{exp}: {e}"
    return params, smoke, mixed


def collect_main(argv: list[str] | None = None) -> int:
    args = _out_parser("actlab-collect",
                       "Merge every run folder into OUT/results/<experiment>.csv.",
                       "actlab-collect --out outputs").parse_args(argv)
    from actlab.results import collect

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
                       "into OUT/figures/ as PNG and PDF.",
                       "actlab-figures --out outputs").parse_args(argv)
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
        for name, fig in EXPERIMENTS[exp].draw(df, params[exp]).items():
            for path in save_figure(fig, out / "figures", name):
                print(path)
    return 0


def verify_main(argv: list[str] | None = None) -> int:
    from actlab.claims import Claim, Kind, Verdict, claims_table, format_table, judge_all, problems
    from actlab.results import atomic_write_csv

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
    claims = judge_all(EXPERIMENTS, {k: v for k, v in tables.items() if k not in mixed}, params)
    claims += [Claim(experiment=exp, claim="params",
                     statement="The table's runs share one set of params.",
                     kind=Kind.EMPIRICAL, verdict=Verdict.ERROR, detail=line)
               for exp, line in mixed.items()]
    table = claims_table(claims)
    atomic_write_csv(out / "claims.csv", table)
    print(format_table(table))
    lines = problems(claims, smoke)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


def report_main(argv: list[str] | None = None) -> int:
    from actlab.report import build_report

    args = _out_parser("actlab-report",
                       "Write OUT/report.md and a self-contained OUT/report.html from "
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
