"""ISO 639-1 <-> ISO 639-3 language codes, from pycountry's tables.

The detector and the document model speak ISO 639-1 (``es``); Apertium APy
names its pairs in ISO 639-3 (``spa|eng``), sometimes with a variant suffix
(``cat_valencia``, ``eng_US``). :func:`candidates_639_3` gives the codes a
backend may use for a document language, most specific first: the individual
language, then the macrolanguage APy packages some languages under
(Serbian/Croatian/Bosnian -> ``hbs``, Norwegian -> ``nob``).
"""

from __future__ import annotations

from functools import cache

import pycountry

__all__ = ["base_code", "candidates_639_3", "to_639_1", "to_639_3"]

# Where APy's pair uses a macrolanguage or a sibling code the 639-1 code does
# not map to in pycountry. Extra candidates only; the direct code comes first.
_EXTRA_639_3: dict[str, tuple[str, ...]] = {
    "sr": ("hbs",),
    "hr": ("hbs",),
    "bs": ("hbs",),
    "sh": ("hbs",),
    "no": ("nob", "nno"),
    "nb": ("nor",),
    "nn": ("nor",),
    "ms": ("zlm",),
}


def base_code(code: str) -> str:
    """``pt-BR`` -> ``pt``; ``cat_valencia`` -> ``cat``; lower case."""
    return code.replace("-", "_").split("_", 1)[0].strip().lower()


@cache
def to_639_3(code: str) -> str | None:
    """ISO 639-1 (or an already 3-letter code) -> ISO 639-3, or None."""
    code = base_code(code)
    if len(code) == 3:
        return code if pycountry.languages.get(alpha_3=code) is not None else None
    if len(code) != 2:
        return None
    language = pycountry.languages.get(alpha_2=code)
    return str(language.alpha_3) if language is not None else None


@cache
def to_639_1(code: str) -> str | None:
    """ISO 639-3 (or 639-2/B, or 639-1) -> ISO 639-1, or None when the
    language has no two-letter code."""
    code = base_code(code)
    if len(code) == 2:
        return code
    language = pycountry.languages.get(alpha_3=code)
    if language is None:
        bibliographic = pycountry.languages.get(bibliographic=code)
        language = bibliographic
    alpha_2 = getattr(language, "alpha_2", None) if language is not None else None
    return str(alpha_2) if alpha_2 else None


def candidates_639_3(code: str) -> tuple[str, ...]:
    """The 639-3 codes a backend might list for this document language."""
    first = to_639_3(code)
    extra = _EXTRA_639_3.get(base_code(code), ())
    out = ([first] if first else []) + [c for c in extra if c != first]
    return tuple(out)
