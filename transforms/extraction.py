"""Article extraction: decoded HTML in, one ``Extraction`` record out. Pure (no I/O, no clock).

The body comes from trafilatura (see ``_body`` for the settings chosen and why); metadata
prefers the page's own structured data: JSON-LD first, then OpenGraph/article meta tags, then
plain meta and ``<title>``. Pages that give too little text are classified (paywall, consent,
bot challenge, login wall, JS shell, too short) instead of being stored as articles.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import lxml.html
import trafilatura
from lxml import etree

from transforms.decoding import decode_page, detect_language
from transforms.pageclass import Access, PageClass, classify_non_article, ends_at_paywall
from transforms.pagemeta import H1, PageMeta, page_metadata

if TYPE_CHECKING:
    from transforms.stories import TextSign

log = logging.getLogger(__name__)



@functools.lru_cache(maxsize=1)
def readability_document() -> Any:
    """readability-lxml's ``Document``, the fallback extractor, or None when it is not installed
    (then the fallback is skipped). Imported on first use: it pulls in chardet, ~0.5 s of CPU
    that every spawned worker paid at start although few pages need the fallback."""
    try:
        from readability import Document
    except ImportError:  # pragma: no cover - installed with the bench dependency group
        return None
    return Document

EXTRACTOR_VERSION = f"newsflow-extract/3 trafilatura/{trafilatura.__version__}"


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """Knobs of the extractor; the defaults are the measured choice (see bench/extract.py)."""

    min_text_chars: int = 250
    """Below this many characters of body text a page is not a full article (trafilatura's
    MIN_EXTRACTED_SIZE): it is classified (FAULTS 54), or kept as a short article
    (``is_short``) when it is marked up as one, with a headline and a date."""
    min_short_chars: int = 20
    """A short article needs at least this much text (one real sentence)."""
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
    is_short: bool = False
    """An article page whose text is under ``min_text_chars`` (a brief, a teaser): kept as an
    article, flagged, so counts of an outlet's items see it."""
    access: Access = Access.UNKNOWN
    """Whether the page gives the article to everyone: ``paywalled`` when it says so
    (``isAccessibleForFree: false``) or its text stops at a subscription prompt; the text is
    then the teaser."""
    story_sign: TextSign | None = field(default=None, compare=False, repr=False)
    """The extraction worker's reading of the text for the stories (``transforms.stories.
    text_sign``), so the writer does not read its words again; None where not worked out."""


DEFAULT_OPTIONS = ExtractOptions()


def failed(url: str, page_class: PageClass, reason: str | None, *,
           encoding: str | None = None, extractor: str = "none",
           meta: PageMeta | None = None, access: Access = Access.UNKNOWN) -> Extraction:
    """An Extraction with no article text: the class, the reason, the URL, and the metadata
    the page gives about itself when it was parsed (title, date, authors, outlet)."""
    return Extraction(
        page_class=page_class, reason=reason, url=url,
        canonical_url=meta.canonical_url if meta else None, title=meta.title if meta else None,
        authors=meta.authors if meta else (), published_at=meta.published_at if meta else None,
        published_source=meta.published_source if meta else None,
        modified_at=meta.modified_at if meta else None, language=None,
        declared_language=meta.declared_language if meta else None,
        site_name=meta.site_name if meta else None,
        description=meta.description if meta else None, image=meta.image if meta else None,
        tags=meta.tags if meta else (), text=None, word_count=0, content_hash=None,
        extractor=extractor, extractor_version=EXTRACTOR_VERSION, encoding=encoding,
        access=access,
    )


# ---------------------------------------------------------------- body

def normalize_text(text: str) -> str:
    """NFC, whitespace collapsed inside lines, blank lines dropped; the form that is hashed."""
    lines = (_WS.sub(" ", line).strip() for line in unicodedata.normalize("NFC", text).split("\n"))
    return "\n".join(line for line in lines if line)


def content_hash(text: str) -> str:
    """sha256 hex of the normalized text."""
    return _sha256(normalize_text(text))


