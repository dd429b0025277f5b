"""Authors from a page's byline data: people only, prefixes and roles stripped, split correctly.

Generic rules, no site names: JSON-LD ``author`` (Person before Organization: an organisation is
listed only when the page names no person), then the author metas, then ``rel=author`` and
``itemprop=author`` markup. Each name loses a leading "By"/"Von"/"Por"... and a trailing role or
outlet (", AP National Security Writer", "| Reuters"), and a byline naming several people
("Jane Doe and John Roe", "A, B & C") is split.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from typing import Any

from lxml import etree

_WS = re.compile(r"\s+")
# "By" in the languages of the bench sets and the usual neighbours; only as a whole first word.
_PREFIX = re.compile(
    r"^(?:by|written by|words by|reported by|text|von|texte?|por|par|di|de|da|av|af|door|fra|"
    r"från|autor(?:in)?(?:/autor)?|author|kirjoittanut|napisał[a]?|yazan|от)\s*[:\-]?\s+",
    re.I,
)
# A part after a comma, a pipe, a dash or "for" that is a role or an outlet, not a person.
_ROLE = re.compile(
    r"\b(?:writer|reporter|correspondent|editor|journalist|staff|contributor|columnist|"
    r"producer|analyst|photographer|bureau|chief|senior|associate|national|international|"
    r"political|news|desk|agency|press|media|redakteur(?:in)?|korrespondent(?:in)?|"
    r"reporter(?:in)?|journalistin|redaktor|periodista|corresponsal|journaliste|"
    r"envoyée? spéciale?|giornalista|inviato)\b",
    re.I,
)
_SPLIT = re.compile(r"\s*(?:;|\||\s&\s|\s+(?:and|und|y|et|e|og|och|en|i|ve|и)\s+)\s*", re.I)
_URLISH = re.compile(r"https?://|www\.|@|\.(?:com|org|net)\b", re.I)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_NAME_WORD = re.compile("^[^\\W\\d_][\\w'\u2019.\\-]*$")
_MAX_WORDS = 6


def _text(value: Any) -> str:
    text = str(value)
    if "&" in text and _ENTITY.search(text):
        text = html_lib.unescape(text)
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip(" ,;:-|\u2013\u2014")


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


def _is_site(name: str, site_keys: set[str]) -> bool:
    k = _key(name)
    return bool(k) and any(k == s or (len(s) >= 4 and (s in k or k in s)) for s in site_keys)


def _looks_like_name(part: str) -> bool:
    words = part.split()
    return 1 <= len(words) <= _MAX_WORDS and all(_NAME_WORD.match(w) for w in words)


def split_byline(raw: str, site_keys: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Names in one byline string, each cleaned; roles, outlets and the site name dropped."""
    text = _PREFIX.sub("", _text(raw))
    names: list[str] = []
    for chunk in _SPLIT.split(text):
        chunk = _PREFIX.sub("", chunk.strip(" ,;:-"))
        parts = [p.strip() for p in re.split(r"\s*,\s*|\s+[-\u2013\u2014]\s+", chunk) if p.strip()]
        if not parts or (len(parts) > 1 and _is_site(parts[0], site_keys)):
            # "paper.de, Frankfurt, Germany": an outlet with its place, nobody's name.
            continue
        # "Jane Doe, AP Writer": the first part is the person, the rest roles or outlets;
        # "Jane Doe, John Roe": every part is a name.
        rest_are_names = all(_looks_like_name(p) and not _ROLE.search(p)
                             and not _is_site(p, site_keys) for p in parts[1:])
        kept = parts if rest_are_names else parts[:1]
        for part in kept:
            part = re.sub(r"\s+(?:for|für|pour|para|per)\s+.*$|\s*\([^)]{0,40}\)$", "", part,
                          flags=re.I)
            if part and not _URLISH.search(part) and len(part.split()) <= _MAX_WORDS \
                    and any(ch.isalpha() for ch in part):
                names.append(part)
    return names


