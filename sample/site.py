"""The offline sample: a small generated news site with feeds, cluttered pages and gold text.

Deterministic: the same arguments give byte-identical resources (a seeded generator, no clock).
Each article page wraps the article in the clutter real sites carry (navigation, cookie banner,
newsletter boxes, most-popular lists, related links, comments, footer), and ``gold_text`` is what
a perfect extractor returns: the body paragraphs joined by newlines, headline left out.
"""

from __future__ import annotations

import hashlib
import html
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from sample import pages
from sample.prose import article_paragraphs, headline, make_facts

OUTLET_NAMES = ["Harbor Times", "Valley Ledger", "Northern Courier", "Coastline Daily",
                "Riverside Post", "Highland Gazette", "Metro Dispatch", "Plains Observer"]
AUTHORS = ["Ada Kimura", "Ben Osei", "Clara Voss", "Dev Patel", "Erin Walsh", "Farah Said",
           "Gil Romero", "Hedda Lund", "Iker Soto", "June Park", "Kofi Mensah", "Lia Russo"]
WIRE_TAGLINES = ["This report was supplied by a news agency and edited by our staff.",
                 "Additional reporting by our own correspondents.",
                 "Agency copy, checked and updated by the local desk."]
TAGS = ["local", "politics", "business", "weather", "transport", "health", "education"]


@dataclass(frozen=True, slots=True)
class Resource:
    """One served file."""

    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SampleArticle:
    """One article page and its truth: gold text (headline excluded), story and wire origin."""

    path: str
    url: str
    outlet: str
    feed_path: str
    title: str
    authors: tuple[str, ...]
    published: datetime
    gold_text: str
    story_id: str | None
    syndicated_from: str | None


@dataclass(frozen=True, slots=True)
class SampleFeed:
    """One outlet's feed."""

    path: str
    url: str
    outlet: str
    format: str  # "rss2" | "atom"
    title: str


@dataclass(frozen=True, slots=True)
class Site:
    """Everything served, plus the truth about it; ``defects`` names planted faults' paths."""

    base_url: str
    resources: Mapping[str, Resource]
    feeds: tuple[SampleFeed, ...]
    articles: tuple[SampleArticle, ...]
    clutter_phrases: tuple[str, ...]
    defects: Mapping[str, str] = field(default_factory=dict)

    def feed_urls(self) -> list[str]:
        """The URL of every feed, in order."""
        return [f.url for f in self.feeds]


@dataclass
class _Draft:
    outlet: int
    title: str
    paragraphs: list[str]
    authors: tuple[str, ...]
    published: datetime
    story_id: str | None = None
    syndicated_from: int | None = None  # index of the original draft
    tags: tuple[str, ...] = ()


def _slug(title: str, n: int) -> str:
    words = re.sub(r"[^a-z0-9 ]+", "", title.lower()).split()[:7]
    return "-".join(words) + f"-{n}"


