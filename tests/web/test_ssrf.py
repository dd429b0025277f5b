"""Cases 1, 15-18, 48: DNS failure, the SSRF guard at validation and at connect time, DNS rebinding.

A fake resolver and a fake "internet" keep every packet on 127.0.0.1: public addresses returned by
the patched ``getaddrinfo`` are routed to the fault server by a patched low-level connect, which
refuses anything else. The guard itself runs ON in these tests (allow_private=False).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpcore
import pytest
from faultserver import FaultServer, fast_options
from httpcore._backends.sync import SyncBackend

from web import ErrorClass, Fetcher, FetchRequest, validate_url
from web.guard import BlockedAddress, GuardedBackend

PUBLIC = "93.184.216.34"


class _PeerSpoofingSocket:
    """A socket proxy whose peer address is what the fake internet says it is."""

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self._sock, self._peer = sock, peer

    def getpeername(self) -> tuple[str, int]:
        return self._peer, 80

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _RoutedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, peer: str | None) -> None:
        self._inner, self._peer = inner, peer

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> Any:
        value = self._inner.get_extra_info(info)
        if info == "socket" and self._peer is not None:
            return _PeerSpoofingSocket(value, self._peer)
        return value


class FakeInternet:
    """Resolver answers per name (lists are served in turn) and routing of public IPs to the server."""

    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self.connects: list[str] = []
        self.spoof_peer = True  # report the public address as the peer (False: the real 127.0.0.1)

    def getaddrinfo(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:  # numeric: what connecting to a pinned address does, no DNS involved
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (host, port))]
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        ip = answers.pop(0) if len(answers) > 1 else answers[0]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port or 80))]

    def connect_tcp(self, backend: SyncBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connects.append(host)
        if not ipaddress.ip_address(host).is_global:
            # The guard should have refused it; never reach real private services from a test.
            raise httpcore.ConnectError(f"fake internet: {host} unreachable")
        stream = _ORIGINAL_CONNECT(backend, "127.0.0.1", self.server.port, *args, **kwargs)
        return _RoutedStream(stream, host if self.spoof_peer else None)


_ORIGINAL_CONNECT = SyncBackend.connect_tcp


@pytest.fixture
def internet(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInternet]:
    fake = FakeInternet(server)
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)

    def connect_tcp(backend: SyncBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return fake.connect_tcp(backend, host, port, *args, **kwargs)

    monkeypatch.setattr(SyncBackend, "connect_tcp", connect_tcp)
    yield fake


def guarded() -> Fetcher:
    return Fetcher(fast_options(allow_private=False, respect_robots=False))


def test_fake_internet_reaches_the_server_through_a_public_name(internet: FakeInternet) -> None:
    internet.answers["news.example"] = [PUBLIC]
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(f"http://news.example:{internet.server.port}/ok", kind="feed"))
    assert result.error_class is None, result.error_detail
    assert internet.connects == [PUBLIC]


def test_case_1_dns_failure(internet: FakeInternet) -> None:
    with guarded() as fetcher:
        results = fetcher.fetch(FetchRequest("http://nonexistent.invalid/", kind="feed"))
    assert len(results) == 1  # not retried within the run
    assert results[0].error_class is ErrorClass.DNS
    assert results[0].status is None and internet.connects == []


def test_case_15_redirect_to_loopback_literal_is_blocked(internet: FakeInternet) -> None:
    internet.answers["news.example"] = [PUBLIC]
    port = internet.server.port
    target = quote(f"http://127.0.0.1:{port}/ok", safe="")
    with guarded() as fetcher:
        results = fetcher.fetch(FetchRequest(f"http://news.example:{port}/to?url={target}", kind="feed"))
    assert [r.error_class for r in results] == [ErrorClass.SSRF_BLOCKED]  # no retry
    assert internet.server.hits["/ok"] == 0
    assert internet.connects == [PUBLIC]


@pytest.mark.parametrize(
    "private", ["10.1.2.3", "169.254.169.254", "127.0.0.2", "::1", "fd00::5", "100.64.0.9"]
)
def test_case_15_redirect_to_a_name_resolving_private_is_blocked_at_connect(
    internet: FakeInternet, private: str
) -> None:
    internet.answers["news.example"] = [PUBLIC]
    internet.answers["intranet.example"] = [private]
    port = internet.server.port
    target = quote(f"http://intranet.example:{port}/ok", safe="")
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(f"http://news.example:{port}/to?url={target}", kind="feed"))
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert private in (result.error_detail or "")
    assert internet.connects == [PUBLIC]  # no socket was opened towards the private address


def test_any_private_answer_taints_the_name(internet: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    def two_answers(host: str, port: Any, *a: Any, **k: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(f"http://mixed.example:{internet.server.port}/ok", kind="feed"))
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert internet.connects == []


def test_case_16_rebinding_cannot_swap_the_address_after_the_check(internet: FakeInternet) -> None:
    # Answers alternate public, private, public, ... A check-then-connect client that resolves twice
    # would connect to 127.0.0.1. The guard resolves once per connection and connects to what it checked.
    internet.answers["rebind.example"] = [PUBLIC, "127.0.0.1"] * 10
    with Fetcher(fast_options(allow_private=False, respect_robots=False, max_attempts=1)) as fetcher:
        [result] = fetcher.fetch(
            FetchRequest(f"http://rebind.example:{internet.server.port}/ok", kind="feed")
        )
    assert result.error_class is None
    assert internet.lookups == ["rebind.example"]  # exactly one resolution for the one connection
    assert internet.connects == [PUBLIC]  # pinned to the checked address


def test_case_16_rebinding_to_private_on_the_next_connection_is_blocked(internet: FakeInternet) -> None:
    internet.answers["rebind.example"] = ["127.0.0.1", PUBLIC] * 10
    with guarded() as fetcher:
        [result] = fetcher.fetch(
            FetchRequest(f"http://rebind.example:{internet.server.port}/ok", kind="feed")
        )
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert internet.connects == []


def test_case_16_connected_peer_is_rechecked(internet: FakeInternet) -> None:
    # The resolver says public but the socket lands on loopback (a lying resolver plus routing trick).
    internet.answers["liar.example"] = [PUBLIC]
    internet.spoof_peer = False
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(f"http://liar.example:{internet.server.port}/ok", kind="feed"))
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert "connected to loopback" in (result.error_detail or "")
    assert internet.server.hits["/ok"] == 0  # refused before the request was written


BYPASSES = [
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1%25lo]/",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://foo.localhost/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::]/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://192.168.0.1/",
    "http://172.16.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
]


@pytest.mark.parametrize("url", BYPASSES)
def test_case_17_ip_notation_bypasses_are_blocked_before_any_io(internet: FakeInternet, url: str) -> None:
    assert validate_url(url, allow_private=False) is ErrorClass.SSRF_BLOCKED
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(url, kind="page"))
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert internet.lookups == [] and internet.connects == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0177.0.0.1", "localhost.", "127.1"])
def test_case_17_connect_time_guard_normalises_too(internet: FakeInternet, host: str) -> None:
    internet.answers["localhost"] = ["127.0.0.1"]
    with pytest.raises(BlockedAddress):
        GuardedBackend(allow_private=False).connect_tcp(host, 80, timeout=1.0)
    assert internet.connects == []


def test_case_17_public_addresses_pass() -> None:
    for url in ["http://93.184.216.34/", "https://[2606:2800:220:1::]/x", "http://example.com/feed"]:
        assert validate_url(url, allow_private=False) is None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("file:///etc/passwd", ErrorClass.BAD_SCHEME),
        ("ftp://example.com/feed", ErrorClass.BAD_SCHEME),
        ("gopher://example.com/", ErrorClass.BAD_SCHEME),
        ("data:text/html,<p>x</p>", ErrorClass.BAD_SCHEME),
        ("javascript:alert(1)", ErrorClass.BAD_SCHEME),
        ("/etc/passwd", ErrorClass.BAD_SCHEME),
        ("feed.xml", ErrorClass.BAD_SCHEME),
        ("http://", ErrorClass.BAD_URL),
        ("http://exa mple.com/", ErrorClass.BAD_URL),
        ("http://example.com:99999/", ErrorClass.BAD_URL),
        ("http://256.1.1.1/", ErrorClass.BAD_URL),
        ("http://1.2.3.4.5/", ErrorClass.BAD_URL),
        ("http://example.0x10/", ErrorClass.BAD_URL),
        ("", ErrorClass.BAD_URL),
    ],
)
def test_case_18_bad_schemes_and_urls_are_rejected_without_io(
    internet: FakeInternet, url: str, error: ErrorClass
) -> None:
    assert validate_url(url, allow_private=False) is error
    assert validate_url(url, allow_private=True) is error
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest(url, kind="page"))
    assert result.error_class is error and result.status is None
    assert internet.lookups == [] and internet.connects == []


def test_case_48_entry_link_to_metadata_host_is_refused(internet: FakeInternet) -> None:
    internet.answers["evil.example"] = ["169.254.169.254"]
    with guarded() as fetcher:
        [result] = fetcher.fetch(FetchRequest("http://evil.example/latest/meta-data/", kind="page"))
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert ErrorClass.SSRF_BLOCKED.permanent and not ErrorClass.SSRF_BLOCKED.retryable
    assert internet.connects == []


def test_case_1_a_hanging_resolver_is_cut_at_the_connect_timeout(
    internet: FakeInternet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    release = threading.Event()

    def hanging(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        release.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        with Fetcher(fast_options(allow_private=False, connect_timeout=0.3, max_attempts=1)) as fetcher:
            [result] = fetcher.fetch(FetchRequest("http://slow-dns.example/", kind="feed"))
    finally:
        release.set()
    assert result.error_class is ErrorClass.DNS
    assert "longer than" in (result.error_detail or "")
    assert result.elapsed_ms < 2000


def test_robots_txt_is_fetched_through_the_guard_too(internet: FakeInternet) -> None:
    internet.answers["intranet.example"] = ["10.0.0.7"]
    with Fetcher(fast_options(allow_private=False, respect_robots=True)) as fetcher:
        [result] = fetcher.fetch(FetchRequest("http://intranet.example/article", kind="page"))
        assert fetcher.robots.fetches == 1
    assert result.error_class is ErrorClass.SSRF_BLOCKED
    assert "robots.txt" in (result.error_detail or "")
    assert internet.connects == []


def test_case_15_refusals_are_logged(internet: FakeInternet, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="web.exchange"), guarded() as fetcher:
        fetcher.fetch(FetchRequest("http://169.254.169.254/latest/meta-data/", kind="feed"))
    assert any("SSRF guard refused" in r.getMessage() for r in caplog.records)
