"""The sample server: every resource served, conditional GET, gzip, HEAD, quiet, local only."""

from __future__ import annotations

import gzip
import html
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sample.server import SampleServer


@pytest.fixture(scope="module")
def server() -> Iterator[SampleServer]:
    with SampleServer() as running:
        yield running


def test_every_article_is_served_with_its_gold_paragraphs(server: SampleServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    with httpx.Client() as client:
        for article in server.site.articles:
            response = client.get(article.url)
            assert response.status_code == 200, article.path
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            page = html.unescape(response.text)
            assert all(p in page for p in article.gold_text.split("\n"))
        for feed in server.site.feeds:
            assert client.get(feed.url).content == server.site.resources[feed.path].body
        robots = client.get(server.base_url + "/robots.txt")
        assert robots.status_code == 200 and b"Disallow: /private/" in robots.content
        assert client.get(server.base_url + "/private/secret.html").status_code == 404
        assert client.get(server.base_url + "/nope").status_code == 404


def test_conditional_get_answers_304(server: SampleServer) -> None:
    feed = server.site.feeds[0]
    with httpx.Client() as client:
        first = client.get(feed.url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get(feed.url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert client.get(feed.url, headers={"If-None-Match": f'"other", W/{etag}'}
                          ).status_code == 304
        assert client.get(feed.url, headers={"If-None-Match": '"stale"'}).status_code == 200
        assert client.get(feed.url, headers={"If-Modified-Since": modified}).status_code == 304
        old = "Mon, 02 Nov 2026 00:00:00 GMT"
        assert client.get(feed.url, headers={"If-Modified-Since": old}).status_code == 200
        # A stale ETag wins over a fresh date (RFC 9110: If-None-Match takes precedence).
        assert client.get(feed.url, headers={"If-None-Match": '"stale"',
                                             "If-Modified-Since": modified}).status_code == 200


def test_gzip_only_when_asked(server: SampleServer) -> None:
    path = server.site.articles[0].path
    with socket.create_connection(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1]))) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                  "Connection: close\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert gzip.decompress(body) == server.site.resources[path].body
    with httpx.Client() as client:
        plain = client.get(server.base_url + path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == server.site.resources[path].body


def test_head_and_request_log(server: SampleServer) -> None:
    feed = server.site.feeds[1]
    server.request_log.clear()
    with httpx.Client() as client:
        head = client.head(feed.url, headers={"User-Agent": "newsflow-test",
                                                 "Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(server.site.resources[feed.path].body)
    method, path, headers = server.request_log[-1]
    assert (method, path, headers["User-Agent"]) == ("HEAD", feed.path, "newsflow-test")


def test_defects_server_and_clean_shutdown() -> None:
    with SampleServer(n_articles=6, defects=True) as running, httpx.Client() as client:
        port = int(running.base_url.rsplit(":", 1)[1])
        for path in running.site.defects.values():
            assert client.get(running.base_url + path).status_code == 200
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_command_line_serves_and_prints_feed_urls(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port for the child
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-m", "sample.server", "--port", str(port),
                              "--articles", "6"], cwd=root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        feed_line = child.stdout.readline().strip()
        assert feed_line.endswith("/feed.xml")
        assert httpx.get(feed_line).status_code == 200
    finally:
        child.terminate()
        _out, err = child.communicate(timeout=10)
    assert "GET" not in err  # quiet: no access log on stderr


@pytest.fixture()
def busy_port() -> Iterator[int]:
    """A 127.0.0.1 port held by a listening socket of this test."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_a_busy_port_is_an_error_unless_any_port_will_do(busy_port: int) -> None:
    with pytest.raises(OSError), SampleServer(n_articles=3, port=busy_port):
        pass
    with SampleServer(n_articles=3, port=busy_port, any_port_if_busy=True) as running:
        assert running.wanted_port_busy
        port = int(running.base_url.rsplit(":", 1)[1])
        assert port != busy_port
        with httpx.Client() as client:  # the site is served, with URLs on the port it got
            feed = running.site.feeds[0]
            assert feed.url.startswith(running.base_url)
            assert client.get(feed.url).status_code == 200


def test_a_free_port_is_used_as_asked() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with SampleServer(n_articles=3, port=free, any_port_if_busy=True) as running:
        assert running.base_url == f"http://127.0.0.1:{free}" and not running.wanted_port_busy
