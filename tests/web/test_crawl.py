"""The backfill's crawls over a local server: a site's sitemaps and a feed's RFC 5005 archives."""

from __future__ import annotations

from datetime import date

from faultserver import FaultServer, fast_options

from web import ErrorClass, Fetcher
from web.crawl import fetch_document, list_archive_feed, list_sitemaps

D1, D3 = date(2024, 3, 1), date(2024, 3, 3)
XML = "application/xml"


def _urlset(server: FaultServer, dated: dict[str, str], undated: tuple[str, ...] = ()) -> str:
    urls = "".join(f"<url><loc>{server.url(p)}</loc><lastmod>{d}</lastmod></url>"
                   for p, d in dated.items())
    urls += "".join(f"<url><loc>{server.url(p)}</loc></url>" for p in undated)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def test_a_sites_sitemaps_are_found_through_robots_txt_and_listed_per_day(
        server: FaultServer) -> None:
    server.robots_txt = f"User-agent: *\nSitemap: {server.url('/doc/index.xml')}\n"
    server.documents["index.xml"] = (
        "<sitemapindex>"
        f"<sitemap><loc>{server.url('/doc/news.xml')}</loc><lastmod>2024-03-04</lastmod></sitemap>"
        f"<sitemap><loc>{server.url('/doc/old.xml')}</loc><lastmod>2019-01-01</lastmod></sitemap>"
        "</sitemapindex>", XML)
    news = _urlset(server, {"/a/1": "2024-03-01", "/a/2": "2024-03-02", "/a/3": "2024-03-02",
                            "/a/early": "2024-02-20"}, undated=("/a/undated",))
    foreign = "<url><loc>https://other.example/x</loc><lastmod>2024-03-01</lastmod></url>"
    server.documents["news.xml"] = (news.replace("</urlset>", foreign + "</urlset>"), XML)
    with Fetcher(fast_options()) as fetcher:
        listing = list_sitemaps(fetcher, server.url("/"), D1, D3)
    assert listing.by_day[D1] == (server.url("/a/1"),)
    assert sorted(listing.by_day[date(2024, 3, 2)]) == [server.url("/a/2"), server.url("/a/3")]
    assert not listing.by_day.get(D3)
    assert (listing.documents, listing.read_ok, listing.undated, listing.outside) == (2, 2, 1, 1)
    assert listing.problems == ("1 URL(s) of other sites skipped",) and listing.complete
    assert server.hits["/doc/old.xml"] == 0  # last modified before the range: not read


def test_a_sitemap_index_that_never_ends_stops_at_the_document_bound(server: FaultServer) -> None:
    # Each index names a new one: only the bound ends the walk.
    for i in range(10):
        server.documents[f"i{i}.xml"] = (
            f"<sitemapindex><sitemap><loc>{server.url(f'/doc/i{i + 1}.xml')}</loc></sitemap>"
            "</sitemapindex>", XML)
    with Fetcher(fast_options()) as fetcher:
        listing = list_sitemaps(fetcher, server.url("/doc/i0.xml"), D1, D3, max_documents=3)
    assert listing.documents == 3 and not listing.complete
    assert listing.problems[-1] == "stopped after 3 documents"
    assert server.hits["/doc/i3.xml"] == 0


def test_a_feeds_archives_are_walked_back_until_the_range_is_covered(server: FaultServer) -> None:
    def feed(prev: str | None, *days: int) -> tuple[str, str]:
        link = f'<link rel="prev-archive" href="{server.url(prev)}"/>' if prev else ""
        entries = "".join(f"<entry><link href='{server.url(f'/a/{d}')}'/>"
                          f"<published>2024-03-{d:02d}T08:00:00Z</published></entry>" for d in days)
        return f'<feed xmlns="http://www.w3.org/2005/Atom">{link}{entries}</feed>', XML

    server.documents["feed.atom"] = feed("/doc/2.atom", 3)
    server.documents["2.atom"] = feed("/doc/1.atom", 2)
    server.documents["1.atom"] = feed("/doc/0.atom", 1)
    server.documents["0.atom"] = feed(None)
    with Fetcher(fast_options()) as fetcher:
        listing = list_archive_feed(fetcher, server.url("/doc/feed.atom"), D1, D3)
        broken = list_archive_feed(fetcher, server.url("/doc/x"), D1, D3)
    assert {d: list(urls) for d, urls in listing.by_day.items() if urls} == {
        D1: [server.url("/a/1")], date(2024, 3, 2): [server.url("/a/2")], D3: [server.url("/a/3")]}
    assert listing.complete and listing.read_ok == listing.documents >= 3
    assert not broken.complete and broken.read_ok == 0
    assert broken.problems[0] == f"{server.url('/doc/x')}: {ErrorClass.NOT_FOUND}"


def test_documents_are_fetched_as_feeds_without_asking_robots_txt(server: FaultServer) -> None:
    server.robots_txt = "User-agent: *\nDisallow: /\n"
    server.documents["s.xml"] = (_urlset(server, {"/a/1": "2024-03-01"}), XML)
    with Fetcher(fast_options()) as fetcher:
        result = fetch_document(fetcher, server.url("/doc/s.xml"))
    assert result.ok and result.body is not None
    assert server.hits["/robots.txt"] == 0
    [request] = [r for r in server.requests if r.path == "/doc/s.xml"]
    assert request.headers["accept"].startswith("application/rss+xml")
