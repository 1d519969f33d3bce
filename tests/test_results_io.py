"""Result files: written atomically, readable as a plain write would be."""


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):
    import os
    import stat

    from actlab.results import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
        mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
        assert mode == stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644
        os.umask(0o077)
        atomic_write_text(tmp_path / "c.txt", "x")
        assert stat.S_IMODE((tmp_path / "c.txt").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_an_atomic_write_never_touches_a_file_that_holds_its_temporary_name(tmp_path,
                                                                             monkeypatch):
    """The temporary name is random and opened with O_EXCL: whatever already holds it (another
    writer's file, a stale one, a symlink, a folder) is never opened, followed or removed; the
    write takes the next name."""
    import os

    from actlab import results

    target = tmp_path / "summary.json"
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep")
    taken = [tmp_path / f".summary.json.{b * 4}.tmp" for b in ("aa", "bb", "cc")]
    taken[0].write_text("another writer's half")
    taken[1].symlink_to(elsewhere)
    taken[2].mkdir()
    names = iter(bytes.fromhex(b * 4) for b in ("aa", "bb", "cc", "dd"))
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    results.atomic_write_text(target, "{}")
    assert target.read_text() == "{}" and elsewhere.read_text() == "keep"
    assert taken[0].read_text() == "another writer's half" and taken[2].is_dir()
    assert not (tmp_path / ".summary.json.dddddddd.tmp").exists()

def _fake_runs(out, n_runs=3):
    """Run folders as write_run leaves them: a column that is a word for one run and empty for
    another (gelu's `approximate`), one that is numbers in one run and words in another."""
    import json

    import pandas as pd

    for i in range(n_runs):
        d = out / "runs" / "toy" / f"run{i}"
        d.mkdir(parents=True)
        df = pd.DataFrame({"run_id": f"run{i}", "experiment": "toy", "activation": "gelu",
                           "depth": 2, "width": 4, "weight_scale": 1.0, "task": "teacher",
                           "seed": i, "step": [0, 10], "layer": [None, 1], "metric": "loss",
                           "value": [1.0, 0.5], "approximate": "tanh" if i == 0 else None,
                           "condition": 0.5 if i == 1 else "high"})
        df.to_csv(d / "metrics.csv", index=False)
        (d / "summary.json").write_text(json.dumps({"status": "ok", "rows": 2}))
        (d / "config.yaml").write_text("seed: 0\n")


def test_collect_writes_a_schema_and_a_parquet_copy_read_back_alike(tmp_path):
    import json
    import os
    import warnings

    from actlab.results import collect, load_results, read_table

    _fake_runs(tmp_path)
    path = collect(tmp_path, log=lambda m: None)["toy"]
    schema = json.loads(path.with_suffix(".schema.json").read_text())
    assert schema["value"] == "float64" and schema["approximate"] == "str"
    assert schema["condition"] == "str"  # numbers in one run, words in another: text
    assert path.with_suffix(".parquet").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mixed-dtype guessing
        from_parquet = load_results(tmp_path)["toy"]
        os.utime(path.with_suffix(".parquet"), (0, 0))  # older than the CSV: the CSV is read
        from_csv = read_table(path)
    assert dict(from_parquet.dtypes) == dict(from_csv.dtypes)
    assert from_csv["approximate"].isna().sum() == 4 and (from_parquet["layer"].isna()).sum() == 3
    assert sorted(from_csv["condition"].unique()) == ["0.5", "high"]


def test_a_corrupt_parquet_copy_falls_back_to_the_csv(tmp_path):
    from actlab.results import collect, read_table

    _fake_runs(tmp_path)
    path = collect(tmp_path, log=lambda m: None)["toy"]
    path.with_suffix(".parquet").write_bytes(b"not parquet")
    assert len(read_table(path)) == 6


def test_config_yaml_is_what_omegaconf_writes():
    """config.yaml comes from libyaml's emitter with OmegaConf's quoting rule; it must be the text
    OmegaConf.to_yaml writes, including strings that would read back as numbers or booleans."""
    from omegaconf import OmegaConf

    from actlab.results import config_dict, config_yaml
    from tests.helpers import compose

    cfg = compose(["experiment=continual", "activation=custom",
                   "activation.target=tests.custom_acts:dip"])
    odd = OmegaConf.create({"a": "1e-3", "b": "true", "c": "null", "d": "0x10", "e": "ü ä",
                            "f": "x" * 200, "g": [1, 2.5, None, "3"], "h": {"i": "yes"}})
    for c in (cfg, odd):
        assert config_yaml(c) == OmegaConf.to_yaml(config_dict(c))
    assert "'1e-3'" in config_yaml(odd) and "'true'" in config_yaml(odd)
    # each top-level entry's text is kept: values that are equal in Python (1 == 1.0 == True)
    # but written differently must not share one
    for v in (1, 1.0, True, "1", "True", None, [1], [1.0], {"x": 1}, {1: 1}, float("inf"),
              "fire \U0001F525", "a\x85b", "line\u2028sep", "back\\slash", {}, []):
        for c in (OmegaConf.create({"a": v, "b": {"c": v}}), OmegaConf.create({v: "x"})
                  if isinstance(v, (int, float, str)) and v == v else OmegaConf.create({})):
            assert config_yaml(c) == config_yaml(c) == OmegaConf.to_yaml(config_dict(c)), v


def test_config_yaml_for_every_job_of_a_grid():
    """A sweep writes config.yaml from pieces kept between jobs: each job's text must still be
    what OmegaConf writes for its whole config."""
    from omegaconf import OmegaConf

    from actlab.grid import grid_jobs, job_config
    from actlab.results import config_dict, config_yaml

    for name in ("dead_relu", "continual", "output_constraint"):
        jobs = grid_jobs(name, ["scale=default", "seed=0,1"])
        texts = [config_yaml(job_config(job)) for job in jobs]
        assert texts == [OmegaConf.to_yaml(job_config(job)) for job in jobs], name
        assert len(set(texts)) == len(jobs)
        assert all(config_yaml(config_dict(job_config(j))) == t for j, t in zip(jobs, texts))


def test_effective_config_leaves_the_plain_dict_it_reads_alone():
    import copy

    from actlab.config import config_dict
    from actlab.effective import effective_config
    from actlab.registry import experiments
    from tests.helpers import compose

    plain = config_dict(compose(["experiment=dead_relu", "activation=relu"]))
    before = copy.deepcopy(plain)
    eff = effective_config(plain, experiments()["dead_relu"].reads)
    assert plain == before
    assert "slope" not in eff["activation"] and "slope" in plain["activation"]
    assert "out_dir" not in eff and "device" not in eff["trainer"]


def test_a_registered_activation_is_built_once_per_config():
    from actlab.activations import get_activation

    a, b = get_activation("leaky_relu", slope=0.1), get_activation("leaky_relu", slope=0.1)
    assert a is b and get_activation("leaky_relu", slope=0.2) is not a


def _random_rows(rng):
    import numpy as np

    kinds = {
        "value": lambda: rng.choice([rng.normal(), int(rng.integers(-5, 5)), float("nan"), None,
                                     float("inf"), 1e-300, 1e20]),
        "step": lambda: int(rng.integers(0, 100)),
        "layer": lambda: rng.choice([None, int(rng.integers(1, 9)), float(rng.integers(1, 9))]),
        "metric": lambda: rng.choice(["loss", "grad,norm", 'say "x"', "ü"]),
        "depth": lambda: rng.choice([None, int(rng.integers(1, 9))]),
        "flag": lambda: bool(rng.integers(0, 2)),
        "np_int": lambda: np.int64(rng.integers(0, 9)),
        "f32": lambda: np.float32(rng.normal()),
        "mixed": lambda: rng.choice(["a", 1.5, None]),
        "gap_bool": lambda: rng.choice([True, None]),
        "empty": lambda: rng.choice([None, float("nan")]),
        "slope": lambda: rng.choice([None, float("nan")]),  # empty, with a config fill
    }
    cols = [c for c in kinds if rng.random() < 0.6]
    return [{c: kinds[c]() for c in cols if rng.random() < 0.9} for _ in range(rng.integers(0, 6))]


def test_metrics_csv_is_the_dataframe_csv(monkeypatch):
    """tidy_csv formats cells itself; the reference is pandas (tidy + to_csv) on random tables
    with gaps, config fills, mixed kinds and numpy scalars (the unsimple ones fall back)."""
    import numpy as np

    import actlab.results as R

    calls, reference = [], R.tidy
    monkeypatch.setattr(R, "tidy", lambda *a: calls.append(1) or reference(*a))
    rng = np.random.default_rng(0)
    fast = 0
    for i in range(400):
        rows = _random_rows(rng)
        columns = {"run_id": "r1", "experiment": "e", "activation": "relu",
                   "depth": rng.choice([3, None]), "width": 4, "weight_scale": 1.5,
                   "task": "teacher", "seed": 0, "slope": rng.choice([0.1, None]),
                   "approximate": rng.choice(["tanh", None]), "lr": 0.01, "steps": 10}
        want = reference(rows, columns).to_csv(index=False, lineterminator="\n")
        before = len(calls)
        assert R.tidy_csv(rows, columns) == (want, len(rows)), (i, rows)
        fast += len(calls) == before
    assert fast > 50  # the cell-by-cell path was taken, not only the fallback
    columns = {"run_id": "r", "seed": 0}
    for rows in ([{"value": 2**70}, {"value": 0.5}], [{"layer": True, "value": 1.0}],
                 [{"value": 2**70}, {"value": None}]):  # found by review: pandas' own text
        want = reference(rows, columns).to_csv(index=False, lineterminator="\n")
        assert R.tidy_csv(rows, columns) == (want, len(rows)), rows


def test_config_yaml_reads_back_as_omegaconf_reads_it(tmp_path):
    """collect reads every run's config.yaml through libyaml with OmegaConf's resolvers; it must
    give what OmegaConf.load + to_container(resolve=False) give, types included."""
    from omegaconf import OmegaConf

    from actlab.results import config_yaml, load_config_yaml
    from tests.helpers import compose

    texts = [config_yaml(compose(["experiment=continual", "task.data_seed=${seed}"])),
             config_yaml(compose(["experiment=dead_relu", "activation=custom",
                                  "activation.target=tests.custom_acts:dip"])),
             "a: 1e-3\nb: 1.0e+5\nc: .inf\nd: -.nan\ne: 2026-11-29\nf: '1'\ng: ???\nh: ${x.y}\n"
             "i: [1, 2.5, null, 'x']\nj: {k: yes, l: on, m: 0x1F, n: 0o17, o: 1_000}\np: ~\n"
             "q: \"fire \\U0001F525\"\nr: {}\ns: []\n1: int key\ntrue: bool key\n"]
    for i, text in enumerate(texts):
        path = tmp_path / f"{i}.yaml"
        path.write_text(text, encoding="utf-8")
        ours = load_config_yaml(path)
        theirs = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        assert repr(ours) == repr(theirs), text


def test_figures_are_written_atomically_with_a_plain_write_s_permissions(tmp_path):
    import os
    import stat

    from actlab.plotting import plt, save_figure

    old = os.umask(0o022)
    try:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        paths = save_figure(fig, tmp_path, "line")
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.pdf", "line.png"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 and p.stat().st_size > 1000
               for p in paths)