def _sha256(normalized: str) -> str:
    """``content_hash`` of a text already in normal form: ``clean_body`` keeps whole lines of
    ``normalize_text``'s output, which ``normalize_text`` gives back unchanged."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


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
_WS = re.compile(r"\s+")
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
    document = readability_document()
    if document is None:
        return None
    try:
        if isinstance(page, str):
            summary = document(page).summary(html_partial=True)
        else:
            tree = copy.deepcopy(page)
            etree.strip_elements(tree, "script", "style", "noscript", "svg", "iframe",
                                 "template", "nav", "footer", "aside", "form", "button",
                                 "select", with_tail=False)
            summary = document(tree).summary(html_partial=True)
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


def _body(tree: Any, url: str, text_mass: int, article_markup: bool,
          min_chars: int) -> tuple[str | None, str]:
    """Main text and the name of the extractor that produced it.

    On pages marked up as articles (``_Meta.article_markup``) trafilatura with favor_precision
    and no comments scored best of its settings on the news sets (aeb, fundus, fundus-meta);
    on other pages (shops, institutions, forums, plain blogs: trafilatura-eval) its pruning
    drops real text, and trafilatura's balanced default keeps it (snippet F1 0.929 -> 0.934).
    When precision leaves less than ``min_chars``, the balanced run gets a try (3 of 730 bench
    pages; it turned three empty pages into their text). When it returns under 45% of the
    page's paragraph text
    (a live blog, a page whose article container it misjudged), readability gets a try and
    wins if it finds more than twice as much. On the bench sets readability is consulted on
    5 of 136 pages and wins on 2 (F1 0.62 -> 0.98 and 0.04 -> 0.94), never where trafilatura
    had F1 >= 0.9. The rule is about text mass, not sites, so it carries to unseen pages.
    """
    text = _trafilatura(tree, url, precise=article_markup)
    name = "trafilatura-precision" if article_markup else "trafilatura"
    if article_markup and len(text or "") < min_chars:
        balanced = _trafilatura(tree, url, precise=False)
        if len(balanced or "") > len(text or ""):
            text, name = balanced, "trafilatura"
    length = len(text or "")
    # readability costs ~100 ms on a big page: only when a lot of paragraph text is unaccounted.
    if length < FALLBACK_MASS_SHARE * text_mass and text_mass - length > FALLBACK_MIN_MISSING:
        alternative = readability_text(tree)
        if alternative and len(alternative) > FALLBACK_GAIN * length + 200:
            return alternative, "readability-fallback"
    return text, name


def _trafilatura(tree: Any, url: str, *, precise: bool) -> str | None:
    return trafilatura.extract(
        tree, url=url, favor_precision=precise, include_comments=False, include_tables=True,
        with_metadata=False, deduplicate=False, output_format="txt",
    )


FALLBACK_MASS_SHARE = 0.45
FALLBACK_GAIN = 2.0
FALLBACK_MIN_MISSING = 2000


def parse_html(html: str, *, clean: bool = False) -> Any:
    """lxml tree of ``html`` or None (trafilatura's loader: it handles the quirks).

    ``clean``: the text comes from ``decoding.decode_page``, which already removed the control
    characters that trafilatura's loader strips with a regex pass over the whole page
    (``INVALID_XML_CHARS``, the same class as ``decoding._CONTROL``); the loader's other steps
    are kept as they are, so the tree is the same. The pass cost ~0.75 ms on a 150 KB page,
    a third of its parse."""
    if not clean:
        return trafilatura.utils.load_html(html)
    # trafilatura.utils.load_html for a str, without the control-character pass
    beginning = html[:50].lower()
    dubious = trafilatura.utils.is_dubious_html(beginning)
    if "doctype" in beginning:
        first, _, rest = html.partition("\n")
        html = trafilatura.utils.DOCTYPE_TAG.sub("", first, count=1) + "\n" + rest
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = trafilatura.utils.FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    tree = None
    fallback = False
    try:
        tree = lxml.html.fromstring(html, parser=trafilatura.utils.HTML_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree = trafilatura.utils.fromstring_bytes(html)
        fallback = True
    except Exception as exc:  # lxml's own failures: trafilatura logs them and goes on
        log.debug("lxml parsing failed: %r", exc)
    if (tree is None or len(tree) < 1) and not fallback:
        tree = trafilatura.utils.fromstring_bytes(html)
    if tree is not None and dubious and len(tree) < 2:
        return None
    return tree


def extract_article(html: str, url: str, *,
                    options: ExtractOptions = DEFAULT_OPTIONS, clean: bool = False) -> Extraction:
    """Extract the article body and metadata from decoded HTML. Never raises on bad input:
    an internal error becomes NO_CONTENT with the error's name as reason (MemoryError is let
    through so the worker pool records the page as a crash). ``clean``: ``html`` comes from
    ``decoding.decode_page`` (no control characters left, see ``parse_html``)."""
    try:
        return _extract(html, url, options, clean)
    except MemoryError:
        raise
    except Exception as exc:  # bad input is data, not an exception (feedparser's bozo rule)
        log.warning("extraction failed for %s", url, exc_info=True)
        return failed(url, PageClass.NO_CONTENT, f"extractor error: {type(exc).__name__}")


def _extract(html: str, url: str, options: ExtractOptions, clean: bool) -> Extraction:
    if not html or html.isspace():  # (not a stripped copy of the page)
        return failed(url, PageClass.NO_CONTENT, "empty document")
    if len(html) > options.max_html_chars:
        return failed(url, PageClass.NO_CONTENT, f"html over {options.max_html_chars} chars")
    tree = parse_html(html, clean=clean)
    if tree is None:
        return failed(url, PageClass.NO_CONTENT, "unparseable html")
    # Every element costs at least 3 characters ("<p>"), so small documents need no count.
    size = int(tree.xpath("count(//*)")) if len(html) > 3 * options.max_tree_size else 0
    if size > options.max_tree_size:
        return failed(url, PageClass.NO_CONTENT, f"tree of {size} elements over the limit")
    meta = page_metadata(tree, url)
    headlines = tuple(h for h in [meta.title or ""] + [
        " ".join(n.text_content().split()) for n in H1(tree)[:3]] if h)
    text, extractor = _body(tree, url, paragraph_chars(tree), meta.article_markup,
                            options.min_text_chars)
    raw_text = normalize_text(text or "")
    text = clean_body(raw_text, headlines, link_texts(tree))
    access = _access(meta, raw_text)
    is_short = False
    if len(text) < options.min_text_chars:
        page_class, reason = classify_non_article(html, len(text), options.min_text_chars)
        if page_class is PageClass.SUSPECT_PAYWALL:
            access = Access.PAYWALLED
        if not _is_brief(meta, text, page_class, options):
            return failed(url, page_class, reason, extractor=extractor, meta=meta,
                          access=access)
        is_short = True
    language = detect_language(text) if options.detect_language else None
    return Extraction(
        page_class=PageClass.ARTICLE, reason=None, url=url, canonical_url=meta.canonical_url,
        title=meta.title, authors=meta.authors, published_at=meta.published_at,
        published_source=meta.published_source, modified_at=meta.modified_at,
        language=language, declared_language=meta.declared_language, site_name=meta.site_name,
        description=meta.description, image=meta.image, tags=meta.tags, text=text,
        word_count=len(text.split()), content_hash=_sha256(text), extractor=extractor,
        extractor_version=EXTRACTOR_VERSION, encoding=None, is_short=is_short, access=access,
    )


# Classes that explain a short text as something other than a brief: the page is a gate.
_GATES = frozenset({PageClass.BOT_CHALLENGE, PageClass.CONSENT_WALL, PageClass.JS_SHELL,
                    PageClass.LOGIN_WALL})


def _is_brief(meta: PageMeta, text: str, page_class: PageClass,
              options: ExtractOptions) -> bool:
    """A short text that is still an article: the page is marked up as an article, has a
    headline and a publication date, is not a gate, and gives at least a sentence."""
    return (page_class not in _GATES and len(text) >= options.min_short_chars
            and meta.article_markup and bool(meta.title) and meta.published_at is not None)


def _access(meta: PageMeta, raw_text: str) -> Access:
    """Paywalled when the page declares it (``isAccessibleForFree: false``) or the text ends
    at a subscription prompt; free when it declares it; otherwise unknown."""
    if meta.free is False or ends_at_paywall(raw_text):
        return Access.PAYWALLED
    if meta.free is True:
        return Access.FREE
    return Access.UNKNOWN


def extract_page(body: bytes, content_type: str | None, url: str, *,
                 options: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Sniff and decode fetched bytes, then extract; binary and non-HTML never reach the parser."""
    decoded = decode_page(body, content_type)
    if decoded.page_class is not None or decoded.text is None:
        return failed(url, decoded.page_class or PageClass.NO_CONTENT, decoded.reason,
                      encoding=decoded.encoding)
    return replace(extract_article(decoded.text, url, options=options, clean=True),
                   encoding=decoded.encoding)
