"""ANPA 1312 and IPTC 7901: the control-character wire formats agencies
still send over serial lines and FTP. One document may hold many messages;
each is ``SOH header STX text ETX trailer EOT`` and becomes one item.

ANPA 1312 (AP, Canadian Press, Bay City News, Reuters and others, each a
little differently). The header, after optional ``SYN SYN`` and ``SOH``:

* service level designator (one letter, optional), story number (four
  digits), an agency field of up to 15 bytes (UPI), then ``US`` (0x1F);
* selector code (up to 5 bytes) and a line end;
* priority letter, space, category letter, the format identifier (``DC3``
  or ``DC4``, then ``DC1`` or ``DC2``: body or agate, text or tabular);
* keyword (the slug, up to 24 bytes), version, reference, filing date
  (``MM-DD``), word count, separated by spaces (an empty field keeps its
  space), and a line end.

The text: heading lines start with ``^`` and end with ``<`` or ``=`` (the
first that is not a slug line is the headline; ``^By ...`` is the byline,
the heading after it a role such as "AP Business Writer" when it reads as
one, ``^Eds: ...`` a note to editors and not text); a line starting with
TAB or spaces opens a paragraph, a line without indent continues one, a
line starting with ``BS`` is a table row. The trailer line between ``ETX``
and ``EOT`` is the time stamp: ``AP-WF-10-31-14 1635GMT`` (AP),
``16:35ET 31-10-14`` (Canadian Press), ``16:35 10-31-14`` (Reuters).

IPTC 7901 (dpa, KNA, Belga, APA and others): after ``SOH`` a header line of
the service and message number run together (``bdt0012``), the priority
digit, the category (letters), the word count and optional information
(where an agency story id such as ``170123-89-00065#2`` may sit); then the
keyword line (words ended by ``/``); ``STX``; the headline, ended by ``=``
(lines in parentheses before it are notes: "(Eil)", "(Berichtigung: ...)");
the text, paragraphs separated by blank lines and wrapped lines joined; the
closing line of editor initials ("dpa kre/su yysw") dropped; ``ETX``; the
date-time group ``DDHHMM Mon YY`` in the agency's time (the source's
``timezone``); ``EOT``.

Codes as items carry them:

* priority: ANPA's letter becomes the IPTC urgency (flash 1, bulletin 2,
  urgent 3, regular 5, deferred 6, advance 7); 7901's digit is kept as
  sent (1 is the highest there too);
* category: a subject ``anpa-category:<letter>`` (named from AP's table) or
  ``iptc7901-category:<code>``;
* keyword/slug words become ``keywords``; a version ("2ndLd-Writethru",
  "take3", "#2") gives ``version``; a correction is flagged ``correction``.

Agencies bend both formats: detection falls back on the marks of each
(``^`` headings and time stamps; a ``=``-ended headline, a ``/``-ended
keyword line, a date-time group); teleprinter framing (``ZCZC`` ...
``NNNN``) stands for SOH ... EOT; a message saved without its SOH is read
when it opens with a header of either; a message without STX/ETX takes its
first lines as header; a header that does not read keeps the story, flagged
``header_unread`` (a message with neither header nor text is refused).

Text is decoded as UTF-8, else windows-1252 (a superset of the Latin-1
these files are in when not ASCII); the remaining control characters are
removed. The guid is the agency story id when the header has one, else
keyword (or service and number) and filing date, so a writethru replaces
the story it updates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from services.ingest.dates import parse_date
from shared.errors import ParseError
from shared.models import Subject

from ._build import Body, Context, Draft, Rejected

SOH, STX, ETX, EOT, US = "\x01", "\x02", "\x03", "\x04", "\x1f"

# A document is one of these when its first non-blank byte (after SYN
# fill, NUL padding and line ends) is SOH - or the teleprinter's ZCZC - and
# the message reads as one of them.
_LEAD = re.compile(rb"^[\x16\x00\r\n \t]*(?:\x01|ZCZC)")
_ANPA_HEAD = re.compile(rb"^[\x16\x00\r\n \t]*(?:\x01|ZCZC)[ \t]*[a-z]?\d{4}[^\x1f\r\n]{0,15}"
                        rb"\x1f")
_ANPA_FORMAT_ID = re.compile(rb"[\r\n]\w \w[\x13\x14]")
_IPTC7901_HEAD = re.compile(rb"^[\x16\x00\r\n \t]*(?:\x01|ZCZC)[ \t]*[A-Za-z]{1,8}\d{1,6} +\d +"
                            rb"[A-Za-z]{1,4} +\d{1,5}\b")
_CARET_HEADING = re.compile(rb"(?m)^[\t ]*\^\S")
_ANPA_STAMP = re.compile(rb"\d\d-\d\d-\d\d\s+\d\d:?\d\d\s*[A-Z]{1,4}"
                         rb"|\d\d:\d\d[A-Z]{1,4}\s+\d\d-\d\d")
_HEADLINE_EQUALS = re.compile(rb"(?m)\S ?=[ \t]*\r?$")
_DTG_BYTES = re.compile(rb"\b\d{6} [A-Za-z]{3} \d\d\b")
_SLUG_BYTES = re.compile(rb"(?m)^[^\x02\r\n]{1,80}/[ \t]*\r?$")


def starts_a_message(data: bytes) -> bool:
    """The document opens as a control-character wire message does."""
    return _LEAD.match(data[:512]) is not None


def detect(data: bytes) -> str | None:
    """``anpa1312``, ``iptc7901`` or None (not a control-character wire).
    Agencies bend both formats, so the header decides when it reads as one
    of them, else the marks of each in the first message: ANPA's ``^``
    headings and time stamp, 7901's ``=``-ended headline, ``/``-ended
    keyword line and date-time group."""
    head = data[:4096]
    if not _LEAD.match(head):
        return _bare(head)
    if _ANPA_HEAD.match(head) or _ANPA_FORMAT_ID.search(head[:300]):
        return "anpa1312"
    if _IPTC7901_HEAD.match(head):
        return "iptc7901"
    anpa = sum(bool(r.search(head)) for r in (_CARET_HEADING, _ANPA_STAMP))
    iptc = sum(bool(r.search(head)) for r in (_HEADLINE_EQUALS, _DTG_BYTES, _SLUG_BYTES))
    if anpa == iptc == 0:
        return None
    return "anpa1312" if anpa > iptc else "iptc7901"


# A message saved without its SOH (control characters stripped on the way,
# or a capture that starts at the header): a 7901 header line first, or an
# ANPA header's US separator, or STX ... ETX around ^ headings.
_BARE_7901 = re.compile(rb"^[\x16\x00\r\n \t]*[A-Za-z]{1,8}\d{1,6} +\d +[A-Za-z]{1,4} +\d{1,5}\b")
_BARE_ANPA = re.compile(rb"^[\x16\x00\r\n \t]*[a-z]?\d{4}[^\x1f\r\n]{0,15}\x1f")
_BARE_TEXT = re.compile(rb"^[^\x02<{\[]{0,300}\x02[\s\S]*\x03")


def _bare(head: bytes) -> str | None:
    """The format of a wire message that does not open with SOH or ZCZC,
    or None."""
    if _BARE_ANPA.match(head):
        return "anpa1312"
    if _BARE_7901.match(head):
        return "iptc7901"
    if _BARE_TEXT.match(head) and _CARET_HEADING.search(head):
        return "anpa1312"
    return None


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


_TELEPRINTER_START = re.compile(r"(?m)^[\x16\x00 \t]*ZCZC")
_TELEPRINTER_END = re.compile(r"(?m)^[ \t]*NNNN[ \t]*$")


def messages(text: str) -> list[str]:
    """The messages of a document, each from after its SOH to before its EOT
    (or the next SOH). A document without SOH that opens its messages with
    the teleprinter's ZCZC and ends them with NNNN is read the same way; one
    with neither is one message."""
    if SOH not in text:
        text = _TELEPRINTER_END.sub(EOT, _TELEPRINTER_START.sub(SOH, text))
    if SOH not in text:
        return [text.split(EOT, 1)[0]]  # one message saved without its SOH
    out = []
    for chunk in text.split(SOH)[1:]:
        out.append(chunk.split(EOT, 1)[0])
    return out


# control characters that are not line structure
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def _clean(line: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub("", line)).strip()


def _split_message(message: str, header_lines: int) -> tuple[str, str, str]:
    """(header, text, trailer) of one message: around STX and ETX; a message
    sent without them has its first ``header_lines`` non-blank lines as
    header (7901: one more when the next ends with "/", the keyword line)
    and no trailer but a last line that is a time stamp."""
    if STX in message:
        header, _, rest = message.partition(STX)
        text, _, trailer = rest.partition(ETX)
        return header, text, trailer
    lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    taken, head = 0, []
    while lines and taken < header_lines:
        line = lines.pop(0)
        head.append(line)
        taken += bool(line.strip())
    if lines and lines[0].rstrip().endswith("/") and header_lines == 1:
        head.append(lines.pop(0))
    text = "\n".join(lines)
    if ETX in text:
        text, _, trailer = text.partition(ETX)
        return "\n".join(head), text, trailer
    body_lines = text.rstrip().split("\n")
    last = body_lines[-1] if body_lines else ""
    if _is_stamp_line(last):
        return "\n".join(head), "\n".join(body_lines[:-1]), last
    return "\n".join(head), text, ""


# A trailer line is short: a stamp and at most an agency's prefix ("AP-WF-",
# "REUTER"); a body line that merely holds a date is longer.
_STAMP_LINE_MAX = 48


def _is_stamp_line(line: str) -> bool:
    """``line`` is a trailer by the patterns the trailer readers use (AP,
    Canadian Press, Reuters stamps; the 7901 date-time group)."""
    line = _clean(line)
    return len(line) <= _STAMP_LINE_MAX and any(
        pattern.search(line) for pattern in (_AP_STAMP, _CP_STAMP, _REUTERS_STAMP, _DTG))


# --- ANPA 1312 --------------------------------------------------------------

ANPA_PRIORITY = {"f": 1, "b": 2, "u": 3, "r": 5, "d": 6, "h": 6, "a": 7, "s": 7}

# AP's category codes
ANPA_CATEGORY = {
    "a": "domestic general news", "b": "special events", "c": "standing features",
    "d": "national news summary", "e": "entertainment", "f": "business and finance",
    "g": "state news summary", "h": "national headlines", "i": "international news",
    "j": "state headlines", "k": "commentary and editorials", "l": "lifestyle",
    "m": "agriculture", "n": "state and regional news", "o": "weather",
    "p": "politics", "q": "sports results", "r": "radio billboards", "s": "sports",
    "t": "television billboards", "v": "advisories", "w": "Washington news",
}

_ANPA_HEADER = re.compile(
    r"^[\x16\x00\r\n \t]*(?P<sld>[a-z]?)(?P<number>\d{4})(?P<agency>[^\x1f\r\n]{0,15})\x1f"
    r"(?P<selector>[^\r\n]{0,8})[\r\n]+"
    r"(?P<priority>\w) (?P<category>\w)[\x13\x14]?[\x11\x12]?"
    r"(?P<fields>[^\r\n]*)", re.S)
# a header bent out of shape: the priority/category line, wherever it is
_ANPA_LOOSE = re.compile(r"(?m)^\s*(\w) (\w)[\x13\x14][\x11\x12]?([^\r\n]*)")
_ANPA_NUMBER = re.compile(r"[a-z]?\d{4}")
_FILING_DATE = re.compile(r"^(\d\d)-(\d\d)$")
# "BC-Fed-Rates,2nd Ld-Writethru,0412": slug, version, word count
_SLUG_LINE = re.compile(r"^[A-Za-z]{1,3}-[\w/&'.-]+(?:,.*)?$|^[\w/&'.-]+,.*\d{2,5}$")
_HEADING_END = re.compile(r"[<=@]+$")
_ROLE = re.compile(r"\b(?:Writer|Correspondent|Editor|Reporter|Columnist|Associated Press|"
                   r"Staff|Bureau)\b")
_VERSION = re.compile(r"(\d+)(?:st|nd|rd|th)?\s*-?\s*(?:Ld|Lead|Writethru|Add|Take)|"
                      r"(?:take|add|writethru|ld)\s*-?\s*(\d+)", re.I)
_CORRECTION = re.compile(r"\b(?:corr(?:ection|ects|ective)?|correx|berichtigung|korr)\b", re.I)

_ZONES = {"GMT": 0, "UTC": 0, "UT": 0, "Z": 0, "EST": -5, "EDT": -4, "ET": -5, "CST": -6,
          "CDT": -5, "CT": -6, "MST": -7, "MDT": -6, "MT": -7, "PST": -8, "PDT": -7, "PT": -8,
          "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5, "CET": 1, "CEST": 2}
# AP-WF-10-31-14 1635GMT; 10-31-14 1635EST
_AP_STAMP = re.compile(r"(\d\d)-(\d\d)-(\d\d)\s+(\d\d):?(\d\d)\s*([A-Z]{1,4})\b")
# Canadian Press: 16:35ET 31-10-14
_CP_STAMP = re.compile(r"(\d\d):(\d\d)([A-Z]{1,4})\s+(\d\d)-(\d\d)-(\d\d)")
# Reuters: 16:35 10-31-14
_REUTERS_STAMP = re.compile(r"(\d\d):(\d\d)\s+(\d\d)-(\d\d)-(\d\d)")


def _stamp(trailer: str) -> datetime | None:
    line = _clean(trailer)
    try:
        if match := _AP_STAMP.search(line):
            month, day, year, hour, minute, zone = match.groups()
            return _at(year, month, day, hour, minute, zone)
        if match := _CP_STAMP.search(line):
            hour, minute, zone, day, month, year = match.groups()
            return _at(year, month, day, hour, minute, zone)
        if match := _REUTERS_STAMP.search(line):
            hour, minute, month, day, year = match.groups()
            return _at(year, month, day, hour, minute, None)
    except ValueError:  # 02-31, 25:00
        return None
    return None


def _at(year: str, month: str, day: str, hour: str, minute: str,
        zone: str | None) -> datetime | None:
    naive = datetime(2000 + int(year), int(month), int(day), int(hour), int(minute))
    if zone is None or zone not in _ZONES:
        return parse_date(naive.isoformat())  # the source's time zone
    return (naive - timedelta(hours=_ZONES[zone])).replace(tzinfo=UTC)


def _version(*values: str) -> int | None:
    for value in values:
        if match := _VERSION.search(value):
            return int(match.group(1) or match.group(2))
    return None


def _anpa_fields(fields: str) -> tuple[str, list[str], str | None]:
    """(keyword, [version, reference], filing date) of the header's last line."""
    tokens = [t for t in _clean(fields).split(" ") if t]
    filing = None
    if tokens and re.fullmatch(r"\d{1,5}", tokens[-1]):
        tokens.pop()  # word count
    if tokens and _FILING_DATE.match(tokens[-1]):
        filing = tokens.pop()
    keyword = tokens.pop(0) if tokens else ""
    return keyword, tokens, filing


