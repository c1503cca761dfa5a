"""The shape of the code (issue #19): the import-linter contracts of
pyproject.toml hold - shared imports neither the services nor the
composition root, the services never import the composition root, and no
service imports another."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(contracts["contracts"]) == 3
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


PROBE = """
import importlib, sys, typer
import wirestream.cli as cli
argv = {argv!r}
group = typer.main.get_command(cli.app)
group.get_command(group.make_context("wirestream", list(argv), resilient_parsing=True), argv[0])
if argv[0] == "worker":
    importlib.import_module(cli.STAGE_MODULES[argv[1]])
heavy = ("services", "trafilatura", "feedparser", "spacy", "lingua", "dateparser", "natasha")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def _loaded(*argv: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.split()


def test_a_worker_and_a_healthcheck_load_no_other_stage() -> None:
    """What `wirestream worker index` and `wirestream health ...` import
    before they run: the index stage and no other, no parser, no NLP; the
    health check no stage at all (the CLI imports the services' commands
    only when they are called)."""
    index = _loaded("worker", "index")
    assert "services.index.tasks" in index
    assert [m for m in index if not m.startswith("services")] == []  # no parser, no NLP
    assert not any(m.startswith(("services.ingest", "services.enrich")) for m in index), index
    assert _loaded("health", "worker", "index") == []
    assert "services.ingest.cli" in _loaded("parse", "x.xml")  # called: imported


def test_every_indexed_field_names_its_code_in_the_architecture_page() -> None:
    import re

    from services.index.mapping import ENTITY_TYPES, TEXT_LANGUAGES, mappings

    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([a-z_<>]+)`", row.split(" | ")[0])}
    for field in mappings()["properties"]:
        generic = re.sub(rf"^text_(?:{'|'.join(TEXT_LANGUAGES)})$", "text_<language>", field)
        generic = re.sub(rf"^entities_(?:{'|'.join(ENTITY_TYPES)})$", "entities_<type>", generic)
        assert generic in named, f"docs/architecture.md does not say where {field} comes from"
    for row in rows:
        code = row.split(" | ", 1)[1]
        for path in re.findall(r"`((?:services|shared|wirestream)/[\w/]+\.(?:py|yaml))`", code):
            assert (ROOT / path).exists(), path
