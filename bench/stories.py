"""Story clustering benchmark: pairwise precision and recall on a labelled set, plus speed.

``labelled_set(seed)`` builds articles whose true story is known:
- wire copies: one story published by several outlets, each copy lightly edited (a dateline, a
  credit line, a dropped sentence, a few words changed, its own headline): same story, syndicated;
- own reports: the same event written up independently by another outlet (same people, place and
  figures, different sentences): same story, not syndicated;
- same topic, other event: articles on the same subject in the same days with other people,
  places and figures: separate stories (the hard negatives);
- unrelated articles.
``sample_set`` labels the offline sample site's articles (gold text) by their own story ids.
The tests build the same sets (``tests/transforms/test_stories.py``). With ``--gold``, copies of
the real articles of ``../shared/extraction-bench`` are clustered too (all dated one day; the
same-event pages of ``bench/labels`` are true stories there), and ``real labelled``: the bench's
real pages through newsflow's extraction and dating, labelled by event (``bench/labels``), with
pairwise scores over all pairs and over the labelled pairs within the 3-day window.

``--scale N`` instead times clustering alone on the sample site's N articles (one week, one batch,
as ``rebuild_stories`` does): CPU seconds of signing, linking and grouping, each (the figure of
issue 14's "no more CPU at 10,000 articles"). To compare two versions, time them in one
process with ``bench/stories_cpu.py``: runs apart on a shared machine compare its load.

Run: ``.venv/bin/python -m bench.stories [--seeds 5] [--gold DIR] [--scale 10000]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.stories_real import labels, real_set, window_scores
from transforms.stories import StoryDoc, StoryOptions, bcubed, cluster, link, pair_scores, sign


def _split(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


FIRST = _split('Maria Olena Tomasz Ingrid Kwame Aiko Rafael Sunita Dmitri Lucia Hamid Greta Paulo '
               'Nadia Viktor Amara Jonas Mei Farid Elena Kofi Hana Marco Leila Anders Priya Stefan '
               'Yusuf Carmen Oskar')
LAST = _split('Kowalski Haddad Okafor Lindqvist Tanaka Moreau Petrov Alvarez Brennan Nakamura Rossi '
              'Mensah Schultz Delgado Ivanova Novak Farouk Bergström Castillo Whitfield Okonkwo Varga '
              'Lambert Sorensen Quispe Adeyemi Horvath Kaplan Esposito Lindgren')
PLACES = _split('Lisbon Nairobi Gdansk Osaka Valparaíso Tbilisi Rotterdam Accra Mumbai Montreal '
                'Tallinn Cebu Tucson Leipzig Marseille Bergen Kraków Porto Dakar Lyon Perth Quito '
                'Izmir Cork Malmö Durban Hanoi Bilbao Halifax Tromsø Lagos Brno Seville Aarhus')
ORGS = _split('Harbour Authority|National Grid Company|Supreme Court|Central Bank|Health Ministry|'
              'Transport Union|Energy Regulator|City Council|Football Federation|Port Workers Guild|'
              'Audit Office|Weather Service|Space Agency|Teachers Union|Competition Commission', '|')

TOPICS: dict[str, dict[str, list[str]]] = {
    "strike": {
        "titles": ["{org} strike halts {place} as talks with {person} collapse",
                   "Workers walk out in {place} after {org} rejects {number} percent offer",
                   "{place} strike enters day {small} as {person} calls for mediation"],
        "words": _split('strike walkout union wages pay offer negotiators picket shifts workers '
                        'overtime contract dispute mediation ballot members employers'),
    },
    "storm": {
        "titles": ["Storm batters {place}, leaving {number} homes without power",
                   "{org} warns of more flooding in {place} after record rainfall",
                   "Clean-up begins in {place} as {person} surveys storm damage"],
        "words": _split('storm flooding rainfall winds gusts evacuation shelters damage roads power '
                        'outage forecast warning rivers emergency crews debris'),
    },
    "rates": {
        "titles": ["{org} raises rates to {decimal} percent, citing stubborn inflation",
                   "{person} defends {org} decision as borrowing costs climb",
                   "Markets in {place} slide after {org} surprises with rate move"],
        "words": _split('inflation interest rates borrowing mortgage markets currency bonds '
                        'economists growth lending prices policy committee forecast'),
    },
    "court": {
        "titles": ["{org} rules against {place} port expansion in {number} ruling",
                   "{person} vows appeal after {org} verdict on {place} project",
                   "Judges in {place} block {person}'s plan in landmark case"],
        "words": _split('court ruling judges verdict appeal lawyers case hearing evidence plaintiffs '
                        'judgment legal challenge injunction statute'),
    },
    "launch": {
        "titles": ["{org} launches satellite from {place} carrying {number} kilograms",
                   "{person} hails {org} mission as rocket lifts off near {place}",
                   "Rocket from {place} reaches orbit in test for {org}"],
        "words": _split('rocket launch satellite orbit mission payload engineers countdown booster '
                        'telemetry flight spacecraft test engines trajectory'),
    },
    "football": {
        "titles": ["{place} stun rivals {small}-1 as {person} scores twice",
                   "{person} sacked after {place} slump to {small}th straight defeat",
                   "{org} fines {place} club after crowd trouble in {number} match"],
        "words": _split('match goal striker coach league season fans stadium penalty keeper defence '
                        'midfield injury transfer table points'),
    },
}
FILLER = _split('the a on in of to and for with as by from at after before during while officials '
                'residents local city region week day morning evening report statement spokesperson '
                'told reporters expected plan people group country national government public said '
                'added according further data figures months years earlier later percent')


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    topic: str
    people: tuple[str, str]
    place: str
    org: str
    number: str
    decimal: str
    small: str
    day: datetime


@dataclass(frozen=True, slots=True)
class Labelled:
    doc: StoryDoc
    story: str | None     # the true story label; None for an article that stands alone
    kind: str             # wire_original | wire_copy | own_report | same_topic | unrelated


def _event(rng: random.Random, eid: str, topic: str, day: datetime, used: set[str]) -> Event:
    def pick(pool: list[str] | tuple[str, ...]) -> str:
        choices = [p for p in pool if p not in used] or list(pool)
        value = rng.choice(choices)
        used.add(value)
        return value

    people = (f"{pick(FIRST)} {pick(LAST)}", f"{pick(FIRST)} {pick(LAST)}")
    return Event(eid, topic, people, pick(PLACES), pick(ORGS), f"{rng.randint(120, 98000):,}",
                 f"{rng.randint(1, 9)}.{rng.randint(0, 99):02d}", str(rng.randint(3, 9)), day)


def _slots(ev: Event, rng: random.Random) -> dict[str, str]:
    return {"person": rng.choice(ev.people), "place": ev.place, "org": ev.org,
            "number": ev.number, "decimal": ev.decimal, "small": ev.small}


def _sentence(ev: Event, rng: random.Random) -> str:
    words = TOPICS[ev.topic]["words"]
    s = _slots(ev, rng)
    templates = [
        "{person} said the {w1} in {place} would continue for {small} more days.",
        "The {org} confirmed {number} {w1} figures on {weekday}, {w2} officials told reporters.",
        "In {place}, {w1} and {w2} dominated the {f1} {f2} as residents waited for news.",
        "According to {person}, the {w1} had been expected since the {f2} {f1} report.",
        "{person} of the {org} told reporters the {w1} was {adj} and {w2} would follow.",
        "Local {f1} said the {w1} affected {number} people across {place} and nearby towns.",
        "The {w1} comes after months of {w2} and {w3}, the {org} said in a statement.",
        "Critics of {person} said the {w1} showed the {org} had ignored warnings about {w2}.",
        "A spokesperson for the {org} declined to comment on the {w1} or the {w2}.",
        "Analysts said the {w1} could shape the {w2} debate in {place} for years.",
    ]
    return rng.choice(templates).format(
        w1=rng.choice(words), w2=rng.choice(words), w3=rng.choice(words),
        f1=rng.choice(FILLER), f2=rng.choice(FILLER),
        adj=rng.choice(["unprecedented", "serious", "limited", "temporary", "historic"]),
        weekday=rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]), **s)


LEADS = [
    "{p0} said on {weekday} that the {w} in {place} had reached {number}, a blow to the {org}.",
    "The {org} faced growing pressure in {place} on {weekday} as {p1} described the {w} as "
    "{adj}.",
    "{place} woke to a {adj} {w} after the {org} confirmed {number} cases, {p0} said.",
    "A {w} involving the {org} has shaken {place}, where {p1} and {p0} met late into the night.",
    "Officials in {place} counted {number} affected by the {w} as {p0} of the {org} urged calm.",
]


def _article(ev: Event, rng: random.Random, sentences: int = 18) -> tuple[str, str]:
    title = rng.choice(TOPICS[ev.topic]["titles"]).format(**_slots(ev, rng))
    lead = rng.choice(LEADS).format(
        p0=ev.people[0], p1=ev.people[1], place=ev.place, org=ev.org, number=ev.number,
        w=rng.choice(TOPICS[ev.topic]["words"]),
        adj=rng.choice(["unprecedented", "serious", "limited", "sudden", "historic"]),
        weekday=rng.choice(["Monday", "Tuesday", "Friday"]))
    body = [lead] + [_sentence(ev, rng) for _ in range(sentences)]
    paragraphs = [" ".join(body[i:i + 3]) for i in range(0, len(body), 3)]
    return title, "\n\n".join(paragraphs)


def _edit(title: str, text: str, rng: random.Random, outlet: str) -> tuple[str, str]:
    """A light edit by a site re-publishing a wire story."""
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 4 and rng.random() < 0.7:
        del paragraphs[rng.randrange(2, len(paragraphs))]   # trimmed for length
    words = "\n\n".join(paragraphs).split(" ")
    swaps = {"said": "says", "told": "informed", "expected": "anticipated", "people": "residents",
             "would": "will", "the": "the", "months": "weeks", "officials": "authorities"}
    for _ in range(max(1, len(words) // 60)):
        i = rng.randrange(len(words))
        words[i] = swaps.get(words[i], words[i])
    dateline = rng.choice(["(Wire) - ", f"{outlet.upper()} - ", "", "UPDATED: "])
    credit = rng.choice(["\n\nReporting by wire staff; editing by the desk.",
                         f"\n\nThis article first appeared on the wire. © {outlet}", ""])
    new_title = rng.choice([title, title.replace(" as ", ", as "), f"{title} - {outlet}",
                            title.split(",")[0]])
    return new_title, dateline + " ".join(words) + credit


def labelled_set(seed: int = 0, *, n_events: int = 12, n_same_topic: int = 10,
                 n_unrelated: int = 16) -> list[Labelled]:
    """A labelled article set (deterministic for a seed); see the module docstring."""
    rng = random.Random(seed)
    base = datetime(2024, 11, 4, 6, tzinfo=UTC)
    outlets = [f"outlet{i:02d}" for i in range(10)]
    topics = sorted(TOPICS)
    out: list[Labelled] = []
    used: set[str] = set()
    n = 0

    def add(ev_title: str, text: str, outlet: str, at: datetime, story: str | None,
            kind: str) -> None:
        nonlocal n
        n += 1
        key = f"{outlet}/{seed}-{n:03d}"
        out.append(Labelled(StoryDoc(key, outlet, at, ev_title, text), story, kind))

    for i in range(n_events):
        topic = topics[i % len(topics)]
        day = base + timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 12))
        ev = _event(rng, f"s{seed}-e{i}", topic, day, used)
        title, text = _article(ev, rng)
        sites = rng.sample(outlets, 5)
        add(title, text, sites[0], day, ev.event_id, "wire_original")
        for site in sites[1:1 + rng.randint(1, 2)]:
            t2, x2 = _edit(title, text, rng, site)
            add(t2, x2, site, day + timedelta(hours=rng.randint(1, 30)), ev.event_id, "wire_copy")
        for site in sites[3:3 + rng.randint(0, 2)]:
            t3, x3 = _article(ev, rng)
            add(t3, x3, site, day + timedelta(hours=rng.randint(1, 40)), ev.event_id, "own_report")
    for j in range(n_same_topic):
        topic = topics[j % len(topics)]
        day = base + timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 12))
        ev = _event(rng, f"s{seed}-t{j}", topic, day, used)
        title, text = _article(ev, rng)
        add(title, text, rng.choice(outlets), day, None, "same_topic")
    for k in range(n_unrelated):
        topic = rng.choice(topics)
        day = base + timedelta(days=rng.randint(-20, 20))
        ev = _event(rng, f"s{seed}-u{k}", topic, day, used)
        title, text = _article(ev, rng, sentences=rng.randint(6, 24))
        add(title, text, rng.choice(outlets), day, None, "unrelated")
    return out


# The last evaluate()'s clustering (article -> story), for the per-window figures of the real set.
_predicted: dict[str, str | None] = {}


def evaluate(items: list[Labelled], options: StoryOptions | None = None) -> dict[str, float]:
    """Cluster ``items`` in one batch and score pairs and syndication marks against the labels."""
    options = options or StoryOptions()
    sigs = [sign(x.doc, options) for x in items]
    edges = link(sigs, [], options)
    _, members = cluster(sigs, edges, options)
    predicted: dict[str, str | None] = {m.article_key: m.story_id for m in members}
    truth = {x.doc.article_key: x.story for x in items}
    precision, recall = pair_scores(predicted, truth)
    b_precision, b_recall = bcubed(predicted, truth)
    _predicted.clear()
    _predicted.update(predicted)
    copies = {x.doc.article_key for x in items if x.kind == "wire_copy"}
    marked = {m.article_key for m in members if m.is_syndicated}
    return {
        "articles": len(items), "precision": precision, "recall": recall,
        "bcubed_precision": b_precision, "bcubed_recall": b_recall,
        "syndicated_precision": len(marked & copies) / len(marked) if marked else 1.0,
        "syndicated_recall": len(marked & copies) / len(copies) if copies else 1.0,
    }


def gold_set(folder: Path, seed: int = 0) -> list[Labelled]:
    """Real articles (gold texts of the extraction bench) and two light-edit copies of a third.

    Every article is dated the same day; copies appear hours after their original.
    """
    rng = random.Random(seed)
    texts: list[tuple[str, str]] = []
    for truth in sorted(folder.glob("*/ground-truth.json")):
        for pid, rec in sorted(json.loads(truth.read_text(encoding="utf-8")).items()):
            body = rec.get("articleBody") or ""
            if len(body.split()) >= 120:
                texts.append((pid, body))
    # Pages of the bench that report one event from two outlets are true stories of the set,
    # not false merges: bench/labels/story_labels.csv says which (see bench/labels/README.md).
    pair_of = {pid: f"event-{event}" for _, pid, event in labels() if event}
    out: list[Labelled] = []
    day = datetime(2024, 11, 4, tzinfo=UTC)
    for i, (pid, body) in enumerate(texts):
        title = " ".join(body.split()[:8])
        story = pair_of.get(pid) or (pid if i % 3 == 0 else None)
        kind = "own_report" if pid in pair_of else "wire_original" if story else "unrelated"
        out.append(Labelled(StoryDoc(f"orig/{pid}", f"origin{i}", day, title, body), story, kind))
        if i % 3 == 0:
            for c in range(2):
                t2, x2 = _edit(title, body, rng, f"copy{c}")
                at = day + timedelta(hours=2 + c)
                out.append(Labelled(StoryDoc(f"copy{c}/{pid}", f"copy{c}", at, t2, x2), story,
                                    "wire_copy"))
    return out


def sample_set(n_articles: int = 36, seed: int = 7) -> list[Labelled]:
    """The offline sample site's articles (gold text), labelled by its own story ids."""
    from sample.site import build_site

    site = build_site("http://sample.invalid", n_articles=n_articles, seed=seed)
    out = []
    for a in site.articles:
        kind = ("wire_copy" if a.syndicated_from else "wire_original"
                if (a.story_id or "").startswith("wire") else "own_report" if a.story_id
                else "unrelated")
        out.append(Labelled(StoryDoc(a.url, a.outlet, a.published, a.title, a.gold_text),
                            a.story_id, kind))
    return out


