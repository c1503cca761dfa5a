"""Reading the data files the project ships (built by scripts/, committed)."""

from __future__ import annotations

import gzip
from pathlib import Path

from shared.errors import ConfigError

__all__ = ["gzipped_text"]


def gzipped_text(path: Path, what: str, builder: str) -> str:
    """The UTF-8 text of the gzip file ``path`` (``what``: its name in
    errors), or a ConfigError saying it is missing (and that ``builder``
    builds it) or unreadable."""
    try:
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} {path} is missing ({builder} builds it)") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is unreadable: {exc}") from exc
