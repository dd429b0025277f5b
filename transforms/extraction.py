"""Article extraction: decoded HTML in, one ``Extraction`` record out. Pure (no I/O, no clock).

The body comes from trafilatura (see ``_body`` for the settings chosen and why); metadata
prefers the page's own structured data: JSON-LD first, then OpenGraph/article meta tags, then
plain meta and ``<title>``. Pages that give too little text are classified (paywall, consent,
bot challenge, login wall, JS shell, too short) instead of being stored as articles.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml import etree

from transforms.decoding import decode_page, detect_language
from transforms.pageclass import PageClass, classify_non_article
from transforms.published import parse_datetime

log = logging.getLogger(__name__)

try:  # readability-lxml is the fallback extractor; without it the fallback is skipped.
    from readability import Document as _Readability
except ImportError:  # pragma: no cover - installed with the bench dependency group
    _Readability = None

EXTRACTOR_VERSION = f"newsflow-extract/2 trafilatura/{trafilatura.__version__}"


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """Knobs of the extractor; the defaults are the measured choice (see bench/extract.py)."""

    min_text_chars: int = 250
    """Below this many characters of body text a page is not an article (trafilatura's
    MIN_EXTRACTED_SIZE); it is classified instead (FAULTS 54)."""
    max_tree_size: int = 100_000
    """Elements above which the page is refused as too large (FAULTS 57: finite MAX_TREE_SIZE).
    The largest bench page has ~2,600; a 200k-element table takes trafilatura ~15 s."""
    max_html_chars: int = 20_000_000
    """Decoded HTML above this size is refused before parsing (the fetch cap is the first guard)."""
    detect_language: bool = True
    """Detect the body's language (``decoding.detect_language``: scripts and stopwords)."""


@dataclass(frozen=True, slots=True)
class Extraction:
    """Outcome of extracting one page: an article with metadata, or a class and a reason."""

    page_class: PageClass
    reason: str | None
    url: str
    canonical_url: str | None
    title: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    published_source: str | None
    modified_at: datetime | None
    language: str | None
    declared_language: str | None
    site_name: str | None
    description: str | None
    image: str | None
    tags: tuple[str, ...]
    text: str | None
    word_count: int
    content_hash: str | None
    extractor: str
    extractor_version: str
    encoding: str | None


DEFAULT_OPTIONS = ExtractOptions()


def failed(url: str, page_class: PageClass, reason: str | None, *,
           encoding: str | None = None, extractor: str = "none") -> Extraction:
    """An Extraction with no article: only the class, the reason and the URL."""
    return Extraction(
        page_class=page_class, reason=reason, url=url, canonical_url=None, title=None,
        authors=(), published_at=None, published_source=None, modified_at=None, language=None,
        declared_language=None, site_name=None, description=None, image=None, tags=(),
        text=None, word_count=0, content_hash=None, extractor=extractor,
        extractor_version=EXTRACTOR_VERSION, encoding=encoding,
    )


# ---------------------------------------------------------------- metadata

_ARTICLE_TYPES = ("article", "newsarticle", "reportagenewsarticle", "blogposting", "report",
                  "analysisnewsarticle", "opinionnewsarticle", "webpage", "liveblogposting",
                  "scholarlyarticle", "techarticle", "backgroundnewsarticle", "review")
_WS = re.compile(r"\s+")


def _clean(value: Any, limit: int = 1000) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str | int | float):
        return None
    text = _WS.sub(" ", str(value)).strip()
    return text[:limit] or None


