"""Where the core finds the experiments: the `actlab.registry` entry points (pyproject.toml).

The core never imports the `experiments` package by name. A distribution declares its
experiments with an entry point whose object is a {name: Experiment} mapping; this project's is
`experiments:REGISTRY`, and a user's own package can add another. This is the one place the core
meets them, so the import graph stays one way: experiments -> actlab.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

GROUP = "actlab.registry"


class NoExperiments(RuntimeError):
    pass


@cache
def experiments() -> dict:
    """Every registered Experiment by name, in the order the registries list them."""
    found: dict = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name != "builtin", e.name)):
        for name, exp in ep.load().items():
            if name in found:
                raise NoExperiments(f"experiment {name!r} is registered twice "
                                    f"(entry point {ep.value})")
            found[name] = exp
    if not found:
        raise NoExperiments(f"no experiments registered under the entry point group {GROUP!r}: "
                            "install the project (pip install -e .)")
    return found


COMMANDS = "actlab.commands"


def commands() -> dict:
    """`actlab <name> ...` subcommands registered under the `actlab.commands` entry points, as
    {name: entry point} (loaded only when called)."""
    return {ep.name: ep for ep in entry_points(group=COMMANDS)}
