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
