"""One-off promo lines and first-person author bios (issue #18, item 8):
the rules of the main languages drop them at the end of a story, and leave
story text that merely looks alike."""

from __future__ import annotations

import pytest

from services.ingest.text import strip_boilerplate


@pytest.mark.parametrize(("language", "story", "junk"), [
    ("en", "The minister said the plan would go ahead.",
     "Read more news on Telegram. Subscribe to our channel"),
    ("en", "The minister said the plan would go ahead.",
     "I am Jane Doe, a professional writer for Example Media with ten years of experience."),
    ("en", "The minister said the plan would go ahead.",
     "About the author: Jane Doe covers politics for Example Media."),
    ("de", "Der Minister sagte, der Plan werde umgesetzt.",
     "Ich bin Anna Schmidt, freie Autorin für Example Media seit 2010."),
    ("fr", "Le ministre a dit que le plan serait appliqué.",
     "Je suis Paul Martin, rédacteur web depuis 2015."),
    ("es", "El ministro dijo que el plan seguirá adelante.",
     "Soy Juan Pérez, periodista especializado en tecnología."),
    ("pt", "O ministro disse que o plano vai avançar.",
     "Sou Maria Silva, jornalista e redatora da Example há dez anos."),
])
def test_closing_promo_and_bios_go(language: str, story: str, junk: str) -> None:
    assert strip_boilerplate([story, junk], language) == [story]


@pytest.mark.parametrize(("language", "text"), [
    ("en", "We subscribe to the view that the channel is open, he said."),
    ("en", "I am not a writer, the witness told the court, but I saw it all."),
    ("pt", "Sou contra a medida, afirmou o ministro aos deputados."),
])
def test_story_text_that_looks_alike_stays(language: str, text: str) -> None:
    assert strip_boilerplate(["First paragraph.", text], language) == ["First paragraph.", text]
