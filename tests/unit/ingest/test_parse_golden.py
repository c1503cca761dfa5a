"""Golden-file tests: the normalised output of representative real documents.

Each case names a file (in the shared fixtures, or in tests/golden/inputs for
the documents we wrote ourselves) and the options a poller would pass. The
expected output lives in tests/golden/<name>.json; see _parsing.py for how to
regenerate (and then review) them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ._parsing import GOLDEN_INPUTS, check_golden, fixtures, parse_bytes

# (golden name, where, relative path, options)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    # RSS 2.0, English, rich HTML descriptions with Guardian boilerplate
    ("rss_guardian_us_en", "fixtures", "feeds/real/guardian-us_rss2_en_2018.rss", {}),
    # RSS 2.0, European Portuguese, ISO-8859-1, FeedBurner, items without a summary
    ("rss_jn_pt_latin1", "fixtures", "feeds/real/jn-ultimas_rss2_pt_2018_iso-8859-1.rss", {}),
    # RSS 2.0, Russian, windows-1251, default namespace
    (
        "rss_oren_ru_cp1251",
        "fixtures",
        "feeds/real/oren-ru_rss2_ru_2014_windows-1251.xml",
        {"lang": "ru"},
    ),
    # RSS 2.0, Simplified Chinese, GB2312, ISO 8601 pubDate
    ("rss_qq_zh_gb2312", "fixtures", "feeds/real/qq-tech_rss2_zh_2018_gb2312.xml", {}),
    # RSS 2.0 Russian with Yandex full-text and Turbo content
    ("rss_aif_ru", "fixtures", "feeds/real/aif_rss2_ru_2019.xml", {}),
    # Atom 1.0, German, escaped HTML content
    ("atom_heise_de", "fixtures", "feeds/real/heise-developer_atom_de_2016.atom", {"lang": "de"}),
    # JSON Feed 1.0 (no dates: fetched_at fallback, flagged)
    ("jsonfeed_example", "fixtures", "feeds/valid/jsonfeed_example.json", {}),
    # ninjs 1.x (AP copy), 2.x and 3.x (AP, dpa, NTB, TT, Business Wire)
    ("ninjs1_complex_ap", "fixtures", "ninjs/v1/1.4_ninjsExComplex1.json", {}),
    (
        "ninjs1_businesswire_zh",
        "fixtures",
        "ninjs/v1/1.4_businesswire-newsml-20130605006126.json",
        {},
    ),
    ("ninjs1_6_complex_text", "fixtures", "ninjs/v1/1.6_doc_005_complex_text_article.json", {}),
    ("ninjs2_ap_image", "fixtures", "ninjs/v2/2.1_ap_image.json", {}),
    ("ninjs2_dpa_text", "fixtures", "ninjs/v2/2.1_dpa_text.json", {}),
    ("ninjs2_ntb_text", "fixtures", "ninjs/v2/2.1_ntb_text.json", {}),
    ("ninjs3_tt_text_image", "fixtures", "ninjs/v3/3.0_tt_text_image_3.json", {}),
    (
        "ninjs3_nitf_body",
        "fixtures",
        "ninjs/v3/3.0_20231008-addb-anti-doping-tour-down-under-ninjs-nitf.json",
        {},
    ),
    (
        "ninjs3_event_timeline",
        "fixtures",
        "ninjs/v3/3.0_collection_20231016-event-timeline-sample.json",
        {},
    ),
    # NewsML-G2: IPTC newsItem (NITF body), packageItem, TT (no namespace), dpa
    (
        "g2_iptc_newsitem",
        "fixtures",
        "newsml-g2/iptc-examples/LISTING_02_NewsML-G2_Text_Document.xml",
        {},
    ),
    (
        "g2_iptc_packageitem",
        "fixtures",
        "newsml-g2/iptc-examples/LISTING_06_Simple_NewsML-G2_Package.xml",
        {},
    ),
    ("g2_tt_message", "fixtures", "newsml-g2/other-providers/TT_newsmlg2_sample_sv.xml", {}),
    # dpa German copy with an infobox, inline XHTML
    ("g2_dpa_infobox", "fixtures", "newsml-g2/dpa-digitalwires/with_infobox.newsmlg2.xml", {}),
    ("g2_dpa_embargoed", "fixtures", "newsml-g2/dpa-digitalwires/embargoed.newsmlg2.xml", {}),
    # NewsML 1.2 (AFP: NITF inside a ContentItem; Business Wire: roles, XHTML, the
    # original of the ninjs1_businesswire_zh conversion) and NITF 3.6 (NTB)
    ("newsml1_afp_en", "fixtures", "newsml-g2/related-formats/AFP_newsml-1.2_sample_en.xml", {}),
    (
        "newsml1_businesswire_zh",
        "fixtures",
        "ninjs/newsml1-sources/businesswire-newsml-20130605006126.xml",
        {},
    ),
    (
        "newsml1_businesswire_en",
        "fixtures",
        "ninjs/newsml1-sources/businesswire-newsml-20130731006140.xml",
        {},
    ),
    ("nitf_ntb_nb", "fixtures", "newsml-g2/related-formats/NTB_nitf-3.6_sample_nb.xml", {}),
    # documents we wrote: a news sitemap, a sitemap index, an article page
    ("sitemap_news", "inputs", "news_sitemap.xml", {}),
    ("sitemap_index", "inputs", "sitemap_index.xml", {}),
    (
        "html_article_en",
        "inputs",
        "article_en.html",
        {"base_url": "https://www.riverside-gazette.example/news/2024/05/harbour-bridge-reopens/"},
    ),
]


@pytest.mark.parametrize(("name", "where", "relpath", "options"), CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, where: str, relpath: str, options: dict[str, Any]) -> None:
    base: Path = fixtures() if where == "fixtures" else GOLDEN_INPUTS
    data = (base / relpath).read_bytes()
    result = parse_bytes(data, source="golden", **options)
    label = f"{'fixtures' if where == 'fixtures' else 'tests/golden/inputs'}/{relpath}"
    check_golden(name, label, options, result)