def scale_cpu(n_articles: int, options: StoryOptions | None = None) -> dict[str, float]:
    """CPU seconds (this process) of sign, link and cluster over the sample site's articles."""
    options = options or StoryOptions()
    docs = [x.doc for x in sample_set(n_articles, 7)]
    out: dict[str, float] = {"articles": len(docs)}
    start = time.process_time()
    sigs = [sign(d, options) for d in docs]
    out["sign"] = time.process_time() - start
    start = time.process_time()
    edges = link(sigs, [], options)
    out["link"] = time.process_time() - start
    start = time.process_time()
    stories, _ = cluster(sigs, edges, options)
    out["cluster"] = time.process_time() - start
    out["total"] = out["sign"] + out["link"] + out["cluster"]
    out["edges"], out["stories"] = len(edges), len(stories)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--gold", type=Path, default=Path("../shared/extraction-bench"))
    parser.add_argument("--scale", type=int, default=0,
                        help="only time clustering of this many sample articles (CPU seconds)")
    args = parser.parse_args()
    if args.scale:
        r = scale_cpu(args.scale)
        print(f"{int(r['articles'])} articles: CPU sign {r['sign']:.2f} s, link {r['link']:.2f} s, "
              f"cluster {r['cluster']:.2f} s, total {r['total']:.2f} s "
              f"({int(r['edges'])} links, {int(r['stories'])} stories)")
        return
    print(f"{'set':<20}{'articles':>9}{'precision':>11}{'recall':>9}{'B3 P':>8}{'B3 R':>8}"
          f"{'synd P':>9}{'synd R':>9}{'art/s':>9}")
    sets = [(f"synthetic seed {s}", labelled_set(s)) for s in range(args.seeds)]
    sets.append(("sample 36", sample_set(36, 7)))
    real = real_set(args.gold) if args.gold.exists() else []
    if args.gold.exists():
        sets.append(("extraction gold", gold_set(args.gold)))
        # The labelled real pages, each through newsflow's extraction and date choice.
        sets.append(("real labelled", [
            Labelled(p.doc, p.story, "own_report" if p.story else "unrelated") for p in real]))
    # Stress: the sample's small pools of towns and people crowded into one week, so unrelated
    # events often share a town and a person. Printed, not part of the acceptance figure.
    stress = [(f"stress sample {n}", sample_set(n, seed)) for n, seed in ((200, 7), (400, 3))]
    worst = 1.0
    for name, items in sets + stress:
        start = time.perf_counter()
        r = evaluate(items)
        rate = len(items) / (time.perf_counter() - start)
        if not name.startswith("stress"):
            worst = min(worst, r["precision"], r["recall"])
        print(f"{name:<20}{r['articles']:>9}{r['precision']:>11.3f}{r['recall']:>9.3f}"
              f"{r['bcubed_precision']:>8.3f}{r['bcubed_recall']:>8.3f}"
              f"{r['syndicated_precision']:>9.3f}{r['syndicated_recall']:>9.3f}{rate:>9.0f}")
        if name == "real labelled":
            w = window_scores(real, _predicted, StoryOptions().window_days)
            print(f"{'  within 3 days':<20}{int(w['pairs']):>9}{w['precision']:>11.3f}"
                  f"{w['recall']:>9.3f}   ({int(w['positive_pairs'])} same-event pairs: "
                  f"{int(w['tp'])} found, {int(w['fp'])} false, {int(w['fn'])} missed)")
    print(f"worst precision/recall over the labelled sets: {worst:.3f} "
          f"({'ok' if worst >= 0.9 else 'BELOW 0.9'})")


if __name__ == "__main__":
    main()
