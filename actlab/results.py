"""Results I/O: run folders, atomic writes, and collecting runs into one table per experiment.

Layout under OUT (= out_dir):
  runs/<experiment>/<run_name>/{config.yaml, metrics.csv, summary.json}
  results/<experiment>.csv      (actlab-collect)
  results/<experiment>.schema.json  the dtype of every column (the CSV is read with it)
  results/<experiment>.parquet  the same table, columnar: what figures, claims and report read
  results/<experiment>.runs.json  each collected run's `params` and scale (what claims judge with)
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf._utils import get_omega_conf_dumper, get_yaml_loader

from actlab.config import config_dict

# Columns every metrics.csv starts with (a contract); config columns after them, then extras.
BASE_COLUMNS = ["run_id", "experiment", "activation", "depth", "width", "weight_scale", "task",
                "seed", "step", "layer", "metric", "value"]
# More config columns, so claims can read every parameter they depend on from the table itself.
CONFIG_COLUMNS = {
    "slope": "activation.slope",
    "beta": "activation.beta",
    "elu_alpha": "activation.alpha",
    "approximate": "activation.approximate",
    "min_val": "activation.min_val",
    "max_val": "activation.max_val",
    "backward": "activation.backward",
    "bias_scale": "model.bias_scale",
    "init": "model.init",
    "out_activation": "model.out_activation",
    "input_scale": "task.input_scale",
    "optimizer": "trainer.optimizer",
    "lr": "trainer.lr",
    "steps": "trainer.steps",
    "batch_size": "trainer.batch_size",
    "dtype": "trainer.dtype",
}


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file.
    UTF-8, newlines as given."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """atomic_write_text for bytes (figures)."""
    fd, tmp = _temp_file(path, ".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temp_file(path: Path, suffix: str) -> tuple[int, str]:
    """A new file beside `path` for an atomic write, open for writing. Created with mode 0666 so
    that the kernel applies the umask as for a plain open() (labmates on a shared cluster can read
    the results; mkstemp would make it 0600 and need a chmod and a process-wide umask call), under
    a random name that no other writer, thread or host, can hold (O_EXCL: an existing file, link
    or folder of that name is never opened, followed or removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{os.urandom(4).hex()}{suffix}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, _csv_text(df))


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, (int, float)) else value


def config_yaml(cfg: DictConfig | dict) -> str:
    """A run's config.yaml: what OmegaConf.to_yaml writes (its dumper quotes strings that would
    read back as numbers), from the plain dict, without building a second DictConfig.

    A block mapping's entries are written independently of each other, so the text is the
    concatenation of each top-level entry's text; a sweep's jobs share most entries (model,
    task, ...), and each distinct one is written once (tests/test_results_io.py compares the
    result with OmegaConf.to_yaml on many configs)."""
    d = config_dict(cfg)
    if not d:
        return "{}\n"
    parts = []
    for k, v in d.items():
        key = (repr(k), repr(v))  # (repr keeps apart what YAML writes differently: 1, 1.0, True)
        text = _YAML_ENTRIES.get(key)
        if text is None:
            if len(_YAML_ENTRIES) >= 4096:
                _YAML_ENTRIES.clear()
            text = _YAML_ENTRIES[key] = _entry_yaml(k, v)
        parts.append(text)
    return "".join(parts)


def _entry_yaml(k: Any, v: Any) -> str:
    text = yaml.dump({k: v}, Dumper=_Dumper, **_YAML_STYLE)
    if "\\" in text:  # an escape: libyaml escapes some characters (emoji, \x85) that OmegaConf
        # writes as they are; OmegaConf's own (pure-Python) dumper decides, for this entry only
        text = yaml.dump({k: v}, Dumper=get_omega_conf_dumper(), **_YAML_STYLE)
    return text


_YAML_STYLE = {"default_flow_style": False, "allow_unicode": True, "sort_keys": False}
_YAML_ENTRIES: dict[tuple[str, str], str] = {}
# OmegaConf's dumper is PyYAML's pure-Python one (~2 ms a config); libyaml's emitter writes the
# same text with OmegaConf's rule for strings (tests/test_results_io.py compares the two), and
# never an alias (&id001): OmegaConf's plain dicts share no objects, so it writes none either.
_Dumper = type("_Dumper", (getattr(yaml, "CSafeDumper", yaml.SafeDumper),),
               {"ignore_aliases": lambda self, data: True})
