"""YAML for the project's data and configuration files, read with YAML 1.2's
booleans: only ``true`` and ``false`` are booleans. PyYAML's safe loader
follows YAML 1.1, where ``NO``, ``no``, ``on``, ``off``, ``y`` and ``n`` are
booleans too, so Norway's country code ``NO`` as a mapping key would become
``False``."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["safe_load"]


class _Loader(yaml.SafeLoader):
    pass


# SafeLoader's resolvers, less the YAML 1.1 boolean one, plus YAML 1.2's
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 booleans."""
    return yaml.load(text, Loader=_Loader)
