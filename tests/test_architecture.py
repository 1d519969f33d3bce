"""The data flows one way: experiments -> actlab, never back; jobs never load figure code."""

import ast
import subprocess
import sys

from tests.conftest import ROOT


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_core_never_imports_the_experiments():
    offenders = {str(p.relative_to(ROOT)): m for p in (ROOT / "actlab").rglob("*.py")
                 for m in _imports(p) if m == "experiments" or m.startswith("experiments.")}
    assert not offenders, offenders


def test_experiment_modules_do_not_import_figure_code():
    for p in (ROOT / "experiments").glob("*.py"):
        mods = set(_imports(p))
        assert not any(m.startswith(("matplotlib", "actlab.plotting", "experiments.figures"))
                       for m in mods), p


JOB = """
import sys
from actlab.cli import EXPERIMENTS
from actlab.jobs import run_one
from tests.helpers import compose
cfg = compose(["experiment=gradient_flow", "scale=smoke", "model.depth=2",
               "out_dir=" + sys.argv[1]])
run_one(cfg, EXPERIMENTS["gradient_flow"])
print(sorted(m for m in sys.modules if m.startswith(("matplotlib", "experiments.figures"))))
"""


def test_a_training_job_loads_no_figure_code(tmp_path):
    r = subprocess.run([sys.executable, "-c", JOB, str(tmp_path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"
