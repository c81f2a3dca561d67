"""``${VAR}`` expansion, from the process environment and ``.env`` files that never change it.

``${VAR}``, ``${VAR:-default}`` and ``${env:VAR}`` expand in every string of a
server config.  An unset variable with no default is an error naming it,
never an empty string.  Every value taken from the environment is collected:
it is a secret when shown.  ``.env`` is read with python-dotenv's
``dotenv_values`` and feeds this expansion only: a ``.env`` must not be able
to set ``BROWSER``, ``HTTPS_PROXY`` or ``LD_PRELOAD`` for the kernel or its
servers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcpomni_jupyter.errors import ConfigError

_VAR = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_vars(value: str, where: str, environ: Mapping[str, str] | None = None, found: set[str] | None = None) -> str:
    """Expand ``${VAR}``, ``${VAR:-default}`` and ``${env:VAR}``; an unset VAR with no default is an error.

    Values taken from ``environ`` are added to ``found``: they are secrets when shown.
    """
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            if found is not None:
                found.add(env[name])
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: environment variable {name} is not set; set it (or put it in .env), or give a default as ${{{name}:-value}}"
        )

    return _VAR.sub(sub, value)


def expand_tree(value: Any, where: str, environ: Mapping[str, str], found: set[str]) -> Any:
    """``expand_vars`` in every string of a JSON value."""
    if isinstance(value, str):
        return expand_vars(value, where, environ, found)
    if isinstance(value, list):
        return [expand_tree(v, where, environ, found) for v in value]
    if isinstance(value, dict):
        return {k: expand_tree(v, f"{where}.{k}", environ, found) for k, v in value.items()}
    return value


def read_dotenv(directory: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The variables of ``.env`` in ``directory`` (default: the cwd), read, never put in ``os.environ``."""
    path = Path(directory or os.getcwd()) / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path} ({exc}); fix or remove it") from None
    return {k: v for k, v in values.items() if v is not None}


def expansion_env(*directories: str | os.PathLike[str] | None) -> dict[str, str]:
    """What ``${VAR}`` expands from: the process environment over the ``.env`` files (earlier ones win)."""
    merged: dict[str, str] = {}
    for directory in reversed(directories or (None,)):
        merged.update(read_dotenv(directory))
    merged.update(os.environ)
    return merged
