"""Text cleaning for feed documents and fields: safe bytes in, valid UTF-8 out.

Two layers. ``neutralise`` and ``repair_utf8`` work on a whole feed document before any XML
parser sees it: DTDs and entity declarations out (FAULTS cases 33, 34), quadratic author fields
capped (35), XML-illegal characters and references removed (38). ``clean_text`` works on each
field a parser returns (cases 38, 49, 50).

DuckDB VARCHAR needs valid UTF-8 and XML 1.0 forbids most C0 controls, so every string a feed
gives us passes through ``clean_text`` before it is stored or hashed. HTML becomes plain text:
titles, summaries and content are stored as text, never as markup someone might render
(FAULTS case 49), and markup churn does not create new entry versions.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

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
    if s.isascii():  # most feed fields: no surrogates, no C1 controls, already NFC
        return _CONTROL.sub("", s)
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


_TAG_NAME = re.compile(r"/?\s*([A-Za-z][A-Za-z0-9:_-]*)")
_SKIP_CLOSE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _SKIP_TAGS}


def html_to_text(s: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, blocks on new lines.

    A hand-written single pass, linear in the input: Python 3.11's html.parser and
    feedparser's sanitizer are both quadratic on hostile fragments (200 KB of ``<!--`` costs
    them 20-40 s). Scripts, styles and comments are dropped (FAULTS case 49).
    """
    if not _TAG_HINT.search(s):
        return s
    out: list[str] = []
    i, n = 0, len(s)
    gt = -1  # next ">" at or after the current tag; one scan serves a run of "<" without ">"
    while i < n:
        j = s.find("<", i)
        j = n if j < 0 else j
        out.append(s[i:j])
        if j >= n:
            break
        if s.startswith("<!--", j):
            end = s.find("-->", j + 4)
            if end < 0:
                break  # an unclosed comment hides the rest, as in a browser
            i = end + 3
            continue
        lead = s[j + 1: j + 2]
        if not (lead.isalpha() or lead in ("/", "!", "?")):
            out.append("<")  # "a < b" is text
            i = j + 1
            continue
        if gt < j:
            gt = s.find(">", j)
        if gt < 0:
            out.append(s[j:])  # no tag ever closes: the rest is text
            break
        m = _TAG_NAME.match(s, j + 1, gt)
        i = gt + 1
        if m is None:
            continue  # <!DOCTYPE ...>, <?pi ...?>, <![CDATA[ ...
        name = m.group(1).lower()
        if name in _SKIP_CLOSE and s[j + 1] != "/" and s[gt - 1] != "/":
            # Script and style bodies are raw text up to their own closing tag.
            close = _SKIP_CLOSE[name].search(s, i)
            if close is None:
                break
            i = close.end()
        elif name in _BLOCK_TAGS:
            out.append("\n")
    return html.unescape("".join(out))


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


# --- pre-parse safety (FAULTS cases 33, 34, 35) -------------------------------------------

@dataclass(frozen=True, slots=True)
class Neutralised:
    """A document made safe for feedparser, with what was changed and why."""

    data: bytes
    netscape: bool  # the removed DOCTYPE named Netscape RSS 0.91
    notes: tuple[str, ...]  # changes that make the parse "recovered" rather than clean
    unsafe: str | None  # set when the document must not be parsed at all


_DECL_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]>]", re.S)
_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(%\s*)?([^\s\"'%>]+)\s+(?:(SYSTEM|PUBLIC)\b|([\"'])(.*?)\4)", re.S | re.I)
_ENTITY_REF = re.compile(r"[&%][A-Za-z_:][\w.:-]*;")
_AUTHOR_TAG = re.compile(
    r"<(?:[A-Za-z_][\w.-]*:)?(?:author|creator|managingEditor|webMaster|contributor|"
    r"publisher|owner|email|name)(?:\s[^<>]*)?>", re.I)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The loose (sgmllib) parser also reads "&#X..." and references without the semicolon.
_CHARREF = re.compile(r"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,16});?")
_ENTITY_ANYWHERE = re.compile(r"<!ENTITY", re.I)
_CDATA = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|$)", re.S)
_TAG_OR_ENTRY = re.compile(
    r"(?P<entry><(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/])"
    r"|<(?P<tag>(?:[A-Za-z_][\w.-]*:)?(?:category|subject))(?:\s[^<>]*)?(?:/>|>[^<]*</(?P=tag)\s*>)",
    re.I)
_SIMPLE_VALUE = re.compile(r"[^&<>\"'%]{0,256}")
_MAX_ENTITIES = 32
# Expanding simple entities may grow the document by at most this much.
_MAX_EXPANSION = 1 << 20


