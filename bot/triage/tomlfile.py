"""Reading TOML rule files with problems reported by file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """Parse ``path``; on failure append a problem naming the file (and line, from the parser) and return None."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: invalid TOML: {exc}")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc}")
    return None


def string_list(value: object, where: str, problems: list[str]) -> list[str]:
    """``value`` as a list of strings, or [] with a problem naming ``where``."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings")
        return []
    return list(value)


def number(value: object, where: str, default: float, problems: list[str]) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: expected a number")
        return default
    return float(value)
