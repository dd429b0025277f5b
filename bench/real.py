"""`make bench-real`: the real pages of the development sets through the whole pipeline.

Run as ``.venv/bin/python -m bench.real``. The pages of ``../shared/extraction-bench`` are served
from 127.0.0.1 by the offline sample's server (``sample.server.SampleServer`` with another site):
one site per original host, under ``/<host>/<original path>``, each with its own feed (RSS 2.0,
every third host Atom) listing its pages. The pipeline polls those feeds, fetches the pages over
local HTTP, extracts them in its worker pool, checks and stores them; then what the store holds
(``core.article_versions`` text of each page's fetch, ``core.articles`` title, authors and
published date as analysts see them) is scored against the gold of each set, next to bare
trafilatura default on the same pages (decoded alike), in one run. The feeds carry no title,
date or author from the gold: every score is what the page gave.

Hosts of trafilatura-eval are read from the page names (the set gives no URLs).
"""

from __future__ import annotations

import argparse
import html as html_lib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from bench.corpus import DATA, META_SETS, SETS, BenchPage, load_set
from bench.extract import Output, Result, _trafilatura, _trafilatura_meta, as_output
from bench.scoring import meta_means
from sample.site import Resource, SampleFeed, Site

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Served:
    """One page of a set and where the bench serves it."""

    set_name: str
    page: BenchPage
    host: str
    path: str


def host_of(set_name: str, page: BenchPage) -> str:
    """The page's original host ("www." dropped); for trafilatura-eval, from the file name."""
    host = urlsplit(page.url).hostname if page.url else None
    if not host:
        host = page.page_id.removesuffix(".html").split("-", 1)[0]
    return host.removeprefix("www.").lower() or set_name


def plan(sets: dict[str, Sequence[BenchPage]]) -> list[Served]:
    """A unique path per page: ``/<host><original path>``, or under ``/<host>/<set>/<id>`` when
    the page has no URL or its path is taken."""
    taken: set[str] = set()
    out = []
    for set_name, pages in sets.items():
        for page in pages:
            host = host_of(set_name, page)
            original = urlsplit(page.url).path if page.url else ""
            path = f"/{host}{quote(original, safe='/%:@-._~')}" if len(original) > 1 else ""
            if not path or path in taken:
                path = f"/{host}/{set_name}/{quote(page.page_id)}"
            taken.add(path)
            out.append(Served(set_name, page, host, path))
    return out


def _feed(host: str, base: str, items: list[Served], atom: bool) -> Resource:
    e = html_lib.escape
    if atom:
        body = ['<?xml version="1.0" encoding="utf-8"?>',
                '<feed xmlns="http://www.w3.org/2005/Atom">',
                f"<title>{e(host)}</title><id>{e(base)}/{e(host)}/feed</id>",
                "<updated>2026-12-01T00:00:00Z</updated>"]
        body += [f"<entry><title>{e(s.page.page_id)}</title><id>{e(base + s.path)}</id>"
                 f'<link rel="alternate" href="{e(base + s.path)}"/>'
                 "<updated>2026-12-01T00:00:00Z</updated></entry>" for s in items]
        body.append("</feed>")
        ctype = "application/atom+xml; charset=utf-8"
    else:
        body = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
                f"<title>{e(host)}</title><link>{e(base)}/{e(host)}/</link>"
                f"<description>{e(host)}</description>"]
        body += [f"<item><title>{e(s.page.page_id)}</title><link>{e(base + s.path)}</link>"
                 f'<guid isPermaLink="false">{e(s.set_name)}/{e(s.page.page_id)}</guid></item>'
                 for s in items]
        body.append("</channel></rss>")
        ctype = "application/rss+xml; charset=utf-8"
    return Resource(ctype, "\n".join(body).encode("utf-8"))


def real_site(served: Sequence[Served]) -> Callable[[str], Site]:
    """A ``SampleServer`` site builder: every page as served (its own bytes, ``text/html``
    without a charset, so the pipeline sniffs the encoding as on the web), a feed per host."""

    def build(base: str) -> Site:
        resources: dict[str, Resource] = {"/robots.txt": Resource("text/plain", b"User-agent: *\n")}
        by_host: dict[str, list[Served]] = {}
        for s in served:
            resources[s.path] = Resource("text/html", s.page.body)
            by_host.setdefault(s.host, []).append(s)
        feeds = []
        for i, (host, items) in enumerate(sorted(by_host.items())):
            atom = i % 3 == 2
            path = f"/{host}/feed.{'atom' if atom else 'xml'}"
            resources[path] = _feed(host, base, items, atom)
            feeds.append(SampleFeed(path, base + path, host, "atom" if atom else "rss2", host))
        return Site(base, resources, tuple(feeds), (), ())

    return build


