"""Page metadata defects seen on real pages, short briefs and paywalled teasers: one small
hand-written fixture page per case in fixtures/pages/meta/ (none copied from the bench sets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from transforms.bylines import split_byline
from transforms.extraction import Extraction, extract_page
from transforms.pageclass import Access, PageClass, ends_at_paywall
from transforms.pagemeta import pick_headline, strip_site_name

META = Path(__file__).parent / "fixtures" / "pages" / "meta"
URL = "https://www.dailyexample.com/news/flood-barrier"


def extract(name: str) -> Extraction:
    return extract_page((META / name).read_bytes(), "text/html; charset=utf-8", URL)


def test_entities_in_json_ld_headline_are_decoded() -> None:
    e = extract("entity_headline.html")
    assert e.title == "Biden\u2019s river plan & the towns it skips"


def test_placeholder_date_does_not_hide_the_meta_date() -> None:
    e = extract("placeholder_date.html")
    assert e.published_at == datetime(2024, 5, 2, 7, 30, tzinfo=UTC)
    assert e.published_source == "meta"
    assert e.modified_at is None  # 1970-01-01 is a placeholder too


def test_article_published_meta_is_read() -> None:
    e = extract("article_published_meta.html")
    assert e.published_at == datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
    assert e.published_source == "meta"


def test_json_ld_with_trailing_commas_is_read() -> None:
    e = extract("trailing_comma.html")
    assert e.published_at == datetime(2024, 7, 4, 12, 0, tzinfo=UTC)
    assert e.published_source == "json-ld"
    assert e.title == "Flood barrier opens after four years"
    assert e.authors == ("Jane Doe",)


@pytest.mark.parametrize(("name", "expected"), [
    ("claimreview.html", datetime(2024, 8, 5, tzinfo=UTC)),
    ("liveblog.html", datetime(2024, 9, 6, 5, 0, tzinfo=UTC)),
])
def test_news_types_beyond_news_article_give_their_date(name: str, expected: datetime) -> None:
    e = extract(name)
    assert e.published_at == expected
    assert e.published_source == "json-ld"


def test_date_written_into_the_title_is_found_without_structured_data() -> None:
    # No JSON-LD, no date meta, no <time>: "Headline | Outlet | 03.06.2024" (day first).
    e = extract("title_date.html")
    assert e.published_at == datetime(2024, 6, 3, tzinfo=UTC)
    assert e.published_source == "meta"
    assert e.title == "Hochwasserschutz: Neue Sperre am Fluss"


def test_modified_date_skips_a_placeholder_and_language_is_declared_and_detected() -> None:
    e = extract("modified_language.html")
    assert e.published_at == datetime(2024, 10, 7, 4, 0, tzinfo=UTC)
    assert e.modified_at == datetime(2024, 10, 8, 7, 15, tzinfo=UTC)  # meta, not 0001-01-01
    assert e.declared_language == "fr-FR"
    assert e.language == "fr"
    assert e.title == "La digue du fleuve est ouverte"


def test_byline_prefix_and_role_suffix_are_stripped() -> None:
    assert extract("ap_byline.html").authors == ("JANE DOE",)


def test_organisation_is_not_listed_beside_people() -> None:
    e = extract("organisation_author.html")
    assert e.authors == ("Jane Doe", "John Roe")


def test_organisation_alone_stays_the_byline() -> None:
    # The ClaimReview fixture names only an organisation: it is the byline there.
    assert extract("claimreview.html").authors == ("Example Fact Check",)


def test_site_name_suffix_is_stripped_from_title() -> None:
    assert extract("site_name_title.html").title == "Flood barrier opens after four years"



def test_kicker_in_the_json_ld_headline_is_dropped_when_og_title_gives_it_without() -> None:
    # JSON-LD and <title> carry "Harbour works: " before the headline, the <h1> shows it in a
    # span; OpenGraph states the headline alone.
    assert extract("kicker_headline.html").title == "Ferry service resumes after storm damage"


def test_separator_most_sources_give_wins_and_a_bare_h1_is_no_kicker_evidence() -> None:
    # JSON-LD "Harbour works - Ferry ...", OpenGraph and <title> "Harbour works: Ferry ...";
    # the <h1> leaves the kicker to a paragraph above it, which does not make it the headline.
    e = extract("separator_headline.html")
    assert e.title == "Harbour works: Ferry service resumes after storm damage"


LONG = "Harbour works: Ferry service resumes after storm damage"
SHORT = "Ferry service resumes after storm damage"


@pytest.mark.parametrize(("candidates", "expected"), [
    ([("json-ld", LONG), ("og", SHORT)], SHORT),
    ([("json-ld", LONG), ("twitter", SHORT), ("h1", LONG)], SHORT),
    ([("json-ld", "MSV-Trainer Schubert: no time to lose"),
      ("og", "Trainer Schubert: no time to lose")], "Trainer Schubert: no time to lose"),
    # Only the <h1> or the <title> lacks the kicker: no evidence, the JSON-LD headline stays.
    ([("json-ld", LONG), ("h1", SHORT)], LONG),
    ([("json-ld", LONG), ("og", LONG), ("title", SHORT)], LONG),
    # A shorter SEO variant that starts mid-sentence is not a kicker removed.
    ([("json-ld", "In a late meeting, council approves the harbour plan"),
      ("og", "council approves the harbour plan")],
     "In a late meeting, council approves the harbour plan"),
    ([("json-ld", 'Minister says "We will build the barrier"'),
      ("og", '"We will build the barrier"')], 'Minister says "We will build the barrier"'),
    # Too little left without the kicker to be a headline.
    ([("json-ld", "Storm: Ferry resumes"), ("og", "Ferry resumes")], "Storm: Ferry resumes"),
    # Same words, another separator: the form most sources give.
    ([("json-ld", "Harbour works - Ferry service resumes"),
      ("og", "Harbour works: Ferry service resumes"),
      ("title", "Harbour works: Ferry service resumes")], "Harbour works: Ferry service resumes"),
    # Dash kinds, quote kinds, capitals and a trailing "..." are not another separator.
    ([("json-ld", "I left the city \u2013 two years alone"),
      ("og", "I left the city - two years alone"), ("title", "I left the city - two years alone")],
     "I left the city \u2013 two years alone"),
    ([("json-ld", "Who is the \u2018harbour master\u2019?..."),
      ("h1", "Who is the 'harbour master'?"), ("title", "Who Is The 'Harbour Master'?")],
     "Who is the \u2018harbour master\u2019?..."),
    ([("json-ld", None), ("og", None), ("h1", "Ferry service resumes")], "Ferry service resumes"),
    ([("json-ld", None), ("og", None)], None),
])
def test_pick_headline(candidates: list[tuple[str, str | None]], expected: str | None) -> None:
    assert pick_headline(candidates) == expected

@pytest.mark.parametrize(("byline", "names"), [
    ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("Jane Doe, John Roe & Ann Poe", ["Jane Doe", "John Roe", "Ann Poe"]),
    ("By Jane Doe, AP National Security Writer", ["Jane Doe"]),
    ("Von Erika Muster, Korrespondentin in Paris", ["Erika Muster"]),
    ("Jane Doe (jd)", ["Jane Doe"]),
])
def test_bylines_are_split_and_cleaned(byline: str, names: list[str]) -> None:
    assert split_byline(byline) == names


@pytest.mark.parametrize(("title", "expected"), [
    ("Harbour plan approved | The Daily Example", "Harbour plan approved"),
    ("The Daily Example - Harbour plan approved", "Harbour plan approved"),
    ("Harbour plan approved \u2013 DE \u2013 13.06.2023", "Harbour plan approved"),
    ("Harbour plan - a long debate ends", "Harbour plan - a long debate ends"),
])
def test_strip_site_name(title: str, expected: str) -> None:
    keys = {"the daily example", "de", "dailyexample"}
    assert strip_site_name(title, keys, []) == expected


def test_two_line_brief_is_kept_as_a_short_article() -> None:
    e = extract("brief.html")
    assert e.page_class is PageClass.ARTICLE
    assert e.is_short
    assert e.text == ("The bodies of 502 soldiers were returned to Ukraine on Friday, the "
                      "coordination headquarters said.")
    assert e.title == "Ukraine retrieves bodies of 502 fallen soldiers"
    assert e.published_at == datetime(2024, 11, 29, 14, 5, tzinfo=UTC)
    assert e.content_hash is not None


def test_paywalled_teaser_is_marked_and_kept() -> None:
    e = extract("paywalled_teaser.html")
    assert e.page_class is PageClass.ARTICLE
    assert e.access is Access.PAYWALLED
    assert "Documents seen by this newspaper" in (e.text or "")
    assert "Subscribe" not in (e.text or "")


def test_text_that_stops_at_a_subscription_prompt_is_paywalled() -> None:
    e = extract("teaser_prompt.html")
    assert e.access is Access.PAYWALLED
    assert e.text and e.text.startswith("When the river authority signed")


def test_full_article_without_markers_is_not_paywalled() -> None:
    assert extract("article_published_meta.html").access is Access.UNKNOWN


def test_non_article_page_keeps_the_metadata_it_gives() -> None:
    e = extract("consent_with_meta.html")
    assert e.page_class is PageClass.CONSENT_WALL
    assert e.text is None and e.content_hash is None
    assert e.title == "Flood barrier opens"
    assert e.published_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert e.authors == ("Jane Doe",)


@pytest.mark.parametrize(("text", "expected"), [
    ("A long first paragraph of the story.\nSubscribe now to continue reading.", True),
    ("A story about paywalls.\nSubscribe to continue reading, said the sign.\nThen it ended "
     "with a long final paragraph about something else entirely.", False),
    ("A story.\nThe end.", False),
])
def test_ends_at_paywall(text: str, expected: bool) -> None:
    assert ends_at_paywall(text) is expected