_Dumper.add_representer(str, get_omega_conf_dumper().str_representer)


def run_name(effective: dict) -> str:
    """Readable prefix + a hash of the effective config (actlab.effective): everything that can
    change what the run computes, and nothing else."""
    digest = hashlib.sha1(json.dumps(effective, sort_keys=True).encode()).hexdigest()[:10]
    parts = []
    if "activation" in effective:
        parts.append(activation_label(effective["activation"]))
    m = effective.get("model", {})
    if {"depth", "width", "weight_scale"} <= m.keys():
        parts.append(f"d{m['depth']}_w{m['width']}_s{m['weight_scale']:g}")
    if "name" in effective.get("task", {}):
        parts.append(effective["task"]["name"])
    safe = [re.sub(r"[^A-Za-z0-9_.+-]", "-", p) for p in parts]
    return "_".join(safe + [f"seed{effective['seed']}", digest])


def activation_label(act: dict) -> str:
    """The activation's name in tables and run names; a custom one by its target path (a run
    name keeps only filename-safe characters of it)."""
    if act.get("name") == "custom" and act.get("target"):
        return str(act["target"])
    return str(act.get("name"))


def config_columns(effective: dict, experiment: str, run_id: str) -> dict:
    """The table's config columns from the effective config: a group or activation parameter the
    run does not read is an empty cell, not a value that looks meaningful."""
    def pick(key: str):
        node = effective
        for p in key.split("."):
            if not isinstance(node, dict) or p not in node:
                return None
            node = node[p]
        return _plain(node)

    act = effective.get("activation")
    cols = {"run_id": run_id, "experiment": experiment,
            "activation": activation_label(act) if act else None,
            "depth": pick("model.depth"), "width": pick("model.width"),
            "weight_scale": pick("model.weight_scale"), "task": pick("task.name"),
            "seed": effective["seed"]}
    for col, key in CONFIG_COLUMNS.items():
        cols[col] = pick(key)
    return cols


def tidy(rows: list[dict], columns: dict) -> pd.DataFrame:
    """Rows from the experiment win over config columns of the same name (e.g. a `depth` that
    varies inside one run)."""
    df = pd.DataFrame(rows)
    ordered = _column_order(list(df.columns), columns)
    n = len(df)
    data = {}
    for col in ordered:  # one DataFrame built at once: a column at a time costs ~0.1 ms each
        if col in df.columns:
            data[col] = (df[col].where(df[col].notna(), columns[col]) if col in columns
                         else df[col])
        else:
            data[col] = [columns.get(col)] * n
    out = pd.DataFrame(data, index=df.index, columns=ordered)
    out["layer"] = out["layer"].astype("Int64")
    return out


def _column_order(keys: list[str], columns: dict) -> list[str]:
    """The table's columns: the base ones, the config ones present, then the run's own extras."""
    names = list(dict.fromkeys([*keys, *columns, "step", "layer", "metric", "value"]))
    extras = [c for c in names if c not in BASE_COLUMNS and c not in CONFIG_COLUMNS]
    return BASE_COLUMNS + [c for c in CONFIG_COLUMNS if c in names] + extras


