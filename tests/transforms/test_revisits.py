"""Revisit planning and version diffs (transforms.revisits): pure, the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transforms.revisits import (
    RevisitCandidate,
    body_diff,
    changes,
    plan_revisits,
    revisit_due,
    schedule_of,
    sentences,
    version_hash,
)
from transforms.vocab import Revisit

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SCHEDULE = schedule_of([1, 6, 24, 72])


def cand(key: str, *, last: timedelta = timedelta(0), changed: timedelta | None = None,
         host: str = "a.example") -> RevisitCandidate:
    return RevisitCandidate(url=f"http://{host}/{key}", key=key, first_seen_at=T0,
                            last_attempt_at=T0 + last,
                            feed_changed_at=None if changed is None else T0 + changed,
                            etag=None, last_modified=None, body_sha256=None)


def test_schedule_points_decay_and_then_stop() -> None:
    c = cand("k")
    assert revisit_due(c, T0 + timedelta(minutes=59), SCHEDULE) is None
    assert revisit_due(c, T0 + timedelta(hours=1), SCHEDULE) == (Revisit.SCHEDULE,
                                                                  T0 + timedelta(hours=1))
    # fetched at 2 h: the 1 h point is met, the 6 h one not yet reached
    assert revisit_due(cand("k", last=timedelta(hours=2)), T0 + timedelta(hours=5),
                       SCHEDULE) is None
    # a run after 30 h without one since 2 h: one revisit covers the 6 h and 24 h points
    assert revisit_due(cand("k", last=timedelta(hours=2)), T0 + timedelta(hours=30),
                       SCHEDULE) == (Revisit.SCHEDULE, T0 + timedelta(hours=24))
    # after the last point was met: never again
    assert revisit_due(cand("k", last=timedelta(hours=73)), T0 + timedelta(days=30),
                       SCHEDULE) is None


def test_a_feed_change_after_the_last_request_is_due_at_once() -> None:
    c = cand("k", last=timedelta(minutes=5), changed=timedelta(minutes=10))
    assert revisit_due(c, T0 + timedelta(minutes=11), SCHEDULE) == (
        Revisit.FEED_CHANGED, T0 + timedelta(minutes=10))
    seen = cand("k", last=timedelta(minutes=12), changed=timedelta(minutes=10))
    assert revisit_due(seen, T0 + timedelta(minutes=13), SCHEDULE) is None
    assert revisit_due(c, T0 + timedelta(minutes=11), ()) is not None  # schedule off: still due


def test_budget_per_run_and_per_host_with_feed_changes_first() -> None:
    now = T0 + timedelta(hours=2)
    many = [cand(f"a{i}") for i in range(5)] + [cand(f"b{i}", host="b.example") for i in range(5)]
    many.append(cand("z-changed", last=timedelta(hours=1, minutes=30),
                     changed=timedelta(hours=1, minutes=45), host="b.example"))
    plan = plan_revisits(many, now=now, schedule=SCHEDULE, budget=5, per_host=2)
    assert plan[0].candidate.key == "z-changed" and plan[0].reason is Revisit.FEED_CHANGED
    hosts = [p.candidate.url.split("/")[2] for p in plan]
    assert len(plan) == 4  # 2 per host, two hosts: under the run budget of 5
    assert hosts.count("a.example") == 2 and hosts.count("b.example") == 2
    assert len(plan_revisits(many, now=now, schedule=SCHEDULE, budget=3, per_host=9)) == 3
    assert plan_revisits(many, now=now, schedule=SCHEDULE, budget=0, per_host=9) == []


def test_the_per_host_cap_counts_a_host_as_the_fetchers_limiter_does() -> None:
    """Another case, a port or a user in the URL is still the same host for the fetcher's
    limiter (web.exchange keys it by hostname alone), so it shares the host's revisit cap."""
    now = T0 + timedelta(hours=2)
    same = [cand("a1", host="news.example"), cand("a2", host="NEWS.example:80"),
            cand("a3", host="reader@news.example"), cand("a4", host="news.example")]
    plan = plan_revisits(same, now=now, schedule=SCHEDULE, budget=9, per_host=2)
    assert [p.candidate.key for p in plan] == ["a1", "a2"]
    other_port = [cand("b1", host="news.example"), cand("b2", host="news.example:8080")]
    plan = plan_revisits(other_port, now=now, schedule=SCHEDULE, budget=9, per_host=1)
    assert [p.candidate.key for p in plan] == ["b1"]


def test_sentences_split_on_ends_and_paragraphs() -> None:
    assert sentences("One two. Three? \u201cFour!\u201d Five\nSix.") == [
        "One two.", "Three?", "\u201cFour!\u201d", "Five", "Six."]


def test_body_diff_shows_changed_sentences_and_counts_words() -> None:
    before = "The bridge reopened on Monday. Repairs cost 2.4 million euros.\nTraffic is back."
    after = ("The bridge reopened on Monday. Repairs cost 4.2 million euros.\nTraffic is back.\n"
             "Correction: an earlier version gave the cost as 2.4 million euros.")
    d = body_diff(before, after)
    assert d.diff.splitlines() == [
        "- Repairs cost 2.4 million euros.",
        "+ Repairs cost 4.2 million euros.",
        "",
        "+ Correction: an earlier version gave the cost as 2.4 million euros.",
    ]
    assert (d.words_added, d.words_removed) == (1 + 11, 1)
    assert body_diff(before, before).diff == ""


def version(text: str, title: str, at: timedelta, ev: str = "x/1", **more: object
            ) -> dict[str, object]:
    content = f"h-{text}"
    return {"version_hash": version_hash(content, title, ["A"]), "content_hash": content,
            "extractor_version": ev, "observed_at": T0 + at, "title": title, "text": text,
            "authors": ["A"], "page_published_at": T0, "modified_at": None,
            "page_fetch_id": f"p-{at}", **more}


def test_changes_pair_consecutive_versions_of_one_extractor() -> None:
    rows = changes("k", [
        version("Same text.", "Old headline", timedelta(0)),
        version("Same text.", "New headline", timedelta(hours=1)),
        version("Same text. More.", "New headline", timedelta(hours=6),
                modified_at=T0 + timedelta(hours=5)),
        version("Same text.", "Old headline", timedelta(0), ev="x/2"),  # a re-extraction
    ])
    assert [r["changed"] for r in rows] == [["title"], ["body", "dates"]]
    assert rows[0]["title_before"] == "Old headline" and rows[0]["title_after"] == "New headline"
    assert rows[0]["diff"] == "" and rows[1]["diff"] == "+ More."
    assert rows[1]["words_added"] == 1 and rows[1]["words_removed"] == 0


def test_version_hash_covers_headline_and_authors() -> None:
    base = version_hash("h", "T", ["A"])
    assert base != version_hash("h", "T2", ["A"]) != version_hash("h", "T", ["B"])
    assert version_hash("h", None, None) == version_hash("h", "", [])
