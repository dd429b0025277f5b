"""URL and address validation: the SSRF guard's pure half (no I/O; DNS answers are checked in guard.py).

The host is normalised the way browsers (WHATWG URL) and ``inet_aton`` read it, so that spellings such
as ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` or ``localhost.`` cannot slip a loopback address past a
check that only understands dotted-quad.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from transforms.vocab import ErrorClass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Cloud metadata endpoints stay blocked even with allow_private: no test or demo needs them and
# reaching one is the classic SSRF payoff.
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Read ``host`` as an IPv4 address in any inet_aton spelling (decimal, octal, hex, 1-4 parts).

    Returns None when the host is not numeric at all (a DNS name).
    Raises ValueError when it looks numeric but is out of range (``256.1.1.1``), which is a bad URL.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not parts or len(parts) > 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_ipv4_number(part)
        if value is None:
            return None
        values.append(value)
    # Every part but the last is one byte; the last fills the remaining bytes (inet_aton rules).
    for value in values[:-1]:
        if value > 255:
            raise ValueError(f"IPv4 part out of range in {host!r}")
    if values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(f"IPv4 address out of range in {host!r}")
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _parse_ipv4_number(part: str) -> int | None:
    if not part:
        return None
    try:
        if part[:2].lower() == "0x":
            return int(part[2:], 16) if part[2:] else 0
        if len(part) > 1 and part[0] == "0":
            return int(part, 8)
        if part.isdigit():
            return int(part, 10)
    except ValueError:
        return None
    return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a URL host denotes literally (IPv6 without brackets, zone id dropped), or None."""
    if ":" in host:
        bare = host.split("%", 1)[0]
        return ipaddress.IPv6Address(bare)
    return parse_ipv4_loose(host)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def blocked_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why connecting to ``ip`` is refused, or None if it is allowed."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = blocked_reason(inner, allow_private=allow_private)
        if reason is not None:
            return f"{reason} (embedded in {ip})"
    if ip in _METADATA:
        return f"metadata address {ip}"
    if ip.is_unspecified:
        return f"unspecified address {ip}"
    if ip.is_multicast:
        return f"multicast address {ip}"
    if allow_private:
        return None
    if ip.is_loopback:
        return f"loopback address {ip}"
    if ip.is_link_local:
        return f"link-local address {ip}"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return f"carrier-grade NAT address {ip}"
    if ip.is_private:
        return f"private address {ip}"
    if ip.is_reserved or not ip.is_global:
        return f"reserved address {ip}"
    return None


def normalize_host(host: str) -> str:
    """Lowercase, drop one trailing dot, IDNA-encode. Raises ValueError for unusable names."""
    host = host.strip().lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if not host or ".." in host:
        raise ValueError("empty host label")
    if ":" in host:
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"bad host name: {exc}") from exc


def check_host(host: str, *, allow_private: bool) -> tuple[ErrorClass, str] | None:
    """Check a URL host without DNS: literal IPs in every notation and local names."""
    try:
        name = normalize_host(host)
        literal = parse_ip_literal(name)
    except ValueError as exc:
        return ErrorClass.BAD_URL, str(exc)
    if literal is not None:
        reason = blocked_reason(literal, allow_private=allow_private)
        return None if reason is None else (ErrorClass.SSRF_BLOCKED, reason)
    if _parse_ipv4_number(name.rsplit(".", 1)[-1]) is not None:
        # WHATWG: a host whose last label is a number is an IPv4 address or invalid (1.2.3.4.5);
        # resolvers disagree on such names, so refuse rather than guess.
        return ErrorClass.BAD_URL, f"numeric host {name!r} is not a valid IPv4 address"
    if not allow_private and (name in _LOCAL_NAMES or name.endswith(".localhost")):
        return ErrorClass.SSRF_BLOCKED, f"local host name {name}"
    return None


def split_url(url: str) -> SplitResult | tuple[ErrorClass, str]:
    """Parse ``url`` and check scheme, host and port; the parts, or why it is unusable."""
    if not isinstance(url, str) or not url.strip():
        return ErrorClass.BAD_URL, "empty URL"
    if any(ord(c) < 0x21 or c in "\\" for c in url.strip()):
        return ErrorClass.BAD_URL, "control character, space or backslash in URL"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return ErrorClass.BAD_URL, f"unparsable URL: {exc}"
    scheme = parts.scheme.lower()
    if not scheme:
        return ErrorClass.BAD_SCHEME, "no scheme (relative URL or local path)"
    if scheme not in ALLOWED_SCHEMES:
        return ErrorClass.BAD_SCHEME, f"scheme {scheme!r} is not http(s)"
    if not parts.hostname:
        return ErrorClass.BAD_URL, "no host"
    if port == 0:
        return ErrorClass.BAD_URL, "port 0"
    return parts


def check_url(url: str, *, allow_private: bool) -> tuple[ErrorClass, str] | None:
    """Like validate_url, with a short human reason."""
    parts = split_url(url)
    if not isinstance(parts, SplitResult):
        return parts
    assert parts.hostname is not None  # split_url guarantees it
    return check_host(parts.hostname, allow_private=allow_private)


def validate_url(url: str, *, allow_private: bool) -> ErrorClass | None:
    """Reject a URL before any request: bad scheme, malformed, or a literal/local address. No I/O.

    Names that need DNS are not resolved here; the fetcher checks every resolved address at connect
    time. Returns None when the URL may be fetched.
    """
    problem = check_url(url, allow_private=allow_private)
    return None if problem is None else problem[0]