def neutralise(body: bytes, max_author_bytes: int, max_tags: int = 100) -> Neutralised:
    """Remove every DOCTYPE from the prolog, expand only small plain-text entities, cap authors.

    External entities, parameter entities, entities that reference entities (billion laughs)
    and large ones (quadratic blowup) make the document ``unsafe``: it is not parsed. External
    DTDs are dropped, so neither expat nor the loose parser can reach a file or a socket.
    """
    codec = _wide_codec(body)
    if codec:
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            # feedparser falls back to 8-bit codecs when UTF-16/32 fails: see what it will see.
            codec = None
    if codec is None:
        # Latin-1 maps bytes 1:1 to code points, so byte-oriented edits round-trip exactly.
        text = body.decode("latin-1")
    notes: list[str] = []
    # XML-illegal characters, raw or as references, make expat give up on the whole document
    # and crash feedparser's loose parser (&#xD800;); remove them as Miniflux does (case 38).
    # First, so that NULs cannot hide a DOCTYPE from the scan below.
    text, controls = _XML_ILLEGAL.subn("", text)
    text, bad_refs = _fix_charrefs(text)
    if controls or bad_refs:
        notes.append(f"{controls + bad_refs} XML-illegal character(s) removed")
    text, decl_fixed = _fix_xml_declaration(text)
    if decl_fixed:
        notes.append("non-ASCII bytes removed from the XML declaration")
    netscape = False
    pos = _prolog_doctype(text)
    if pos is not None:
        start, end = pos
        decl = text[start:end]
        netscape = "netscape" in decl.lower()
        entities, unsafe = _entities(decl)
        if unsafe:
            return Neutralised(body, netscape, (), unsafe)
        rest = text[end:]
        if entities:
            rest, grew = _expand(rest, entities)
            if grew is None:
                return Neutralised(body, netscape, (), "entity expansion too large")
            notes.append(f"{len(entities)} entity declaration(s) expanded and removed")
        text = text[:start] + rest
    # Belt and braces: no entity declaration may survive anywhere outside CDATA.
    if _ENTITY_ANYWHERE.search(_CDATA.sub("", text)):
        return Neutralised(body, netscape, (), "entity declaration outside the prolog")
    text, capped = _cap_authors(text, max_author_bytes, wide=codec is not None)
    if capped:
        notes.append(f"{capped} author field(s) capped before parsing")
    text, dropped = _cap_tags(text, max_tags)
    if dropped:
        notes.append(f"{dropped} category element(s) beyond {max_tags} per entry dropped")
    if pos is None and not (capped or controls or bad_refs or decl_fixed or dropped):
        return Neutralised(body, False, (), None)
    data = text.encode(codec, "replace") if codec else text.encode("latin-1")
    return Neutralised(data, netscape, tuple(notes), None)


_FP_PI_ENCODING = re.compile(r"^<\?.*encoding=['\"](.*?)['\"].*\?>")


def _fix_xml_declaration(text: str) -> tuple[str, bool]:
    """Drop non-ASCII characters from what feedparser will read as the declared encoding.

    feedparser matches its own loose pattern (any ``<?`` on the first line) and decodes the
    captured name as UTF-8, raising on anything else; the same pattern is used here.
    """
    m = _FP_PI_ENCODING.match(text)
    if m is None or m.group(1).isascii():
        return text, False
    name = "".join(c for c in m.group(1) if c.isascii())
    return text[: m.start(1)] + name + text[m.end(1):], True


def _xml_char_ok(code: int) -> bool:
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def _fix_charrefs(text: str) -> tuple[str, int]:
    """Replace references to characters XML forbids (``&#0;``, ``&#xD800;``) by U+FFFD."""
    bad = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal bad
        ref = m.group(1)
        code = int(ref[1:], 16) if ref[0] in "xX" else int(ref)
        if _xml_char_ok(code):
            return m.group()
        bad += 1
        return "&#xFFFD;"

    return _CHARREF.sub(sub, text), bad


_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)


def repair_utf8(body: bytes, content_type: str) -> tuple[bytes, list[str]]:
    """Replace the few invalid sequences of a mostly-UTF-8 document by U+FFFD.

    feedparser falls back to a single-byte codec for the *whole* document when one byte is
    invalid, which garbles every other accented letter. When the document is (or claims to be)
    UTF-8 and its valid multi-byte sequences outnumber the invalid ones two to one, the bad
    bytes are replaced instead. A document of Windows-1252 smart quotes declared as UTF-8 has
    no valid sequences and keeps feedparser's fallback (FAULTS case 37).
    """
    if _wide_codec(body):
        return body, []
    declared = [m.group(1).decode("ascii").lower() for m in [_DECLARED.match(body[:512])] if m]
    declared += [m.group(1).lower() for m in [_CHARSET.search(content_type)] if m]
    if any(d.replace("_", "-") not in ("utf-8", "utf8") for d in declared):
        return body, []
    try:
        body.decode("utf-8")
        return body, []
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    valid = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    if valid < 2 * bad:
        return body, []
    return text.encode("utf-8"), [f"{bad} invalid UTF-8 sequence(s) replaced"]


