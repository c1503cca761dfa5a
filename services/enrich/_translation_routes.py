"""Routes into a target language over a backend's pairs, pivoting when needed.

Debian packages Apertium pairs into English for few languages; many more go
into Spanish (``por|spa``, ``ita|spa``, ``fra|spa``, ``ron|spa``). A route is
the chain of pairs a text goes through, named by its languages joined with
``|``: ``spa|eng`` (direct) or ``por|spa|eng`` (through the pivot ``spa``).
:func:`plan_routes` is pure: the pair list in, the shortest route per source
language out.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from services.enrich.langcodes import base_code

__all__ = ["MAX_LEGS", "legs", "plan_routes"]

# Each leg loses a little (a word sense, an idiom, a name taken for a noun)
# and costs a full pipeline run: one pivot is worth it, two are not.
MAX_LEGS = 2


def legs(route: str) -> list[str]:
    """``por|spa|eng`` -> ``["por|spa", "spa|eng"]``; a pair is one leg."""
    codes = route.split("|")
    if len(codes) < 2 or not all(codes):
        raise ValueError(f"not a route: {route!r}")
    return [f"{a}|{b}" for a, b in pairwise(codes)]


def plan_routes(
    pairs: Iterable[tuple[str, str]], target: str, *, max_legs: int = MAX_LEGS
) -> dict[str, str]:
    """Source language (as the backend names it) -> the shortest route into
    ``target`` of at most ``max_legs`` pairs.

    Contract: a direct pair always wins; among routes of equal length the
    one whose last leg ends in the plain ``target`` (``eng``, not
    ``eng_US``) wins, then the alphabetically first pivot, so the choice is
    stable across restarts (cache keys include the route). Sources with a
    variant suffix (``cat_valencia``) and the target language itself get no
    route; variant targets (``eng_US``) are used only when the plain one is
    not listed, and are never pivots."""
    succ: dict[str, set[str]] = {}
    for source, dest in pairs:
        if "_" in source or source == dest:
            continue
        succ.setdefault(source, set()).add(dest)

    def rank(route: list[str]) -> tuple[int, bool, list[str]]:
        return (len(route), route[-1] != target, route)

    # breadth first over plain languages; a route ends on the first leg
    # reaching the target (or a variant of it)
    best: dict[str, list[str]] = {}
    for source in succ:
        if base_code(source) == base_code(target):
            continue
        frontier = [[source]]
        found: list[list[str]] = []
        for _ in range(max_legs):
            nxt: list[list[str]] = []
            for path in frontier:
                for dest in succ.get(path[-1], ()):
                    if base_code(dest) == base_code(target):
                        found.append([*path, dest])
                    elif "_" not in dest and dest not in path:
                        nxt.append([*path, dest])
            if found:
                break
            frontier = nxt
        if found:
            best[source] = min(found, key=rank)
    return {source: "|".join(route) for source, route in best.items()}
