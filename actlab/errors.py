"""One line for a bad command line. Hydra reports a bad override as a paragraph (search path,
object types, a hint about HYDRA_FULL_ERROR); a user needs the key they typed and what it could
have been. `one_line` turns Hydra's and OmegaConf's composition errors into
`key=value: reason; valid choices: ...`, the same shape as actlab's own ConfigError messages."""

from __future__ import annotations

import dataclasses
import re

from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from actlab.config import ConfigError, unknown_key


def first_line(text: object) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else ""


def one_line(ex: BaseException) -> str | None:
    """The message for a configuration error, or None when `ex` is not one (a bug: show it)."""
    if isinstance(ex, ConfigError):  # actlab's own range checks, already in this shape
        return str(ex)
    if isinstance(ex, MissingConfigException) and ex.missing_cfg_file and ex.options is not None:
        group, _, name = ex.missing_cfg_file.rpartition("/")
        return f"{group}={name}: no such option; valid choices: {', '.join(sorted(ex.options))}"
    if isinstance(ex, OverrideParseException):
        return f"{ex.override}: cannot parse this override ({first_line(ex.message)})"
    cause = ex.__cause__ if isinstance(ex, HydraException) else ex
    if isinstance(cause, OmegaConfBaseException) and cause.full_key:
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
            schema = getattr(cause, "object_type", None)
            if schema is not None and dataclasses.is_dataclass(schema):
                return str(unknown_key(cause.full_key, schema))
            return f"{cause.full_key}: no such key"
        typed = re.search(r"override (\S+)", str(ex))
        where = typed.group(1) if typed else cause.full_key
        return f"{where}: {first_line(cause.msg)}"
    if isinstance(ex, (HydraException, OmegaConfBaseException)):
        return first_line(ex)
    return None
