"""Text cleaning for feed fields: valid UTF-8 out, whatever came in (FAULTS cases 38, 49, 50).

DuckDB VARCHAR needs valid UTF-8 and XML 1.0 forbids most C0 controls, so every string a feed
gives us passes through ``clean_text`` before it is stored or hashed. HTML becomes plain text:
titles, summaries and content are stored as text, never as markup someone might render
(FAULTS case 49), and markup churn does not create new entry versions.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from html.parser import HTMLParser

logger = logging.getLogger(__name__)

# C0 controls except tab, newline, carriage return; DEL; the noncharacters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# C1 controls are almost always Windows-1252 bytes decoded as Latin-1: map them back.
_C1 = re.compile("[\x80-\x9f]")
_TAG_HINT = re.compile(r"<[A-Za-z/!]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{1,31});")
_INLINE_SPACE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u3000]+")
_ANY_SPACE = re.compile(r"\s+")
_MANY_NEWLINES = re.compile(r"\n\s*\n(?:\s*\n)+")
_NEWLINE_PAD = re.compile(r" *\n *")

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "tr", "table", "section", "article", "header", "footer", "figure", "figcaption", "dd", "dt",
    "dl", "hr",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})


def _c1_to_cp1252(m: re.Match[str]) -> str:
    try:
        return bytes([ord(m.group())]).decode("cp1252")
    except UnicodeDecodeError:
        return ""  # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined in cp1252


def fix_unicode(s: str) -> str:
    """Replace lone surrogates, drop XML-illegal controls, map C1 controls, normalise to NFC."""
    s = _SURROGATE.sub("\ufffd", s)
    s = _CONTROL.sub("", s)
    s = _C1.sub(_c1_to_cp1252, s)
    return unicodedata.normalize("NFC", s)


def decode_bytes(data: bytes, encoding: str = "utf-8") -> str:
    """Decode bytes deterministically; undecodable bytes become U+FFFD, never an exception."""
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


class _TextCollector(HTMLParser):
    """Collects the text of an HTML fragment, dropping scripts and styles (case 49)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(s: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, blocks on new lines."""
    if not _TAG_HINT.search(s):
        return s
    parser = _TextCollector()
    try:
        parser.feed(s)
        parser.close()
    except Exception:  # html.parser is lenient; any failure means "keep the text"
        logger.debug("html_to_text fell back to unescape", exc_info=True)
        return html.unescape(re.sub(r"<[^>]*>", " ", s))
    return "".join(parser.parts)


def clean_text(
    s: str | None, max_chars: int, *, single_line: bool = False, markup: bool = True
) -> tuple[str | None, bool]:
    """Clean one feed field; returns ``(text or None, truncated)``.

    Removes control characters and lone surrogates, turns HTML into text when ``markup``,
    collapses whitespace (to one line when ``single_line``, as for titles), normalises to NFC
    and caps at ``max_chars`` characters. Empty results are ``None``.
    """
    if s is None:
        return None, False
    truncated = False
    # Cap the input before the HTML pass so a 1 MB title costs a bounded amount of work.
    hard_cap = max_chars * 4 + 1024
    if len(s) > hard_cap:
        s, truncated = s[:hard_cap], True
    s = fix_unicode(s)
    if markup:
        s = fix_unicode(html_to_text(s))
    if single_line:
        s = _ANY_SPACE.sub(" ", s).strip()
    else:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        s = _INLINE_SPACE.sub(" ", s)
        s = _NEWLINE_PAD.sub("\n", s)
        s = _MANY_NEWLINES.sub("\n\n", s).strip()
    if len(s) > max_chars:
        s, truncated = s[:max_chars].rstrip(), True
    return (s or None), truncated
