"""The SSRF guard's connect-time half: resolve, check every address, connect to the checked one.

A custom httpcore network backend does the DNS lookup itself, refuses the connection if ANY
resolved address is blocked, connects to the address it checked (so a rebinding resolver cannot
swap in another between check and connect), and re-checks the connected socket's peer address.
TLS still verifies against the URL's host name, because httpcore passes the origin host as SNI
and ``server_hostname`` independently of where the TCP connection goes.

It also enforces the per-attempt wall-clock deadline: every blocking socket operation gets at most
the time left until the deadline of the attempt running on the calling thread.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpcore
from httpcore._backends.sync import SyncBackend  # the stock backend we wrap; public API has no alias

from transforms.errors import NetworkError
from web.urlcheck import IPAddress, blocked_reason, normalize_host, parse_ip_literal


class BlockedAddress(NetworkError):
    """Connection refused by the SSRF guard (raised before any byte is sent)."""


class ResolutionFailed(NetworkError):
    """The host name did not resolve (NXDOMAIN, no address, resolver failure)."""


class DeadlineExceeded(NetworkError):
    """The attempt's wall-clock deadline passed before a socket operation could start."""


_state = threading.local()


def set_deadline(deadline: float | None) -> None:
    """Bind an absolute ``time.monotonic()`` deadline to socket operations on this thread.

    Also restarts the count of bytes received, so a failure can tell "closed without a byte" (a
    reset) from "sent bytes that are no HTTP response" (HTTP/0.9 and other garbage, a protocol error).
    """
    _state.deadline = deadline
    _state.received = 0


def bytes_received() -> int:
    """Bytes read on this thread since the last ``set_deadline`` call."""
    return int(getattr(_state, "received", 0))


def time_left() -> float | None:
    """Seconds until this thread's deadline (None when none is set); may be <= 0."""
    deadline = getattr(_state, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def _clamp(timeout: float | None) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlineExceeded("attempt deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose reads and writes never block past the attempt deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            data = self._inner.read(max_bytes, _clamp(timeout))
        except DeadlineExceeded as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        _state.received = bytes_received() + len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, _clamp(timeout))
        except DeadlineExceeded as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            clamped = _clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, clamped))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


# getaddrinfo cannot be interrupted, so lookups run on helper threads and the caller stops waiting
# at its connect budget. A hung lookup keeps its helper until the system resolver gives up.
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="newsflow-dns")


def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """All addresses ``host`` resolves to (via ``socket.getaddrinfo``, which tests monkeypatch)."""
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout as exc:
        future.cancel()
        raise ResolutionFailed(f"resolving {host} took longer than {timeout:.1f}s") from exc
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise ResolutionFailed(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        ip = ipaddress.ip_address(text)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ResolutionFailed(f"no address for {host}")
    return addresses


def check_addresses(host: str, addresses: Iterable[IPAddress], *, allow_private: bool) -> None:
    """Raise BlockedAddress if any of ``addresses`` is refused (one bad answer taints the name)."""
    for ip in addresses:
        reason = blocked_reason(ip, allow_private=allow_private)
        if reason is not None:
            raise BlockedAddress(f"{host} -> {reason}")


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore backend: guarded resolution, pinned connect, peer re-check, deadline clamping."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            clamped = _clamp(timeout)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        try:
            name = normalize_host(host)
            literal = parse_ip_literal(name)
        except ValueError as exc:
            raise ResolutionFailed(f"bad host {host!r}: {exc}") from exc
        addresses = [literal] if literal is not None else resolve(name, port, clamped)
        check_addresses(name, addresses, allow_private=self._allow_private)
        last_error: Exception | None = None
        for ip in addresses:
            try:
                stream = self._inner.connect_tcp(str(ip), port, clamped, local_address, socket_options)
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            self._check_peer(name, stream)
            return _DeadlineStream(stream)
        assert last_error is not None
        raise last_error

    def _check_peer(self, host: str, stream: httpcore.NetworkStream) -> None:
        # Belt and braces: whatever the resolver said, the socket must end up at an allowed peer.
        sock = stream.get_extra_info("socket")
        if sock is None:
            return
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
        reason = blocked_reason(peer, allow_private=self._allow_private)
        if reason is not None:
            stream.close()
            raise BlockedAddress(f"{host} connected to {reason}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are never used")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