_STORED = """
SELECT p.url, x.page_class, x.reason, coalesce(v.text, a.text) AS text, a.title, a.authors,
       a.published_at, a.published_source
FROM raw.page_fetches AS p
JOIN core.page_extractions AS x ON x.page_fetch_id = p.event_id
LEFT JOIN core.article_versions AS v ON v.page_fetch_id = p.event_id
LEFT JOIN core.articles AS a ON a.article_key = x.article_key
ORDER BY p.occurred_at
"""


def stored(db: Path) -> dict[str, dict[str, Any]]:
    """What the store holds for each fetched URL (the last fetch of a URL wins)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(_STORED)
        cols = [d[0] for d in cur.description]
        return {row[0]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}
    finally:
        con.close()


def run_pipeline(served: Sequence[Served], folder: Path) -> tuple[Path, str, dict[str, Any]]:
    """Serve the pages, run the pipeline once into ``folder``; (database, base URL, result)."""
    from flows.cli import SAMPLE_SETTINGS
    from flows.cli.feeds import write_sample_feeds
    from flows.pipeline import pipeline
    from flows.settings import settings_scope
    from sample.server import SampleServer

    with SampleServer(site=real_site(served)) as server, settings_scope(**SAMPLE_SETTINGS):
        feeds = write_sample_feeds(server.site, folder)
        db = folder / "real.duckdb"
        result = pipeline(db_path=str(db), feeds_file=str(feeds), only_due=False)
        return db, server.base_url, result


def score(served: Sequence[Served], base: str, rows: dict[str, dict[str, Any]]
          ) -> dict[str, dict[str, Result]]:
    """Per set: the store's outputs and bare trafilatura's on the same pages."""
    bare = _trafilatura()
    results: dict[str, dict[str, Result]] = {}
    for s in served:
        per_set = results.setdefault(s.set_name, {})
        url = base + s.path
        row = rows.get(url) or {}
        outputs = {
            "newsflow stored": Output(row.get("text"), row.get("title"),
                                        tuple(row.get("authors") or ()),
                                        row.get("published_at"), has_meta=True),
            "trafilatura default": as_output(bare(s.page.html, url)),
        }
        if s.set_name in META_SETS:
            meta = _trafilatura_meta(s.page.html, url)
            outputs["trafilatura metadata"] = meta
        for name, out in outputs.items():
            result = per_set.setdefault(name, Result(name, s.set_name))
            result.pages.append(s.page)
            result.outputs.append(out)
    return results


def _print(results: dict[str, dict[str, Result]], rows: dict[str, dict[str, Any]],
           result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    table = Table(title="stored vs gold on the development sets' real pages, through the "
                        "pipeline (same pages, same run)")
    for col in ("set", "extractor", "pages", "precision", "recall", "F1", "F1 vs traf.",
                "no output", "title exact", "authors F1", "date same day"):
        table.add_column(col, justify="left" if col in ("set", "extractor") else "right")
    for set_name, per_set in results.items():
        base_f1 = per_set["trafilatura default"].prf[2]
        for name, r in per_set.items():
            p, rec, f1 = r.prf
            title = authors = day = ""
            if set_name in META_SETS and r.has_meta:
                t, a, d = meta_means(r.meta_scores)
                title, authors, day = f"{t:.3f}", f"{a:.3f}", f"{d:.3f}"
            table.add_row(set_name, name, str(len(r.outputs)), f"{p:.4f}", f"{rec:.4f}",
                          f"{f1:.4f}", f"{f1 - base_f1:+.4f}", str(r.empty_pages), title,
                          authors, day, style="bold" if name.startswith("newsflow") else None)
    console.print(table)
    classes: dict[str, int] = {}
    for row in rows.values():
        classes[row["page_class"]] = classes.get(row["page_class"], 0) + 1
    console.print(f"pipeline status {result.get('status')}; pages stored by class: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())))


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("trafilatura", "htmldate", "courlan", "readability", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=UserWarning)
    sets: dict[str, Sequence[BenchPage]] = {}
    for name in args.sets:
        try:
            sets[name] = load_set(name, args.data)[: args.limit]
        except FileNotFoundError:
            print(f"{name}: no data under {args.data}, skipped")
    served = plan(sets)
    print(f"serving {len(served)} pages of {len(sets)} sets from "
          f"{len({s.host for s in served})} hosts on 127.0.0.1; running the pipeline ...")
    with tempfile.TemporaryDirectory() as tmp:
        db, base, result = run_pipeline(served, Path(tmp))
        rows = stored(db)
    _print(score(served, base, rows), rows, result)


if __name__ == "__main__":
    main()