def _paragraphs_anpa(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in lines:
        if raw.startswith("\x08"):  # a table row: its cells as they are
            close()
            row = "\t".join(c for c in (_clean(c) for c in raw[1:].split("\t")) if c)
            if row:
                paragraphs.append(row)
            continue
        line = _clean(raw)
        if not line:
            close()
            continue
        if raw[:1] in ("\t", " ") or not current:
            close()
        current.append(line)
    close()
    return paragraphs


def _anpa_draft(message: str, ctx: Context) -> Draft | Rejected:
    header, text, trailer = _split_message(message, 2)
    match = _ANPA_HEADER.match(header)
    draft = Draft()
    if match is not None:
        keyword, extra, filing = _anpa_fields(match.group("fields"))
        number = f"{match.group('sld')}{match.group('number')}"
        codes = match.group("priority", "category")
    else:  # an agency's own header: what can be read of it, and a flag
        draft.flags.append("header_unread")
        loose = _ANPA_LOOSE.search(header)
        keyword, extra, filing = _anpa_fields(loose.group(3)) if loose else ("", [], None)
        found = _ANPA_NUMBER.search(header)
        number = found.group(0) if found else ""
        codes = loose.group(1, 2) if loose else ("", "")
    heading: list[str] = []
    body_lines: list[str] = []
    notes: list[str] = []
    byline_at = -1
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = raw.lstrip("\t ")
        if stripped.startswith("^"):
            line = _clean(_HEADING_END.sub("", stripped[1:].rstrip()))
            if not line:
                continue
            if re.match(r"(?i)eds?\b[:.]?", line):
                notes.append(line)
            elif re.match(r"(?i)by\s", line) and draft.byline is None:
                draft.byline, byline_at = line, len(heading)
            elif draft.byline is not None and byline_at == len(heading) and _ROLE.search(line) \
                    and len(line) <= 60 and draft.byline_role is None:
                draft.byline_role = line
            elif draft.headline is None and not _SLUG_LINE.match(line) \
                    and not (keyword and line.lower().startswith(keyword.lower())):
                draft.headline = Body(line, "text")
                heading.append(line)
            else:
                heading.append(line)
            continue
        body_lines.append(raw)
    paragraphs = _paragraphs_anpa(body_lines)
    if draft.headline is None and paragraphs:
        # Reuters and Bloomberg send no ^ headings: the first short line
        first = paragraphs[0]
        if len(first) <= 160 and not first.endswith((".", ":", ",")):
            draft.headline = Body(paragraphs.pop(0), "text")
    if paragraphs:
        draft.body = Body(paragraphs, "paragraphs")
    draft.published = _stamp(trailer)
    if draft.published is None and filing is not None:
        draft.published = _filing_date(filing, ctx)
    day = draft.published.strftime("%Y-%m-%d") if draft.published else (filing or "")
    if keyword or number:
        draft.guid = f"anpa:{keyword or number}:{day}"
    draft.urgency = ANPA_PRIORITY.get(codes[0].lower())
    category = codes[1].lower()
    if category:
        draft.subjects = [Subject(code=f"anpa-category:{category}", scheme="anpa-category",
                                  name=ANPA_CATEGORY.get(category), origin="provider")]
    if "header_unread" in draft.flags and draft.body is None:
        return Rejected("bad_header", f"not an ANPA 1312 header: {_clean(header)[:80]!r}")
    if keyword:
        draft.keywords = [keyword]
    draft.version = _version(*extra, *heading)
    if any(_CORRECTION.search(v) for v in (*extra, *notes)):
        draft.flags.append("correction")
    if notes:
        draft.flags.append("editors_note")
    return draft


def _filing_date(filing: str, ctx: Context) -> datetime | None:
    """``MM-DD`` of the fetch year (of the year before when that is more
    than a day ahead of the fetch)."""
    month, day = (int(x) for x in filing.split("-"))
    for year in (ctx.fetched_at.year, ctx.fetched_at.year - 1):
        try:
            when = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
        if when <= ctx.fetched_at + timedelta(days=1):
            return when
    return None


# --- IPTC 7901 --------------------------------------------------------------

_IPTC_HEADER = re.compile(
    r"^[\x16\x00\r\n \t]*(?P<service>[A-Za-z]{1,8})(?P<number>\d{1,6}) +(?P<priority>\d) +"
    r"(?P<category>[A-Za-z]{1,4}) +(?P<words>\d{1,5})\b(?P<optional>[^\r\n]*)")
_STORY_ID = re.compile(r"\b(\d{6}-\d{2}-\d{3,6})(?:#(\d+))?")
_DTG = re.compile(r"(\d\d)(\d\d)(\d\d)\s+([A-Za-z]{3})\s+(\d\d)")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MONTHS.update({"mrz": 3, "mär": 3, "mai": 5, "okt": 10, "dez": 12, "fev": 2, "avr": 4,
                "aou": 8, "déc": 12, "dic": 12, "ene": 1, "abr": 4, "ago": 8, "set": 9})
_CLOSING = re.compile(r"^(?:\./\.\S*|[\w.]{2,8}(?: [\w/.äöüé-]{1,12}){1,8})$")
_NOTE_LINE = re.compile(r"^\(.*\)$")
_BYLINE = re.compile(r"^(?:Von|By|De|Par|Por|Di|Av|Door|Af)\s+\S", re.I)


def _dtg(trailer: str) -> datetime | None:
    match = _DTG.search(_clean(trailer))
    if match is None:
        return None
    day, hour, minute, month, year = match.groups()
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    try:
        naive = datetime(2000 + int(year), number, int(day), int(hour), int(minute))
    except ValueError:
        return None
    return parse_date(naive.isoformat())  # the agency's time: the source's zone


def _blocks(text: str) -> list[list[str]]:
    """Blank-line separated blocks of cleaned lines."""
    blocks: list[list[str]] = [[]]
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _clean(raw)
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _iptc_draft(message: str, ctx: Context) -> Draft | Rejected:
    header, text, trailer = _split_message(message, 1)
    head_lines = [_clean(x) for x in header.replace("\r", "\n").split("\n")]
    match = _IPTC_HEADER.match(header.lstrip("\r\n"))
    draft = Draft()
    if match is not None:
        optional = _clean(match.group("optional"))
        slug = next((x for x in [x for x in head_lines if x][1:]), "")
        draft.urgency = int(match.group("priority"))
        category = match.group("category")
        number = f"{match.group('service')}{match.group('number')}"
    else:  # an agency's own header: the keyword line still reads, and a flag
        draft.flags.append("header_unread")
        optional, category, number = " ".join(head_lines), "", ""
        slug = next((x for x in head_lines if x.endswith("/")), "")
    draft.keywords = [w.strip() for w in slug.split("/") if w.strip()]
    lines = [line for block in _blocks(text) for line in ([*block, ""])]
    headline: list[str] = []
    notes: list[str] = []
    rest_at = len(lines)
    for index, line in enumerate(lines):
        if not line:
            if headline:
                rest_at = index + 1
                break
            continue
        if not headline and _NOTE_LINE.match(line):
            notes.append(line)
            continue
        headline.append(line.rstrip("= ").rstrip())
        if line.endswith("="):
            rest_at = index + 1
            break
    blocks = _blocks("\n".join(lines[rest_at:]))
    paragraphs = [" ".join(block) for block in blocks]
    if paragraphs and _BYLINE.match(paragraphs[0]) and len(paragraphs[0]) <= 80:
        draft.byline = paragraphs.pop(0)
    if paragraphs and _CLOSING.match(paragraphs[-1]) and not paragraphs[-1].endswith("."):
        paragraphs.pop()  # editor initials: "dpa kre/su yysw a3"
    elif paragraphs and paragraphs[-1].startswith("./."):
        paragraphs.pop()
    if headline and any(headline):
        draft.headline = Body(" ".join(h for h in headline if h), "text")
    if paragraphs:
        draft.body = Body(paragraphs, "paragraphs")
    draft.published = _dtg(trailer)
    if category:
        draft.subjects = [Subject(code=f"iptc7901-category:{category}",
                                  scheme="iptc7901-category", name=category, origin="provider")]
    story = _STORY_ID.search(optional)
    if story is not None:
        draft.guid = f"iptc7901:{story.group(1)}"
        draft.version = int(story.group(2)) if story.group(2) else None
    else:
        day = draft.published.strftime("%Y-%m-%d") if draft.published else ""
        if draft.keywords or number:
            draft.guid = f"iptc7901:{'/'.join(draft.keywords) or number}:{day}"
        draft.version = _version(optional, *notes)
    if "header_unread" in draft.flags and draft.body is None:
        return Rejected("bad_header", f"not an IPTC 7901 header: {_clean(header)[:80]!r}")
    if any(_CORRECTION.search(v) for v in (optional, *notes)) or re.search(
            r"\bCOR\b", optional):
        draft.flags.append("correction")
    return draft


def iter_drafts(data: bytes, fmt: str, ctx: Context) -> list[Draft | Rejected]:
    found = messages(decode(data))
    if not found:
        raise ParseError(f"no {fmt} message (SOH ... EOT) in the document",
                         reason="unknown_format")
    make = _anpa_draft if fmt == "anpa1312" else _iptc_draft
    out: list[Draft | Rejected] = []
    for message in found:
        if not _clean(message):
            continue
        draft = make(message, ctx)
        if isinstance(draft, Draft) and draft.headline is None and draft.body is None:
            out.append(Rejected("empty_message", "a message with no headline and no text",
                                guid=draft.guid))
            continue
        out.append(draft)
    return out