def _wide_codec(body: bytes) -> str | None:
    """The codec of a UTF-16/32 document (by BOM or by the NULs around ``<``), else None."""
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # Without a BOM, only "<?" itself in UTF-16/32 counts (XML 1.0 appendix F): a stray NUL
    # before an ASCII document must not turn it into UTF-16.
    head = body[:8]
    if head in (b"\x00\x00\x00<\x00\x00\x00?", b"<\x00\x00\x00?\x00\x00\x00"):
        return "utf-32-be" if head[0] == 0 else "utf-32-le"
    if head[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        return "utf-16-be" if head[0] == 0 else "utf-16-le"
    return None


def _prolog_doctype(text: str) -> tuple[int, int] | None:
    """Start and end of the DOCTYPE in the prolog (skipping the XML declaration, PIs, comments).

    Expat honours a DOCTYPE only in the prolog; anything after the root element starts is a
    syntax error there and plain text to the loose parser.
    """
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n\ufeff\xef\xbb\xbf\x00":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            pos = n if end < 0 else end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            pos = n if end < 0 else end + 3
        elif text[pos:pos + 9].upper() == "<!DOCTYPE":
            depth = 0
            for m in _DECL_TOKEN.finditer(text, pos + 9):
                token = m.group()
                if token == "[":
                    depth += 1
                elif token == "]":
                    depth = max(0, depth - 1)
                elif token == ">" and depth == 0:
                    return pos, m.end()
            return pos, n  # unterminated: the whole rest is declaration
        else:
            return None
    return None


def _entities(decl: str) -> tuple[dict[str, str], str | None]:
    """Simple entities of a DOCTYPE's internal subset, or why the subset is unsafe."""
    found = _ENTITY_DECL.findall(decl)
    if decl.upper().count("<!ENTITY") != len(found):
        return {}, "unreadable entity declaration in DOCTYPE"
    if len(found) > _MAX_ENTITIES:
        return {}, f"{len(found)} entity declarations in DOCTYPE"
    entities: dict[str, str] = {}
    for percent, name, external, _quote, value in found:
        if percent:
            return {}, f"parameter entity {name[:40]!r} in DOCTYPE"
        if external:
            return {}, f"external entity {name[:40]!r} in DOCTYPE"
        if _ENTITY_REF.search(value):
            return {}, f"entity {name[:40]!r} references other entities"
        if not _SIMPLE_VALUE.fullmatch(value):
            return {}, f"entity {name[:40]!r} is large or contains markup"
        entities[name] = value
    return entities, None


def _expand(text: str, entities: Mapping[str, str]) -> tuple[str, int | None]:
    """Replace ``&name;`` by the entity's plain-text value; ``None`` growth if over the cap."""
    pattern = re.compile("&(" + "|".join(re.escape(k) for k in entities) + ");")
    grew = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal grew
        value = entities[m.group(1)]
        grew += len(value) - len(m.group())
        return value

    out = pattern.sub(sub, text)
    return out, (grew if grew <= _MAX_EXPANSION else None)


def _cap_tags(text: str, max_tags: int) -> tuple[str, int]:
    """Drop category elements beyond ``max_tags`` per entry (and in the channel).

    feedparser de-duplicates an entry's tags with a list scan, quadratic in their number:
    10,000 categories cost seconds, 100,000 minutes (FAULTS case 50).
    """
    if text.count("<", 0, len(text)) < max_tags:
        return text, 0
    pieces: list[str] = []
    last = dropped = seen = 0
    for m in _TAG_OR_ENTRY.finditer(text):
        if m.group("entry"):
            seen = 0
            continue
        seen += 1
        if seen > max_tags:
            pieces.append(text[last:m.start()])
            last = m.end()
            dropped += 1
    if not dropped:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), dropped


def _cap_authors(text: str, max_bytes: int, *, wide: bool) -> tuple[str, int]:
    """Cut long text of author-like elements (plain or CDATA) to ``max_bytes``."""
    pieces: list[str] = []
    last = capped = 0
    for m in _AUTHOR_TAG.finditer(text):
        start = m.end()
        if start < last:
            continue
        cdata = text.startswith("<![CDATA[", start)
        if cdata:
            start += 9
            end = text.find("]]>", start)
        else:
            end = text.find("<", start)
        end = len(text) if end < 0 else end
        if end - start <= max_bytes:
            continue
        cut = text[start:start + max_bytes]
        if not cdata:
            cut = re.sub(r"&[^;\s]{0,32}$", "", cut)  # no half entity reference
        if not wide:
            cut = re.sub("[\x80-\xff]+$", "", cut)  # no half UTF-8 sequence
        pieces += [text[last:start], cut]
        last = end
        capped += 1
    if not capped:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), capped
