"""Word pools and sentence builders for the offline sample's news prose (all written for newsflow).

Articles are assembled from facts (a place, an institution, a person, figures) and sentence
templates chosen by a seeded random generator, so every article reads differently while stories
covered by several outlets share their facts but not their wording.
"""

from __future__ import annotations

import random
import re
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
# Sentence templates. ``[a|b|c]`` picks one alternative at random and ``{name}`` takes a fact,
# so two articles built from one template still rarely share a long run of words.
OPENERS = [
    "[Officials|Council officers|Emergency planners] in {place} [confirmed|said] on {weekday} "
    "that {event} had {outcome}.",
    "{Event} in {place} {outcome_past} on {weekday}, [the {body} said|according to the {body}|"
    "a statement from the {body} said].",
    "The {body} in {place} [said|told residents|confirmed] on {weekday} that {event} had {outcome}.",
    "[Residents of|People across|Families in] {place} [woke on {weekday} to news|were told on "
    "{weekday}] that {event} had {outcome}.",
    "After [weeks|days|a fortnight] of [uncertainty|rumour|mixed messages], {event} in {place} has "
    "{outcome}, the {body} [announced|said|confirmed].",
    "[News that|Word that] {event} in {place} had {outcome} [spread quickly|reached the town hall|"
    "dominated conversation] on {weekday}.",
    "{place} [faced|was left with|is dealing with] {event} on {weekday}, and the {body} said the "
    "situation had {outcome}.",
]
OUTCOMES = ["come to an end", "forced an emergency meeting", "drawn sharp criticism",
            "taken a new turn", "prompted a formal review", "eased somewhat",
            "worsened overnight", "led to a surprise agreement", "split opinion locally",
            "raised fresh questions"]
MIDDLES = [
    "[According to the {body}|Organisers said], [about|roughly|nearly] {n2} people [attended|"
    "turned up to|packed into] a [public|two-hour|late-night] meeting on {topic2}.",
    "{person} told [reporters|this paper|a radio phone-in] that {topic2} would be "
    "\u201c[the first thing on the table|our top priority|dealt with properly]\u201d.",
    "[Local businesses|Shop owners|Traders on the high street] [estimated|put] the cost at {money}, "
    "a figure the {body} [did not dispute|called too high|said it would check].",
    "[Critics|Campaigners|Several councillors] [argued|said|pointed out] that warnings about "
    "{topic2} had been [ignored|shelved|played down] for [at least|more than|nearly] {k} years.",
    "The {body} has [set aside|earmarked|found] {money} and [promised|pledged] an update within "
    "{k} weeks.",
    "[Independent engineers|Outside experts|A panel of auditors] [are expected|have been asked] to "
    "report on {topic2} [before the end of the month|by early spring|within six weeks].",
    "{person} said the decision had not been taken lightly and [thanked volunteers|praised staff|"
    "apologised to residents] for their [patience|hard work|trouble].",
    "[Figures|Numbers|Data] [released|published] on {weekday} [suggested|showed] that {n3} "
    "[claims|complaints|requests for help] had already been [filed|logged|received].",
    "Neighbouring [towns|councils|districts] have offered help, and {k} [crews|teams|vans] were "
    "sent from [outside the district|across the county|the coast].",
    "A petition [calling for|demanding] an [independent|open|full] inquiry into {topic2} had "
    "[gathered|passed|collected] {n4} signatures [by {weekday}|within days|so far].",
    "The {body} said it would publish [the minutes of every meeting|all correspondence|its "
    "internal reviews] on {topic2} [in full|online|without redactions].",
    "{person} described {event_short} as \u201c[a test of whether this town can plan ahead|"
    "a wake-up call for everyone|something we cannot allow to happen twice]\u201d.",
    "[Some families|Several tenants|A number of older residents] said they had [received|been "
    "given|heard] [no information at all|almost nothing|only rumours] about {topic2}.",
    "[Opposition members|Two ward councillors|Local campaigners] [called on|urged|asked] "
    "{person} to [appear before the full council|explain the delay in public|answer questions "
    "in writing].",
    "Insurers said claims linked to {event_short} were running at {k} times the [usual|normal|"
    "seasonal] level.",
    "[A shopkeeper|A retired nurse|A bus driver|A parent] [on|near|close to] {street} said the "
    "[mood|feeling|atmosphere] had [changed|turned|soured] [within hours|overnight|by lunchtime].",
    "[Volunteers|Church groups|Student societies] [opened|ran|staffed] a [help desk|soup kitchen|"
    "drop-in centre] at the {venue} [through the weekend|until late|for three days].",
    "The last time {place} saw anything [similar|comparable|on this scale] was in {year}, "
    "[older residents recalled|archive records show|according to the local museum].",
    "[Road closures|Diversions|Parking restrictions] around {street} [will stay|remain] in place "
    "[until further notice|for at least {k} days|while checks continue].",
    "[A report|An internal memo|A briefing note] seen by [reporters|this paper] [warned|suggested] "
    "that {topic2} [had been underfunded|was falling behind|needed urgent attention] since {year}.",
    "{person} [admitted|conceded|acknowledged] that [mistakes had been made|communication could "
    "have been better|the timetable had slipped] but [defended|stood by] the {body}.",
    "[Schools|Clinics|Libraries] in the [area|district|north of the town] [stayed open|closed "
    "early|changed their hours] [as a precaution|on official advice|for the rest of the week].",
    "[Traffic|Footfall|Takings] on {street} [fell|dropped|slumped] by [about|almost|more than] "
    "{pct} per cent, [traders|the business association|shop owners] [said|estimated].",
    "The {venue} [will host|is due to host] a [drop-in session|question-and-answer evening|"
    "public briefing] on {weekday2} [for anyone affected|for worried residents|with senior staff].",
    "[Union representatives|Staff members|Site managers] [said|warned|insisted] that {topic2} "
    "[could not wait|had to be settled|needed a long-term plan] [any longer|this winter|"
    "before the spring].",
]
# The lead's second sentence carries who and how many, as news leads do: articles on one event
# share these facts (and the quote below, verbatim) while their wording differs.
KEYS = [
    "{person}, the {role} of the {body}, said [the figures showed|early counts suggested|"
    "a survey found] {n} households had been [affected|caught up in it|hit].",
    "The {body} put the number of households affected at {n}, [its {role}|{person}] said.",
    "By {weekday} evening {n} households had been [affected|hit], {person} of the {body} said.",
    "[Some|About|Roughly] {n} households [are affected|have been hit], [said|according to] "
    "{person}, [the {body}'s {role}|{role} of the {body}].",
]
QUOTES = ["we owe people straight answers and we will give them",
          "nobody here is pretending this was handled well",
          "the money is there and the work starts now",
          "I have lived here all my life and never seen anything like it",
          "we will not be rushed into a decision we regret",
          "this is about trust as much as it is about repairs",
          "every family affected will hear from us this week",
          "the warning signs were there and we should have acted sooner"]
