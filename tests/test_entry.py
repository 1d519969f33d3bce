"""`actlab --help` answers from the schema and the config folders, without importing torch or
the experiments (the cost of a start-up is what a user waits for on every command)."""

import subprocess
import sys

from tests.conftest import ROOT

CODE = """
import sys, time
t = time.perf_counter()
sys.argv = ["actlab", "--help"]
from actlab.entry import main
try:
    main()
except SystemExit as e:
    print("EXIT", e.code)
print("TORCH", "torch" in sys.modules, "EXPERIMENTS", "experiments" in sys.modules)
"""


def test_help_without_torch():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert "EXIT 0" in r.stdout, r.stderr
    assert "TORCH False EXPERIMENTS False" in r.stdout
    assert "activation: celu, custom, elu" in r.stdout  # the groups, from the config folders
    assert "  backward: exact" in r.stdout  # the keys, from the typed schema
    assert "actlab card activation=NAME" in r.stdout


def test_hydra_help_still_reachable(cli):
    r = cli("--hydra-help")
    assert r.returncode == 0 and "Hydra" in r.stdout


ERRORS = """
import sys
from actlab.entry import main
for case in sys.argv[1:]:
    sys.argv = ["actlab", *case.split(), "out_dir=" + OUT]
    try:
        main()
    except SystemExit as e:
        print("EXIT", e.code)
print("HEAVY", sorted(m for m in ("torch", "pandas") if m in sys.modules))
print("LOADED", sorted(m for m in sys.modules if m.startswith("experiments.")))
"""

BAD = ["model.depth=-1", "model.depth=abc", "activation=nope", "task=nope",
       "model.weight_scale=inf", "seed=-1", "trainer.lr=1e308", "experiment=nope",
       "experiment=dead_relu params.cause=width", "experiment=continual params.steps_per_task=x",
       "model.width=100000 model.depth=100000", "+model.foo=1"]


def test_config_errors_answer_without_torch(tmp_path):
    """Every kind of bad input is refused (exit 2, one line each) before torch, pandas or any
    experiment's code is imported, and nothing is written."""
    code = ERRORS.replace("OUT", repr(str(tmp_path / "out")))
    r = subprocess.run([sys.executable, "-c", code, *BAD], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.stdout.count("EXIT 2") == len(BAD), (r.stdout, r.stderr)
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]) == len(BAD)
    assert "HEAVY []" in r.stdout, r.stdout
    assert "LOADED ['experiments.params']" in r.stdout, r.stdout
    assert not (tmp_path / "out" / "runs").exists()


def test_a_run_loads_only_its_own_experiment(tmp_path):
    code = ERRORS.replace("OUT", repr(str(tmp_path / "out")))
    r = subprocess.run([sys.executable, "-c", code,
                        "experiment=gradient_flow model.depth=1 model.width=4 trainer.steps=1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "EXIT" not in r.stdout, r.stderr[-2000:]
    assert "LOADED ['experiments.gradient_flow', 'experiments.params']" in r.stdout, r.stdout
