"""Serve the offline sample on 127.0.0.1: conditional GET, gzip, robots.txt, quiet logs.

    with SampleServer(n_articles=36) as server:
        server.base_url, server.site.feed_urls()

By hand: ``python -m sample.server --port 8765 --articles 36`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import threading
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sample.site import Resource, Site, build_site


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as web servers set it (nginx's tcp_nodelay is on by default). The headers and
    # the body go out in two writes; on a kept-alive connection Nagle's algorithm held the body
    # until the client acknowledged the headers, and a delayed ACK made that up to 40 ms a
    # response: 2,000 pages over 16 connections took 5.8-6.3 s instead of 1.9-2.1 s, and which
    # of the two a run got varied, so a bench compared stalls, not clients.
    disable_nagle_algorithm = True

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.request_log.append((self.command, path, dict(self.headers.items())))
        resource = owner.site.resources.get(path)
        if resource is None:
            self._send(404, Resource("text/plain", b"not found\n"), head=head)
            return
        if self._not_modified(resource):
            self.send_response(304)  # no body and no Content-Length: RFC 9110 15.4.5
            for name, value in resource.headers:
                self.send_header(name, value)
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return
        self._send(200, resource, head=head)

    def _not_modified(self, resource: Resource) -> bool:
        headers = dict(resource.headers)
        etag = headers.get("ETag")
        if etag and self.headers.get("If-None-Match"):
            # Weak comparison (RFC 9110 13.1.2): a W/ prefix does not matter for GET.
            tags = [t.strip().removeprefix("W/") for t in self.headers["If-None-Match"].split(",")]
            return "*" in tags or etag in tags
        since, modified = self.headers.get("If-Modified-Since"), headers.get("Last-Modified")
        if since and modified:
            try:
                return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, resource: Resource, *, head: bool) -> None:
        body = resource.body
        gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
        if gzipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(status)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")  # caches must not mix the two encodings
        for name, value in resource.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and `make run` print their own summaries


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: SampleServer


class SampleServer:
    """The sample site on a free 127.0.0.1 port, served from a daemon thread."""

    def __init__(self, *, n_articles: int = 36, seed: int = 7, defects: bool = False,
                 port: int = 0, any_port_if_busy: bool = False,
                 site: Callable[[str], Site] | None = None, **build_kw: Any) -> None:
        # ``site``: builds another Site for the base URL (bench-real serves real pages so)
        self._site_of = site
        self._build = dict(n_articles=n_articles, seed=seed, defects=defects, **build_kw)
        self._port = port
        self._any_port_if_busy = any_port_if_busy
        self.wanted_port_busy = False  # set when ``port`` was taken and another one is served
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.site: Site
        self.request_log: list[tuple[str, str, dict[str, str]]] = []

    def __enter__(self) -> SampleServer:
        try:
            self._server = _Server(("127.0.0.1", self._port), _Handler)
        except OSError as exc:
            if not (self._any_port_if_busy and exc.errno == errno.EADDRINUSE):
                raise
            self._server = _Server(("127.0.0.1", 0), _Handler)  # the OS picks a free one
            self.wanted_port_busy = True
        self._server.owner = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.site = (self._site_of(self.base_url) if self._site_of is not None
                     else build_site(self.base_url, **self._build))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="sample-server")
        self._thread.start()
        return self

    def set_correction(self, state: str) -> None:
        """Serve the site again with the corrected-later article in ``state`` ("original",
        "retitled" or "corrected"; the server must have been built with ``correction=...``)."""
        self._build["correction"] = state
        self.site = build_site(self.base_url, **self._build)

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the newsflow offline sample.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--articles", type=int, default=36)
    parser.add_argument("--defects", action="store_true")
    args = parser.parse_args()
    with SampleServer(n_articles=args.articles, port=args.port, defects=args.defects) as server:
        print(f"serving {len(server.site.articles)} articles at {server.base_url}")
        for url in server.site.feed_urls():
            print(" ", url)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
