"""Fixture-per-case feed tests (feedparser's pattern): each file under fixtures/feeds/ is one
FAULTS case, with its expectation in fixtures/feeds/expected.yaml. The test id is the file
name, so every id carries its ``case_NN``."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from transforms.feeds import FeedEntry, FeedOutcome, ParsedFeed, parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "expected.yaml").read_text(encoding="utf-8"))
BASE_URL = "https://example.com/feeds/main.xml"
FETCHED_AT = datetime(2026, 3, 3, tzinfo=UTC)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def parse_fixture(name: str) -> ParsedFeed:
    """Parse one fixture file with its expected response headers."""
    spec = EXPECTED[name]
    headers = spec.get("headers") or {"content-type": "application/xml"}
    return parse_feed((FIXTURES / name).read_bytes(), headers, BASE_URL, fetched_at=FETCHED_AT)


def _value(entry: FeedEntry, key: str) -> Any:
    value = getattr(entry, key)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.name.startswith("case_")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    spec = EXPECTED[name]
    parsed = parse_fixture(name)
    assert parsed.outcome == FeedOutcome(spec["outcome"]), parsed.reason
    assert len(parsed.entries) == spec["count"]
    for key in ("version", "bozo", "title", "ttl_minutes"):
        if key in spec:
            assert getattr(parsed, key) == spec[key], key
    if "reason" in spec:
        assert parsed.reason is not None and spec["reason"] in parsed.reason
    for entry, want in zip(parsed.entries, spec.get("entries") or [], strict=False):
        for key, value in want.items():
            assert _value(entry, key) == value, (entry.position, key)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_invariants(name: str) -> None:
    """Whatever the case: clean strings, unique keys, absolute links, deterministic output."""
    parsed = parse_fixture(name)
    if parsed.outcome not in (FeedOutcome.OK, FeedOutcome.RECOVERED):
        assert parsed.entries == ()
    keys = [e.entry_key for e in parsed.entries]
    assert len(keys) == len(set(keys))
    for entry in parsed.entries:
        assert entry.link is None or re.match(r"https?://[^/\s]+", entry.link)
        assert (entry.link is None) == (entry.link_status != "ok")
        for f in fields(entry):
            value = getattr(entry, f.name)
            for text in value if isinstance(value, tuple) else (value,):
                if isinstance(text, str):
                    assert not _ILLEGAL.search(text), (f.name, text)
                    text.encode("utf-8")  # raises on anything DuckDB would refuse
    assert parse_fixture(name) == parsed
