"""The shape of the code (issue #19): the import-linter contracts of
pyproject.toml hold - shared imports neither the services nor the
composition root, the services never import the composition root, no
service imports another, no production module imports the developer's
tools, which the wheel leaves out, and no stage or port reaches a client
library or an adapter."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(contracts["contracts"]) == 5
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "5 kept, 0 broken" in result.stdout


def test_a_stage_that_reaches_a_client_through_a_helper_breaks_the_contract(
        tmp_path: Path) -> None:
    """The stage contract follows imports through other modules: the shared
    models starting to import the Redis dead-letter store drag every stage
    with them, and lint-imports says so."""
    for top in ("shared", "services", "wirestream"):
        shutil.copytree(ROOT / top, tmp_path / top,
                        ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    models = tmp_path / "shared" / "models.py"
    models.write_text(models.read_text() + "\nfrom shared.dlq import DeadLetterStore\n")
    # the copy first on the path, and no editable-install finder to reach
    # back into this tree
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "sys.meta_path[:] = [f for f in sys.meta_path "
             "if getattr(f, '__name__', '') != '_EditableFinder']; "
             "from importlinter.cli import lint_imports; "
             "sys.exit(lint_imports(no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "services.index.stage is not allowed to import redis" in result.stdout
    assert "4 kept, 1 broken" in result.stdout


def test_the_wheel_leaves_the_developer_tools_out() -> None:
    """The packages setuptools puts in the wheel (pyproject.toml's
    ``packages.find``, read the way setuptools reads it): every package of
    the tree except ``wirestream.dev`` (local services, demo, harness)."""
    from setuptools import find_namespace_packages

    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    find = found["packages"]["find"]
    packed = set(find_namespace_packages(str(ROOT), include=find["include"],
                                         exclude=find.get("exclude", ())))
    tree = {p.parent.relative_to(ROOT).as_posix().replace("/", ".")
            for top in ("shared", "services", "wirestream")
            for p in (ROOT / top).rglob("__init__.py")}
    assert {p for p in tree if p.startswith("wirestream.dev")} == {"wirestream.dev"}
    assert packed & tree == tree - {"wirestream.dev"}


def test_the_cli_without_the_developer_tools_lists_no_dev_command(tmp_path: Path) -> None:
    """As the image installs it, a tree without wirestream/dev: the
    operators' commands run, and ``services`` and ``demo`` are unknown
    commands rather than an ImportError."""
    for top in ("shared", "services", "wirestream"):
        shutil.copytree(ROOT / top, tmp_path / top,
                        ignore=shutil.ignore_patterns("__pycache__", "dev", "data"))
    # the copy first on the path, and no editable-install finder to reach
    # back into this tree: what a wheel install sees
    probe = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'wirestream'; "
             "sys.meta_path[:] = [f for f in sys.meta_path "
             "if getattr(f, '__name__', '') != '_EditableFinder']; "
             "from wirestream.cli import main; main()")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", probe, str(tmp_path), *argv],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              check=False)

    listed = run("--help")
    assert listed.returncode == 0, listed.stderr
    commands = set(re.findall(r"^│ (\w[\w-]*) ", listed.stdout.split("Commands")[1], re.M))
    assert {"health", "dlq", "worker", "status"} <= commands
    assert not commands & {"services", "demo"}
    missing = run("services", "status")
    assert missing.returncode == 2 and "No such command 'services'" in missing.stderr, (
        missing.stderr)
    assert "wirestream/dev" not in run("health", "--help").stdout


PROBE = """
import importlib, sys, typer
import wirestream.cli as cli
argv = {argv!r}
group = typer.main.get_command(cli.app)
group.get_command(group.make_context("wirestream", list(argv), resilient_parsing=True), argv[0])
if argv[0] == "worker":
    from wirestream.bootstrap import STAGE_MODULES
    assert set(STAGE_MODULES) == set(cli.STAGES)
    importlib.import_module(STAGE_MODULES[argv[1]])
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
