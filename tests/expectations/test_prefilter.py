"""The RE2 prefilter never rules out a text that Python's ``re`` would match (so the checks keep
``re``'s answers), and it refuses the patterns the two engines read differently."""

from __future__ import annotations

import random
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from expectations.articles import BOILERPLATE_PATTERNS, boilerplate_share, boilerplate_shares
from expectations.engine import _not_match_list
from expectations.prefilter import ALWAYS_THROUGH, may_match, widened

_CODE_POINTS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def test_case_folding_differs_from_re2_only_on_the_turkish_i():
    """Every character that ``re`` matches case-insensitively with an ASCII character, RE2
    matches too, except U+0130 and U+0131, which the prefilter always lets through. Checked on
    every code point: per ASCII character, over the code points ``re`` folds onto ASCII."""
    folded = re.compile(r"(?i)[\x00-\x7f]")
    onto_ascii = [c for c in _CODE_POINTS if not c.isascii() and folded.fullmatch(c)]
    assert set(onto_ascii) >= {"\u0130", "\u0131"}  # else the sweep itself is wrong
    candidates = [chr(a) for a in range(128)] + onto_ascii
    values = pa.array(candidates)
    missed: dict[str, list[str]] = {}
    for a in map(chr, range(128)):
        literal = re.escape(a)
        python = {c for c in candidates if re.fullmatch(f"(?i){literal}", c)}
        matched = pc.match_substring_regex(values, f"(?i)^{literal}$").to_pylist()
        re2 = {c for c, hit in zip(candidates, matched, strict=True) if hit}
        if python - re2:
            missed[a] = sorted(python - re2)
    through = {c for c in candidates if re.fullmatch(ALWAYS_THROUGH, c)}
    assert all(set(chars) <= through for chars in missed.values()), missed


# Words of the boilerplate phrases, their near misses, and the characters the engines treat
# differently (Turkish i's, Kelvin sign, long s, accents, curly quotes, newlines).
_WORDS = ["we", "use", "cookies", "cookie", "COOKIES", "Cookie", "policy", "settings", "accept",
          "all", "reject", "manage", "this", "site", "uses", "sign", "SIGN", "s\u0131gn", "S\u0130GN", "up",
          "for", "to", "our", "the", "free", "newsletter", "newsletters", "subscribe", "now",
          "today", "continue", "read", "rights", "reserved", "RESERVED", "reserved\u0130", "é",
          "\u212a", "\u017f", "\u2019", "\u2014", "x", "ab", "aab", "a.b", "a\nb", "foo", "bar", "1999",
          "_", "-", "sign-up", "signup", "\n", "\n\n", "policyé", "écookie", "we use cookies",
          "cookie policy", "All Rights Reserved", "subscribe now", "newsletter sign-up",
          "s\u0130gn up for our newsletter", "cookie pol\u0130cy", "Subscribe To Continue"]
_PATTERNS = [*BOILERPLATE_PATTERNS, r"^we use", r"reserved$", r"(?m)^sign up$", r"\bfoo\b",
             r"\Bookie", r"(?i:cookie) POLICY", r"(?s)a.b", r"a.b", r"[^a-z ]{2}", r"(?i)[a-c]+b",
             r"x{1,2}y?", r"\Afoo", r"bar\Z", r"[]x]", r"[\^-]", r"(?i)s[- ]?i", r"1\d?"]


@pytest.mark.parametrize("seed", range(4))
def test_no_text_that_re_matches_is_ruled_out(seed):
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 12)))
             for _ in range(600)]
    widened_any = 0
    for pattern in _PATTERNS:
        maybe = may_match(texts, pattern)
        if maybe is None:
            continue
        widened_any += 1
        for text, through in zip(texts, maybe, strict=True):
            assert through or not re.search(pattern, text), (pattern, text)
    assert widened_any >= len(_PATTERNS) - 1  # only the \d pattern is refused


@pytest.mark.parametrize("pattern", [r"\w+ cookies", r"\d{4}", r"\s+", r"(a)\1", r"(?=a)b",
                                     r"(?<!x)y", r"a{,3}", r"(?x) a b", r"(?a)abc",
                                     r"[[:alpha:]]", "café", r"\N{EM DASH}", r"\u00e9"])
def test_patterns_read_differently_are_refused(pattern):
    assert widened(pattern) is None
    assert may_match(["any text"], pattern) is None


def test_the_widened_pattern_drops_assertions_only_outside_classes():
    assert widened(r"^\bcookie\b$") == "cookie"
    # ^ and $ in a class are members, kept; ']' first in a class is a member too
    assert widened(r"[\^$]x$") == r"[\^$]x"
    assert widened(r"[]^$]x^") == r"[]^$]x"
    assert widened(r"[\b]x") is None  # a backspace in re, rejected by RE2: left to re
    assert widened(re.compile("a|b", re.IGNORECASE)) == "(?i)a|b"


def test_a_lone_surrogate_is_left_to_re():
    assert may_match(["cookie policy \udc80"], BOILERPLATE_PATTERNS) is None


def test_the_check_keeps_re_answers_row_for_row():
    rng = random.Random(7)
    texts = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 15))) for _ in range(800)]
    series = pd.Series(texts, index=range(1000, 1800))
    for patterns in (BOILERPLATE_PATTERNS, [r"\w+ cookies", *BOILERPLATE_PATTERNS]):
        expected = ~pd.concat([series.str.contains(p) for p in patterns], axis=1).any(axis=1)
        got = _not_match_list(series, {"regex_list": patterns})
        assert got.index.equals(series.index)
        assert got.tolist() == expected.tolist()
        assert 0 < int((~got).sum()) < len(texts)  # both answers occur


def test_boilerplate_shares_equal_the_per_text_share():
    rng = random.Random(11)
    texts: list[object] = [". ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 20)))
                           for _ in range(500)]
    texts[3], texts[9] = None, ""
    series = pd.Series(texts, index=range(500, 0, -1))
    shares = boilerplate_shares(series)
    assert shares.index.equals(series.index)
    assert shares.tolist() == [boilerplate_share(t) for t in texts]
    assert 0 < sum(s > 0 for s in shares) < len(texts) - 2
