"""A misbehaving HTTP server on 127.0.0.1 that plays every case of FAULTS.md section A (1-28).

Raw sockets, one thread per connection, so a handler can do what no well-behaved server library
allows: never answer, trickle, reset mid-body, lie about Content-Length, send bombs, broken status
lines, NUL bytes in headers, HTTP/0.9. Each route is a method ``route_<name>``; the path is
``/<name>[/<arg>...][?query]``. Counters of hits per path let tests assert what reached the server.

Run it by hand with ``python tests/web/faultserver.py`` to poke at it with curl.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import brotli
import zstandard

from web import HttpOptions

MIB = 1024 * 1024
_ZEROS = bytes(MIB)


def gzip_bomb_stream(total: int) -> Iterator[bytes]:
    """Gzip of ``total`` zero bytes, produced lazily (1 GB of zeros is about 1 MB on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    sent = 0
    while sent < total:
        n = min(MIB, total - sent)
        out = compressor.compress(_ZEROS[:n])
        sent += n
        if out:
            yield out
    yield compressor.flush()


def brotli_bomb_stream(total: int) -> Iterator[bytes]:
    """Brotli of ``total`` zero bytes, lazily."""
    compressor = brotli.Compressor(quality=5)
    sent = 0
    while sent < total:
        n = min(MIB, total - sent)
        out = compressor.process(_ZEROS[:n])
        sent += n
        if out:
            yield out
    yield compressor.finish()


def zstd_bomb_stream(total: int) -> Iterator[bytes]:
    """Zstandard of ``total`` zero bytes, lazily."""
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    sent = 0
    while sent < total:
        n = min(MIB, total - sent)
        out = compressor.compress(_ZEROS[:n])
        sent += n
        if out:
            yield out
    yield compressor.flush()


class Request:
    """The parsed head of one client request."""

    def __init__(self, method: str, target: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.headers = headers
        segments = [s for s in parts.path.split("/") if s]
        self.route = segments[0] if segments else "index"
        self.args = segments[1:]


class FaultServer:
    """The server. ``with FaultServer() as srv: srv.url("/ok")``. Pass ``ssl_context`` for HTTPS."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.host, self.port = self.listener.getsockname()[:2]
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.robots_txt: str | None = None  # None -> 404
        self.robots_status = 200
        self.documents: dict[str, tuple[str, str]] = {}  # /doc/<name> -> (text, content type)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.start_times: list[float] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="faultserver", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.listener.close()

    @property
    def scheme(self) -> str:
        return "http" if self.ssl_context is None else "https"

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle_conn, args=(conn,), daemon=True).start()

    def _handle_conn(self, conn: socket.socket) -> None:
        try:
            if self.ssl_context is not None:
                conn.settimeout(5)
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    return
            conn.settimeout(10)
            while not self._stop.is_set():
                request = self._read_request(conn)
                if request is None:
                    return
                with self._lock:
                    self.hits[request.path] += 1
                    self.requests.append(request)
                    self.in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                    self.start_times.append(time.monotonic())
                try:
                    name = request.route.replace("-", "_").replace(".", "_")
                    handler = getattr(self, f"route_{name}", None)
                    if handler is None:
                        self.send(conn, 404, b"no such route")
                        keep = True
                    else:
                        keep = bool(handler(conn, request))
                finally:
                    with self._lock:
                        self.in_flight -= 1
                if not keep:
                    return
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    @staticmethod
    def _read_request(conn: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except (TimeoutError, OSError):
                return None
            if not chunk:
                return None
            data += chunk
            if data[:1] == b"\x16":  # a TLS ClientHello on a plain port: answer like nginx does
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return None
            if len(data) > 1 << 20:
                return None
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Request(method, target, headers)

    # -- helpers -----------------------------------------------------------------------------
    def send(
        self,
        conn: socket.socket,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        content_type: str = "text/html; charset=utf-8",
    ) -> bool:
        """A well-formed response with Content-Length; returns True (keep-alive)."""
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers or []]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return True

    @staticmethod
    def send_head(conn: socket.socket, status_line: str, headers: list[tuple[str, str]]) -> None:
        lines = [status_line, *(f"{k}: {v}" for k, v in headers)]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    @staticmethod
    def send_chunk(conn: socket.socket, data: bytes) -> None:
        conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def stream_chunked(
        self, conn: socket.socket, pieces: Iterator[bytes], headers: list[tuple[str, str]]
    ) -> bool:
        self.send_head(conn, "HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked"), *headers])
        try:
            for piece in pieces:
                if piece:
                    self.send_chunk(conn, piece)
                if self._stop.is_set():
                    return False
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            return False
        return True

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # -- routes: success and conditional GET (cases 12, 13, 26) ------------------------------
    def route_ok(self, conn: socket.socket, req: Request) -> bool:
        etag, modified = '"v1"', "Mon, 02 Nov 2026 10:00:00 GMT"
        validators = [("ETag", etag), ("Last-Modified", modified), ("Cache-Control", "max-age=60")]
        if req.headers.get("if-none-match") == etag or req.headers.get("if-modified-since") == modified:
            self.send_head(conn, "HTTP/1.1 304 Not Modified", validators)
            return True
        body = req.query.get("body", "<html><body><p>hello</p></body></html>").encode()
        return self.send(
            conn, 200, body, validators, content_type=req.query.get("type", "text/html; charset=utf-8")
        )

    def route_headers(self, conn: socket.socket, req: Request) -> bool:
        """Echo the request headers back (to check User-Agent and conditional headers)."""
        body = "\n".join(f"{k}: {v}" for k, v in sorted(req.headers.items())).encode()
        return self.send(conn, 200, body, content_type="text/plain")

    def route_empty(self, conn: socket.socket, req: Request) -> bool:
        if req.args and req.args[0] == "chunked":
            self.send_head(conn, "HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")])
            conn.sendall(b"0\r\n\r\n")
            return True
        return self.send(conn, 200, b"")

    def route_magic(self, conn: socket.socket, req: Request) -> bool:
        """text/html whose bytes are gzip (case 25), without any Content-Encoding."""
        return self.send(conn, 200, gzip.compress(b"<html>" + b"a" * 1000 + b"</html>"))

    # -- timeouts (cases 2-5) -----------------------------------------------------------------
    def route_sleep(self, conn: socket.socket, req: Request) -> bool:
        """Accept, then never send a byte (case 3)."""
        self._sleep(float(req.query.get("s", "30")))
        return False

    def route_trickle(self, conn: socket.socket, req: Request) -> bool:
        """200 OK, then one byte every ``every`` seconds (case 4)."""
        every = float(req.query.get("every", "0.2"))
        self.send_head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "100000")])
        for _ in range(100000):
            if self._stop.is_set():
                return False
            conn.sendall(b"x")
            self._sleep(every)
        return False

    def route_endless(self, conn: socket.socket, req: Request) -> bool:
        """Chunked audio stream forever (case 5)."""

        def forever() -> Iterator[bytes]:
            while True:
                yield b"\xff\xfb" * 8192

        return self.stream_chunked(conn, forever(), [("Content-Type", "audio/mpeg")])

    # -- broken bodies (cases 6, 7) -----------------------------------------------------------
    def route_reset(self, conn: socket.socket, req: Request) -> bool:
        """Send 10 KB of a declared 100 KB, then RST (SO_LINGER 0)."""
        self.send_head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "100000")])
        conn.sendall(b"a" * 10240)
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    def route_short(self, conn: socket.socket, req: Request) -> bool:
        """Content-Length: 20, five bytes, close (case 7)."""
        self.send_head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "20")])
        conn.sendall(b"hello")
        return False

    # -- statuses (cases 8-11) ----------------------------------------------------------------
    def route_status(self, conn: socket.socket, req: Request) -> bool:
        """/status/<code>?retry-after=..&cf=1"""
        code = int(req.args[0]) if req.args else 500
        headers = []
        if "retry-after" in req.query:
            headers.append(("Retry-After", req.query["retry-after"]))
        if req.query.get("cf"):
            headers.append(("cf-mitigated", "challenge"))
        return self.send(conn, code, b"status body", headers)

    def route_flaky(self, conn: socket.socket, req: Request) -> bool:
        """/flaky/<failures>/<key>: 503 for the first <failures> hits of this path, then 200."""
        failures = int(req.args[0])
        with self._lock:
            seen = self.hits[req.path]
        if seen <= failures:
            headers = [("Retry-After", req.query["retry-after"])] if "retry-after" in req.query else []
            return self.send(conn, int(req.query.get("code", "503")), b"busy", headers)
        return self.send(
            conn, 200, b"<rss><channel><title>t</title></channel></rss>", content_type="application/rss+xml"
        )

    # -- redirects (cases 14, 15, 19, 20, 24) -------------------------------------------------
    def route_redirect(self, conn: socket.socket, req: Request) -> bool:
        """/redirect/<n>: a chain of n redirects ending at /ok; ?code=301 picks the status."""
        n = int(req.args[0]) if req.args else 1
        code = int(req.query.get("code", "302"))
        target = "/ok" if n <= 1 else f"/redirect/{n - 1}?code={code}"
        return self.send(conn, code, b"moved", [("Location", target)])

    def route_loop(self, conn: socket.socket, req: Request) -> bool:
        """/loop/a <-> /loop/b forever."""
        other = "b" if req.args and req.args[0] == "a" else "a"
        return self.send(conn, 302, b"", [("Location", f"/loop/{other}")])

    def route_to(self, conn: socket.socket, req: Request) -> bool:
        """/to?url=<absolute or relative URL>: one redirect there."""
        return self.send(conn, int(req.query.get("code", "302")), b"", [("Location", req.query["url"])])

    def route_redirect_bomb(self, conn: socket.socket, req: Request) -> bool:
        """302 whose gzip body is a bomb followed by junk: decompressing it would fail or explode."""
        body = b"".join(gzip_bomb_stream(50 * MIB))[:-8] + b"\x00junk-not-gzip"
        headers = [("Location", "/ok"), ("Content-Encoding", "gzip")]
        return self.send(conn, 302, body, headers)

    def route_cookie_gate(self, conn: socket.socket, req: Request) -> bool:
        """A consent wall: without the cookie, set it and redirect back to itself."""
        if "gate=1" in req.headers.get("cookie", ""):
            return self.send(conn, 200, b"<html>past the gate</html>")
        return self.send(conn, 302, b"", [("Set-Cookie", "gate=1; Path=/"), ("Location", "/cookie-gate")])

    # -- size limits and bombs (cases 21-23) ---------------------------------------------------
    def route_declared(self, conn: socket.socket, req: Request) -> bool:
        """Content-Length: 60000000, then a trickle of bytes (must be refused before reading)."""
        self.send_head(
            conn, "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "60000000")]
        )
        with contextlib.suppress(OSError):
            conn.sendall(b"a" * 65536)
        return False

    def route_chunked(self, conn: socket.socket, req: Request) -> bool:
        """/chunked/<MiB>: an undeclared body of that size."""
        total = int(req.args[0]) * MIB if req.args else 60 * MIB

        def pieces() -> Iterator[bytes]:
            block = b"<p>" + b"a" * (MIB - 8) + b"</p>\n"
            for _ in range(total // MIB):
                yield block

        return self.stream_chunked(conn, pieces(), [("Content-Type", "text/html")])

    def route_bomb(self, conn: socket.socket, req: Request) -> bool:
        """/bomb/<gzip|br|zstd|deflate>?mib=1024: a body expanding to ``mib`` MiB of zeros."""
        kind = req.args[0] if req.args else "gzip"
        total = int(req.query.get("mib", "1024")) * MIB
        if kind == "br":
            stream = brotli_bomb_stream(total)
        elif kind == "zstd":
            stream = zstd_bomb_stream(total)
        else:
            stream = gzip_bomb_stream(total)
        return self.stream_chunked(conn, stream, [("Content-Type", "text/html"), ("Content-Encoding", kind)])

    def route_stacked(self, conn: socket.socket, req: Request) -> bool:
        """/stacked/<n>: the body gzipped n times, declared as ``gzip, gzip, ...``."""
        n = int(req.args[0]) if req.args else 6
        body = b"<html>stacked</html>"
        for _ in range(n):
            body = gzip.compress(body)
        return self.send(conn, 200, body, [("Content-Encoding", ", ".join(["gzip"] * n))])

    def route_encoded(self, conn: socket.socket, req: Request) -> bool:
        """/encoded/<gzip|deflate|br|zstd>: a small page in that encoding (the happy path)."""
        kind = req.args[0]
        body = b"<html><body>" + b"encoded page " * 100 + b"</body></html>"
        if kind == "gzip":
            data = gzip.compress(body)
        elif kind == "deflate":
            data = zlib.compress(body)
        elif kind == "br":
            data = brotli.compress(body)
        elif kind == "zstd":
            data = zstandard.ZstdCompressor().compress(body)
        else:
            data = body
        if req.query.get("truncate"):
            data = data[: -int(req.query["truncate"])]  # Content-Length still matches what is sent
        return self.send(conn, 200, data, [("Content-Encoding", kind)])

    # -- header abuse (case 28) ---------------------------------------------------------------
    def route_abuse(self, conn: socket.socket, req: Request) -> bool:
        """/abuse/<long|many|nul|crlf|status|http09|big-kept>."""
        kind = req.args[0] if req.args else "long"
        if kind == "long":
            head = "HTTP/1.1 200 OK\r\nX-Long: " + "a" * 300_000 + "\r\nContent-Length: 2\r\n\r\nok"
            conn.sendall(head.encode())
        elif kind in ("many", "many-small"):
            lines = [f"X-H{i}: v" for i in range(20_000 if kind == "many" else 3_000)]
            conn.sendall(
                ("HTTP/1.1 200 OK\r\n" + "\r\n".join(lines) + "\r\nContent-Length: 2\r\n\r\nok").encode()
            )
        elif kind == "nul":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nok")
        elif kind == "crlf":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Bad: a\rInjected: b\r\nContent-Length: 2\r\n\r\nok")
        elif kind == "status":
            conn.sendall(b"HTTP/1.1 OK-ISH\r\nContent-Length: 2\r\n\r\nok")
        elif kind == "http09":
            conn.sendall(b"<html>no status line at all</html>")
        elif kind == "big-kept":
            # Allowed by the parser but large: kept headers must be capped on the way into storage.
            lines = ["HTTP/1.1 200 OK", "Content-Type: text/html", "Server: " + "s" * 5000]
            lines += [f"Cache-Control: {'c' * 400}" for _ in range(60)]
            conn.sendall(("\r\n".join(lines) + "\r\nContent-Length: 2\r\n\r\nok").encode())
        return False

    # -- robots.txt and politeness --------------------------------------------------------------
    def route_robots_txt(self, conn: socket.socket, req: Request) -> bool:
        if self.robots_txt is None:
            return self.send(conn, 404, b"none")
        return self.send(conn, self.robots_status, self.robots_txt.encode(), content_type="text/plain")

    def route_doc(self, conn: socket.socket, req: Request) -> bool:
        """/doc/<name>: a document the test put in ``documents`` (404 if there is none)."""
        found = self.documents.get("/".join(req.args))
        if found is None:
            return self.send(conn, 404, b"no such document")
        text, content_type = found
        return self.send(conn, 200, text.encode(), content_type=content_type)

    def route_slow(self, conn: socket.socket, req: Request) -> bool:
        """/slow?s=0.2: answer after a pause (to observe concurrency)."""
        self._sleep(float(req.query.get("s", "0.2")))
        return self.send(conn, 200, b"<html>slow</html>")


def fast_options(**overrides: object) -> HttpOptions:
    """Options for tests: private addresses allowed (the server is on loopback), small limits."""
    base: dict[str, object] = {
        "allow_private": True,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        "deadline": 3.0,
        "max_bytes": 1024 * 1024,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "max_sleep": 1.0,
    }
    base.update(overrides)
    return HttpOptions(**base)  # type: ignore[arg-type]


class SleepRecorder:
    """A fake ``sleep`` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def blackhole() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket on 127.0.0.1 whose accept queue is full: new connects hang (case 2).

    Returns the listener and the sockets filling its queue; close them all when done.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers: list[socket.socket] = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(listener.getsockname())
        fillers.append(s)
    time.sleep(0.05)
    return listener, fillers


if __name__ == "__main__":
    with FaultServer() as server:
        print(f"fault server on {server.url('/')} (Ctrl-C to stop)")  # a dev tool, not library code
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
