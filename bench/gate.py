"""The extraction quality gate's measurements, and the pinning of its floors.

``measure`` runs newsflow's real path (bytes -> sniff/decode -> extract, in the spawned
``ExtractionPool``) over each development set and scores it with that set's metric; on
fundus-meta it also scores the metadata. ``tests/transforms/test_extraction_quality.py`` compares
the result with the floors pinned in ``tests/transforms/fixtures/extraction_floors.json``,
which also records the digest of the corpus each floor was measured on (as trafilatura's
``tests/eval_gate.py`` does) and bare trafilatura's F1 in the same run, so "never below
trafilatura" is checked without running it.

Re-pin after a deliberate change: ``.venv/bin/python -m bench.gate --write`` (it runs trafilatura
too and refuses to write a floor below trafilatura's score).
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import DATA, META_SETS, SETS, SNIPPET_SETS, BenchPage, corpus_digest, load_set
from bench.scoring import meta_means, score_meta, score_snippets, snippet_prf
from transforms.extraction import Extraction
from transforms.pageclass import PageClass
from transforms.textmetric import corpus_scores, score_page

FLOORS = (Path(__file__).resolve().parent.parent / "tests" / "transforms" / "fixtures"
          / "extraction_floors.json")
# Floors sit this far under the measured value: extraction is deterministic, so the margin only
# absorbs library patch releases, not noise.
MARGIN = 0.001
# trafilatura-eval is 482 pages, two thirds of the gate's time: the default suite checks every
# QUICK_STRIDE-th page (a spread sample with its own pinned floor), the slow suite all of them.
QUICK_SETS = {"trafilatura-eval": 4}
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SetScore:
    """One set's scores: body P/R/F1, pages without text, and metadata on the metadata set."""

    precision: float
    recall: float
    f1: float
    empty: int
    crashed: int
    title: float | None = None
    authors: float | None = None
    date: float | None = None


def body_prf(name: str, pages: Sequence[BenchPage],
             texts: Sequence[str | None]) -> tuple[float, float, float]:
    """P/R/F1 of ``texts`` with the set's own metric."""
    if name in SNIPPET_SETS:
        return snippet_prf(score_snippets(t, p.with_snippets, p.without_snippets)
                           for p, t in zip(pages, texts, strict=True))
    return corpus_scores(score_page(t, p.gold) for p, t in zip(pages, texts, strict=True))


def score(name: str, pages: Sequence[BenchPage], results: Sequence[Extraction]) -> SetScore:
    """Score newsflow's extractions of one set."""
    p, r, f1 = body_prf(name, pages, [e.text for e in results])
    empty = sum(1 for e in results if not (e.text or "").strip())
    crashed = sum(1 for e in results if e.page_class is PageClass.EXTRACT_CRASH)
    if name not in META_SETS:
        return SetScore(p, r, f1, empty, crashed)
    title, authors, day = meta_means([score_meta(e.title, e.authors, e.published_at, page.meta)
                                      for page, e in zip(pages, results, strict=True)])
    return SetScore(p, r, f1, empty, crashed, title, authors, day)


def extract_set(pages: Sequence[BenchPage]) -> list[Extraction]:
    """newsflow's extraction of every page through the worker pool, in page order."""
    from workers.extraction import ExtractionPool

    with ExtractionPool(timeout_s=60.0) as pool:
        found = dict(pool.extract_many(
            (i, page.body, "text/html", page.url) for i, page in enumerate(pages)))
    return [found[i] for i in range(len(pages))]


def trafilatura_f1(name: str, pages: Sequence[BenchPage]) -> float:
    """Bare trafilatura default (comments out, tables in: the README's reference settings)."""
    import trafilatura

    texts = [trafilatura.extract(p.html, url=p.url or None, include_comments=False,
                                 include_tables=True) for p in pages]
    return body_prf(name, pages, texts)[2]


def _floor(value: float) -> float:
    return round(value - MARGIN, 4)


def pin(root: Path = DATA, sets: Sequence[str] = SETS) -> dict[str, object]:
    """Measure every set and build the floors file's content."""
    import trafilatura

    out: dict[str, object] = {"trafilatura_version": trafilatura.__version__, "margin": MARGIN,
                              "sets": {}}
    for name in sets:
        pages = load_set(name, root)
        got = score(name, pages, extract_set(pages))
        baseline = trafilatura_f1(name, pages)
        if got.f1 < baseline:
            raise SystemExit(f"{name}: newsflow F1 {got.f1:.4f} is below trafilatura's "
                             f"{baseline:.4f}; not pinning a floor under the baseline")
        entry: dict[str, object] = {
            "digest": corpus_digest(name, root), "pages": len(pages),
            "metric": "snippet" if name in SNIPPET_SETS else "shingle",
            "measured_f1": round(got.f1, 4), "trafilatura_default_f1": round(baseline, 4),
            "f1_floor": max(_floor(got.f1), round(baseline, 4)), "max_empty": got.empty,
        }
        if name in QUICK_SETS:
            entry["quick"] = pin_quick(name, pages)
        if name in META_SETS:
            assert got.title is not None and got.authors is not None and got.date is not None
            entry["measured_meta"] = {"title": round(got.title, 4),
                                      "authors": round(got.authors, 4),
                                      "date": round(got.date, 4)}
            entry["meta_floors"] = {"title": _floor(got.title), "authors": _floor(got.authors),
                                    "date": _floor(got.date)}
        out["sets"][name] = entry  # type: ignore[index]
        print(f"{name}: {entry}")
    return out


def quick_pages(name: str, pages: Sequence[BenchPage]) -> list[BenchPage]:
    """The spread sample of a big set that the default test suite runs."""
    return list(pages[::QUICK_SETS[name]])


def pin_quick(name: str, pages: Sequence[BenchPage]) -> dict[str, object]:
    """Floors for the quick sample of a big set."""
    sample = quick_pages(name, pages)
    got = score(name, sample, extract_set(sample))
    return {"stride": QUICK_SETS[name], "pages": len(sample),
            "measured_f1": round(got.f1, 4), "f1_floor": _floor(got.f1),
            "trafilatura_default_f1": round(trafilatura_f1(name, sample), 4),
            "max_empty": got.empty}


def main(argv: Sequence[str] | None = None) -> None:
    """Print the measurements; with --write, pin them as the new floors."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--write", action="store_true", help=f"write {FLOORS}")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS),
                        help="measure (and with --write re-pin) only these sets; the floors of "
                        "the others are kept as pinned")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("trafilatura", "htmldate", "readability", "courlan"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=UserWarning)
    floors = pin(args.data, args.sets)
    if args.write and set(args.sets) != set(SETS):
        kept = json.loads(FLOORS.read_text(encoding="utf-8"))
        if kept.get("trafilatura_version") != floors["trafilatura_version"]:
            raise SystemExit("trafilatura changed since the floors were pinned: re-pin every set")
        kept["sets"].update(floors["sets"])
        floors = kept
    if args.write:
        FLOORS.parent.mkdir(parents=True, exist_ok=True)
        FLOORS.write_text(json.dumps(floors, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {FLOORS}")


if __name__ == "__main__":
    main()