def _ld_people(value: Any, site_keys: set[str]) -> tuple[list[str], list[str]]:
    people: list[str] = []
    orgs: list[str] = []
    for item in (value if isinstance(value, list) else [value])[:30]:
        if isinstance(item, dict):
            kind = str(item.get("@type") or "").lower()
            name = item.get("name")
            if isinstance(name, list):
                name = name[0] if name else None
            if not isinstance(name, str):
                continue
            target = orgs if "organization" in kind or kind.endswith("organisation") else people
            target.extend(split_byline(name, site_keys))
        elif isinstance(item, str) and not item.startswith("http"):
            people.extend(split_byline(item, site_keys))
    return people, orgs


def _dedupe(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


_AUTHOR_METAS = ("author", "article:author", "parsely-author", "byl", "dc.creator",
                 "sailthru.author", "citation_author", "dcterms.creator",
                 "twitter:misc:written by")
# Elements whose class says they hold the byline; read only when no person was found above.
_BYLINE_XPATH = ("//*[contains(@class,'author') or contains(@class,'byline') or "
                 "contains(@class,'Author') or contains(@class,'Byline')] | "
                 "//a[contains(@href,'/author') or contains(@href,'/autor') or "
                 "contains(@href,'/auteur')]")
_BYLINE = etree.XPath(_BYLINE_XPATH)  # compiled once, not on every page
_EXPLICIT = etree.XPath('//*[@itemprop="author"]//*[@itemprop="name"]'
                        ' | //*[@itemprop="author"][not(.//*[@itemprop="name"])]'
                        ' | //a[@rel="author"]')


def clean_authors(ld_author: Any, meta: dict[str, str], tree: Any,
                  site_keys: set[str], search_html: bool = True) -> tuple[str, ...]:
    """People who wrote the article; an organisation only when no person is named.
    ``search_html`` allows the look at the byline markup when the data names nobody."""
    people, orgs = _ld_people(ld_author, site_keys)
    # An organisation that is the site itself is no byline; another one (a news agency) is.
    ld_orgs = any(not _is_site(o, site_keys) for o in orgs)
    if not people:
        for key in _AUTHOR_METAS:
            value = meta.get(key)
            if value and not value.startswith(("http", "@")):
                for name in split_byline(value, site_keys):
                    if not _is_site(name, site_keys):
                        people.append(name)
                    elif not ld_orgs:
                        orgs.append(name)
                if people or orgs:
                    break
    if not people and not ld_orgs and search_html:
        # An organisation the JSON-LD names as author is the byline; one from a meta is often
        # just the site, so the page's byline markup gets a look before it is accepted.
        people = _html_bylines(tree, site_keys)
    people = [p for p in people if not _is_site(p, site_keys)] or people
    return _dedupe(people) if people else _dedupe(orgs)


def _html_bylines(tree: Any, site_keys: set[str]) -> list[str]:
    """People named in byline markup: ``itemprop=author``/``rel=author`` (explicit, so taken as
    written), then elements whose class says author or byline and links to author pages (read
    strictly: only text that is nothing but a person's name, so a teaser's author further down
    the page or a "Share on Twitter" box is not taken). The first match wins."""
    explicit = _EXPLICIT(tree)[:10]
    for node in explicit:
        value = node.get("content") or " ".join((node.text_content() or "").split())
        if value and len(value) <= 120:
            names = [n for n in split_byline(value, site_keys) if not _is_site(n, site_keys)]
            if names:
                return names
    for node in _BYLINE(tree)[:40]:
        if node.tag in ("script", "style", "meta", "link", "img", "body", "html"):
            continue
        value = " ".join((node.text_content() or "").split())
        if not value or len(value) > 120:
            continue
        names = [n for n in split_byline(value, site_keys) if _is_person_like(n, site_keys)]
        if names:
            return names
    return []


_NOT_NAMES = frozenset({"twitter", "facebook", "instagram", "linkedin", "whatsapp", "email",
                        "e-mail", "share", "follow", "mail", "print", "comments", "rss"})


def _is_person_like(name: str, site_keys: set[str]) -> bool:
    """A byline text that reads as a person's name: 2-4 words, first and last capitalised
    (scripts without case pass), no role, site or social-network words."""
    words = name.split()
    if not (2 <= len(words) <= 4 and _looks_like_name(name)):
        return False
    if any(w.casefold() in _NOT_NAMES for w in words):
        return False
    capital = all(w[0].isupper() or not w[0].isalpha() or w[0].lower() == w[0].upper()
                  for w in (words[0], words[-1]))
    return capital and not _ROLE.search(name) and not _is_site(name, site_keys)
