"""YAML for the project's data and configuration files, read with YAML 1.2's
booleans: only ``true`` and ``false`` are booleans. PyYAML's safe loader
follows YAML 1.1, where ``NO``, ``no``, ``on``, ``off``, ``y`` and ``n`` are
booleans too, so Norway's country code ``NO`` as a mapping key would become
``False``. A key written twice in one mapping is an error (PyYAML keeps
the last silently). :func:`load_table` also checks the shape every data table shares:
a mapping at the top, and only strings as keys at any depth (a number or
date as a key is a typo to fix, not data to guess at)."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["TableError", "load_table", "safe_load"]


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # a key written twice is refused: PyYAML would keep the last silently
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: the base class reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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


class TableError(ValueError):
    """A data table that is not what every table must be."""


def load_table(text: str, name: str) -> dict[str, Any]:
    """A data table (``name`` for messages): YAML 1.2, a mapping at the top,
    string keys at every depth. Raises :class:`TableError` (or
    ``yaml.YAMLError`` for a file that is not YAML)."""
    data = safe_load(text)
    if not isinstance(data, dict):
        raise TableError(f"{name}: expected a mapping at the top level")
    _string_keys(data, name, [])
    return data


def _string_keys(node: Any, name: str, where: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                path = "/".join(where) or "top level"
                raise TableError(f"{name}: key {key!r} ({type(key).__name__}) under {path} "
                                 "is not a string; quote it")
            _string_keys(value, name, [*where, key])
    elif isinstance(node, list):
        for n, value in enumerate(node):
            _string_keys(value, name, [*where, str(n)])
