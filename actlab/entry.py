"""The `actlab` command's front door: answers `--help` and dispatches subcommands without
importing torch or the experiments, then hands everything else to actlab.cli (the Hydra app).

`actlab --help` costs the import of Hydra's config store and omegaconf (~0.4 s), not of torch and
thirteen experiment modules (~5 s). The full Hydra help (with each experiment's own params) is
`actlab --hydra-help` or `actlab --cfg job experiment=NAME`.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
HELP_FLAGS = ("-h", "--help")


def _groups() -> list[str]:
    lines = []
    for group in sorted(p for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name != "hydra"):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        if options:
            lines.append(f"{group.name}: {', '.join(options)}")
    return lines


def _keys() -> list[str]:
    """Each shared group's keys with their schema defaults (actlab/config.py); a group option's
    YAML may set other values (shown by `actlab --cfg job`)."""
    from actlab import config as C

    lines = []
    for f in dataclasses.fields(C.Config):
        schema = {"activation": C.ActivationConfig, "model": C.ModelConfig,
                  "task": C.TaskConfig, "trainer": C.TrainerConfig,
                  "scale": C.ScaleConfig}.get(f.name)
        if schema is None:
            value = f.default if f.default is not dataclasses.MISSING else "[]"
            if f.name == "params":
                value = "each experiment's own keys: actlab --cfg job experiment=NAME"
            lines.append(f"{f.name}: {value}")
            continue
        lines.append(f"{f.name}:")
        for g in dataclasses.fields(schema):
            if g.default is not dataclasses.MISSING:
                v = g.default
            elif g.default_factory is not dataclasses.MISSING:
                v = g.default_factory()
            else:
                v = "(set by the chosen option)"
            lines.append(f"  {g.name}: {getattr(v, 'value', v)}")
    return lines


def fast_help() -> str:
    from omegaconf import OmegaConf

    template = OmegaConf.load(CONFIG_DIR / "config.yaml").hydra.help.template
    return (template.replace("$APP_CONFIG_GROUPS", "\n".join(_groups()))
            .replace("$CONFIG", "\n".join(_keys())))


def main() -> None:
    """actlab [experiment=NAME] [key=value ...] | actlab -m ... | actlab card activation=NAME"""
    argv = sys.argv[1:]
    from actlab.registry import commands  # entry-point metadata only, no imports of the code

    if argv and argv[0] in commands():  # a subcommand: actlab card activation=mish
        sys.exit(commands()[argv[0]].load()(argv[1:]))
    if any(a in HELP_FLAGS for a in argv):
        print(fast_help())
        sys.exit(0)
    from actlab.cli import main as hydra_main

    hydra_main()
