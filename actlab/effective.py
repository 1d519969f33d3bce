"""What a run actually reads: its effective configuration.

A composed config holds every shared group, but an experiment reads only some of them (declared
in its Experiment record's `reads`) and an activation reads only its own parameters (relu reads
no `slope`). The effective configuration drops the rest, so a key that cannot change the
computation never enters a run's name (its hash) or its table, and a user who sets one is told
so in one line instead of getting a silently identical run under a new name.
"""

from __future__ import annotations

from omegaconf import DictConfig

from actlab.config import config_dict
from actlab.experiment import SHARED_GROUPS
from actlab.names import ACTIVATION_KEYS, used_keys

# Keys that steer where and how a job runs, never what it computes.
RUNNER_KEYS = ("out_dir", "force", "seeds", "trainer.device", "trainer.threads", "scale")


def unread_activation_keys(name: str, backward: str = "exact") -> list[str]:
    return [k for k in ACTIVATION_KEYS if k not in used_keys(name, backward)]


def read_keys(group: str, reads: tuple[str, ...]) -> list[str]:
    """The keys of `group` an experiment reads one by one ("trainer.dtype" -> ["dtype"])."""
    return [r.partition(".")[2] for r in reads if r.partition(".")[0] == group and "." in r]


def effective_config(cfg: DictConfig | dict, reads: tuple[str, ...]) -> dict:
    """The config as a plain dict without runner keys, groups the experiment does not read and
    activation parameters the chosen activation does not read. `cfg` may be the plain dict of
    the config (config_dict): it is not edited."""
    d = dict(config_dict(cfg))  # nodes below are replaced by filtered copies, never edited
    for group in SHARED_GROUPS:
        if group in reads or group not in d:
            continue
        keys = read_keys(group, reads)
        if keys:  # only some keys of this group are read: keep those
            d[group] = {k: v for k, v in d[group].items() if k in keys}
        else:
            d.pop(group)
    if "activation" in d:
        a = d["activation"]
        unread = unread_activation_keys(a.get("name"), a.get("backward", "exact"))
        d["activation"] = {k: v for k, v in a.items() if k not in unread}
    for key in RUNNER_KEYS:
        parent, _, last = key.rpartition(".")
        if not parent:
            d.pop(last, None)
        elif isinstance(d.get(parent), dict):
            d[parent] = {k: v for k, v in d[parent].items() if k != last}
    return d


def no_effect(overrides: list[str], cfg: DictConfig, experiment: str,
              reads: tuple[str, ...]) -> list[str]:
    """One line for each command-line override that cannot change what this run computes."""
    lines = []
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        group, _, sub = key.partition(".")
        if key in RUNNER_KEYS or group in RUNNER_KEYS or group not in SHARED_GROUPS:
            continue
        keys = read_keys(group, reads)
        if group not in reads and not keys:
            lines.append(f"{ov}: experiment {experiment} does not read {group}.*, so this has no "
                         "effect (kept out of the run name and table)")
        elif group not in reads and sub not in keys:
            only = ", ".join(f"{group}.{k}" for k in keys)
            lines.append(f"{ov}: experiment {experiment} reads only {only} of {group}, so this has "
                         "no effect (kept out of the run name and table)")
        elif group == "activation" and sub in unread_activation_keys(
                cfg.activation.name, getattr(cfg.activation.backward, "value", "exact")):
            lines.append(f"{ov}: activation {cfg.activation.name} does not read {sub}, "
                         "so this has no effect (kept out of the run name and table)")
    return lines