QUOTE_LINES = ["\u201c{Quote},\u201d {person} said.",
               "\u201c{Quote},\u201d {person} told [reporters|a packed hall|local radio].",
               "{person} [said|added|insisted]: \u201c{Quote}.\u201d"]
CLOSERS = [
    "A further statement is expected on {weekday2}.",
    "The {body} will meet again [next week|on {weekday2}|before the month is out] to decide the "
    "next steps.",
    "{person} said the town would \u201c[learn from this and do better|come through this "
    "together|not forget the people who helped]\u201d.",
    "Public hearings on {topic2} are [due to begin|expected to start|likely to open] in the new "
    "year.",
    "Residents with questions have been asked to contact the {body} [directly|by phone|through "
    "its website].",
    "[Nobody from|No one at] the {body} was available for further comment [on {weekday2}|late "
    "on {weekday}|at the time of writing].",
]
STREETS = ["Mill Lane", "Quay Street", "Station Road", "Orchard Row", "Castle Hill",
           "Ferry Parade", "Chapel Walk", "Market Square", "Tanner's Yard", "Linden Avenue"]
VENUES = ["community hall", "public library", "leisure centre", "old corn exchange",
          "parish rooms", "fire station yard", "sports club", "civic centre"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


PAST = {"come to an end": "came to an end", "drawn sharp criticism": "drew sharp criticism",
        "taken a new turn": "took a new turn"}
_CHOICE = re.compile(r"\[([^\[\]]*)\]")


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
    n2: int
    n3: int
    n4: int
    k: int
    pct: int
    money: str
    weekday: str
    street: str
    venue: str
    year: int
    quote: str


def make_facts(rng: random.Random) -> Facts:
    """A new news event."""
    return Facts(
        place=rng.choice(PLACES), body=rng.choice(BODIES), person=rng.choice(PEOPLE),
        role=rng.choice(ROLES), topic=rng.choice(TOPICS), outcome=rng.choice(OUTCOMES),
        n=rng.randrange(120, 9800), n2=rng.randrange(40, 900), n3=rng.randrange(15, 700),
        n4=rng.randrange(300, 25000), k=rng.randrange(2, 9), pct=rng.randrange(8, 61),
        money=f"{rng.randrange(2, 95)}.{rng.randrange(0, 9)} million",
        weekday=rng.choice(WEEKDAYS), street=rng.choice(STREETS), venue=rng.choice(VENUES),
        year=rng.randrange(1953, 2019), quote=rng.choice(QUOTES),
    )


def _fill(template: str, f: Facts, rng: random.Random) -> str:
    """Resolve ``[a|b]`` choices with ``rng``, then put the facts in."""
    chosen = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    _name, event, event_short, topic2 = f.topic
    return chosen.format(
        place=f.place, body=f.body, person=f.person, role=f.role, n=f"{f.n:,}", n2=f"{f.n2:,}",
        n3=f"{f.n3:,}", n4=f"{f.n4:,}", k=f.k, pct=f.pct, money=f.money, weekday=f.weekday,
        weekday2=rng.choice(WEEKDAYS), event=event, Event=event[0].upper() + event[1:],
        event_short=event_short, topic2=topic2, outcome=f.outcome,
        outcome_past=PAST.get(f.outcome, f.outcome), street=f.street, venue=f.venue, year=f.year,
        Quote=f.quote[0].upper() + f.quote[1:],
    )


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
    """3-6 paragraphs of 2-3 sentences on these facts, worded by ``rng``.

    The lead names the place, the body, the person and the main figure; the story's quote comes
    in the second paragraph; the rest is drawn without repeats from the middle sentences.
    """
    count = paragraphs or rng.randrange(3, 7)
    middles = rng.sample(MIDDLES, k=min(len(MIDDLES), count * 3))
    out = [_fill(rng.choice(OPENERS), f, rng) + " " + _fill(rng.choice(KEYS), f, rng)]
    for i in range(count - 2):
        sentences = [_fill(middles.pop(), f, rng) for _ in range(rng.randrange(1, 3))]
        if i == 0:
            sentences.insert(rng.randrange(2), _fill(rng.choice(QUOTE_LINES), f, rng))
        out.append(" ".join(sentences))
    out.append(_fill(middles.pop(), f, rng) + " " + _fill(rng.choice(CLOSERS), f, rng))
    return out
