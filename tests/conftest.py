import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, module: str = "actlab", timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a console entry point as a user would (python -m keeps it independent of PATH)."""
    env = {**os.environ, "CI": "true", "HYDRA_FULL_ERROR": "0"}
    env.pop("HYDRA_FULL_ERROR")
    code = {
        "actlab": "from actlab.entry import main; main()",
        "collect": "import sys; from actlab.cli import collect_main; sys.exit(collect_main())",
        "figures": "import sys; from actlab.cli import figures_main; sys.exit(figures_main())",
        "verify": "import sys; from actlab.cli import verify_main; sys.exit(verify_main())",
    }[module]
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=True)
def _close_figures():
    """Plot functions return their figures; close whatever a test left open (pyplot keeps every
    figure alive, and warns past twenty)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def run_cli_here(*args: str) -> subprocess.CompletedProcess:
    """`actlab ARGS` called in this process (its main, stdout and stderr captured, SystemExit as
    the return code): the same code path as the console script at a tenth of the cost. For what
    needs a fresh interpreter (start-up, signals, imports) use `cli`."""
    import contextlib
    import io

    from actlab.entry import main

    out, err = io.StringIO(), io.StringIO()
    argv, env = sys.argv, dict(os.environ)
    sys.argv = ["actlab", *args]
    os.environ["CI"] = "true"
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
        os.environ.clear()
        os.environ.update(env)
    return subprocess.CompletedProcess(["actlab", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli_here():
    return run_cli_here