def _plan(rng: random.Random, n_articles: int, n_outlets: int, start: datetime,
          days: int) -> list[_Draft]:
    """Which articles exist: stories across outlets, wire copies, and unrelated pieces."""
    drafts: list[_Draft] = []

    def when() -> datetime:
        return start + timedelta(minutes=rng.randrange(0, days * 24 * 60))

    def authors() -> tuple[str, ...]:
        return tuple(rng.sample(AUTHORS, k=rng.choice((1, 1, 2))))

    scale = max(1, n_articles // 36)
    # Same event, different outlets and wording (~4 stories of 2-3 outlets each).
    for s in range(4 * scale):
        facts = make_facts(rng)
        first = when()
        for o in rng.sample(range(n_outlets), k=min(n_outlets, rng.choice((2, 3)))):
            drafts.append(_Draft(o, headline(facts, rng), article_paragraphs(facts, rng), authors(),
                                 first + timedelta(hours=rng.randrange(0, 30)), f"story-{s}",
                                 tags=tuple(rng.sample(TAGS, 2))))
    # Wire stories syndicated verbatim or lightly edited (~3, each on 2-3 outlets).
    for w in range(3 * scale):
        facts = make_facts(rng)
        original = _Draft(rng.randrange(n_outlets), headline(facts, rng),
                          article_paragraphs(facts, rng, paragraphs=5), ("Wire Staff",), when(),
                          f"wire-{w}", tags=("wire",))
        drafts.append(original)
        origin = len(drafts) - 1
        others = [o for o in range(n_outlets) if o != original.outlet]
        for o in rng.sample(others, k=min(len(others), rng.choice((1, 2)))):
            paragraphs = list(original.paragraphs)
            edit = rng.randrange(3)  # verbatim, a new first sentence, or an added tag line
            if edit == 1:
                _first, _, rest = paragraphs[0].partition(". ")
                paragraphs[0] = f"{facts.place} was the focus of attention this week. {rest}"
            elif edit == 2:
                paragraphs.append(rng.choice(WIRE_TAGLINES))
            drafts.append(_Draft(o, original.title, paragraphs, original.authors,
                                 original.published + timedelta(hours=rng.randrange(1, 6)),
                                 f"wire-{w}", origin, ("wire",)))
    # Unrelated articles fill the rest.
    while len(drafts) < n_articles:
        facts = make_facts(rng)
        drafts.append(_Draft(rng.randrange(n_outlets), headline(facts, rng),
                             article_paragraphs(facts, rng), authors(), when(),
                             tags=tuple(rng.sample(TAGS, 2))))
    drafts = drafts[:n_articles]
    # Follow-ups and wire copies come hours later; keep them inside the requested date range.
    last = start + timedelta(days=days) - timedelta(minutes=1)
    for d in drafts:
        d.published = min(d.published, last)
    # Every outlet publishes something.
    for o in range(n_outlets):
        if not any(d.outlet == o for d in drafts) and drafts:
            drafts[o % len(drafts)].outlet = o
    return drafts


def build_site(base_url: str, *, n_articles: int = 36, seed: int = 7,
               start: datetime = datetime(2026, 11, 16, tzinfo=UTC), days: int = 7,
               defects: bool = False, correction: str | None = None,
               page_validators: bool = False) -> Site:
    """Generate the whole site for ``base_url`` (no trailing slash). ``correction`` adds the
    article that is corrected later (see ``_add_correction``): "original", "retitled" (only its
    feed entry has the new headline) or "corrected" (page and feed entry corrected).
    ``page_validators`` gives every article page an ETag and Last-Modified (bench/revisits.py)."""
    base_url = base_url.rstrip("/")
    rng = random.Random(seed)
    n_outlets = max(3, n_articles // 25)
    outlet_names = [OUTLET_NAMES[i % len(OUTLET_NAMES)] + (f" {i // len(OUTLET_NAMES) + 1}"
                    if i >= len(OUTLET_NAMES) else "") for i in range(n_outlets)]
    slugs = [re.sub(r"[^a-z0-9]+", "-", name.lower()) for name in outlet_names]
    drafts = _plan(rng, n_articles, n_outlets, start, days)

    resources: dict[str, Resource] = {}
    articles: list[SampleArticle] = []
    paths: list[str] = []
    for n, d in enumerate(drafts):
        day = d.published
        paths.append(f"/{slugs[d.outlet]}/{day:%Y/%m/%d}/{_slug(d.title, n)}.html")
    for n, d in enumerate(drafts):
        path = paths[n]
        page = pages.render_article(
            template=d.outlet % 3, outlet=outlet_names[d.outlet], title=d.title,
            paragraphs=d.paragraphs, authors=d.authors, published=d.published,
            url=base_url + path, tags=d.tags, rng=rng, site_url=base_url + f"/{slugs[d.outlet]}/",
            others=[(drafts[i].title, base_url + paths[i]) for i in rng.sample(
                range(len(drafts)), k=min(5, len(drafts)))],
        )
        body = page.encode("utf-8")
        resources[path] = Resource("text/html; charset=utf-8", body,
                                   _page_validators(body, d.published) if page_validators else ())
        articles.append(SampleArticle(
            path=path, url=base_url + path, outlet=outlet_names[d.outlet],
            feed_path=f"/{slugs[d.outlet]}/feed.xml", title=d.title, authors=d.authors,
            published=d.published, gold_text="\n".join(d.paragraphs), story_id=d.story_id,
            syndicated_from=paths[d.syndicated_from] if d.syndicated_from is not None else None,
        ))

    tags = {paths[n]: d.tags for n, d in enumerate(drafts)}
    feeds: list[SampleFeed] = []
    for o, name in enumerate(outlet_names):
        path = f"/{slugs[o]}/feed.xml"
        own = sorted((a for a in articles if a.outlet == name), key=lambda a: a.published,
                     reverse=True)
        fmt = "atom" if o % 3 == 1 else "rss2"
        xml = (_atom if fmt == "atom" else _rss)(name, base_url, path, own, tags, relative=o == 0)
        resources[path] = _feed_resource(xml, fmt, own)
        feeds.append(SampleFeed(path, base_url + path, name, fmt, f"{name} - Latest"))

    resources["/robots.txt"] = Resource("text/plain; charset=utf-8",
                                        b"User-agent: *\nDisallow: /private/\n")
    if correction is not None:
        others = [(a.title, a.url) for a in articles[:3]]
        articles.append(_add_correction(resources, feeds[0], base_url, correction, others))
    found_defects: dict[str, str] = {}
    if defects:
        found_defects = _add_defects(resources, feeds, articles, base_url, rng)
    return Site(base_url, resources, tuple(feeds), tuple(articles), pages.CLUTTER_PHRASES,
                found_defects)


def _feed_resource(body: str, fmt: str, items: list[SampleArticle]) -> Resource:
    data = body.encode("utf-8")
    etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
    newest = max((a.published for a in items), default=datetime(2026, 1, 1, tzinfo=UTC))
    ctype = "application/atom+xml; charset=utf-8" if fmt == "atom" else \
        "application/rss+xml; charset=utf-8"
    return Resource(ctype, data, (("ETag", etag),
                                  ("Last-Modified", format_datetime(newest, usegmt=True))))


def _page_validators(body: bytes, modified: datetime) -> tuple[tuple[str, str], ...]:
    return (("ETag", '"' + hashlib.sha256(body).hexdigest()[:20] + '"'),
            ("Last-Modified", format_datetime(modified, usegmt=True)))


def _summary(text: str, limit: int = 200) -> str:
    """The lead paragraph, cut at a word boundary as feed generators do."""
    lead = text.split("\n", 1)[0]
    if len(lead) <= limit:
        return lead
    return lead[:limit].rsplit(" ", 1)[0] + "\u2026"


def _rss(name: str, base: str, path: str, items: list[SampleArticle],
         tags: Mapping[str, tuple[str, ...]], relative: bool) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
           f"<channel><title>{html.escape(name)} - Latest</title>",
           f"<link>{base}{path.rsplit('/', 1)[0]}/</link>",
           f"<description>News from {html.escape(name)}</description><language>en</language>",
           "<ttl>15</ttl>"]
    for i, a in enumerate(items):
        link = a.path if relative and i % 2 == 0 else a.url  # relative links resolve (case 47)
        summary = _summary(a.gold_text)
        out.append(
            f"<item><title>{html.escape(a.title)}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{html.escape(a.path)}</guid>'
            f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate>"
            + "".join(f"<dc:creator>{html.escape(x)}</dc:creator>" for x in a.authors)
            + "".join(f"<category>{html.escape(t)}</category>" for t in tags[a.path])
            + f"<description>{html.escape(summary)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def _atom(name: str, base: str, path: str, items: list[SampleArticle],
          tags: Mapping[str, tuple[str, ...]], relative: bool) -> str:
    updated = max((a.published for a in items), default=datetime(2026, 1, 1, tzinfo=UTC))
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
           f"<title>{html.escape(name)} - Latest</title><id>{base}{path}</id>",
           f'<link rel="self" href="{base}{path}"/>',
           f"<updated>{updated.isoformat()}</updated>"]
    for a in items:
        summary = _summary(a.gold_text)
        out.append(
            f"<entry><title>{html.escape(a.title)}</title><id>tag:sample,2026:{a.path}</id>"
            f'<link rel="alternate" href="{html.escape(a.url)}"/>'
            f"<published>{a.published.isoformat()}</published>"
            f"<updated>{a.published.isoformat()}</updated>"
            + "".join(f"<author><name>{html.escape(x)}</name></author>" for x in a.authors)
            + "".join(f'<category term="{html.escape(t)}"/>' for t in tags[a.path])
            + f"<summary>{html.escape(summary)}</summary></entry>")
    out.append("</feed>")
    return "\n".join(out)


