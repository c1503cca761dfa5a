"""Names of the wirestream indices, aliases and templates, all derived from
one prefix (``WIRESTREAM_ES__INDEX_PREFIX``, default ``wirestream-news``).

==========================  =================================================
``<prefix>``                read alias: every live index, filtered (kills and
                            stories under embargo never match). Consumers
                            search here and nowhere else.
``<prefix>-write``          write alias: the same indices, unfiltered. The
                            indexer reads the live *generation* from it.
``<prefix>-v<G>-<YYYY.MM>`` concrete index of generation ``G`` holding the
                            stories first created in that month.
``<prefix>-v<G>``           index template of generation ``G``.
``<prefix>-entities``       the entity directory: which entity ids are one
                            entity now (services.index.adapters.entity_directory).
==========================  =================================================

A generation is one complete copy of the data built from one template;
``wirestream index migrate`` builds generation ``G+1`` and swaps both aliases
to it in one atomic ``_aliases`` call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

__all__ = ["IndexNames", "month_of"]


def month_of(moment: datetime) -> str:
    """The month suffix of the index a story created at ``moment`` lives in."""
    return f"{moment:%Y.%m}"


@dataclass(frozen=True)
class IndexNames:
    prefix: str

    @property
    def read_alias(self) -> str:
        return self.prefix

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-write"

    @property
    def entities(self) -> str:
        return f"{self.prefix}-entities"

    def template(self, generation: int) -> str:
        return f"{self.prefix}-v{generation}"

    def pattern(self, generation: int) -> str:
        return f"{self.prefix}-v{generation}-*"

    @property
    def any_generation(self) -> str:
        """Wildcard over the concrete indices of every generation."""
        return f"{self.prefix}-v*-*"

    def index(self, generation: int, month: str) -> str:
        return f"{self.prefix}-v{generation}-{month}"

    def parse(self, index: str) -> tuple[int, str] | None:
        """``(generation, month)`` of one of our concrete index names, else None."""
        match = re.fullmatch(
            rf"{re.escape(self.prefix)}-v(\d+)-(\d{{4}}\.\d{{2}})", index
        )
        if match is None:
            return None
        return int(match.group(1)), match.group(2)
