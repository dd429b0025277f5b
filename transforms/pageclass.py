"""Page classes: what a fetched page turned out to be, and the rules that detect non-articles.

Pure functions over decoded HTML text and the extracted body; each returns a closed class so
the pipeline can count them per source (GX watches the share of no_content per domain).
"""

from __future__ import annotations

import re

from transforms.vocab import Access, PageClass

__all__ = ["Access", "PageClass", "classify_non_article", "visible_text"]


# Phrases are matched on the visible text of short pages only, so an article that merely
# mentions "subscribe" is never reclassified.
_BOT = re.compile(
    r"verify (?:that )?you are (?:a )?human|are you a robot|checking your browser|"
    r"just a moment\.\.\.|enable javascript and cookies to continue|attention required!? \| cloudflare|"
    r"cf-browser-verification|cf-challenge|challenge-platform|captcha-delivery|"
    r"please complete the security check|access denied|px-captcha|ddos protection by",
    re.I,
)
_CONSENT = re.compile(
    r"(?:we|our partners) (?:use|store) cookies|cookie (?:consent|preferences|settings)|"
    r"before you continue|accept all cookies|manage (?:your )?(?:cookie|privacy) (?:choices|settings)|"
    r"consent\.(?:google|yahoo)|we value your privacy|reject all",
    re.I,
)
_PAYWALL = re.compile(
    r"subscribe (?:now )?to (?:continue|read|keep reading)|subscribers? only|"
    r"this (?:article|content|story) is (?:only )?(?:available|reserved) (?:to|for) subscribers|"
    r"already a subscriber|become a (?:member|subscriber)|start your (?:free )?trial|"
    r"to continue reading|unlock (?:this|full) (?:article|access)|paywall|premium content",
    re.I,
)
_LOGIN = re.compile(
    r"(?:please )?(?:log|sign) ?in to (?:continue|read|view|access)|you must be logged in|"
    r"login required|create (?:a free|an) account to (?:continue|read)",
    re.I,
)
_JS_SHELL = re.compile(
    r"you need to enable javascript|please enable javascript|requires javascript|"
    r"<noscript[^>]*>[^<]{0,200}javascript",
    re.I,
)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")
_ROOT_DIV = re.compile(
    r"<(?:div|main|app-root)\b[^>]*\bid=[\"']?(?:root|app|__next|__nuxt|main-app|application)"
    r"[\"']?[^>]*>\s*</(?:div|main|app-root)>",
    re.I,
)


def visible_text(html: str, limit: int = 2_000_000) -> str:
    """Rough visible text of a page (scripts and tags removed), for classification only."""
    body = _SCRIPT_OR_STYLE.sub(" ", html[:limit])
    return _WS.sub(" ", _TAG.sub(" ", body)).strip()


def classify_non_article(html: str, extracted_chars: int, min_chars: int) -> tuple[PageClass, str]:
    """Why a page gave no (or too little) article text: a class and a short reason.

    Called only when the extractor returned fewer than ``min_chars`` characters; the order of
    the checks is the order of certainty: a bot challenge or consent gate explains everything
    else on the page, a JS shell has no text at all, paywall and login walls are phrase-based.
    """
    head = html[:200_000]
    text = visible_text(head)
    if _BOT.search(head[:50_000]) and len(text) < 3_000:
        return PageClass.BOT_CHALLENGE, "challenge markers"
    if _CONSENT.search(text) and len(text) < 4_000:
        return PageClass.CONSENT_WALL, "consent interstitial"
    if len(text) < 200 and (_ROOT_DIV.search(head) or _JS_SHELL.search(head)
                            or head.lower().count("<script") >= 1):
        return PageClass.JS_SHELL, "scripts and an empty app root, no text"
    if _LOGIN.search(text):
        return PageClass.LOGIN_WALL, "login required"
    if _PAYWALL.search(text):
        return PageClass.SUSPECT_PAYWALL, f"paywall phrases, {extracted_chars} chars extracted"
    if not text:
        return PageClass.NO_CONTENT, "no visible text"
    if extracted_chars == 0:
        return PageClass.NO_CONTENT, "extractor found no main text"
    return PageClass.TOO_SHORT, f"{extracted_chars} chars < {min_chars}"


def ends_at_paywall(text: str, tail_lines: int = 1) -> bool:
    """Whether the text stops at a subscription prompt: its last line is short and
    asks the reader to subscribe, pay or log in (a paywall phrase inside the story does not
    count: it must be at the end)."""
    lines = [line for line in text.strip().split("\n") if line.strip()]
    return any(len(line) < 200 and _PAYWALL.search(line) for line in lines[-tail_lines:])
