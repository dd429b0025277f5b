"""Text cleaning: valid UTF-8 out whatever comes in (FAULTS cases 38, 49, 50)."""

from __future__ import annotations

import random

import pytest

from transforms.textclean import clean_text, decode_bytes, fix_unicode, html_to_text


@pytest.mark.parametrize(("raw", "want"), [
    ("a\x00b\x0bc\x0cd\x1fe\x7f", "abcde"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("\x93quoted\x94 \x80", "\u201cquoted\u201d \u20ac"),  # C1 controls are cp1252 bytes
    ("e\u0301", "\u00e9"),  # NFC
    ("\ufffe\uffff", ""),
])
def test_case_38_fix_unicode(raw: str, want: str) -> None:
    assert fix_unicode(raw) == want


def test_case_38_decode_bytes_never_raises() -> None:
    assert decode_bytes(b"ok \xff \xc3\x28") == "ok \ufffd \ufffd("
    assert decode_bytes(b"x", "no-such-codec") == "x"


def test_case_49_scripts_and_styles_are_dropped_and_text_kept() -> None:
    html = ('<p style="background:url(javascript:alert(1))">Hello <b>world</b></p>'
            "<script>alert(2)</script><style>p{}</style><img src=x onerror=alert(3)>&amp; more")
    assert clean_text(html, 1000) == ("Hello world\n& more", False)


def test_titles_are_one_line() -> None:
    assert clean_text("  Two\n  lines\t here ", 100, single_line=True) == ("Two lines here", False)


def test_plain_text_is_not_treated_as_markup() -> None:
    assert clean_text("a < b and c > d", 100) == ("a < b and c > d", False)
    assert clean_text("<b>x</b>", 100, markup=False) == ("<b>x</b>", False)


def test_case_50_capped_with_flag() -> None:
    text, cut = clean_text("x" * 1_000_000, 1000)
    assert cut and text == "x" * 1000
    assert clean_text("short", 1000) == ("short", False)


def test_empty_results_are_none() -> None:
    assert clean_text(None, 10) == (None, False)
    assert clean_text(" \n\x00 ", 10) == (None, False)
    assert clean_text("<script>x</script>", 10) == (None, False)


def test_paragraphs_survive_as_blank_lines() -> None:
    assert html_to_text("<p>one</p><p>two</p>").split() == ["one", "two"]
    assert clean_text("<p>one</p>\n\n\n\n<p>two</p>", 100)[0] == "one\n\ntwo"


def test_property_output_is_always_valid_utf8() -> None:
    rng = random.Random(38)
    for _ in range(2000):
        raw = "".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x3000),
                                      rng.randrange(0xD800, 0xE000), ord("<"), ord("&")]))
                      for _ in range(rng.randint(0, 60)))
        text, _ = clean_text(raw, 30)
        if text is not None:
            text.encode("utf-8")
            assert len(text) <= 30


@pytest.mark.parametrize("unit", ["<!--", "<a", '<a b="', "</", "<![CDATA[", "<div>", "&", "<"])
def test_hostile_fragments_are_handled_in_one_pass(unit: str) -> None:
    """html.parser (3.11) and feedparser's sanitizer are quadratic on these; ours is linear.
    Checked by size, not time: 400 KB of each must come back complete and capped."""
    text, cut = clean_text(unit * (400_000 // len(unit)), 1_000_000)
    assert text is None or len(text) <= 400_000
    assert not cut


def test_unclosed_comment_hides_the_rest_and_gt_in_text_survives() -> None:
    assert html_to_text("a <!-- b") == "a "
    assert html_to_text("<b>x</b> 3 > 2 <i>y</i>") == "x 3 > 2 y"
    assert html_to_text("<script>if (a<b) {}</script>after") == "after"
    assert html_to_text("<br/>x<SCRIPT src=a />y") == "\nxy"


def test_fix_unicode_ascii_shortcut_matches_the_full_pass() -> None:
    """ASCII text skips the surrogate, C1 and NFC passes (none can change it): every ASCII
    character, controls included, comes out as the full pass leaves it."""
    import unicodedata

    from transforms import textclean

    every = "".join(map(chr, range(128))) * 2 + "plain words\tand\r\nlines\x7f"

    def full(s: str) -> str:
        s = textclean._SURROGATE.sub("\ufffd", s)
        s = textclean._CONTROL.sub("", s)
        s = textclean._C1.sub(textclean._c1_to_cp1252, s)
        return unicodedata.normalize("NFC", s)

    assert textclean.fix_unicode(every) == full(every)
    assert "\x00" not in textclean.fix_unicode(every) and "\t" in textclean.fix_unicode(every)
    mixed = every + "caf\u0065\u0301 \x85 \ud800"
    assert textclean.fix_unicode(mixed) == full(mixed)