def _add_defects(resources: dict[str, Resource], feeds: list[SampleFeed],
                 articles: list[SampleArticle], base: str, rng: random.Random) -> dict[str, str]:
    """Planted defects for the data-quality checks (see tests/expectations/test_sample_defects.py).

    Added on top of the normal site, which they leave as it is (``articles`` stays the normal
    site's truth; the defects' pages are not in it). The keys of the returned mapping name them:

    - ``duplicate_keys_feed``: a feed whose items all repeat one guid and share one link;
    - ``boilerplate_page``: a page that is nearly all subscribe/cookie lines, listed by the first
      outlet's feed;
    - ``volume_drop_feed``: an outlet with about five articles a day on each of the eight days
      before the sample's latest article day and none on that day: its volume drops to zero.
    """
    found: dict[str, str] = {}
    # A feed whose entries all repeat one guid and share one link: duplicate keys.
    dup_path = "/repeat-wire/feed.xml"
    items = "".join(
        f"<item><title>Repeated item {i}</title><link>{base}/repeat-wire/story.html</link>"
        f"<guid>1</guid><pubDate>Mon, 16 Nov 2026 0{i}:00:00 GMT</pubDate></item>"
        for i in range(5))
    body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Repeat Wire</title>'
            f"<link>{base}/repeat-wire/</link><description>d</description>{items}</channel></rss>")
    resources[dup_path] = _feed_resource(body, "rss2", [])
    feeds.append(SampleFeed(dup_path, base + dup_path, "Repeat Wire", "rss2", "Repeat Wire"))
    found["duplicate_keys_feed"] = dup_path
    resources["/repeat-wire/story.html"] = Resource(
        "text/html; charset=utf-8",
        pages.render_boilerplate_page("Repeat Wire", "A story repeated under one guid").encode())
    # A page that is almost all boilerplate, listed by the first outlet's feed.
    bp_path = "/harbor-times/2026/11/19/subscribe-to-keep-reading.html"
    resources[bp_path] = Resource("text/html; charset=utf-8", pages.render_boilerplate_page(
        "Harbor Times", "Keep reading with a subscription").encode())
    first = feeds[0]
    feed = resources[first.path]
    extra = (f"<item><title>Keep reading</title><link>{base}{bp_path}</link>"
             f"<guid>{bp_path}</guid><pubDate>Thu, 19 Nov 2026 10:00:00 GMT</pubDate></item>")
    text = feed.body.decode().replace("</channel>", extra + "</channel>")
    resources[first.path] = _feed_resource(text, "rss2", [a for a in articles
                                                         if a.outlet == first.outlet])
    found["boilerplate_page"] = bp_path
    # An outlet with a steady history that wrote nothing on the latest day: a volume drop.
    found["volume_drop_feed"] = _add_silent_outlet(resources, feeds, articles, base, rng)
    return found


