"""URL canonicalization and the article identity key, pure.

The policy is a chain of small documented steps (after Media Cloud's url normalizer):
1. only absolute http(s) URLs are accepted; anything else gives ``None``;
2. scheme and host are lower-cased, a trailing dot on the host and default ports dropped,
   IDNA hosts kept in their ASCII (punycode) form;
3. the fragment is dropped (it never selects a different server resource for articles);
4. tracking parameters (utm_*, fbclid, gclid, ...) are removed, the rest kept in their order;
5. dot segments resolved, empty path becomes ``/``, a trailing slash on a non-root path removed;
6. the article key additionally ignores the scheme (http and https name the same article) and
   prefers the page's own canonical link when it stays on the same site.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Exact names and prefixes of query parameters that only track the reader, never select content.
_TRACKING_EXACT = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "ocid", "cmpid", "cmp", "ncid", "sr_share", "smid", "smtyp",
    "mbid", "ref_src", "ref_url", "share", "s_cid", "icid", "wt.mc_id", "_hsenc", "_hsmi",
    "mkt_tok", "vero_id", "oly_anon_id", "oly_enc_id", "rss", "at_medium", "at_campaign",
    "guccounter", "guce_referrer", "guce_referrer_sig", "spm", "cid_source",
})
_TRACKING_PREFIXES = ("utm_", "utm-", "hmb_", "pk_", "mtm_", "at_", "itm_", "__twitter")
# Characters that are safe to keep unescaped in a path/query; everything else is %-encoded
# once, after unquoting, so %7E and ~ compare equal.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*+,;-._~?"
_HOST_RE = re.compile(r"^[a-z0-9.\-_]+$|^\[[0-9a-f:.]+\]$")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def _normalize_host(host: str) -> str | None:
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host.split('%')[0]).compressed}]"
        except ValueError:
            return None
    if not host.startswith("["):
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host if _HOST_RE.match(host) else None


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    norm = posixpath.normpath(unquote(path))
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    if norm in (".", ""):
        norm = "/"
    # normpath drops a trailing slash: that is the policy for non-root paths.
    return quote(norm, safe=_PATH_SAFE)


def canonicalize_url(url: str) -> str | None:
    """Canonical form of an absolute http(s) URL, or ``None`` when it is not one."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _normalize_host(parts.hostname)
    if host is None:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    query = urlencode(pairs, quote_via=quote, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, _normalize_path(parts.path), query, ""))


def url_key(url: str) -> str:
    """The key page fetches are deduplicated by: the canonical URL, else the URL itself."""
    return canonicalize_url(url) or url


def _site(host: str) -> str:
    """The registrable part of a host, approximated as its last two labels (three for
    two-letter second-level labels like co.uk), with ``www.``/``m.``/``amp.`` ignored."""
    labels = host.split(".")
    while len(labels) > 2 and labels[0] in ("www", "m", "amp", "mobile"):
        labels = labels[1:]
    keep = 3 if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def same_site(a: str, b: str) -> bool:
    """True when two canonical URLs share their registrable site."""
    ha, hb = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    return bool(ha) and _site(ha) == _site(hb)


def article_key(url: str, page_canonical: str | None = None) -> str | None:
    """Identity of an article: the canonical URL without scheme, preferring the page's own
    canonical link when it is an absolute http(s) URL on the same site (a canonical pointing
    to another site is syndication or a mistake and is not trusted)."""
    base = canonicalize_url(url)
    if base is None:
        return None
    chosen = base
    if page_canonical:
        canon = canonicalize_url(page_canonical)
        if canon is not None and same_site(base, canon) and urlsplit(canon).path != "/":
            # A canonical pointing at the home page is a common CMS bug; ignore it.
            chosen = canon
    return chosen.split("://", 1)[1]


def host_of(url: str) -> str:
    """The lowercased host of ``url`` ('' if none): what per-host limits and backoffs key on
    (the same host the HTTP layer's limiter sees for the requested URL)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""