def tidy_csv(rows: list[dict], columns: dict) -> tuple[str, int]:
    """metrics.csv's text and its row count: the text `tidy(rows, columns)` writes with
    `atomic_write_csv`, formatted cell by cell. Building the DataFrame and its CSV costs ~2.5 ms a
    run, most of a small sweep job's overhead; a table with a column outside the simple cases
    (one kind of value per column: numbers, text, or booleans without gaps) takes the DataFrame
    path. tests/test_results_io.py compares the two on random tables."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    ordered = _column_order(keys, columns)
    cells = []
    for col in ordered:
        if col in keys:
            out = _cells([r.get(col) for r in rows], columns.get(col), col == "layer")
        else:
            out = [_constant(columns.get(col))] * len(rows)
        if out is None:
            return _csv_text(tidy(rows, columns)), len(rows)
        cells.append(out)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ordered)
    writer.writerows(zip(*cells))
    return buf.getvalue(), len(rows)


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float, np.integer, np.float64))
            and not isinstance(v, (bool, np.bool_)))


def _cells(values: list, fill: Any, integer: bool) -> list[str] | None:
    """One column's cells as pandas would write them (None: not a simple case)."""
    present = [v for v in values if not _is_null(v)]
    if not present:  # all empty: empty cells, unless a config value fills them
        return None if fill is not None else [""] * len(values)
    if integer and not all(_is_number(v) for v in present):
        return None  # (a layer of True is 1 to pandas' Int64)
    if all(_is_number(v) for v in present):
        if any(isinstance(v, (int, np.integer)) and not -2**63 <= v < 2**63 for v in present):
            return None  # beyond int64: pandas keeps such a column as objects
        if len(present) == len(values) and all(isinstance(v, (int, np.integer)) for v in present):
            return [str(int(v)) for v in values]
        if len(present) < len(values) and fill is not None:
            if not _is_number(fill):
                return None
            values = [float(fill) if _is_null(v) else v for v in values]
        if integer:  # the layer column is Int64: whole numbers or empty
            if any(not _is_null(v) and float(v) != int(v) for v in values):
                return None
            return ["" if _is_null(v) else str(int(v)) for v in values]
        return ["" if _is_null(v) else repr(float(v)) for v in values]
    if all(isinstance(v, str) for v in present):
        if len(present) < len(values) and fill is not None:
            if not isinstance(fill, str):
                return None
            values = [fill if _is_null(v) else v for v in values]
        return ["" if _is_null(v) else v for v in values]
    if all(isinstance(v, bool) for v in present) and len(present) == len(values):
        return [str(v) for v in values]
    return None


def _constant(value: Any) -> str:
    """A config column's cell: the same in every row."""
    if _is_null(value):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def read_summary(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def collect(out: Path, experiment: str | None = None, log=print) -> dict[str, Path]:
    """Merge every run folder of each experiment into OUT/results/<experiment>.csv.

    A missing, truncated or corrupt run folder is reported and skipped, never fatal."""
    runs_root = out / "runs"
    written: dict[str, Path] = {}
    if not runs_root.is_dir():
        return written
    for exp_dir in sorted(p for p in runs_root.iterdir() if p.is_dir()):
        if experiment and exp_dir.name != experiment:
            continue
        frames, runs = [], {}
        for run_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir()):
            summary = read_summary(run_dir)
            if summary is None:
                log(f"skipped {run_dir}: missing or corrupt summary.json (unfinished run?)")
                continue
            try:
                df = pd.read_csv(run_dir / "metrics.csv", keep_default_na=True)
                missing = [c for c in BASE_COLUMNS if c not in df.columns]
                if missing:
                    raise ValueError(f"missing columns {missing}")
                if len(df) != summary.get("rows", len(df)):
                    raise ValueError(f"{len(df)} rows, summary.json says {summary.get('rows')}")
            except (OSError, ValueError, pd.errors.ParserError) as e:
                log(f"skipped {run_dir}: corrupt metrics.csv ({e})")
                continue
            df["status"] = summary.get("status", "unknown")
            frames.append(df)
            runs[run_dir.name] = _run_record(run_dir)
        if not frames:
            continue
        table = columnar(pd.concat(frames, ignore_index=True))
        path = out / "results" / f"{exp_dir.name}.csv"
        atomic_write_text(path.with_suffix(".runs.json"),
                          json.dumps(runs, indent=1, sort_keys=True))
        write_table(path, table)
        written[exp_dir.name] = path
    return written


def columnar(table: pd.DataFrame) -> pd.DataFrame:
    """One type per column: a column mixing text and numbers (an activation parameter that is a
    word for one activation and empty for another) becomes text, so every reader, CSV or Parquet,
    sees the same dtypes."""
    for col in table.columns:
        if table[col].dtype == object:
            table[col] = table[col].map(lambda v: v if v is None or v != v else str(v)) \
                .astype("str")
    return table


