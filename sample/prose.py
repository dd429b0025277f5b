"""Word pools and sentence builders for the offline sample's news prose (all written for newsflow).

Articles are assembled from facts (a place, an institution, a person, figures) and sentence
templates chosen by a seeded random generator, so every article reads differently while stories
covered by several outlets share their facts but not their wording.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PLACES = ["Port Alder", "Wrenfield", "Calloway Bay", "Hollin Ridge", "Marrow Vale", "Eastmere",
          "Kestrel Point", "Dunmore Flats", "Sable Harbour", "Ivel Crossing", "Thornby",
          "Greywater", "Lowick", "Brackenford", "Amberlee", "Fennick", "Oakhaven", "Rushden Moor"]
BODIES = ["harbour authority", "regional council", "water board", "transit agency",
          "health trust", "teachers' union", "chamber of commerce", "planning committee",
          "fire service", "housing association", "energy regulator", "university senate",
          "farmers' cooperative", "port workers' union", "district court", "library trust"]
PEOPLE = ["Maren Okafor", "Tobias Lindqvist", "Priya Raman", "Declan Moreau", "Ines Vasquez",
          "Hugo Brandt", "Amara Nwosu", "Felix Hartmann", "Sofia Castellano", "Rohan Mehta",
          "Lena Sorensen", "Caleb Whitford", "Noor Haddad", "Otto Kessler", "Yara Benali",
          "Elias Thorne", "Greta Holm", "Mateo Ruiz", "Hana Kobayashi", "Ivo Petrov"]
ROLES = ["chair", "spokesperson", "chief executive", "mayor", "director", "lead negotiator",
         "treasurer", "chief engineer", "head of operations", "senior analyst"]
TOPICS = [
    ("strike", "a dispute over night shifts", "the walkout", "pay and rotas"),
    ("flood", "heavy rain that overwhelmed drainage", "the flooding", "river defences"),
    ("budget", "a shortfall in next year's accounts", "the budget gap", "spending cuts"),
    ("bridge", "cracks found in the main road bridge", "the closure", "repair work"),
    ("election", "a tight race for the council seat", "the count", "turnout"),
    ("hospital", "a plan to merge two emergency wards", "the merger", "waiting times"),
    ("fire", "a blaze at a disused warehouse", "the fire", "safety inspections"),
    ("rail", "delays on the coastal line", "the timetable change", "new trains"),
    ("school", "a proposal to close three village schools", "the consultation", "class sizes"),
    ("harvest", "a poor apple harvest after a late frost", "the harvest", "crop insurance"),
    ("housing", "plans for four hundred new homes", "the development", "affordable rents"),
    ("power", "a week of rolling power cuts", "the outages", "grid upgrades"),
]
OPENERS = [
    "Officials in {place} confirmed on {weekday} that {event} had {outcome}.",
    "{Event} in {place} {outcome_past} on {weekday}, the {body} said.",
    "The {body} in {place} said on {weekday} that {event} had {outcome}.",
    "Residents of {place} woke on {weekday} to news that {event} had {outcome}.",
    "After weeks of uncertainty, {event} in {place} has {outcome}, the {body} announced.",
]
OUTCOMES = ["come to an end", "forced an emergency meeting", "drawn sharp criticism",
            "taken a new turn", "prompted a formal review", "eased somewhat",
            "worsened overnight", "led to a surprise agreement"]
MIDDLES = [
    "{person}, the {role} of the {body}, said the figures showed {n} households had been affected.",
    "According to the {body}, about {n} people attended a public meeting on {topic2}.",
    "{person} told reporters that {topic2} would be \u201cthe first thing on the table\u201d.",
    "Local businesses estimated the cost at {money}, a figure the {body} did not dispute.",
    "Critics argued that warnings about {topic2} had been ignored for at least {k} years.",
    "The {body} has set aside {money} and promised an update within {k} weeks.",
    "Independent engineers are expected to report on {topic2} before the end of the month.",
    "{person} said the decision had not been taken lightly and thanked volunteers for their patience.",
    "Figures released on {weekday} suggested that {n} claims had already been filed.",
    "Neighbouring towns have offered help, and {k} crews were sent from outside the district.",
    "A petition calling for an independent inquiry into {topic2} had gathered {n} signatures.",
    "The {body} said it would publish the minutes of every meeting on {topic2} in full.",
    "{person} described {event_short} as \u201ca test of whether this town can plan ahead\u201d.",
    "Some families said they had received no information at all about {topic2}.",
    "Opposition members called for {person} to appear before the full council.",
    "Insurers said claims linked to {event_short} were running at {k} times the usual level.",
]
CLOSERS = [
    "A further statement is expected on {weekday2}.",
    "The {body} will meet again next week to decide the next steps.",
    "{person} said the town would \u201clearn from this and do better\u201d.",
    "Public hearings on {topic2} are due to begin in the new year.",
    "Residents with questions have been asked to contact the {body} directly.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What a story is about; outlets covering the same story share these."""

    place: str
    body: str
    person: str
    role: str
    topic: tuple[str, str, str, str]
    outcome: str
    n: int
    k: int
    money: str
    weekday: str


def make_facts(rng: random.Random) -> Facts:
    """A new news event."""
    return Facts(
        place=rng.choice(PLACES), body=rng.choice(BODIES), person=rng.choice(PEOPLE),
        role=rng.choice(ROLES), topic=rng.choice(TOPICS), outcome=rng.choice(OUTCOMES),
        n=rng.randrange(120, 9800), k=rng.randrange(2, 9),
        money=f"{rng.randrange(2, 95)}.{rng.randrange(0, 9)} million",
        weekday=rng.choice(WEEKDAYS),
    )


def _fill(template: str, f: Facts, rng: random.Random) -> str:
    _name, event, event_short, topic2 = f.topic
    text = template.format(
        place=f.place, body=f.body, person=f.person, role=f.role, n=f"{f.n:,}", k=f.k,
        money=f.money, weekday=f.weekday, weekday2=rng.choice(WEEKDAYS), event=event,
        Event=event[0].upper() + event[1:], event_short=event_short, topic2=topic2,
        outcome=f.outcome, outcome_past=f.outcome.replace("come to", "came to"),
    )
    return text


def headline(f: Facts, rng: random.Random) -> str:
    """A headline for an article on these facts."""
    name = f.topic[0]
    forms = [f"{f.place} {name}: {f.body} under pressure",
             f"{f.person} speaks out as {name} hits {f.place}",
             f"What the {name} means for {f.place}",
             f"{f.place} {f.body} responds to {name}",
             f"{name.capitalize()} in {f.place}: {f.n:,} affected"]
    return rng.choice(forms)


def article_paragraphs(f: Facts, rng: random.Random, paragraphs: int | None = None) -> list[str]:
    """3-6 paragraphs of 2-3 sentences on these facts, worded by ``rng``."""
    count = paragraphs or rng.randrange(3, 7)
    middles = rng.sample(MIDDLES, k=min(len(MIDDLES), count * 3))
    out = [_fill(rng.choice(OPENERS), f, rng) + " " + _fill(middles.pop(), f, rng)]
    for _ in range(count - 2):
        sentences = [_fill(middles.pop(), f, rng) for _ in range(rng.randrange(2, 4))]
        out.append(" ".join(sentences))
    out.append(_fill(middles.pop(), f, rng) + " " + _fill(rng.choice(CLOSERS), f, rng))
    return out
