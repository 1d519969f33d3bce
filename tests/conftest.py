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