def write_table(path: Path, table: pd.DataFrame) -> None:
    """results/<name>.csv, its .schema.json (dtype per column) and a .parquet copy, each atomic.
    The Parquet copy is written last, so a reader that finds it newer than the CSV has both."""
    schema = {c: str(t) for c, t in table.dtypes.items()}
    atomic_write_text(path.with_suffix(".schema.json"), json.dumps(schema, indent=1))
    atomic_write_csv(path, table)
    fd, tmp = _temp_file(path.with_suffix(".parquet"), ".tmp")
    os.close(fd)
    try:
        table.to_parquet(tmp, index=False)
        os.replace(tmp, path.with_suffix(".parquet"))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_table(path: Path) -> pd.DataFrame:
    """A collected table: its Parquet copy when that is at least as new as the CSV, else the CSV
    read with its schema (no dtype guessing), else the CSV as is (collected by an older
    actlab)."""
    pq = path.with_suffix(".parquet")
    if pq.exists() and pq.stat().st_mtime >= path.stat().st_mtime:
        try:
            return pd.read_parquet(pq)
        except Exception:  # unreadable copy: the CSV is the record
            pass
    schema_path = path.with_suffix(".schema.json")
    dtypes = None
    if schema_path.exists():
        try:
            dtypes = json.loads(schema_path.read_text())
        except ValueError:
            dtypes = None
    if dtypes:
        header = pd.read_csv(path, nrows=0).columns
        usable = {c: t for c, t in dtypes.items() if c in header and t != "bool"}
        try:
            return pd.read_csv(path, dtype=usable, low_memory=False)
        except (ValueError, TypeError):
            pass
    return pd.read_csv(path, low_memory=False)


def _run_record(run_dir: Path) -> dict:
    """What claims need to know about a run beyond its rows: its params and its scale."""
    try:
        cfg = load_config_yaml(run_dir / "config.yaml")
    except (OSError, ValueError, yaml.YAMLError):
        cfg = {}
    if not isinstance(cfg, dict):
        cfg = {}
    scale = cfg.get("scale")
    return {"params": cfg.get("params") or {},
            "scale": (scale.get("name", "") if isinstance(scale, dict) else "")}


def load_config_yaml(path: Path) -> Any:
    """A run's config.yaml as plain values, read as OmegaConf reads YAML (its rule for floats such
    as 1e-3, no timestamps), interpolations left as written: what
    OmegaConf.to_container(OmegaConf.load(path), resolve=False) gives, through libyaml's parser
    without building a DictConfig (collect reads thousands: ~5 ms each that way, 0.3 ms this
    way; tests/test_results_io.py compares the two)."""
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


# OmegaConf's loader is PyYAML's pure-Python SafeLoader with its own implicit resolvers; the same
# resolvers on libyaml's parser. (Its duplicate-key check is left out: actlab wrote these files.)
_Loader = type("_Loader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),),
               {"yaml_implicit_resolvers": get_yaml_loader().yaml_implicit_resolvers})


def load_results(out: Path) -> dict[str, pd.DataFrame]:
    res = out / "results"
    if not res.is_dir():
        return {}
    return {p.stem: read_table(p) for p in sorted(res.glob("*.csv"))}


def load_run_records(out: Path) -> dict[str, dict]:
    """{experiment: {run_id: {"params": {...}, "scale": ...}}} as written by collect."""
    res = out / "results"
    found = {}
    for p in sorted(res.glob("*.runs.json")) if res.is_dir() else []:
        try:
            found[p.name.removesuffix(".runs.json")] = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
    return found


class MixedParams(ValueError):
    """The runs of one table used different params: their claims cannot share one Params."""


def resolve_params(params_cls, records: dict, table: pd.DataFrame):
    """The Params the table's runs used. Keys recorded as a column of the table are conditions
    the claims read per row, so they may vary; any other key that differs between runs makes the
    table ambiguous and raises MixedParams naming the key and its values. No records (a table
    collected by an older actlab): the defaults."""
    ids = set(table["run_id"].unique()) if "run_id" in table.columns else set()
    dicts = [r.get("params") or {} for rid, r in records.items() if rid in ids]
    merged: dict = {}
    for key in sorted({k for d in dicts for k in d}):
        values = {json.dumps(d.get(key), sort_keys=True) for d in dicts}
        if len(values) > 1 and key not in table.columns:
            shown = ", ".join(sorted(values)[:4])
            raise MixedParams(f"its runs used different params.{key} ({shown}); "
                              "collect each setting into its own out_dir, or rerun with one value")
        merged[key] = dicts[0].get(key)
    if not merged:
        return params_cls()
    known = {f.name for f in dataclasses.fields(params_cls)}
    base = OmegaConf.structured(params_cls)
    return OmegaConf.to_object(OmegaConf.merge(base, {k: v for k, v in merged.items()
                                                      if k in known}))


def smoke_only(records: dict, table: pd.DataFrame) -> bool:
    """True when every run of the table ran at smoke scale (math claims may then lack data)."""
    ids = set(table["run_id"].unique()) if "run_id" in table.columns else set()
    scales = {r.get("scale") for rid, r in records.items() if rid in ids}
    return scales == {"smoke"}