def _add_silent_outlet(resources: dict[str, Resource], feeds: list[SampleFeed],
                       articles: list[SampleArticle], base: str, rng: random.Random, *,
                       name: str = "Quiet Herald", days: int = 8, per_day: int = 5) -> str:
    """An outlet with ``per_day`` real article pages on each of the ``days`` days before the
    sample's latest article day and none on that day; returns its feed's path.

    The volume check judges every source on the newest day of the data, against its trailing
    median: 0 against a median of ``per_day`` over ``days`` days of history is a drop to zero.
    Times are between 08:00 and 18:00 UTC so that no article slips into a neighbouring day.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
    latest = max((a.published for a in articles),
                 default=datetime(2026, 11, 22, tzinfo=UTC)).date()
    drafts: list[tuple[str, list[str], tuple[str, ...], datetime, tuple[str, ...]]] = []
    for back in range(days, 0, -1):
        day = latest - timedelta(days=back)
        for k in range(per_day):
            facts = make_facts(rng)
            published = datetime(day.year, day.month, day.day, 8 + 2 * k, rng.randrange(60),
                                 tzinfo=UTC)
            drafts.append((headline(facts, rng), article_paragraphs(facts, rng),
                           (rng.choice(AUTHORS),), published, tuple(rng.sample(TAGS, 2))))
    paths = [f"/{slug}/{d[3]:%Y/%m/%d}/{_slug(d[0], n)}.html" for n, d in enumerate(drafts)]
    own: list[SampleArticle] = []
    tags: dict[str, tuple[str, ...]] = {}
    for n, (title, paragraphs, authors, published, topics) in enumerate(drafts):
        path = paths[n]
        page = pages.render_article(
            template=n % 3, outlet=name, title=title, paragraphs=paragraphs, authors=authors,
            published=published, url=base + path, tags=topics, rng=rng,
            site_url=base + f"/{slug}/",
            others=[(drafts[i][0], base + paths[i]) for i in rng.sample(range(len(drafts)), k=5)],
        )
        resources[path] = Resource("text/html; charset=utf-8", page.encode("utf-8"))
        own.append(SampleArticle(
            path=path, url=base + path, outlet=name, feed_path=f"/{slug}/feed.xml", title=title,
            authors=authors, published=published, gold_text="\n".join(paragraphs),
            story_id=None, syndicated_from=None))
        tags[path] = topics
    own.sort(key=lambda a: a.published, reverse=True)
    feed_path = f"/{slug}/feed.xml"
    body = _rss(name, base, feed_path, own, tags, relative=False)
    resources[feed_path] = _feed_resource(body, "rss2", own)
    feeds.append(SampleFeed(feed_path, base + feed_path, name, "rss2", f"{name} - Latest"))
    return feed_path


# The article that is corrected between two runs (issue 12): a wrong figure, fixed with a new
# headline and a correction note, as newsrooms do. Fixed text, so the rest of the site and its
# random draws stay as they are.
CORRECTION_TITLE = ("Harbour bridge reopens after repairs",
                    "Harbour bridge reopens after repairs costing 4.2 million euros")
CORRECTION_PARAGRAPHS = (
    ["The harbour bridge reopened to traffic on Sunday morning after eleven weeks of repairs to "
     "its steel deck and the two lifting spans.",
     "The city engineering office said the repairs cost 2.4 million euros, most of it paid from "
     "the regional transport fund. Work on the footpaths will continue until the end of the "
     "month.",
     "Ferry services that carried commuters across the harbour during the closure return to "
     "their winter timetable next week. Local traders said the reopening came just in time "
     "for the holiday season."],
    ["The harbour bridge reopened to traffic on Sunday morning after eleven weeks of repairs to "
     "its steel deck and the two lifting spans.",
     "The city engineering office said the repairs cost 4.2 million euros, most of it paid from "
     "the regional transport fund. Work on the footpaths will continue until the end of the "
     "month.",
     "Ferry services that carried commuters across the harbour during the closure return to "
     "their winter timetable next week. Local traders said the reopening came just in time "
     "for the holiday season.",
     "Correction: an earlier version of this article gave the cost of the repairs as 2.4 "
     "million euros."],
)
CORRECTION_PUBLISHED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CORRECTION_MODIFIED = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)


def _add_correction(resources: dict[str, Resource], feed: SampleFeed, base: str,
                    state: str, others: list[tuple[str, str]]) -> SampleArticle:
    """Add the corrected-later article to ``feed`` (an RSS feed) in ``state``; its page has an
    ETag and Last-Modified, so an unchanged page answers a revisit with 304."""
    if state not in ("original", "retitled", "corrected"):
        raise ValueError(f"unknown correction state {state!r}")
    slug = feed.path.rsplit("/", 1)[0]
    path = f"{slug}/2026/11/22/harbour-bridge-reopens-after-repairs.html"
    page_fixed = state == "corrected"
    title = CORRECTION_TITLE[page_fixed]
    paragraphs = CORRECTION_PARAGRAPHS[page_fixed]
    page = pages.render_article(
        template=0, outlet=feed.outlet, title=title, paragraphs=paragraphs,
        authors=("Hedda Lund",), published=CORRECTION_PUBLISHED, url=base + path,
        tags=("transport", "local"), rng=random.Random(12), site_url=base + slug + "/",
        others=others, modified=CORRECTION_MODIFIED if page_fixed else None)
    body = page.encode("utf-8")
    modified = CORRECTION_MODIFIED if page_fixed else CORRECTION_PUBLISHED
    resources[path] = Resource("text/html; charset=utf-8", body, _page_validators(body, modified))
    feed_title = CORRECTION_TITLE[state != "original"]
    item = (f"<item><title>{html.escape(feed_title)}</title><link>{base}{path}</link>"
            f'<guid isPermaLink="false">{path}</guid>'
            f"<pubDate>{format_datetime(CORRECTION_PUBLISHED, usegmt=True)}</pubDate>"
            f"<description>{html.escape(_summary(paragraphs[0]))}</description></item>")
    text = resources[feed.path].body.decode().replace("</channel>", item + "</channel>")
    resources[feed.path] = _feed_resource(text, "rss2", [])
    return SampleArticle(path=path, url=base + path, outlet=feed.outlet, feed_path=feed.path,
                         title=title, authors=("Hedda Lund",), published=CORRECTION_PUBLISHED,
                         gold_text="\n".join(paragraphs), story_id=None, syndicated_from=None)
