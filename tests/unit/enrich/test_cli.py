"""The `enrich` command on one document, offline (no Redis, no translator),
with the real models and real fixture files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import fixtures_dir
from wirestream.enrich_cli import enrich

app = typer.Typer()
app.command()(enrich)
# a second command keeps typer from collapsing the app into `enrich` itself
app.command("noop")(lambda: None)


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_plain_text_from_stdin_is_enriched_and_printed_as_json(runner: CliRunner) -> None:
    text = ("Fed holds interest rates as inflation cools\n"
            "WASHINGTON (AP) — The Federal Reserve kept its benchmark interest rate unchanged "
            "on Wednesday, Chair Jerome Powell said, as inflation in the United States cooled.")
    result = runner.invoke(app, ["enrich", "-", "--offline", "--no-translate"], input=text)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    enrichment = out["enrichment"]
    assert out["headline"].startswith("Fed holds")
    assert enrichment["language"]["code"] == "en"
    assert enrichment["translation"] is None
    names = {e["name"] for e in enrichment["entities"]}
    assert {"Jerome Powell", "Federal Reserve", "United States"} <= names
    assert enrichment["topics"][0]["code"] == "medtop:04000000"
    assert [p["name"] for p in enrichment["places"] if p["primary"]] == ["Washington"]
    assert enrichment["keywords"]
    assert enrichment["cluster_id"] is None  # offline: no shared index


def test_a_ninjs_fixture_goes_through_the_ingest_parser(runner: CliRunner) -> None:
    fixtures = fixtures_dir()
    if fixtures is None:
        pytest.skip("wire-format fixtures not found (WIRESTREAM_FIXTURES points nowhere)")
    path = fixtures / "ninjs" / "v2" / "2.1_ntb_text.json"
    result = runner.invoke(app, ["enrich", str(path), "--offline", "--no-translate"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["language"] == "no" or out["enrichment"]["language"]["code"] in ("nb", "no", "nn")
    topics = out["enrichment"]["topics"]
    provider = {t["source_code"]: t["code"] for t in topics if t["origin"].startswith("provider")}
    assert provider["13010000"] == "medtop:20000756"  # technology, mapped from the subject code
    assert provider["04011000"] == "medtop:04000000"


def test_missing_input_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["enrich", str(tmp_path / "nope.txt"), "--offline"])
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_many_documents_in_one_process_one_json_line_each(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "doc-1", "headline": "Bayern beat Dortmund 3-1",
                    "body_text": "Bayern Munich beat Borussia Dortmund 3-1 in the Bundesliga "
                                 "on Saturday."}),
        "this line is not JSON",
        json.dumps({"headline": "Le gouvernement présente son budget",
                    "body_text": "Le gouvernement français a présenté mercredi son projet de "
                                 "budget pour l'année prochaine.", "language": "fr"}),
        json.dumps({"title": "no headline or body"}),
    ]
    feed = tmp_path / "more.jsonl"
    feed.write_text(json.dumps({"headline": "Markets fall",
                                "body_text": "Stocks fell sharply on Wall Street."}) + "\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["enrich", "-", str(feed), "--jsonl", "--batch", "2",
                                 "--offline", "--no-translate"], input="\n".join(lines))
    # two input lines could not be read: exit 1, their error lines in place
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["id"] == "doc-1" and out[0]["enrichment"]["topics"]
    assert (out[1]["line"], out[1]["source"]) == (2, "-") and "JSON" in out[1]["error"]
    assert out[2]["enrichment"]["language"]["code"] == "fr"
    assert out[3]["line"] == 4 and "headline" in out[3]["error"]
    assert out[4]["headline"] == "Markets fall" and out[4]["enrichment"] is not None
    assert "2 input(s) could not be read" in result.stderr
