"""Text hygiene for ingested documents: HTML to text, Unicode clean-up and
boilerplate removal. Pure functions, no I/O except :func:`load_boilerplate_rules`
reading its YAML files (call it once at start-up and inject the result).

Contract callers may rely on:

* :func:`html_to_text` and :func:`plain_to_text` return paragraphs separated by
  exactly one blank line (``"\\n\\n"``); a single ``"\\n"`` inside a paragraph is
  a line break the source asked for (``<br>``). No paragraph is empty, none has
  leading or trailing spaces, and runs of spaces are collapsed.
* Every returned string is NFC-normalised and free of control characters
  (except ``"\\n"``), lone surrogates, zero-width and other invisible format
  characters; every Unicode space (no-break, thin, ideographic ...) becomes a
  plain ``" "``.
* HTML entities are decoded (by the HTML parser); markup never leaks into text.
  Scripts, styles, forms, navigation, figures/images, ``<header>`` blocks and
  elements whose class marks them as sharing/newsletter/related-content
  widgets are dropped together with their text.
* Boilerplate rules are data (``boilerplate.yaml`` beside this package, plus any
  operator files). A rule removes a whole paragraph (``drop``) or the matched
  part of it (``cut``), anywhere or only in the trailing paragraphs (``tail``).
  Rules are applied to the item's primary language plus the ``"*"`` rules;
  when the language is unknown, every language's rules apply.

The package's modules, by job: ``_clean`` (Unicode and plain text),
``_html`` (markup to paragraphs), ``_rules`` (the boilerplate rules and how
they run), ``_gates`` (what a rule's regex needs, read from its parse tree).
"""

from __future__ import annotations

from services.ingest.text._clean import (
    PARAGRAPH_SEP,
    clean_text,
    join_paragraphs,
    plain_to_paragraphs,
    plain_to_text,
    remove_link_markers,
    remove_shortcodes,
    single_line,
    typographic_names,
)
from services.ingest.text._html import element_to_paragraphs, html_to_paragraphs, html_to_text
from services.ingest.text._rules import (
    DEFAULT_BOILERPLATE_PATH,
    BoilerplateRule,
    BoilerplateRules,
    default_boilerplate_rules,
    load_boilerplate_rules,
    strip_boilerplate,
)

__all__ = [
    "DEFAULT_BOILERPLATE_PATH",
    "PARAGRAPH_SEP",
    "BoilerplateRule",
    "BoilerplateRules",
    "clean_text",
    "default_boilerplate_rules",
    "element_to_paragraphs",
    "html_to_paragraphs",
    "html_to_text",
    "join_paragraphs",
    "load_boilerplate_rules",
    "plain_to_paragraphs",
    "plain_to_text",
    "remove_link_markers",
    "remove_shortcodes",
    "single_line",
    "strip_boilerplate",
    "typographic_names",
]
