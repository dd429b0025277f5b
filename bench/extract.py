"""`make bench-extract`: newsflow's extractor against bare peers, and the pool's speed-up.

Run as ``.venv/bin/python -m bench.extract``. Every extractor sees the same decoded pages of the
four development halves in ``<repo>/../shared/extraction-bench`` (``bench.corpus``), each scored
with its own metric: the shingle metric of the article-extraction benchmark
(``transforms.textmetric``) on aeb, fundus and fundus-meta, trafilatura's snippet metric on
trafilatura-eval (``bench.scoring``). On fundus-meta the metadata (title exact, authors F1, date
same day) of newsflow and of bare trafilatura (``bare_extraction(with_metadata=True)``) is
scored against Fundus's hand-written parsers. Timing is fair under a noisy machine: each
extractor is warmed up first, then the extractors take turns page by page (the order rotates),
and each is charged the CPU time of the process while it runs, so load from other jobs on the
machine does not land on one of them. Speeds are one process; compare ratios, not values.

The pool part extracts 1,000 generated pages (``sample.site.build_site``) with 1 worker and with
2 workers and prints the speed-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bench.corpus import DATA, META_SETS, SETS, SNIPPET_SETS, BenchPage, load_set
from bench.scoring import MetaScore, meta_means, score_meta, score_snippets, snippet_prf
from transforms.textmetric import corpus_scores, score_page

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Output:
    """What an extractor gives for one page: the body, and metadata when it extracts any."""

    text: str | None
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: datetime | date | str | None = None
    has_meta: bool = False


Extractor = Callable[[str, str], "Output | str | None"]
# Extractors that only run on the metadata set (they duplicate a body row elsewhere).
META_ONLY = frozenset({"trafilatura metadata"})


@dataclass(slots=True)
class Result:
    """Outputs, scores and time of one extractor on one set."""

    name: str
    set_name: str
    pages: list[BenchPage] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def prf(self) -> tuple[float, float, float]:
        if self.set_name in SNIPPET_SETS:
            return snippet_prf(score_snippets(o.text, p.with_snippets, p.without_snippets)
                               for p, o in zip(self.pages, self.outputs, strict=True))
        return corpus_scores(score_page(o.text, p.gold)
                             for p, o in zip(self.pages, self.outputs, strict=True))

    @property
    def meta_scores(self) -> list[MetaScore]:
        return [score_meta(o.title, o.authors, o.published, p.meta)
                for p, o in zip(self.pages, self.outputs, strict=True)]

    @property
    def has_meta(self) -> bool:
        return any(o.has_meta for o in self.outputs)

    @property
    def empty_pages(self) -> int:
        return sum(1 for o in self.outputs if not (o.text or "").strip())

    @property
    def pages_per_second(self) -> float:
        return len(self.outputs) / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- extractors

def _newsflow(html: str, url: str) -> Output:
    from transforms.extraction import extract_article

    e = extract_article(html, url)
    return Output(e.text, e.title, e.authors, e.published_at, has_meta=True)


def _trafilatura_meta(html: str, url: str) -> Output:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, as_dict=False)
    if doc is None:
        return Output(None, has_meta=True)
    assert not isinstance(doc, dict)  # as_dict=False: a Document
    authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
    return Output(doc.text, doc.title, authors, doc.date, has_meta=True)


def _trafilatura(*, favor_precision: bool = False, favor_recall: bool = False,
                 fast: bool = False) -> Extractor:
    import trafilatura

    # Comments left out, tables kept: the settings of the reference figures in the data's
    # README (trafilatura-eval F1 0.933, aeb 0.955), so "default" means the same everywhere.
    def run(html: str, url: str) -> str | None:
        return trafilatura.extract(html, url=url or None, favor_precision=favor_precision,
                                   favor_recall=favor_recall, fast=fast,
                                   include_comments=False, include_tables=True)

    return run


def _readability(html: str, url: str) -> str | None:
    from transforms.extraction import readability_text

    return readability_text(html)


def _newspaper(html: str, url: str) -> str | None:
    from newspaper import Article, Config

    config = Config()
    config.fetch_images = False
    config.memorize_articles = False
    article = Article(url or "http://127.0.0.1/", config=config)
    article.download(input_html=html)  # no network: the HTML is given
    article.parse()
    return str(article.text)


_GOOSE: list[object] = []


def _goose(html: str, url: str) -> str | None:
    from goose3 import Goose

    if not _GOOSE:
        _GOOSE.append(Goose({"enable_image_fetching": False, "http_timeout": 0.01}))
    return str(_GOOSE[0].extract(raw_html=html).cleaned_text)  # type: ignore[attr-defined]


def _justext(html: str, url: str) -> str | None:
    import justext

    paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def _boilerpy3(html: str, url: str) -> str | None:
    from boilerpy3 import extractors

    return str(extractors.ArticleExtractor(raise_on_failure=False).get_content(html))


def _resiliparse(html: str, url: str) -> str | None:
    from resiliparse.extract.html2text import extract_plain_text

    return str(extract_plain_text(html, main_content=True))


def extractors() -> dict[str, Extractor]:
    """Every extractor of the table, newsflow first; peers run with their defaults."""
    return {
        "newsflow": _newsflow,
        "trafilatura default": _trafilatura(),
        "trafilatura precision": _trafilatura(favor_precision=True),
        "trafilatura recall": _trafilatura(favor_recall=True),
        "trafilatura fast": _trafilatura(fast=True),
        "readability-lxml": _readability,
        "newspaper4k": _newspaper,
        "goose3": _goose,
        "justext": _justext,
        "boilerpy3": _boilerpy3,
        "resiliparse": _resiliparse,
        "trafilatura metadata": _trafilatura_meta,
    }


def as_output(answer: Output | str | None) -> Output:
    """An extractor's answer as an Output (a bare text has no metadata)."""
    return answer if isinstance(answer, Output) else Output(answer)


