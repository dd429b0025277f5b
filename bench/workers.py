"""Where an extraction worker's CPU goes, and how much memory the workers really use.

Run as ``.venv/bin/python -m bench.workers [--pages 1000] [--sets aeb fundus ...]``.

Part 1, in one process (CPU time of this process, so other jobs on the machine do not land on
one side): newsflow's worker path (``extract_page``: bytes -> sniff/decode -> parse -> metadata
-> trafilatura -> cleaning -> language) against bare ``trafilatura.extract`` on the same bytes,
on generated pages (``sample.site.build_site``) and on the real pages of the development sets;
the ratio, and newsflow's time split by step (each step timed where it is called). Also the
pickled size of a page's answer against its body (what a chunk sends back).

Part 1b, in the same way: feed parsing as the workers do it (``transforms.feeds.parse_feed``:
sniffing, neutralising, feedparser with its sanitizer and URL resolution off, cleaning, keys and
hashes) against bare ``feedparser.parse`` (its defaults) on the generated site's feeds, feed by
feed in turns; CPU per 1,000 entries and the ratio.

Part 1c: what a spawned worker pays before its first task (interpreter, imports, warm-up, the
language detector's index), measured in a fresh interpreter.

``--dump FILE`` writes every extraction (the generated pages, then each development set's) to
FILE, one line per page (set, URL, every field of the ``Extraction``), and exits: run it before
and after a change and ``diff`` (or ``cmp``) the two files to show the change alters no output.

Part 2: the spawned ``ExtractionPool`` (2 workers) over the generated pages while this process
holds a ballast (``--ballast-mb``, as the extract stage holds a store and a batch): the workers'
peak as they measure it themselves (``VmHWM``, ``ExtractionPool.worker_peak_mb``) against
``RUSAGE_CHILDREN``'s ``ru_maxrss``, which Linux starts at the parent's peak when a spawned
worker execs, and so reports the parent's size, not the worker's.
"""

from __future__ import annotations

import argparse
import functools
import logging
import pickle
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.corpus import SETS, load_set
from sample.site import build_site

Page = tuple[bytes, str | None, str]
STEPS = ("decode_page", "parse_html", "page_metadata", "_trafilatura", "readability_text",
         "paragraph_chars", "link_texts", "normalize_text", "clean_body", "classify_non_article",
         "detect_language", "content_hash")


def generated_pages(n: int) -> list[Page]:
    site = build_site("http://bench-workers.test", n_articles=n)
    base = site.base_url
    return [(r.body, r.content_type, a.url)
            for a in site.articles for r in [site.resources[a.url[len(base):]]]]


def real_pages(name: str) -> list[Page]:
    return [(p.body, "text/html", p.url) for p in load_set(name)]


def _timed(spent: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - began
    return run


def cpu_split(label: str, pages: list[Page]) -> None:
    """Newsflow's worker path against bare trafilatura on the same bytes, and its steps."""
    import trafilatura

    import transforms.extraction as extraction

    for body, ctype, url in pages[:5]:  # warm up both
        extraction.extract_page(body, ctype, url)
        trafilatura.extract(body, url=url)
    ours = bare = 0.0
    answers = []
    for body, ctype, url in pages:  # take turns page by page
        began = time.process_time()
        answers.append(extraction.extract_page(body, ctype, url))
        ours += time.process_time() - began
        began = time.process_time()
        trafilatura.extract(body, url=url)
        bare += time.process_time() - began
    spent: dict[str, float] = {}
    originals = {name: getattr(extraction, name) for name in STEPS}
    try:
        for name, fn in originals.items():
            setattr(extraction, name, _timed(spent, name, fn))
        began = time.process_time()
        for body, ctype, url in pages:
            extraction.extract_page(body, ctype, url)
        split_total = time.process_time() - began
    finally:
        for name, fn in originals.items():
            setattr(extraction, name, fn)
    body_kb = sum(len(p[0]) for p in pages) / len(pages) / 1024
    answer_kb = len(pickle.dumps(answers)) / len(answers) / 1024
    print(f"{label}: {len(pages)} pages, newsflow {ours:.2f} CPU s ({len(pages) / ours:.1f} "
          f"pages/s), bare trafilatura {bare:.2f} CPU s ({len(pages) / bare:.1f} pages/s): "
          f"newsflow costs {ours / bare:.2f}x bare; body {body_kb:.1f} KiB/page, pickled answer "
          f"{answer_kb:.1f} KiB/page")
    others = split_total - sum(spent.values())
    for name, seconds in [*sorted(spent.items(), key=lambda kv: -kv[1]), ("(rest)", others)]:
        print(f"    {name:<22} {seconds:7.3f} s {100 * seconds / split_total:5.1f}%  "
              f"{1000 * seconds / len(pages):6.2f} ms/page")


def feed_split(n_articles: int, rounds: int = 3) -> None:
    """parse_feed against bare feedparser.parse on the generated site's feeds."""
    import io
    from datetime import UTC, datetime

    import feedparser

    from transforms.feeds import parse_feed

    site = build_site("http://bench-workers.test", n_articles=n_articles)
    feeds = [(site.resources[f.path].body, site.resources[f.path].content_type or "", f.url)
             for f in site.feeds]
    at = datetime(2026, 11, 24, tzinfo=UTC)
    entries = sum(len(parse_feed(body, {"content-type": ctype}, url, fetched_at=at).entries)
                  for body, ctype, url in feeds)  # also the warm-up
    ours = bare = 0.0
    for _ in range(rounds):
        for body, ctype, url in feeds:
            began = time.process_time()
            parse_feed(body, {"content-type": ctype}, url, fetched_at=at)
            ours += time.process_time() - began
            began = time.process_time()
            feedparser.parse(io.BytesIO(body), response_headers={"content-type": ctype})
            bare += time.process_time() - began
    per = 1000 / (entries * rounds)
    print(f"feeds: {len(feeds)} feeds, {entries} entries, {rounds} rounds: parse_feed "
          f"{ours * per:.2f} CPU s per 1,000 entries, bare feedparser.parse {bare * per:.2f}: "
          f"newsflow costs {ours / bare:.2f}x bare")


_START = """
import time
began = time.process_time()
import workers.extraction as w
imported = time.process_time()
w._init_worker(0)
warm = time.process_time()
import transforms.feeds
feeds = time.process_time()
print(imported - began, warm - imported, feeds - warm)
"""


def worker_start() -> None:
    """CPU a fresh interpreter spends before a worker's first page: imports and warm-up."""
    import subprocess
    import sys

    began = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", _START], capture_output=True, text=True,
                         check=True).stdout.split()
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = ended.ru_utime + ended.ru_stime - began.ru_utime - began.ru_stime
    imports, warm, feeds = map(float, out)
    print(f"worker start: {total:.2f} CPU s in all (interpreter included): imports "
          f"{imports:.2f} s, warm-up (a page, the language index) {warm:.2f} s, feed parsing "
          f"imports (on its first feed) {feeds:.2f} s")


