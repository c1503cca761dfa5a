"""Build services/enrich/data/given_name_variants.tsv from the person-name
table of the ``rigour`` package (MIT; its names come from Wikidata, CC0).

    pip download --no-deps -d /tmp/rigour rigour==1.8.2
    python scripts/build_given_name_variants.py /tmp/rigour/rigour-1.8.2-py3-none-any.whl

``rigour/data/names/persons.txt`` maps the spellings of a name part, in many
scripts, to the Wikidata item of that name ("volodimir, volodymyr,
володимир ... => Q16282542"). We keep the items that are given names (one
Latin spelling is a given name of the gender-guesser table the enrich stage
reads), and of each item its one-word Latin and Cyrillic spellings, when two
or more are left. Run by a developer when the package moves; nothing reads
the wheel at run time.
"""

from __future__ import annotations

import re
import sys
import unicodedata
import zipfile
from pathlib import Path

from unidecode import unidecode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _tables import write_table  # noqa: E402

from services.enrich.given_names import _read_table, load_given_names  # noqa: E402
from services.enrich.names import is_latin  # noqa: E402

OUT = ROOT / "services" / "enrich" / "data" / "given_name_variants.tsv"
MEMBER = "rigour/data/names/persons.txt"
HEADER = """\
# Given-name spellings per Wikidata item: item<TAB>gender<TAB>spellings (space-
# separated); gender M or F when every spelling the gender-guesser table knows
# is that gender's only, else "?".
# built by scripts/build_given_name_variants.py from rigour 1.8.2's
# rigour/data/names/persons.txt (https://pypi.org/project/rigour/, MIT licence,
# Copyright (c) 2023-2025 OpenSanctions Datenbanken GmbH; the names are
# Wikidata's, CC0). Only given names, only Latin and Cyrillic one-word forms.
"""


def _script_ok(word: str) -> bool:
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith(("LATIN", "CYRILLIC"))
               for ch in word)


_HEAD = re.compile(r"^(1M|\?M|1F|\?F|M|F|\?)\s+(\S+)")


def _genders() -> dict[str, set[str]]:
    """Plain lower-case given name -> the genders the table gives it."""
    out: dict[str, set[str]] = {}
    for line in _read_table():
        head = _HEAD.match(line)
        if head and line[0] not in "#=":
            code, name = head.groups()
            gender = "M" if code.endswith("M") else "F" if code.endswith("F") else "?"
            out.setdefault(unidecode(name.replace("+", "")).lower(), set()).add(gender)
    return out


def build(wheel: Path) -> list[str]:
    given = load_given_names()
    genders = _genders()
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(MEMBER).decode("utf-8")
    rows = []
    for line in text.splitlines():
        names, _, item = line.rpartition(" => ")
        spellings = sorted({n for n in names.split(", ") if n and " " not in n and _script_ok(n)})
        if len(spellings) < 2 or not item.startswith("Q"):
            continue
        if not any(given.is_given(s.capitalize()) for s in spellings if is_latin(s)):
            continue
        known = set().union(*(genders.get(unidecode(sp).lower(), set()) for sp in spellings
                              if is_latin(sp)))
        gender = known.pop() if len(known) == 1 and known <= {"M", "F"} else "?"
        rows.append(f"{item}\t{gender}\t{' '.join(spellings)}")
    return rows


def main(argv: list[str]) -> int:
    return write_table(argv, __doc__, build, OUT, HEADER, "given names")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