def _jsonld_objects(tree: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in tree.xpath('//script[@type="application/ld+json"]')[:20]:
        raw = (node.text or "").strip()
        if not raw or len(raw) > 1_000_000:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:  # Stray control characters are the common breakage.
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except ValueError:
                continue
        stack = [data]
        while stack and len(out) < 200:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                out.append(item)
                if "@graph" in item:
                    stack.append(item["@graph"])
                if isinstance(item.get("mainEntity"), dict):
                    stack.append(item["mainEntity"])
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type", ())
    return {str(x).lower() for x in (t if isinstance(t, list) else [t])}


def _pick_article_ld(objs: list[dict[str, Any]]) -> dict[str, Any] | None:
    ranked = [o for o in objs if _types(o) & set(_ARTICLE_TYPES)]
    # A real article type with a date beats a generic WebPage.
    ranked.sort(key=lambda o: ("webpage" in _types(o), "datePublished" not in o))
    return ranked[0] if ranked else None


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items[:20]:
        name = _clean(item, 200)
        if name and not name.startswith("http"):
            names.append(name)
    return names


def _meta(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.xpath("//meta[@content]")[:500]:
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").lower()
        value = _clean(node.get("content"), 2000)
        if key and value and key not in found:
            found[key] = value
    return found


def _first(meta: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        if meta.get(key):
            return meta[key]
    return None


def _absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    try:
        out = urljoin(base, href.strip())
    except ValueError:
        return None
    return out if out.startswith(("http://", "https://")) else None


@dataclass(frozen=True, slots=True)
class _Meta:
    canonical_url: str | None
    title: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    published_source: str | None
    modified_at: datetime | None
    declared_language: str | None
    site_name: str | None
    description: str | None
    image: str | None
    tags: tuple[str, ...]


def page_metadata(tree: Any, url: str) -> _Meta:
    """Metadata from the page's own structured data: JSON-LD > OpenGraph/article meta > HTML."""
    ld = _pick_article_ld(_jsonld_objects(tree)) or {}
    meta = _meta(tree)
    canon = tree.xpath('//link[translate(@rel,"CANONICAL","canonical")="canonical"]/@href')
    canonical = _absolute(url, canon[0] if canon else None) or _absolute(url, meta.get("og:url"))
    title_nodes = tree.xpath("//title/text()")
    title = (_clean(ld.get("headline")) or _first(meta, "og:title", "twitter:title")
             or _clean(title_nodes[0] if title_nodes else None))
    authors = _names(ld.get("author")) or [
        a for a in (_first(meta, "author", "article:author", "parsely-author", "byl",
                           "dc.creator", "sailthru.author"),) if a and not a.startswith("http")]
    published_at, published_source = parse_datetime(_clean(ld.get("datePublished"))), "json-ld"
    if published_at is None:
        published_source = "meta"
        published_at = parse_datetime(_first(
            meta, "article:published_time", "og:article:published_time", "datepublished",
            "pubdate", "publishdate", "date", "dc.date", "dc.date.issued", "dcterms.created",
            "sailthru.date", "parsely-pub-date", "article.published", "publish-date"))
        if published_at is None:
            times = tree.xpath("//time[@datetime]/@datetime")
            published_at = parse_datetime(times[0]) if times else None
    modified_at = parse_datetime(_clean(ld.get("dateModified"))) or parse_datetime(_first(
        meta, "article:modified_time", "og:updated_time", "datemodified", "last-modified",
        "dcterms.modified"))
    html_lang = tree.xpath("/html/@lang | /html/@xml:lang",
                           namespaces={"xml": "http://www.w3.org/XML/1998/namespace"})
    declared = (_clean(html_lang[0] if html_lang else None, 20)
                or _clean(ld.get("inLanguage"), 20)
                or _first(meta, "og:locale", "content-language", "language", "dc.language"))
    publisher = ld.get("publisher")
    site_name = _first(meta, "og:site_name", "application-name") or _clean(publisher, 200)
    image = ld.get("image")
    if isinstance(image, list):
        image = image[0] if image else None
    if isinstance(image, dict):
        image = image.get("url")
    image_url = _absolute(url, _first(meta, "og:image", "twitter:image")
                          or (image if isinstance(image, str) else None))
    keywords = ld.get("keywords")
    tags: list[str] = []
    if isinstance(keywords, str):
        tags = [k.strip() for k in keywords.split(",")]
    elif isinstance(keywords, list):
        tags = [k for k in (_clean(k, 100) for k in keywords) if k]
    if not tags:
        tags = [n.get("content", "").strip()
                for n in tree.xpath('//meta[@property="article:tag"]')[:50]]
        if not tags and meta.get("keywords"):
            tags = [k.strip() for k in meta["keywords"].split(",")]
    tags = list(dict.fromkeys(t[:100] for t in tags if t))[:50]
    return _Meta(
        canonical_url=canonical, title=title, authors=tuple(dict.fromkeys(authors)),
        published_at=published_at, published_source=published_source if published_at else None,
        modified_at=modified_at, declared_language=declared, site_name=site_name,
        description=_clean(ld.get("description")) or _first(meta, "og:description",
                                                              "description", "twitter:description"),
        image=image_url, tags=tuple(tags),
    )


# ---------------------------------------------------------------- body

def normalize_text(text: str) -> str:
    """NFC, whitespace collapsed inside lines, blank lines dropped; the form that is hashed."""
    lines = (_WS.sub(" ", line).strip() for line in unicodedata.normalize("NFC", text).split("\n"))
    return "\n".join(line for line in lines if line)


def content_hash(text: str) -> str:
    """sha256 hex of the normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# Lines that open a block of links to other stories or a sign-up prompt; measured on the bench
# sets these are never article text when they are short. Kept generic (no site names).
_BOILER = re.compile(
    r"^\W*(?:related(?: articles?| stories| posts?| coverage| content| reading)?|read more|"
    r"read also|also read|see more|see also|more from|more on this|don'?t miss|"
    r"most read(?: in [\w ]+)?|you may also like|recommended(?: for you| stories)?|trending|"
    r"popular|sign up|subscribe|newsletter|follow us|advertisement|sponsored|share this|"
    r"click here|watch:|listen:|get the latest|tell us what you think|have a tip)\b",
    re.I,
)
# A dateline or "Updated ..." stamp near the top is page furniture, not body text.
_DATELINE = re.compile(
    r"^\W*(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|"
    r"\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}|updated|"
    r"published|posted)",
    re.I,
)
_WORD = re.compile(r"\w+")
_ALNUM = re.compile(r"[^\W_]")
_BULLET = ("- ", "\u2022 ", "* ", "\u2013 ")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _is_headline(line: str, headlines: tuple[str, ...]) -> bool:
    words = _words(line)
    for title in headlines:
        other = _words(title)
        if words and other and len(words & other) / len(words | other) >= 0.8:
            return True
    return False


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def link_texts(tree: Any) -> frozenset[str]:
    """Normalized texts of the page's links, to recognise lines that are nothing but a link."""
    return frozenset(k for k in (_key(a.text_content() or "") for a in tree.iter("a")) if k)


def clean_body(text: str, headlines: tuple[str, ...], links: frozenset[str] = frozenset()) -> str:
    """Remove page furniture the extractor keeps: the headline repeated in the first lines
    (the title is stored apart), datelines at the top, short "Related:"/"Read more" lines with
    the bullet list that follows them, and runs of two or more lines that are each entirely
    the text of a link (lists of other stories). Lines without any word character go too."""
    lines = [line for line in text.split("\n") if _ALNUM.search(line)]
    is_link = [_key(line[2:] if line.startswith(_BULLET) else line) in links for line in lines]
    out: list[str] = []
    in_links = False
    for i, line in enumerate(lines):
        if i < 3 and _is_headline(line, headlines):
            continue
        if is_link[i] and ((i > 0 and is_link[i - 1]) or (i + 1 < len(lines) and is_link[i + 1])):
            continue
        if len(line) < 200 and _BOILER.match(line):
            in_links = True
            continue
        if in_links and (line.startswith(_BULLET) or len(_WORD.findall(line)) <= 3):
            continue
        in_links = False
        if i < 4 and len(line) < 80 and len(_WORD.findall(line)) <= 12 and _DATELINE.match(line):
            continue
        out.append(line)
    return "\n".join(out)


def paragraph_chars(tree: Any) -> int:
    """Characters of text inside <p> elements: the page's text mass, a cheap yardstick."""
    return sum(len(" ".join((p.text_content() or "").split())) for p in tree.iter("p"))


def readability_text(page: str | Any) -> str | None:
    """Main text by readability-lxml (optional: the bench dependency group), one line per block
    element; None when it is missing or fails. ``page`` is HTML or an lxml tree (left intact:
    a copy without scripts, styles, navigation and forms is given to readability, which
    halves its time on big pages with the same output on the bench sets)."""
    if _Readability is None:
        return None
    try:
        if isinstance(page, str):
            summary = _Readability(page).summary(html_partial=True)
        else:
            tree = copy.deepcopy(page)
            etree.strip_elements(tree, "script", "style", "noscript", "svg", "iframe",
                                 "template", "nav", "footer", "aside", "form", "button",
                                 "select", with_tail=False)
            summary = _Readability(tree).summary(html_partial=True)
        node = lxml.html.fromstring(summary) if summary.strip() else None
    except Exception as exc:  # readability raises bare Exceptions on odd pages
        log.debug("readability failed: %r", exc)
        return None
    if node is None:
        return None
    blocks = [" ".join(el.text_content().split()) for el in node.iter(*_BLOCKS)
              if not any(child.tag in _BLOCKS for child in el.iterdescendants())]
    text = "\n".join(b for b in blocks if b)
    return text or " ".join(node.text_content().split()) or None


_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "td", "dd", "dt",
           "figcaption")


def _body(tree: Any, url: str, text_mass: int) -> tuple[str | None, str]:
    """Main text and the name of the extractor that produced it.

    trafilatura with favor_precision and no comments scored best of its settings on both
    bench sets (see bench/extract.py). When it returns under 45% of the page's paragraph text
    (a live blog, a page whose article container it misjudged), readability gets a try and
    wins if it finds more than twice as much. On the bench sets readability is consulted on
    5 of 136 pages and wins on 2 (F1 0.62 -> 0.98 and 0.04 -> 0.94), never where trafilatura
    had F1 >= 0.9. The rule is about text mass, not sites, so it carries to unseen pages.
    """
    text = trafilatura.extract(
        tree, url=url, favor_precision=True, include_comments=False, include_tables=True,
        with_metadata=False, deduplicate=False, output_format="txt",
    )
    length = len(text or "")
    # readability costs ~100 ms on a big page: only when a lot of paragraph text is unaccounted.
    if length < FALLBACK_MASS_SHARE * text_mass and text_mass - length > FALLBACK_MIN_MISSING:
        alternative = readability_text(tree)
        if alternative and len(alternative) > FALLBACK_GAIN * length + 200:
            return alternative, "readability-fallback"
    return text, "trafilatura-precision"


FALLBACK_MASS_SHARE = 0.45
FALLBACK_GAIN = 2.0
FALLBACK_MIN_MISSING = 2000


def parse_html(html: str) -> Any:
    """lxml tree of ``html`` or None (trafilatura's loader: it handles the quirks)."""
    return trafilatura.utils.load_html(html)


def extract_article(html: str, url: str, *,
                    options: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Extract the article body and metadata from decoded HTML. Never raises on bad input:
    an internal error becomes NO_CONTENT with the error's name as reason (MemoryError is let
    through so the worker pool records the page as a crash)."""
    try:
        return _extract(html, url, options)
    except MemoryError:
        raise
    except Exception as exc:  # bad input is data, not an exception (feedparser's bozo rule)
        log.warning("extraction failed for %s", url, exc_info=True)
        return failed(url, PageClass.NO_CONTENT, f"extractor error: {type(exc).__name__}")


def _extract(html: str, url: str, options: ExtractOptions) -> Extraction:
    if not html or not html.strip():
        return failed(url, PageClass.NO_CONTENT, "empty document")
    if len(html) > options.max_html_chars:
        return failed(url, PageClass.NO_CONTENT, f"html over {options.max_html_chars} chars")
    tree = parse_html(html)
    if tree is None:
        return failed(url, PageClass.NO_CONTENT, "unparseable html")
    # Every element costs at least 3 characters ("<p>"), so small documents need no count.
    size = int(tree.xpath("count(//*)")) if len(html) > 3 * options.max_tree_size else 0
    if size > options.max_tree_size:
        return failed(url, PageClass.NO_CONTENT, f"tree of {size} elements over the limit")
    meta = page_metadata(tree, url)
    headlines = tuple(h for h in [meta.title or ""] + [
        " ".join(n.text_content().split()) for n in tree.xpath("//h1")[:3]] if h)
    text, extractor = _body(tree, url, paragraph_chars(tree))
    text = clean_body(normalize_text(text or ""), headlines, link_texts(tree))
    if len(text) < options.min_text_chars:
        page_class, reason = classify_non_article(html, len(text), options.min_text_chars)
        return failed(url, page_class, reason, extractor=extractor)
    language = detect_language(text) if options.detect_language else None
    return Extraction(
        page_class=PageClass.ARTICLE, reason=None, url=url, canonical_url=meta.canonical_url,
        title=meta.title, authors=meta.authors, published_at=meta.published_at,
        published_source=meta.published_source, modified_at=meta.modified_at,
        language=language, declared_language=meta.declared_language, site_name=meta.site_name,
        description=meta.description, image=meta.image, tags=meta.tags, text=text,
        word_count=len(text.split()), content_hash=content_hash(text), extractor=extractor,
        extractor_version=EXTRACTOR_VERSION, encoding=None,
    )


def extract_page(body: bytes, content_type: str | None, url: str, *,
                 options: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Sniff and decode fetched bytes, then extract; binary and non-HTML never reach the parser."""
    decoded = decode_page(body, content_type)
    if decoded.page_class is not None or decoded.text is None:
        return failed(url, decoded.page_class or PageClass.NO_CONTENT, decoded.reason,
                      encoding=decoded.encoding)
    return replace(extract_article(decoded.text, url, options=options), encoding=decoded.encoding)
