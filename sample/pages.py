"""HTML for the sample's article pages: three outlet templates and the clutter around articles.

Every phrase in ``CLUTTER_PHRASES`` appears on the pages (some inside the article container,
as real sites do) and must never appear in extracted article text.
"""

from __future__ import annotations

import html
import json
import random
import zlib
from collections.abc import Sequence
from datetime import datetime

NAV = "Home | World | Local | Business | Opinion | Weather | Puzzles"
COOKIE = "We and our partners store small files on your device to measure audiences and tailor offers"
NEWSLETTER = "Get the morning briefing delivered before breakfast"
REQUIRED = "Fields marked with a star must be filled in"
POPULAR = "Most read this hour"
RELATED = "You might also enjoy these stories"
COMMENTS = "Join the conversation below and keep it civil"
SHARE = "Share this story with a friend"
FOOTER = "Reproduction of any material without written permission is forbidden"
READ_MORE = "Continue exploring our coverage of the region"
INLINE_SIGNUP = "Like what you are reading? Try our weekend edition free for a month"
AD = "Advertisement - scroll to continue"
MEMBERSHIP = "Independent local reporting is paid for by readers like you"
CAPTION = "Photograph from the newsroom picture desk"
BIO = "covers councils, courts and everything in between for the newsroom"
LATEST = "Fresh off the newsroom wire"
TOPICS = "Filed under these topics"

CLUTTER_PHRASES = (NAV, COOKIE, NEWSLETTER, REQUIRED, POPULAR, RELATED, COMMENTS, SHARE, FOOTER,
                   READ_MORE, INLINE_SIGNUP, AD, MEMBERSHIP, CAPTION, BIO, LATEST, TOPICS)

COMMENT_LINES = ["This has been coming for years, frankly.",
                 "Does anyone know if the bus routes are affected?",
                 "Good to see the council finally listening.",
                 "My street was the same last winter and nobody came.",
                 "Thanks for covering this properly."]


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _head(outlet: str, title: str, url: str, authors: Sequence[str], published: datetime,
          description: str, tags: Sequence[str], modified: datetime | None = None) -> str:
    ld: dict[str, object] = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
        "datePublished": published.isoformat(), "author": [
            {"@type": "Person", "name": a} for a in authors],
        "publisher": {"@type": "Organization", "name": outlet}, "mainEntityOfPage": url,
        "keywords": list(tags)}
    if modified is not None:  # only the corrected article of the sample says when it changed
        ld["dateModified"] = modified.isoformat()
    ld_text = json.dumps(ld).replace("</", "<\\/")
    return (
        f"<head><meta charset=\"utf-8\"><title>{_e(title)} | {_e(outlet)}</title>"
        f'<meta name="description" content="{_e(description)}">'
        f'<meta name="author" content="{_e(", ".join(authors))}">'
        f'<meta property="og:title" content="{_e(title)}">'
        f'<meta property="og:site_name" content="{_e(outlet)}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="og:url" content="{_e(url)}">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        + "".join(f'<meta property="article:tag" content="{_e(t)}">' for t in tags)
        + f'<link rel="canonical" href="{_e(url)}">'
        f'<script type="application/ld+json">{ld_text}</script>'
        f"<style>.x{{display:block}}</style></head>"
    )


def _clutter_top(outlet: str, site_url: str) -> str:
    return (
        f'<div id="cookie-consent" class="consent-banner"><p>{COOKIE}.</p>'
        f"<button>Accept all</button><button>Manage choices</button></div>"
        f'<header class="masthead"><a href="{_e(site_url)}" class="logo">{_e(outlet)}</a>'
        f'<nav class="primary-nav"><ul>'
        + "".join(f"<li><a href=\"{_e(site_url)}{w.strip().lower()}/\">{w.strip()}</a></li>"
                  for w in NAV.split("|"))
        + f"</ul><span hidden>{NAV}</span></nav></header>"
        f'<div class="ad-slot"><p>{AD}</p></div>'
    )


def _newsletter(form_id: str) -> str:
    return (
        f'<section class="newsletter-box" id="{form_id}"><h3>{NEWSLETTER}</h3>'
        f'<form action="/subscribe" method="post"><p class="req">{REQUIRED}</p>'
        f'<label>Email *<input type="email" name="email"></label>'
        f"<button>Sign me up</button></form></section>"
    )


