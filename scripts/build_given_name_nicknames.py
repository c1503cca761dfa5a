"""Build services/enrich/data/given_name_nicknames.tsv from the English
name/nickname table of the ``nicknames`` package (Apache-2.0; hand-curated
by Carlton Northern and Nick Crews).

    pip download --no-deps -d /tmp/nicknames nicknames==1.0.1
    python scripts/build_given_name_nicknames.py /tmp/nicknames/nicknames-1.0.1-py3-none-any.whl

``nicknames/names.csv`` holds rows ``name,has_nickname,nickname``
("edward,has_nickname,ted"). We keep them as they are, lower-case, one line
per name with its nicknames. Run by a developer when the package moves;
nothing reads the wheel at run time.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

from _tables import write_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "services" / "enrich" / "data" / "given_name_nicknames.tsv"
MEMBER = "nicknames/names.csv"
HEADER = """\
# English given names and their nicknames: name<TAB>nicknames (space-separated),
# "edward<TAB>ed eddie eddy ned ted teddy".
# built by scripts/build_given_name_nicknames.py from nicknames 1.0.1's
# nicknames/names.csv (https://pypi.org/project/nicknames/, Apache License 2.0,
# Copyright Carlton Northern and Nick Crews).
"""


def build(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(MEMBER).decode("utf-8")
    table: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["relationship"] != "has_nickname":
            continue
        name, nickname = row["name1"].strip().lower(), row["name2"].strip().lower()
        if name and nickname and name != nickname and " " not in name + nickname:
            table.setdefault(name, set()).add(nickname)
    return [f"{name}\t{' '.join(sorted(nicks))}" for name, nicks in sorted(table.items())]


def main(argv: list[str]) -> int:
    return write_table(argv, __doc__, build, OUT, HEADER, "names with nicknames")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