def _safe(fn: Extractor, page: BenchPage) -> Output:
    try:
        out = fn(page.html, page.url)
    except Exception as exc:  # a peer failing on a page scores as empty output, as in the paper
        log.debug("extractor failed on %s: %r", page.page_id, exc)
        return Output(None)
    return as_output(out)


def run_set(set_name: str, pages: Sequence[BenchPage], chosen: dict[str, Extractor],
            warmup: int = 2) -> dict[str, Result]:
    """Score and time every extractor on the same pages, taking turns page by page."""
    names = [n for n in chosen if set_name in META_SETS or n not in META_ONLY]
    results = {name: Result(name, set_name, list(pages)) for name in names}
    for name in names:
        for page in pages[:warmup]:
            _safe(chosen[name], page)
    for i, page in enumerate(pages):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            # CPU time of this process, not wall time: the machine is shared, and another
            # job's burst would otherwise land on whichever extractor happened to be running.
            start = time.process_time()
            out = _safe(chosen[name], page)
            results[name].seconds += time.process_time() - start
            results[name].outputs.append(out)
    return results


# ---------------------------------------------------------------- pool

def _busy_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_ceiling(n: int = 15_000_000) -> float:
    """Speed-up that two spawned pure-CPU loops get over one right now: the most any pool can
    show on this machine at this moment (other jobs share the cores)."""
    import multiprocessing

    began = time.perf_counter()
    _busy_loop(n)
    one = time.perf_counter() - began
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_busy_loop, [10, 10])
        began = time.perf_counter()
        pool.map(_busy_loop, [n, n])
        two = time.perf_counter() - began
    return 2 * one / two


def _children_cpu() -> dict[int, float]:
    import psutil

    found: dict[int, float] = {}
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        found[child.pid] = times.user + times.system
    return found


