"""The four development sets of ``../shared/extraction-bench``, loaded alike, and their digests.

Each set has its own layout and gold (see the README next to the data):

- ``aeb`` and ``fundus``: ``ground-truth.json`` with the gold body; scored with the shingle
  metric (``transforms.textmetric``);
- ``trafilatura-eval``: ``evaldata.json`` with snippets that must (``with``) and must not
  (``without``) appear in the output; scored with trafilatura's snippet metric;
- ``fundus-meta``: ``gold.json`` with title, authors, publishing date and body from Fundus's
  hand-written parsers; the body is scored with the shingle metric, the metadata apart.

``corpus_digest`` hashes a set's gold file and pages, so a floor pinned in a data file can say
which corpus it was measured on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.decoding import decode_html

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "extraction-bench"
SETS = ("aeb", "fundus", "trafilatura-eval", "fundus-meta")
GOLD_FILE = {"aeb": "ground-truth.json", "fundus": "ground-truth.json",
             "trafilatura-eval": "evaldata.json", "fundus-meta": "gold.json"}
SNIPPET_SETS = frozenset({"trafilatura-eval"})
META_SETS = frozenset({"fundus-meta"})


@dataclass(frozen=True, slots=True)
class BenchPage:
    """One page of a development set: raw bytes, decoded HTML, URL and its gold."""

    page_id: str
    body: bytes
    html: str
    url: str
    gold: str
    """Gold body text (empty for the snippet set)."""
    with_snippets: tuple[str, ...] = ()
    without_snippets: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    """Gold metadata (fundus-meta): title, authors, publishing_date."""


def _read_page(folder: Path, name: str) -> tuple[bytes, str]:
    body = gzip.decompress((folder / "html" / f"{name}.html.gz").read_bytes())
    html, _ = decode_html(body, None)
    return body, html


def load_set(name: str, root: Path = DATA) -> list[BenchPage]:
    """Pages of one set, sorted by id; raises FileNotFoundError when the data is absent."""
    folder = root / name
    gold = json.loads((folder / GOLD_FILE[name]).read_text(encoding="utf-8"))
    pages = []
    if name in SNIPPET_SETS:
        for url in sorted(gold, key=lambda u: gold[u]["name"]):
            entry = gold[url]
            body, html = _read_page(folder, entry["name"])
            # The keys carry a difficulty prefix ("hard::host.html"); the page's URL is unknown.
            pages.append(BenchPage(entry["name"], body, html, "", "",
                                   tuple(entry.get("with") or ()),
                                   tuple(entry.get("without") or ())))
        return pages
    for page_id in sorted(gold):
        entry = gold[page_id]
        body, html = _read_page(folder, page_id)
        meta = ({k: entry.get(k) for k in ("title", "authors", "publishing_date")}
                if name in META_SETS else {})
        pages.append(BenchPage(page_id, body, html, entry.get("url") or "",
                               entry.get("articleBody") or "", meta=meta))
    return pages


def corpus_digest(name: str, root: Path = DATA) -> str:
    """sha256 over the set's gold file and every page file (names and bytes), in name order."""
    folder = root / name
    digest = hashlib.sha256()
    digest.update((folder / GOLD_FILE[name]).read_bytes())
    for path in sorted((folder / "html").glob("*.html.gz")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def available(name: str, root: Path = DATA) -> bool:
    """Whether the set's gold file is present under ``root``."""
    return (root / name / GOLD_FILE.get(name, "-")).is_file()