def _popular(others: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{_e(u)}">{_e(t)}</a></li>' for t, u in others)
    return f'<aside class="most-popular"><h3>{POPULAR}</h3><ol>{items}</ol></aside>'


def _related(others: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{_e(u)}">{_e(t)}</a></li>' for t, u in others[:3])
    return f'<aside class="related-links"><h4>{RELATED}</h4><ul>{items}</ul></aside>'


def _comments(rng: random.Random) -> str:
    picked = rng.sample(COMMENT_LINES, k=3)
    items = "".join(f'<li class="comment"><b>reader{rng.randrange(10, 999)}</b> {_e(c)}</li>'
                    for c in picked)
    return (f'<section id="comments" class="comments"><h3>Comments</h3><p>{COMMENTS}.</p>'
            f"<ul>{items}</ul></section>")


def _footer(outlet: str) -> str:
    return (f'<footer class="site-footer"><p>\u00a9 2026 {_e(outlet)}. {FOOTER}.</p>'
            f'<ul><li><a href="/about">About us</a></li><li><a href="/privacy">Privacy</a></li>'
            f"</ul></footer>")


def _membership() -> str:
    return (f'<div class="support-us"><h2>Before you go</h2><p>{MEMBERSHIP}. Every '
            f"contribution, big or small, keeps the newsroom open.</p>"
            f'<a class="cta" href="/support">Become a supporter</a></div>')


def _figure(title: str) -> str:
    number = zlib.crc32(title.encode("utf-8")) % 10_000  # stable across processes, unlike hash()
    return (f'<figure class="lead-image"><img src="/img/{number}.jpg" alt="File picture" '
            f'width="800" height="450"><figcaption>File picture. {CAPTION}.</figcaption></figure>')


def _bio(authors: Sequence[str]) -> str:
    return (f'<div class="author-bio"><p>{_e(authors[0])} {BIO}.</p>'
            f'<a href="/authors/{_e(authors[0].lower().replace(" ", "-"))}">More by this author'
            f"</a></div>")


def _latest(others: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><span class="ago">{5 * (i + 1)} min ago</span> '
                    f'<a href="{_e(u)}">{_e(t)}</a></li>' for i, (t, u) in enumerate(others[-4:]))
    return f'<aside class="latest-ticker"><h3>{LATEST}</h3><ul>{items}</ul></aside>'


def _topics(tags: Sequence[str]) -> str:
    links = " ".join(f'<a href="/topic/{_e(t)}">{_e(t)}</a>' for t in tags)
    return f'<div class="tag-list"><span>{TOPICS}:</span> {links}</div>'


def _inline_boxes(others: Sequence[tuple[str, str]]) -> tuple[str, str]:
    read_more = (f'<aside class="read-more"><strong>{READ_MORE}:</strong> '
                 f'<a href="{_e(others[0][1])}">{_e(others[0][0])}</a></aside>')
    signup = (f'<aside class="inline-promo"><p>{INLINE_SIGNUP}.</p>'
              f'<a href="/subscribe" class="button">Start reading</a></aside>')
    return read_more, signup


def render_article(*, template: int, outlet: str, title: str, paragraphs: Sequence[str],
                   authors: Sequence[str], published: datetime, url: str, tags: Sequence[str],
                   rng: random.Random, site_url: str, others: Sequence[tuple[str, str]],
                   modified: datetime | None = None) -> str:
    """One article page in one of three outlet templates."""
    head = _head(outlet, title, url, authors, published, paragraphs[0][:160], tags, modified)
    byline = ", ".join(authors)
    read_more, signup = _inline_boxes(others)
    body_ps = [f"<p>{_e(p)}</p>" for p in paragraphs]
    # Inline boxes sit between paragraphs, inside the article, as on real sites.
    body_ps.insert(min(2, len(body_ps) - 1), read_more)
    body_ps.insert(min(4, len(body_ps) - 1), signup)
    share = (f'<div class="share-tools"><span>{SHARE}</span><a href="#">Post</a>'
             f'<a href="#">Mail</a></div>')
    stamp = f'<time datetime="{published.isoformat()}">{published:%d %B %Y, %H:%M}</time>'
    figure, bio, topics = _figure(title), _bio(authors), _topics(tags)
    if template == 0:
        main = (f'<main id="content"><article class="story"><h1 class="headline">{_e(title)}</h1>'
                f'<p class="byline">By {_e(byline)} {stamp}</p>{share}'
                f'<div class="story-body">{figure}{"".join(body_ps)}</div>{topics}{bio}</article>'
                f"{_membership()}{_newsletter('nl-1')}{_comments(rng)}</main>{_popular(others)}"
                f"{_latest(others)}")
    elif template == 1:
        main = (f'<div class="layout"><div class="col-main"><div class="post" itemscope '
                f'itemtype="https://schema.org/NewsArticle"><header class="post-header">'
                f'<h1 itemprop="headline">{_e(title)}</h1><div class="meta"><span class="author">'
                f"{_e(byline)}</span> {stamp}</div>{figure}</header>"
                f'<div class="post-content" itemprop="articleBody">{"".join(body_ps)}</div>'
                f"{topics}{share}{bio}</div>{_related(others)}{_comments(rng)}</div>"
                f'<div class="col-side">{_newsletter("nl-side")}{_latest(others)}'
                f"{_popular(others)}</div></div>{_membership()}")
    else:
        body_ps.insert(1, figure)
        main = (f'<section class="wrapper"><article><header><h1>{_e(title)}</h1>'
                f'<address class="author">{_e(byline)}</address>{stamp}</header>'
                f'<section class="article-text">{"".join(body_ps)}</section>'
                f'<footer class="article-foot">{topics}{share}{bio}</footer></article>'
                f"{_newsletter('nl-2')}{_related(others)}</section>{_popular(others)}"
                f"{_comments(rng)}{_latest(others)}{_membership()}")
    return (f'<!doctype html><html lang="en">{head}<body>{_clutter_top(outlet, site_url)}'
            f"{main}{_newsletter('nl-foot')}{_footer(outlet)}</body></html>")


def render_boilerplate_page(outlet: str, title: str) -> str:
    """A page that is nearly all boilerplate around one short sentence (a quality defect)."""
    filler = " ".join(["Subscribe to continue reading. We use cookies to give you the best experience.",
                       "Sign up for our newsletter. All rights reserved."] * 6)
    return (f'<!doctype html><html lang="en"><head><title>{_e(title)}</title>'
            f'<meta property="og:site_name" content="{_e(outlet)}"></head><body>'
            f"<article><h1>{_e(title)}</h1><p>The council met on Monday.</p>"
            f"<p>{filler}</p><p>{filler}</p><p>{filler}</p></article>"
            f"{_footer(outlet)}</body></html>")