def dump(path: str, sets: dict[str, list[Page]]) -> None:
    """Every page's extraction, one line each, for a before/after ``diff``."""
    import dataclasses

    from transforms.extraction import extract_page

    began = time.process_time()
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for label, pages in sets.items():
            for body, ctype, url in pages:
                fields = dataclasses.astuple(extract_page(body, ctype, url))
                out.write(f"{label}\t{url}\t{fields!r}\n")
                count += 1
    print(f"{count} extractions written to {path} ({time.process_time() - began:.1f} CPU s)")


def pool_memory(pages: list[Page], ballast_mb: int) -> None:
    """The pool's worker peaks, measured in the workers and by RUSAGE_CHILDREN."""
    from workers.extraction import ExtractionPool

    ballast = bytearray(ballast_mb * 1024 * 1024)
    ballast[::4096] = b"x" * len(range(0, len(ballast), 4096))  # resident, as live data is
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # children that ran earlier
    began = time.perf_counter()
    with ExtractionPool(workers=2) as pool:
        done = sum(1 for _ in pool.extract_many(
            (i, body, ctype, url) for i, (body, ctype, url) in enumerate(pages)))
    wall = time.perf_counter() - began
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"pool of 2 workers, {done} pages in {wall:.1f} s wall, parent peak {me:.0f} MiB "
          f"(ballast {ballast_mb} MiB):")
    print(f"    workers' own peak (VmHWM, measured in the workers): "
          f"{pool.worker_peak_mb or 0:.0f} MiB")
    print(f"    RUSAGE_CHILDREN ru_maxrss: {kids.ru_maxrss / 1024:.0f} MiB (starts at the "
          f"parent's peak when a worker is spawned); workers' CPU "
          f"{kids.ru_utime + kids.ru_stime - before.ru_utime - before.ru_stime:.1f} s")
    del ballast


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="generated pages")
    parser.add_argument("--sets", nargs="*", default=list(SETS), help="development sets")
    parser.add_argument("--ballast-mb", type=int, default=500)
    parser.add_argument("--no-pool", action="store_true")
    parser.add_argument("--no-feeds", action="store_true", help="skip parts 1b and 1c")
    parser.add_argument("--dump", metavar="FILE",
                        help="write every extraction to FILE (for a before/after diff) and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("trafilatura", "htmldate", "courlan", "readability", "transforms"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    generated = generated_pages(args.pages)
    if args.dump:
        found = {f"generated ({args.pages})": generated}
        for name in args.sets:
            try:
                found[name] = real_pages(name)
            except FileNotFoundError:
                print(f"{name}: no data, skipped")
        dump(args.dump, found)
        return
    print("CPU per page in one process (CPU seconds, pages alternating; compare ratios):")
    cpu_split(f"generated ({args.pages})", generated)
    for name in args.sets:
        try:
            cpu_split(name, real_pages(name))
        except FileNotFoundError:
            print(f"{name}: no data, skipped")
    if not args.no_feeds:
        feed_split(args.pages)
        worker_start()
    if not args.no_pool:
        pool_memory(generated, args.ballast_mb)


if __name__ == "__main__":
    main()