def _cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    # Per process, so a worker recycled by max_tasks does not cancel out another's time.
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def pool_speedup(n_pages: int = 1000, workers: Sequence[int] = (1, 2),
                 rounds: int = 4) -> dict[int, tuple[float, float]]:
    """Pages per second of ExtractionPool on generated pages and the CPU cores its workers
    actually got (worker CPU seconds / wall seconds), per worker count.

    The pools run in alternation, a slice of the pages at a time, so a burst of load from
    other processes on the machine hits every configuration alike.
    """
    from sample.site import build_site
    from workers.extraction import ExtractionPool

    site = build_site("http://127.0.0.1:1", n_articles=n_pages)
    items = []
    for i, article in enumerate(site.articles[:n_pages]):
        resource = site.resources[article.path]
        items.append((i, resource.body, "text/html; charset=utf-8", article.url))
    seconds = dict.fromkeys(workers, 0.0)
    cpu = dict.fromkeys(workers, 0.0)
    pools = {count: ExtractionPool(workers=count).__enter__() for count in workers}
    try:
        for count, pool in pools.items():
            list(pool.extract_many(items[: count * 4]))  # start and warm every worker
        size = -(-len(items) // rounds)
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            for count, pool in pools.items():
                began, cpu_began = time.perf_counter(), _children_cpu()
                classes = [e.page_class for _, e in pool.extract_many(chunk)]
                seconds[count] += time.perf_counter() - began
                cpu[count] += _cpu_spent(cpu_began, _children_cpu())
                log.info("%d workers: %s", count, {c: classes.count(c) for c in set(classes)})
    finally:
        for pool in pools.values():
            pool.close()
    return {count: (len(items) / spent, cpu[count] / spent) for count, spent in seconds.items()}


# ---------------------------------------------------------------- report

def _table(results: dict[str, dict[str, Result]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    for set_name, per_set in results.items():
        n = len(next(iter(per_set.values())).outputs)
        base = per_set.get("trafilatura default")
        metric = "snippet" if set_name in SNIPPET_SETS else "shingle"
        table = Table(title=f"{set_name} development half ({n} pages): {metric} P/R/F1, "
                            "one process")
        for col in ("extractor", "precision", "recall", "F1", "F1 vs traf. default",
                    "no output", "pages/s", "speed vs traf. default"):
            table.add_column(col, justify="left" if col == "extractor" else "right")
        for name, result in per_set.items():
            p, r, f1 = result.prf
            delta = f"{f1 - base.prf[2]:+.4f}" if base else ""
            speed = (f"{result.pages_per_second / base.pages_per_second:.2f}"
                     if base and base.pages_per_second else "")
            table.add_row(name, f"{p:.4f}", f"{r:.4f}", f"{f1:.4f}", delta,
                          str(result.empty_pages), f"{result.pages_per_second:.1f}", speed,
                          style="bold" if name == "newsflow" else None)
        console.print(table)
        with_meta = [r for r in per_set.values() if r.has_meta and set_name in META_SETS]
        if with_meta:
            meta = Table(title=f"{set_name} metadata against Fundus's hand-written parsers ({n} "
                               "pages)")
            for col in ("extractor", "title exact", "authors F1", "date same day", "body F1"):
                meta.add_column(col, justify="left" if col == "extractor" else "right")
            for result in with_meta:
                title, authors, day = meta_means(result.meta_scores)
                meta.add_row(result.name, f"{title:.3f}", f"{authors:.3f}", f"{day:.3f}",
                             f"{result.prf[2]:.3f}",
                             style="bold" if result.name == "newsflow" else None)
            console.print(meta)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--only", nargs="+", help="extractor names to run (default: all)")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set")
    parser.add_argument("--pool-pages", type=int, default=1000)
    parser.add_argument("--no-pool", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Peers complain loudly about odd dates and markup; their noise would bury the table.
    for noisy in ("trafilatura", "goose3", "readability", "newspaper", "htmldate", "courlan",
                  "boilerpy3"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=UserWarning)

    if not args.no_quality:
        chosen = extractors()
        if args.only:
            chosen = {k: v for k, v in chosen.items() if k in args.only}
        results = {}
        for set_name in args.sets:
            try:
                pages = load_set(set_name, args.data)[: args.limit]
            except FileNotFoundError:
                print(f"{set_name}: no data under {args.data}, skipped")
                continue
            results[set_name] = run_set(set_name, pages, chosen)
        if results:
            _table(results)
    if not args.no_pool:
        load = os.getloadavg()[0]
        ceiling_before = cpu_ceiling()
        speeds = pool_speedup(args.pool_pages)
        ceiling = (ceiling_before + cpu_ceiling()) / 2
        print(f"pool on {args.pool_pages} generated pages (cpu_count={os.cpu_count()}, "
              f"load average before {load:.1f}, after {os.getloadavg()[0]:.1f}):")
        for count, (pps, cores) in speeds.items():
            print(f"  {count} worker(s): {pps:.1f} pages/s, workers got {cores:.2f} CPU cores "
                  f"({pps / cores if cores else 0.0:.0f} pages per worker CPU second)")
        (one, one_cores), (two, two_cores) = speeds[1], speeds[2]
        print(f"  speed-up 2 vs 1 workers: {two / one:.2f}x wall clock; CPU obtained "
              f"{two_cores / one_cores if one_cores else 0.0:.2f}x; two bare CPU loops get "
              f"{ceiling:.2f}x on this machine right now (the ceiling for any pool)")


if __name__ == "__main__":
    main()
