"""The extraction workers read an article's words for the stories (transforms.stories.text_sign)
so the writer only finishes the MinHash: the signatures must be exactly those the writer makes
alone, and the writer must use the workers' reading only for the text it was made from."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import warehouse.articles as articles
from bench.stories_real import real_set
from flows.extract_articles import extract
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.settings import load_feed_list
from sample.server import SampleServer
from tests.sample_mode import sample_settings
from tests.warehouse.test_stories import bench_folder
from transforms.extraction import DEFAULT_OPTIONS, extract_page
from transforms.stories import (
    StoryDoc,
    StoryOptions,
    presigned_for,
    sign,
    text_sign,
    text_source,
)
from warehouse.store import Store
from workers.extraction import run_extraction

UPDATE_STORIES = articles.update_stories


def test_a_workers_reading_gives_the_writers_signature_on_real_pages() -> None:
    docs = [page.doc for page in real_set(bench_folder())]
    assert len(docs) > 50
    for doc in docs:
        read = pickle.loads(pickle.dumps(text_sign(doc.title, doc.text, doc.language)))
        assert read.source == text_source(doc.title, doc.text, doc.language)
        assert sign(doc, read=read) == sign(doc), doc.article_key


def test_a_reading_is_used_only_for_the_words_and_options_it_was_made_from() -> None:
    doc = council_doc()
    read = text_sign(doc.title, doc.text, doc.language)
    presigned = {read.source: read}
    assert presigned_for(doc, presigned) is read
    assert presigned_for(replace(doc, title=f"{doc.title}!"), presigned) is None
    assert presigned_for(replace(doc, text=f"{doc.text} More."), presigned) is None
    assert presigned_for(replace(doc, language="de"), presigned) is None
    assert presigned_for(doc, presigned, StoryOptions(body_keywords=100)) is None
    assert presigned_for(doc, None) is None
    # other keys, outlets and dates share a reading: it depends on the words alone
    assert presigned_for(replace(doc, article_key="other", outlet="elsewhere"), presigned) is read


def council_doc() -> StoryDoc:
    text = ("Members of the Riverside council voted on Tuesday to close the Elm Street bridge "
            "for repairs. The mayor, Anna Kowalski, said the work would take 14 weeks and cost "
            "2.3 million euros. ") * 3
    return StoryDoc("a/1", "a.example", datetime(2024, 5, 1, tzinfo=UTC),
                    "Council closes Elm Street bridge", text, "en")


class InProcess:
    """An extraction pool in this process running the worker's own function (or bare
    extraction, as a pool that gives no reading of the words)."""

    def __init__(self, with_reading: bool) -> None:
        self.with_reading = with_reading

    def extract_many(self, items: Any) -> Iterator[tuple[Any, Any]]:
        for key, body, content_type, url in items:
            if self.with_reading:
                yield key, run_extraction(body, content_type, url, DEFAULT_OPTIONS)
            else:
                yield key, extract_page(body, content_type, url)


def _run(tmp_path: Path, server: SampleServer, with_reading: bool,
         monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    results: list[dict[str, Any]] = []
    real = UPDATE_STORIES

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = real(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(articles, "update_stories", recording)
    settings = sample_settings(server, tmp_path)
    with Store.open(settings.db_path) as store:
        ingest(store, settings, load_feed_list(settings.feeds_file), run_id="r1", only_due=False)
        fetch(store, settings, run_id="r1")
        extract(store, settings, run_id="r1", batch_size=7,
                pool=InProcess(with_reading))  # type: ignore[arg-type]
        rows = store.con.execute(
            "SELECT article_key, minhash, shingles, lead_tokens, signed_hash "
            "FROM core.story_signatures ORDER BY article_key").fetchall()
    return results, rows


def test_the_extract_stage_signs_with_the_workers_reading_and_stores_the_same_signatures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SampleServer(n_articles=20) as server:
        read, with_rows = _run(tmp_path / "read", server, True, monkeypatch)
        alone, alone_rows = _run(tmp_path / "alone", server, False, monkeypatch)
    signed = sum(r.get("signed", 0) for r in read)
    assert signed >= 20
    assert sum(r.get("read_by_workers", 0) for r in read) == signed
    assert sum(r.get("read_by_workers", 0) for r in alone) == 0
    assert with_rows == alone_rows and len(with_rows) == signed
