"""Running jobs, without Hydra: one configured experiment for one seed or a batch of seeds,
into OUT/runs/<experiment>/<run_name>/ with resume, a batched-to-single fallback and failure
records. The Hydra entry point (actlab.cli) composes the config and calls `run_job`; tests and
scripts can call it directly with any DictConfig of the schema.

Each run folder holds config.yaml, metrics.csv and, written last, summary.json (all atomic): a
folder without a summary is unfinished, and a rerun redoes it.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path

from omegaconf import DictConfig, open_dict

from actlab import __version__
from actlab.config import ConfigError, check_writable, config_dict, validate
from actlab.effective import effective_config
from actlab.experiment import Experiment
from actlab.results import (
    atomic_write_text,
    config_columns,
    config_yaml,
    read_summary,
    run_name,
    tidy_csv,
)

FINISHED = ("ok", "diverged")  # summaries a rerun keeps
log = logging.getLogger("actlab")


def with_seed(cfg: DictConfig, seed: int) -> DictConfig:
    """The config of one seed's run: `seed` set, `seeds` emptied (what its config.yaml records)."""
    if cfg.seed == seed and not cfg.seeds:  # already that (a single run): no copy
        return cfg
    sub = cfg.copy()
    with open_dict(sub):
        sub.seed, sub.seeds = seed, []
    return sub


def run_one(cfg: DictConfig, exp: Experiment) -> dict:
    """Run one configured experiment into OUT/runs/<experiment>/<run_name>/ and return its
    summary."""
    return run_job(cfg, exp)[-1]


def run_job(cfg: DictConfig, exp: Experiment, checked: bool = False,
            plain: dict | None = None) -> list[dict]:
    """Run the configured experiment for `seed`, or for every seed in `seeds` (the actlab sweeper
    puts a seed sweep's seeds into one job), each into OUT/runs/<experiment>/<run_name>/; return
    the summaries. Seeds whose folder already holds a finished (ok or diverged) summary are
    skipped (force=true reruns them); the others train together as one batched computation when
    the experiment supports it (`run_seeds`), else one after another.

    Bad configuration raises ConfigError before anything is written. A failure inside a run is
    recorded as status 'failed' (a sweep goes on); a non-finite loss as 'diverged'."""
    from actlab.trainer import resolve_device

    # the plain values of the config, made once: checks, run name, config.yaml all read them
    plain = config_dict(cfg) if plain is None else plain
    if not checked:  # (run_grid checks every job's config before the first runs)
        validate(cfg, plain)
    device = resolve_device(cfg.trainer)
    out = Path(cfg.out_dir)
    check_writable(out)
    seeds = list(dict.fromkeys(cfg.seeds)) or [cfg.seed]
    subs = {s: with_seed(cfg, s) for s in seeds}
    # (a seed's own values made anew: a value may interpolate ${seed})
    plains = {s: plain if subs[s] is cfg else config_dict(subs[s]) for s in seeds}
    effective = {s: effective_config(plains[s], exp.reads) for s in seeds}
    names = {s: run_name(effective[s]) for s in seeds}
    dirs = {s: out / "runs" / exp.name / names[s] for s in seeds}
    summaries: dict[int, dict] = {}
    for s in seeds:
        done = read_summary(dirs[s])
        # finished results, ok or diverged, are kept; a failed or unfinished run is redone
        if done and done.get("status") in FINISHED and not cfg.force:
            log.info("skip %s/%s: already %s (force=true reruns it)", exp.name, names[s],
                     done["status"])
            summaries[s] = {**done, "skipped": True}  # (not written: tells callers it was kept)
    pending = [s for s in seeds if s not in summaries]
    if not pending:
        return [summaries[s] for s in seeds]
    if cfg.trainer.threads:
        import torch

        torch.set_num_threads(cfg.trainer.threads)
    # The summary marks a run as complete: remove a stale one first, so that a crash below leaves
    # the folder looking unfinished (collect skips it, a rerun redoes it).
    for s in pending:
        (dirs[s] / "summary.json").unlink(missing_ok=True)
    batched = len(pending) > 1 and exp.run_seeds is not None
    groups = [pending] if batched else [[s] for s in pending]
    while groups:
        group = groups.pop(0)
        log.info("start %s/%s%s", exp.name, names[group[0]],
                 f" and {len(group) - 1} more seeds, batched" if len(group) > 1 else "")
        t0 = time.perf_counter()
        error = None
        try:
            results = (exp.run_seeds(subs[group[0]], device, group) if len(group) > 1
                       else {group[0]: exp.run(subs[group[0]], device)})
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
            summaries[s] = write_run(plains[s], exp, names[s], dirs[s], results.get(s), error,
                                     wall, device, len(group), effective[s])
    return [summaries[s] for s in seeds]


def write_run(cfg: DictConfig | dict, exp: Experiment, name: str, run_dir: Path, result,
              error: str | None, wall: float, device, batch: int, effective: dict) -> dict:
    """Write one run's config.yaml, metrics.csv and, last, summary.json (each atomically). `cfg`
    is the run's config or its plain dict (config_dict)."""
    import torch  # (imported by the run already: here only for its version)

    if result is None:
        rows, status, final, div = [], "failed", {}, None
        error = error or "no result"
    else:
        rows, status, final, div = result.rows, result.status, result.final, result.diverged_step
    text, n_rows = tidy_csv(rows, config_columns(effective, exp.name, name))
    atomic_write_text(run_dir / "config.yaml", config_yaml(cfg))
    atomic_write_text(run_dir / "metrics.csv", text)
    summary = {
        "experiment": exp.name, "run_id": name, "status": status, "diverged_step": div,
        "error": error, "final": final, "rows": n_rows, "wall_time_s": round(wall, 3),
        "seeds_batched": batch, "device": str(device),
        "versions": {"actlab": __version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }
    a = config_dict(cfg)["activation"]
    if a["name"] == "custom" and "activation" in exp.reads:
        from actlab.custom import properties

        # measured on a grid, not declared: what the experiments assumed about this function
        summary["activation_properties"] = properties(a["target"], a["derivative"])
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, default=float))
    log.info("end %s/%s: %s in %.2fs", exp.name, name, status, wall)
    return summary


def failed_since(outs: list[str], since: float) -> list[tuple[str, str]]:
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
                failed.append((f"{path.parent.parent.name}/{path.parent.name}",
                               summary.get("error", "")))
    return failed


