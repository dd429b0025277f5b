"""URL canonicalization policy (FAULTS 63) as a table of input -> expected."""

from __future__ import annotations

import pytest

from transforms.urls import article_key, canonicalize_url

CANONICAL = [
    ("https://example.com/a/b", "https://example.com/a/b"),
    ("HTTPS://Example.COM/a/b", "https://example.com/a/b"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com/a/b/", "https://example.com/a/b"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?id=7&utm_campaign=x&fbclid=abc&gclid=def", "https://example.com/a?id=7"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/%7Euser/post", "https://example.com/~user/post"),
    ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
    ("https://example.com./a", "https://example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
    ("https://bücher.de/a", "https://xn--bcher-kva.de/a"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("https://example.com/a?q=", "https://example.com/a?q="),
    ("ftp://example.com/a", None),
    ("file:///etc/passwd", None),
    ("javascript:alert(1)", None),
    ("/relative/path", None),
    ("https:///nohost", None),
    ("http://example.com:99999/", None),
    ("", None),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonicalize_url_table(url: str, expected: str | None) -> None:
    assert canonicalize_url(url) == expected


def test_case_63_url_variants_share_one_article_key() -> None:
    variants = [
        "https://news.example.com/2024/05/01/story",
        "http://news.example.com/2024/05/01/story",
        "https://news.example.com/2024/05/01/story/",
        "https://NEWS.example.com/2024/05/01/story#comments",
        "https://news.example.com/2024/05/01/story?utm_source=twitter&utm_medium=social",
        "https://news.example.com:443/2024/05/01/story?fbclid=IwAR0",
    ]
    keys = {article_key(v) for v in variants}
    assert keys == {"news.example.com/2024/05/01/story"}


def test_article_key_prefers_same_site_canonical() -> None:
    key = article_key("https://m.example.com/story?id=1&ref=app",
                      "https://www.example.com/news/story-1")
    assert key == "www.example.com/news/story-1"


@pytest.mark.parametrize("canonical", [
    "https://aggregator.example.org/copy/story-1",  # another site: syndication, not trusted
    "https://www.example.com/",                      # home page: a CMS bug
    "/news/story-1",                                  # relative: not resolved here
    None,
])
def test_article_key_ignores_untrusted_canonical(canonical: str | None) -> None:
    assert article_key("https://www.example.com/story?id=1", canonical) == \
        "www.example.com/story?id=1"


def test_article_key_of_bad_url_is_none() -> None:
    assert article_key("mailto:someone@example.com") is None
