#!/usr/bin/env python3
"""Deterministic synthetic-municipality generator for Ketenzicht.

Writes a fictional gemeente ("Zuiderhaven", gemeentecode 0363 as in the SPEC example) as
referral events between parties of the sociaal domein:

  <out>/municipality.ndjson          CloudEvents 1.0, one event per line (SPEC §2.1)
  <out>/municipality.xml             the canonical exchange document (SPEC §2.2), same events
  <out>/municipality-invalid.ndjson  a few dozen valid events interleaved with planted bad ones
  <out>/municipality-invalid.xml     the same, as XML
  <out>/README.md                    what was generated, the command line, what was planted

Python 3.11, standard library only. Same seed and arguments -> byte-identical output.

The timeline is a discrete-event simulation: cases arrive uniformly over [start, end], get a
ZRM assessment, and a referral plan derived from their low life-domain scores. Every receiving
party is a FIFO queue that starts at most `capacityPerWeek` referrals per week (a start slot
every 7/capacity days). Events are streamed in time order through a heap holding only the
events of referrals still in flight, so memory does not grow with the number of referrals.

Planted (see README): one large GGZ party and one schuldhulp party get more arrivals than their
capacity during the last months (a share of their pool is diverted to them and their effective
capacity drops), so at asOf = --end they are the top two bottlenecks; ping-pong (Wmo <-> GGZ,
GGZ <-> verslavingszorg); drops; manual regie assignments; late party registrations.

Usage:
  python3 scripts/generate_municipality.py --seed 42 --parties 300 --cases 3000 \\
      --end 2026-11-01 --out samples/
  python3 scripts/generate_municipality.py --seed 42 --referrals 1000000 --format json \\
      --end 2026-11-01 --out /tmp/big/
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time as _time
from calendar import timegm
from json.encoder import encode_basestring as _jstr  # C-accelerated, ensure_ascii=False

DAY = 86400
WEEK = 7 * DAY
WINDOW_DAYS = 84
GEMEENTE_CODE = "0363"
GEMEENTE_NAME = "Zuiderhaven"

LIFE_DOMAINS = [
    "financien", "werk-opleiding", "tijdsbesteding", "huisvesting", "huiselijke-relaties",
    "geestelijke-gezondheid", "lichamelijke-gezondheid", "middelengebruik", "basale-adl",
    "instrumentele-adl", "sociaal-netwerk", "maatschappelijke-participatie", "justitie",
]
LIFE_TO_PARTY = {
    "financien": "schuldhulp", "werk-opleiding": "participatie", "tijdsbesteding": "participatie",
    "maatschappelijke-participatie": "participatie", "huisvesting": "woningbouw",
    "huiselijke-relaties": "jeugd", "geestelijke-gezondheid": "ggz",
    "middelengebruik": "verslavingszorg", "lichamelijke-gezondheid": "wmo", "basale-adl": "wmo",
    "instrumentele-adl": "wmo", "sociaal-netwerk": "welzijn", "justitie": "reclassering",
}
# Default norms (DOMAIN.md / config defaults); used for the printed bottleneck ranking.
DOMAIN_NORMS = {
    "participatie": 28, "wmo": 42, "jeugd": 56, "ggz": 98, "schuldhulp": 28, "woningbouw": 56,
    "uwv": 56, "bewindvoering": 120, "huisarts": 56, "verslavingszorg": 56, "welzijn": 56,
    "reclassering": 56, "overig": 56,
}
CRISIS_NORM = 3
REGIE_DOMAINS = {"participatie", "wmo", "jeugd", "schuldhulp"}

WIJKEN = [("centrum", "Centrum"), ("noord", "Noord"), ("oost", "Oost"), ("zuid", "Zuid"),
          ("west", "West"), ("nieuw-west", "Nieuw-West"), ("zuidoost", "Zuidoost")]

# role -> (party domain, administrative delay before a start is possible: min, max days,
#          treatment duration until completed: min, max days)
ROLES = {
    "km": ("participatie", 3, 10, 90, 400),
    "intake": ("participatie", 3, 12, 20, 60),
    "reint": ("participatie", 5, 18, 60, 300),
    "wmo-team": ("wmo", 7, 30, 30, 200),
    "wmo-prov": ("wmo", 5, 21, 60, 365),
    "jeugd-team": ("jeugd", 7, 28, 30, 180),
    "jeugd-prov": ("jeugd", 10, 35, 90, 365),
    "ggz": ("ggz", 14, 56, 60, 300),
    "schuldhulp": ("schuldhulp", 4, 16, 120, 900),
    "woningbouw": ("woningbouw", 10, 35, 14, 90),
    "uwv": ("uwv", 10, 35, 30, 120),
    "bewind": ("bewindvoering", 30, 90, 400, 1500),
    "huisarts": ("huisarts", 1, 5, 7, 60),
    "vz": ("verslavingszorg", 10, 35, 60, 240),
    "welzijn": ("welzijn", 3, 18, 30, 180),
    "reclassering": ("reclassering", 5, 20, 90, 365),
    "overig": ("overig", 2, 14, 14, 120),
}
RECEIVER_ROLES = [r for r in ROLES if r not in ("km", "huisarts")]

REJECT_REASONS = [
    "Zorgvraag past niet bij ons aanbod",
    "Valt buiten de doelgroep (leeftijd/woonplaats)",
    "Eerst stabilisatie nodig; aanmelding opnieuw na behandeling",
    "Cliënt niet bereikbaar na 3 pogingen",
    "Geen indicatie: hulp via voorliggende voorziening",
    "Dubbele aanmelding; loopt al via ander team",
    "Wachtlijst gesloten & verwijzing naar regio-aanbieder",
    "Aanmelding onvolledig: \"toestemmingsformulier\" ontbreekt",
]
WITHDRAW_REASONS = [
    "Cliënt ziet af van hulp",
    "Cliënt verhuisd naar andere gemeente",
    "Hulp elders gevonden",
    "Situatie verbeterd; hulp niet meer nodig",
    "Cliënt niet meer verschenen",
]
OUTCOMES = ["doel bereikt", "doel gedeeltelijk bereikt", "voortijdig beëindigd",
            "overgedragen aan nazorg", "afgesloten: zelfredzaam"]
PINGPONG_REASONS = {
    "ggz": "Eerst praktische ondersteuning en stabilisatie via het wijkteam",
    "verslavingszorg": "Eerst psychiatrische stabilisatie (dubbele diagnose) bij de GGZ",
}

STEM_A = ["Linde", "Eiken", "Zonne", "Water", "Molen", "Duin", "Berken", "Vaart", "Polder",
          "Beuken", "Wilgen", "Klaver", "Heide", "Veen", "Dijk", "Meer", "Brug", "Haven", "Kade",
          "Esdoorn", "Zilver", "Groen", "Noorder", "Ooster", "Zuider", "Wester", "Hooge", "Lage",
          "Kastanje", "Iepen", "Rozen", "Vlier"]
STEM_B = ["hof", "horst", "zicht", "kamp", "poort", "hoeve", "stede", "dal", "veld", "oord",
          "rijk", "lanen", "tuin", "werf", "plein", "burcht", "kwartier"]

TEMPLATES = {
    "reint": ["Werkleerbedrijf {s}", "Re-integratiebureau {s}", "Leerwerkplaats {s}"],
    "wmo-prov": ["Thuisbegeleiding {s}", "Zorgkring {s}", "Huishoudelijke Hulp {s}",
                 "Dagbesteding {s}", "Hulpmiddelencentrum {s}", "Begeleid Wonen {s}"],
    "jeugd-prov": ["Jeugdhulp {s}", "Gezinsbegeleiding {s}", "Kinder- en Jeugdpraktijk {s}",
                   "Jeugdzorg {s} & Partners", "Pleegzorg {s}"],
    "ggz": ["{s} GGZ", "GGZ {s}", "Psychologenpraktijk {s}", "{s} Psychiatrie",
            "FACT-team {s}", "Centrum voor Psychotherapie {s}"],
    "schuldhulp": ["Geldzorg {s}", "Budgetbureau {s}", "Stichting Schuldenvrij {s}",
                   "Thuisadministratie {s}"],
    "woningbouw": ["Woonstichting {s}", "Woningcorporatie {s}", "{s} Wonen"],
    "uwv": ["UWV-vestiging {s}"],
    "bewind": ["Bewindvoering {s}", "{s} Bewind & Budget", "Beschermingsbewind {s} B.V."],
    "huisarts": ["Huisartsenpraktijk {s}", "Gezondheidscentrum {s}", "Huisartsen 't {s}"],
    "vz": ["Verslavingszorg {s}", "{s} Herstelcentrum", "Kliniek {s} Verslaving"],
    "welzijn": ["Buurtwerk {s}", "Welzijn {s}", "Stichting {s} Ontmoet", "Wonen & Welzijn {s}",
                "Buurthuis \"{s}\""],
    "reclassering": ["Reclasseringsteam {s}", "Stichting Nieuwe Start {s}"],
}
OVERIG_KINDS = [("voedselbank", "Voedselbank {s}"), ("kinderopvang", "Kinderopvang {s}"),
                ("taalhuis", "Taalhuis {s}"), ("rechtswinkel", "Rechtswinkel {s}"),
                ("vluchtelingenhulp", "Vluchtelingenhulp {s}"), ("kringloop", "Kringloopwerk {s}"),
                ("sport", "Sportbuurtwerk {s}"), ("mantelzorg", "Steunpunt Mantelzorg {s}")]
ID_PREFIX = {"reint": "participatie-reintegratie", "wmo-prov": "wmo", "jeugd-prov": "jeugd",
             "ggz": "ggz", "schuldhulp": "schuldhulp", "woningbouw": "woningbouw", "uwv": "uwv",
             "bewind": "bewind", "huisarts": "huisarts", "vz": "verslavingszorg",
             "welzijn": "welzijn", "reclassering": "reclassering", "overig": "overig"}
# Share of the parties left after the fixed (per-wijk) ones.
FILL_SHARES = [("huisarts", 0.22), ("jeugd-prov", 0.13), ("wmo-prov", 0.12), ("ggz", 0.09),
               ("welzijn", 0.08), ("overig", 0.09), ("bewind", 0.07), ("woningbouw", 0.035),
               ("schuldhulp", 0.03), ("vz", 0.025), ("reint", 0.015), ("reclassering", 0.012),
               ("uwv", 0.01)]
FILL_MIN = {"ggz": 3, "schuldhulp": 2, "uwv": 1, "reclassering": 1, "reint": 1, "vz": 2,
            "woningbouw": 2, "bewind": 2, "welzijn": 2, "overig": 2, "huisarts": 3,
            "jeugd-prov": 2, "wmo-prov": 2}

TYPE_PREFIX = "nl.ketenzicht."
XML_ELEMENT = {
    "party.registered": "party", "case.assessed": "assessment", "referral.created": "referral",
    "referral.accepted": "accepted", "referral.started": "started",
    "referral.completed": "completed", "referral.rejected": "rejected",
    "referral.withdrawn": "withdrawn", "regie.assigned": "regie",
}

# ----------------------------------------------------------------------------------------------
# Time: Europe/Amsterdam without tzdata (EU rule: summer time from the last Sunday of March to
# the last Sunday of October, 01:00 UTC).

_DST = {}


def _last_sunday_0100(year: int, month: int) -> int:
    t = timegm((year, month, 31, 1, 0, 0, 0, 0, 0))
    wd = _time.gmtime(t).tm_wday  # Monday 0 .. Sunday 6
    return t - ((wd + 1) % 7) * DAY


def utc_offset(t: int) -> int:
    y = _time.gmtime(t).tm_year
    b = _DST.get(y)
    if b is None:
        b = _DST[y] = (_last_sunday_0100(y, 3), _last_sunday_0100(y, 10))
    return 7200 if b[0] <= t < b[1] else 3600


def fmt_time(t: int, utc: bool) -> str:
    if utc:
        g = _time.gmtime(t)
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (g[0], g[1], g[2], g[3], g[4], g[5])
    off = utc_offset(t)
    g = _time.gmtime(t + off)
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (g[0], g[1], g[2], g[3], g[4], g[5],
                                                 "+02:00" if off == 7200 else "+01:00")


OFFICE_OPEN = 8 * 3600 + 30 * 60
OFFICE_CLOSE = 17 * 3600


def next_office(t: float, rng: random.Random) -> int:
    """A moment >= t during office hours (Mon-Fri 08:30-17:00 Amsterdam time)."""
    t = int(t)
    off = utc_offset(t)
    lt = t + off
    day, sec = divmod(lt, DAY)
    wd = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if wd < 5 and sec < OFFICE_CLOSE - 1800:
        lo = max(sec, OFFICE_OPEN)
        s = lo + int(rng.random() * (OFFICE_CLOSE - lo))
    else:
        day += 1
        wd = (wd + 1) % 7
        while wd >= 5:
            day += 1
            wd = (wd + 1) % 7
        s = OFFICE_OPEN + int(rng.random() * (OFFICE_CLOSE - OFFICE_OPEN))
    lt2 = day * DAY + s
    out = lt2 - utc_offset(lt2 - off)
    return out if out > t else t + 60


def parse_day(text: str) -> int:
    y, m, d = (int(x) for x in text.split("-"))
    return timegm((y, m, d, 0, 0, 0, 0, 0, 0))


# ----------------------------------------------------------------------------------------------
# BSN (elfproef)


def elfproef_ok(bsn: str) -> bool:
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    s = sum(int(bsn[i]) * (9 - i) for i in range(8)) - int(bsn[8])
    return s % 11 == 0 and s != 0


def make_bsn(rng: random.Random, used: set) -> str:
    """A fictional 9-digit BSN in the 999xxxxxx test range that passes the elfproef."""
    while True:
        head = "999" + "%05d" % rng.randrange(100000)
        s = sum(int(head[i]) * (9 - i) for i in range(8))
        d9 = s % 11
        if d9 == 10:
            continue
        bsn = head + str(d9)
        if bsn not in used and elfproef_ok(bsn):
            used.add(bsn)
            return bsn


# ----------------------------------------------------------------------------------------------
# Rendering (generic: used for the main stream and for the invalid files)

_XML_SPECIAL = re.compile(r'[&<>"\t\n\r]')
_XML_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
            "\r": "&#13;"}


def xesc(v: str) -> str:
    if _XML_SPECIAL.search(v) is None:
        return v
    return _XML_SPECIAL.sub(lambda m: _XML_ESC[m.group(0)], v)


def _jval(v) -> str:
    if isinstance(v, str):
        return _jstr(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):  # dependsOn
        return "[" + ",".join(_jstr(x) for x in v) + "]"
    if isinstance(v, tuple):  # zrm: tuple of (life domain, score)
        return "{" + ",".join(_jstr(k) + ":" + str(s) for k, s in v) + "}"
    raise TypeError(v)


def render_json(eid, source, etype, tstr, fields, extra=None) -> str:
    """fields: list of (key, value); value None = omitted. extra: envelope attributes."""
    parts = ['{"specversion":"1.0","id":', _jstr(eid), ',"source":', _jstr(source)]
    if etype is not None:
        parts += [',"type":', _jstr(TYPE_PREFIX + etype)]
    if tstr is not None:
        parts += [',"time":', _jstr(tstr)]
    if extra:
        for k, v in extra:
            parts += [",", _jstr(k), ":", _jval(v)]
    parts.append(',"data":{')
    first = True
    for k, v in fields:
        if v is None:
            continue
        if not first:
            parts.append(",")
        first = False
        parts += [_jstr(k), ":", _jval(v)]
    parts.append("}}\n")
    return "".join(parts)


def render_xml(eid, source, etype, tstr, fields, element=None) -> str:
    el = element or XML_ELEMENT[etype]
    attrs = ['  <', el, ' id="', xesc(eid), '" source="', xesc(source), '"']
    if tstr is not None:
        attrs += [' time="', xesc(tstr), '"']
    children = []
    for k, v in fields:
        if v is None:
            continue
        if k in ("name", "reason"):
            children.append("<%s>%s</%s>" % (k, xesc(v).replace("&#9;", "\t"), k))
        elif k == "zrm":
            children.extend('<score domain="%s" value="%d"/>' % (xesc(d), s) for d, s in v)
        elif k == "dependsOn":
            children.extend('<dependsOn ref="%s"/>' % xesc(r) for r in v)
        elif v is True or v is False:
            attrs += [" ", k, '="', "true" if v else "false", '"']
        else:
            attrs += [" ", k, '="', xesc(v if isinstance(v, str) else repr(v)), '"']
    if children:
        return "".join(attrs) + ">" + "".join(children) + "</" + el + ">\n"
    return "".join(attrs) + "/>\n"


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<exchanges xmlns="urn:ketenzicht:exchange:1">\n'
XML_TAIL = "</exchanges>\n"


# ----------------------------------------------------------------------------------------------
# Parties


class Party:
    __slots__ = ("idx", "id", "name", "domain", "role", "wijk", "source", "utc", "ctype", "cap",
                 "norm", "regie", "weight", "planted", "next_slot", "window_start", "late",
                 "first_use", "exp_week", "registered", "delay_f")

    def __init__(self, pid, name, role, wijk=None, source=None):
        self.id = pid
        self.name = name
        self.role = role
        self.domain = ROLES[role][0]
        self.wijk = wijk
        self.source = source or "urn:nl:%s:%s" % (self.domain, pid)
        self.utc = False
        self.ctype = False
        self.cap = None
        self.norm = None
        self.regie = None
        self.weight = 1.0
        self.planted = None
        self.next_slot = 0
        self.window_start = False
        self.late = False
        self.first_use = None
        self.exp_week = 0.0
        self.registered = False
        self.delay_f = 1.0


def _slug(text: str) -> str:
    text = text.lower().replace("'t ", "").replace("ë", "e").replace("ï", "i")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def build_parties(n: int, rng: random.Random):
    g = "urn:nl:gemeente:%s:" % GEMEENTE_CODE
    parties = []
    for slug, name in WIJKEN:
        parties.append(Party("km-participatie-" + slug, "Klantmanagers Participatie " + name,
                             "km", slug, g + "participatie"))
    parties.append(Party("km-participatie-jongeren", "Jongerenloket Werk en Inkomen", "km",
                         None, g + "participatie"))
    parties.append(Party("km-participatie-statushouders", "Team Statushouders Werk en Inkomen",
                         "km", None, g + "participatie"))
    parties.append(Party("participatie-intake", "Werkplein %s – intake Werk & Inkomen"
                         % GEMEENTE_NAME, "intake", None, g + "participatie"))
    for slug, name in WIJKEN:
        parties.append(Party("wmo-wijkteam-" + slug, "Sociaal Wijkteam " + name, "wmo-team", slug,
                             g + "wmo"))
    for slug, name in WIJKEN:
        parties.append(Party("jeugd-okt-" + slug, "Ouder- en Kindteam " + name, "jeugd-team",
                             slug, g + "jeugd"))
    parties.append(Party("schuldhulp-kredietbank", "Gemeentelijke Kredietbank %s" % GEMEENTE_NAME,
                         "schuldhulp", None, g + "schuldhulp"))
    fixed = len(parties)
    rest = n - fixed
    if rest < 30:
        raise SystemExit("--parties must be at least %d" % (fixed + 30))
    counts = {r: max(FILL_MIN.get(r, 1), int(rest * s)) for r, s in FILL_SHARES}
    counts["huisarts"] += rest - sum(counts.values())
    if counts["huisarts"] < 3:
        raise SystemExit("--parties too small")
    stems = [a + b for a in STEM_A for b in STEM_B]
    used_ids = {p.id for p in parties}
    for role, _ in FILL_SHARES:
        order = stems[:]
        rng.shuffle(order)
        made = 0
        k = 0
        while made < counts[role]:
            stem = order[k % len(order)] + ("" if k < len(order) else " " + str(k // len(order) + 1))
            k += 1
            if role == "overig":
                kind, tpl = OVERIG_KINDS[made % len(OVERIG_KINDS)]
                pid = "overig-%s-%s" % (kind, _slug(stem))
            else:
                tpl = rng.choice(TEMPLATES[role])
                pid = "%s-%s" % (ID_PREFIX[role], _slug(stem))
            if pid in used_ids:
                continue
            used_ids.add(pid)
            parties.append(Party(pid, tpl.format(s=stem), role))
            made += 1
    # A few names that exercise escaping.
    for p in parties:
        if p.role == "welzijn":
            p.name = "Wonen & Welzijn <Oost> \"De Schakel\""
            break
    for i, p in enumerate(parties):
        p.idx = i
        if p.source.startswith("urn:nl:gemeente:"):
            p.utc = False
        else:
            p.utc = rng.random() < 0.3
            p.ctype = rng.random() < 0.25
    # Pool weights: a few large parties, a long tail.
    by_role = {}
    for p in parties:
        by_role.setdefault(p.role, []).append(p)
    for role, ps in by_role.items():
        for rank, p in enumerate(ps):
            p.weight = (1.0 / (rank + 1) ** 0.6) * (0.7 + 0.6 * rng.random())
    # Overrides: wmo/jeugd providers may not hold regie; some normDays overrides.
    for p in parties:
        if p.role in ("wmo-prov", "jeugd-prov", "reint", "intake"):
            p.regie = False
    bewinds = by_role.get("bewind", [])
    for p in bewinds[:2]:
        p.norm = 150
    return parties, by_role


# ----------------------------------------------------------------------------------------------
# Case plans


def score_case(rng: random.Random):
    probs = {"financien": 0.55, "werk-opleiding": 0.8, "tijdsbesteding": 0.4,
             "huisvesting": 0.2, "huiselijke-relaties": 0.2, "geestelijke-gezondheid": 0.35,
             "lichamelijke-gezondheid": 0.22, "middelengebruik": 0.12, "basale-adl": 0.06,
             "instrumentele-adl": 0.14, "sociaal-netwerk": 0.3,
             "maatschappelijke-participatie": 0.35, "justitie": 0.06}
    scores = {}
    for ld in LIFE_DOMAINS:
        if rng.random() < probs[ld]:
            scores[ld] = 1 if rng.random() < 0.3 else 2
        else:
            r = rng.random()
            scores[ld] = 3 if r < 0.4 else (4 if r < 0.8 else 5)
    # "several" domains: all low ones plus a random part of the rest.
    keep = [ld for ld in LIFE_DOMAINS if scores[ld] <= 2 or rng.random() < 0.55]
    if len(keep) < 5:
        keep = LIFE_DOMAINS[:]
    return tuple((ld, scores[ld]) for ld in keep), scores


def plan_case(rng: random.Random, scores: dict):
    """A list of steps [role, sender, lifeDomain, urgency, dep, flag, entry]; sender is 'km',
    'huisarts', 'woningbouw', 'uwv', 'reclassering' or the index of an earlier step."""
    steps = []

    def low(ld, p3=0.1):
        s = scores[ld]
        return s <= 2 or (s == 3 and rng.random() < p3)

    def urg(ld, crisis_p=0.0, urgent_p=0.0):
        if scores[ld] == 1:
            if rng.random() < crisis_p:
                return "crisis"
            if rng.random() < urgent_p:
                return "urgent"
        elif rng.random() < 0.03:
            return "urgent"
        return "regulier"

    def add(role, sender, ld, u="regulier", dep=None, flag=None, entry=False):
        steps.append([role, sender, ld, u, dep, flag, entry])
        return len(steps) - 1

    wmo_team = None
    if low("lichamelijke-gezondheid") or low("basale-adl") or low("instrumentele-adl"):
        ld = min(("lichamelijke-gezondheid", "basale-adl", "instrumentele-adl"),
                 key=lambda d: scores[d])
        wmo_team = add("wmo-team", "km", ld, urg(ld, 0.0, 0.3))
        if rng.random() < 0.7:
            add("wmo-prov", wmo_team, ld, "regulier")
    if low("financien"):
        entry = rng.random() < 0.12
        if scores["financien"] == 1 or rng.random() < 0.25:
            b = add("bewind", "km", "financien")
            add("schuldhulp", "km", "financien", urg("financien", 0.02, 0.3), dep=b)
        else:
            add("schuldhulp", "woningbouw" if entry else "km", "financien",
                urg("financien", 0.02, 0.3), entry=entry)
        if scores["financien"] == 1 and rng.random() < 0.3:
            add("overig", "km", "financien")  # voedselbank
    ggz = None
    if low("geestelijke-gezondheid"):
        r = rng.random()
        u = urg("geestelijke-gezondheid", 0.04, 0.2)
        if r < 0.35:
            if wmo_team is None:
                wmo_team = add("wmo-team", "km", "geestelijke-gezondheid")
            flag = "pingpong" if rng.random() < 0.15 else None
            ggz = add("ggz", wmo_team, "geestelijke-gezondheid", u, flag=flag)
        elif r < 0.6:
            ggz = add("ggz", "huisarts", "geestelijke-gezondheid", u, entry=rng.random() < 0.6)
        else:
            ggz = add("ggz", "km", "geestelijke-gezondheid", u)
    if low("middelengebruik"):
        if ggz is not None and rng.random() < 0.6:
            add("vz", ggz, "middelengebruik", flag="pingpong" if rng.random() < 0.25 else None)
        else:
            add("vz", "huisarts" if rng.random() < 0.3 else "km", "middelengebruik",
                urg("middelengebruik", 0.02, 0.2))
    if low("huisvesting"):
        snd = wmo_team if (wmo_team is not None and rng.random() < 0.4) else "km"
        add("woningbouw", snd, "huisvesting", urg("huisvesting", 0.03, 0.4))
    if low("huiselijke-relaties"):
        t = add("jeugd-team", "km", "huiselijke-relaties", urg("huiselijke-relaties", 0.03, 0.3))
        if rng.random() < 0.6:
            add("jeugd-prov", t, "huiselijke-relaties")
    if low("sociaal-netwerk", 0.05) and rng.random() < 0.6:
        snd = wmo_team if (wmo_team is not None and rng.random() < 0.5) else "km"
        add("welzijn", snd, "sociaal-netwerk")
    if low("justitie"):
        if rng.random() < 0.5:
            add("intake", "reclassering", "justitie", entry=True)
        else:
            add("reclassering", "km", "justitie")
    if low("werk-opleiding") or low("maatschappelijke-participatie"):
        r = rng.random()
        if r < 0.3:
            add("reint", "km", "werk-opleiding")
        elif r < 0.36:
            add("uwv", "km", "werk-opleiding")
        elif r < 0.42:
            add("intake", "uwv", "werk-opleiding", entry=True)
    if rng.random() < 0.06:
        add("overig", "km", "tijdsbesteding")
    if not steps:
        add("reint" if rng.random() < 0.5 else "welzijn", "km", "werk-opleiding")
    # drops (planted): a final step that will be rejected or withdrawn without follow-up
    if rng.random() < 0.03:
        steps[-1][5] = "drop"
    if len(steps) > 8:
        del steps[8:]
        for s in steps:
            if isinstance(s[1], int) and s[1] >= 8:
                s[1] = "km"
    return steps


# ----------------------------------------------------------------------------------------------
# The simulation


class Case:
    __slots__ = ("key", "is_bsn", "wijk", "km", "huisarts", "corp", "steps", "step_ref",
                 "step_start", "released", "involved", "nrefs", "regie", "t0", "src")


class Sim:
    def __init__(self, args, parties, by_role, cases, start, end, out_sink, tally):
        self.a = args
        self.rng = random.Random(args.seed * 7919 + 1)
        self.parties = parties
        self.by_role = by_role
        self.ncases = cases
        self.start = start
        self.end = end
        self.window_start = end - WINDOW_DAYS * DAY
        self.surge = end - args.surge_days * DAY
        self.actions = []
        self.outq = []
        self.seq = 0
        self.sink = out_sink
        self.tally = tally
        self.ref_n = 0
        self.bsn_used = set()
        self.counters = {}
        self.planted = {"pingpong_returns": 0, "drops": 0, "regie": 0, "late_parties": [],
                        "bsn_cases": 0}
        g = "urn:nl:gemeente:%s:" % GEMEENTE_CODE
        self.src_register = g + "partijregister"
        self.src_mdt = g + "mdt"
        self.km_wijk = {p.wijk: p for p in by_role["km"] if p.wijk}
        self.km_special = [p for p in by_role["km"] if not p.wijk]
        self.team = {"wmo-team": {p.wijk: p for p in by_role["wmo-team"]},
                     "jeugd-team": {p.wijk: p for p in by_role["jeugd-team"]}}
        self.pools = {}
        for role, ps in by_role.items():
            pre = list(ps)
            w = [p.weight for p in pre]
            post = w[:]
            for i, p in enumerate(pre):
                if p.planted:
                    tot = sum(w) - w[i]
                    post[i] = p.planted["share_post"] * tot / (1 - p.planted["share_post"])
            self.pools[role] = (pre, _cum(w), _cum(post))

    # -- queues ------------------------------------------------------------------------------
    def push_action(self, t, kind, payload):
        if t > self.end:
            return
        self.seq += 1
        heapq.heappush(self.actions, (t, self.seq, kind, payload))

    def out(self, t, kind, party_src, payload):
        """Queue an output event; events after --end are never emitted."""
        if t > self.end:
            return False
        self.seq += 1
        heapq.heappush(self.outq, (t, self.seq, kind, party_src, payload))
        return True

    def flush(self, upto):
        oq = self.outq
        while oq and oq[0][0] <= upto:
            self.emit(heapq.heappop(oq))

    def emit(self, ev):
        t, _, kind, src, payload = ev
        if isinstance(src, Party):
            source, utc, ctype = src.source, src.utc, src.ctype
        else:
            source, utc, ctype = src, False, False
        n = self.counters.get(source, 0) + 1
        self.counters[source] = n
        eid = "e-%d" % n
        self.sink(eid, source, kind, fmt_time(t, utc), payload, ctype)
        self.tally.feed(t, kind, payload)

    # -- helpers -----------------------------------------------------------------------------
    def pick(self, role, t, case, exclude=None):
        if role in self.team:
            return self.team[role][case.wijk]
        pre, cpre, cpost = self.pools[role]
        cum = cpost if t >= self.surge else cpre
        rng = self.rng
        for attempt in range(12):
            p = pre[bisect.bisect_right(cum, rng.random() * cum[-1])]
            if p is exclude and len(pre) > 1:
                continue
            # avoid sending a last-days referral to a party without starts in the window
            # (its expected wait would be infinite): real-world quiet parties are rare in a
            # busy municipality, and an Infinity would drown the planted bottlenecks.
            if t > self.end - 45 * DAY and not p.window_start and not p.planted and attempt < 11:
                continue
            return p
        return p

    def use(self, p, t):
        if p.late and p.first_use is None:
            p.first_use = t
            reg = next_office(t + (2 + self.rng.random() * 18) * DAY, self.rng)
            if reg > self.end:
                reg = self.end
            if reg > t:
                self.out(reg, "party.registered", self.src_register, (p,))
                p.registered = True

    def cap_at(self, p, t):
        c = p.cap
        if p.planted and t >= self.surge:
            c = c * p.planted["cap_factor"]
        return c

    # -- events --------------------------------------------------------------------------------
    def run(self):
        rng = self.rng
        # party registrations before the period
        for p in self.parties:
            if not p.late:
                t = self.start - 60 * DAY + int(rng.random() * 20 * DAY)
                self.out(next_office(t, rng), "party.registered", self.src_register, (p,))
                p.registered = True
        self.remaining = self.ncases
        self.case_n = 0
        self.push_action(self.start, "arrive", self.start)
        acts = self.actions
        while acts:
            t, _, kind, payload = heapq.heappop(acts)
            self.flush(t)
            if kind == "arrive":
                self.arrive(t)
            elif kind == "km":
                self.km_begin(t, payload)
            elif kind == "step":
                self.do_step(t, *payload)
            elif kind == "assess":
                self.assess(t, payload, reassess=True)
            elif kind == "regie":
                self.regie(t, payload)
        self.flush(self.end)
        for p in self.parties:  # late parties never used before --end
            if not p.registered:
                self.out(self.end, "party.registered", self.src_register, (p,))
                p.registered = True
        self.flush(self.end)

    def arrive(self, t):
        rng = self.rng
        # exact number of uniformly distributed arrival times, generated in order
        nxt = t + (self.end - t) * (1 - rng.random() ** (1.0 / self.remaining))
        self.remaining -= 1
        if self.remaining > 0:
            self.push_action(int(nxt), "arrive", None)
        if t > self.end:
            return
        self.case_n += 1
        c = Case()
        width = 6 if self.ncases < 1000000 else 7
        c.is_bsn = rng.random() < 0.05
        if c.is_bsn:
            c.key = make_bsn(rng, self.bsn_used)
            self.planted["bsn_cases"] += 1
        else:
            c.key = "c-%0*d" % (width, self.case_n)
        c.wijk = WIJKEN[rng.randrange(len(WIJKEN))][0]
        r = rng.random()
        c.km = self.km_special[0] if r < 0.1 else (self.km_special[1] if r < 0.15
                                                    else self.km_wijk[c.wijk])
        pre, cpre, _ = self.pools["huisarts"]
        c.huisarts = pre[bisect.bisect_right(cpre, rng.random() * cpre[-1])]
        c.corp = None
        zrm, scores = score_case(rng)
        c.steps = plan_case(rng, scores)
        c.step_ref = [None] * len(c.steps)
        c.step_start = [None] * len(c.steps)
        c.released = [False] * len(c.steps)
        c.involved = []
        c.nrefs = 0
        c.regie = False
        c.src = c.km if rng.random() < 0.8 else self.team["wmo-team"][c.wijk]
        t0 = next_office(t, rng)
        c.t0 = t0
        entries = [i for i, s in enumerate(c.steps) if s[6]]
        if entries:
            for i in entries:
                self.push_action(t0 + int(rng.random() * 3 * DAY), "step", (c, i, 0, None, None, None))
            self.push_action(t0 + int((10 + rng.random() * 30) * DAY), "km", (c, zrm))
        else:
            self.km_begin(t0, (c, zrm))

    def km_begin(self, t, payload):
        c, zrm = payload
        rng = self.rng
        t = next_office(t, rng)
        self.out(t, "case.assessed", c.src, (c, zrm))
        if rng.random() < 0.2:
            self.push_action(t + int((100 + rng.random() * 200) * DAY), "assess", c)
        off = t + 1800
        for i, s in enumerate(c.steps):
            if s[1] == "km" and s[4] is None:
                self.push_action(off, "step", (c, i, 0, None, None, None))
                off += int(rng.random() * 14 * DAY) + 600

    def assess(self, t, c, reassess=False):
        rng = self.rng
        zrm, _ = score_case(rng)
        # a re-assessment: mostly a little better than before
        zrm = tuple((d, min(5, s + (1 if rng.random() < 0.5 else 0))) for d, s in zrm)
        self.out(next_office(t, rng), "case.assessed", c.src, (c, zrm))

    def regie(self, t, c):
        rng = self.rng
        cands = [p for p in c.involved
                 if (p.regie if p.regie is not None else p.domain in REGIE_DOMAINS)]
        if not cands:
            return
        non_km = [p for p in cands if p.role != "km"]
        p = rng.choice(non_km or cands)
        if self.out(next_office(t, rng), "regie.assigned", self.src_mdt, (c, p)):
            self.planted["regie"] += 1

    def sender_party(self, c, s, t):
        snd = s[1]
        if snd == "km":
            return c.km
        if snd == "huisarts":
            return c.huisarts
        if snd == "woningbouw":
            if c.corp is None:
                c.corp = self.pick("woningbouw", t, c)
            return c.corp
        if snd in ("uwv", "reclassering"):
            return self.pick(snd, t, c)
        return None

    def do_step(self, t, c, i, attempt, sender, exclude, force_to):
        """Create the referral of step i (attempt > 0: a re-referral)."""
        s = c.steps[i]
        role, _, ld, urgency, dep, flag, _entry = s
        rng = self.rng
        frm = sender or self.sender_party(c, s, t)
        if frm is None:
            return
        to = force_to or self.pick(role, t, c, exclude=exclude)
        if to is frm:
            return
        self.create(t, c, i, frm, to, ld, urgency, dep, flag if attempt == 0 else None, attempt)

    def create(self, t, c, i, frm, to, ld, urgency, dep, flag, attempt, ret_of=None):
        rng = self.rng
        t = next_office(t, rng) if urgency != "crisis" else int(t) + 60
        if t > self.end:
            return
        self.ref_n += 1
        ref = "r-%06d" % self.ref_n
        deps = None
        dep_start = None
        if dep is not None and c.step_ref[dep] is not None:
            deps = [c.step_ref[dep]]
            dep_start = c.step_start[dep]
        self.use(frm, t)
        self.use(to, t)
        case_data = (c, ref, frm, to, urgency if rng.random() > 0.04 else None,
                     ld if rng.random() > 0.05 else None, deps)
        self.out(t, "referral.created", frm, case_data)
        c.nrefs += 1
        for p in (frm, to):
            if p not in c.involved:
                c.involved.append(p)
        if c.nrefs == 2 and not c.regie and rng.random() < self.a.regie_rate:
            c.regie = True
            self.push_action(t + int((7 + rng.random() * 30) * DAY), "regie", c)
        if i is not None:
            c.step_ref[i] = ref
        _, dmin, dmax, cmin, cmax = ROLES[to.role]
        dmin *= to.delay_f
        dmax *= to.delay_f
        end = self.end

        # --- acceptance
        if urgency == "crisis":
            acc = t + int((0.05 + rng.random() * 0.3) * DAY)
        else:
            acc = next_office(t + rng.random() * 4 * DAY, rng)
        r = rng.random()
        forced_reject = flag in ("pingpong", "drop") and (flag == "pingpong" or r < 0.6)
        reject = forced_reject or (ret_of is None and urgency != "crisis" and r < 0.07)
        if reject:
            if flag == "drop":
                self.planted["drops"] += 1
            reasons = REJECT_REASONS if flag != "pingpong" else [PINGPONG_REASONS.get(to.domain, REJECT_REASONS[2])]
            if rng.random() < 0.7:
                rt = next_office(t + (1 + rng.random() * 9) * DAY, rng)
            else:
                self.out(acc, "referral.accepted", to, (ref,))
                rt = next_office(acc + (3 + rng.random() * 17) * DAY, rng)
            self.out(rt, "referral.rejected", to, (ref, rng.choice(reasons) if rng.random() < 0.85 else None))
            if i is not None:
                c.step_start[i] = None
            will_retry = (flag is None and attempt == 0 and i is not None
                          and rng.random() < 0.7)
            if not will_retry:
                self.release(c, i, rt, None)
            if flag == "pingpong":
                # van het kastje naar de muur: B sends the case back to A ...
                self.planted["pingpong_returns"] += 1
                self.create_return(rt + int((1 + rng.random() * 5) * DAY), c, i, to, frm, ld)
            elif will_retry:
                self.push_action(rt + int((1 + rng.random() * 8) * DAY), "step",
                                 (c, i, attempt + 1, frm, to, None))
            return
        self.out(acc, "referral.accepted", to, (ref,))

        # --- start: FIFO slot of the receiving party
        earliest = acc + int((dmin + rng.random() * (dmax - dmin)) * DAY)
        if dep_start is not None:
            earliest = max(earliest, dep_start + int((1 + rng.random() * 6) * DAY))
        cap = self.cap_at(to, earliest)
        spacing = int(WEEK / cap) if cap else 0
        if urgency == "crisis":
            start = acc + int((0.1 + rng.random() * 1.5) * DAY)
            to.next_slot = max(to.next_slot, start) + spacing
        else:
            slot = max(earliest, to.next_slot)
            if urgency == "urgent":
                start = earliest + min(slot - earliest, int(rng.random() * 7 * DAY))
            else:
                start = slot
            withdraw = (flag == "drop") or rng.random() < 0.03
            if withdraw and start - acc > 2 * DAY:
                wt = next_office(acc + DAY + rng.random() * (start - acc - 2 * DAY), rng)
                self.out(wt, "referral.withdrawn", to, (ref, rng.choice(WITHDRAW_REASONS) if rng.random() < 0.8 else None))
                if flag == "drop":
                    self.planted["drops"] += 1
                self.release(c, i, wt, None)
                return
            to.next_slot = max(to.next_slot, start) + spacing
            start = next_office(start, rng)
        if start <= acc:
            start = acc + 3600
        if dep_start is not None and start <= dep_start:
            start = dep_start + 7200  # dependsOn: never before the prerequisite started
        if self.window_start < start <= end:
            to.window_start = True
        self.out(start, "referral.started", to, (ref,))
        if i is not None:
            c.step_start[i] = start
        self.release(c, i, t, start)
        # --- completion or withdrawal after start
        if rng.random() < 0.05:
            wt = next_office(start + (7 + rng.random() * 60) * DAY, rng)
            self.out(wt, "referral.withdrawn", to, (ref, rng.choice(WITHDRAW_REASONS)))
        else:
            ct = next_office(start + (cmin + rng.random() * (cmax - cmin)) * DAY, rng)
            self.out(ct, "referral.completed", to, (ref, rng.choice(OUTCOMES) if rng.random() < 0.8 else None))
        # --- help flows onward from the started party
        if ret_of is not None:
            # after the return started, A refers the case to B's pool once more
            ci, B = ret_of
            if rng.random() < 0.6:
                payload = (c, ci, 1, to, None, B)      # straight back to the same party
            else:
                payload = (c, ci, 1, to, B, None)      # another party of the same pool
            self.push_action(start + int((5 + rng.random() * 25) * DAY), "step", payload)
            return
        if i is not None:
            for j, s in enumerate(c.steps):
                if s[1] == i:
                    self.push_action(start + int((3 + rng.random() * 40) * DAY), "step",
                                     (c, j, 0, to, None, None))

    def release(self, c, i, t, start):
        """Schedule the steps that depend on step i (schuldhulp after bewindvoering): created
        after step i's referral, shortly before its planned start (the klantmanager times the
        aanmelding), so that dependsOn binds but does not fill the queue for months."""
        if i is None:
            return
        rng = self.rng
        for j, s in enumerate(c.steps):
            if s[4] == i and c.step_ref[j] is None and not c.released[j]:
                c.released[j] = True
                at = t + int((1 + rng.random() * 13) * DAY)
                if start is not None:
                    at = max(at, start - int((7 + rng.random() * 14) * DAY))
                self.push_action(at, "step", (c, j, 0, None, None, None))

    def create_return(self, t, c, i, B, A, ld):
        """B -> A: the receiving party sends the case back (counts as a ping-pong return)."""
        self.create(t, c, None, B, A, ld, "regulier", None, None, 1, ret_of=(i, B))


def _cum(ws):
    out, s = [], 0.0
    for w in ws:
        s += w
        out.append(s)
    return out


# ----------------------------------------------------------------------------------------------
# The bottleneck tally (SPEC §5, per party), fed with every emitted event in time order


class Tally:
    def __init__(self, end, parties):
        self.asof = end
        self.ws = end - WINDOW_DAYS * DAY
        self.parties = {p.id: p for p in parties}
        self.open = {}
        self.arr = {}
        self.starts = {}
        self.waits = {}
        self.type_counts = {}
        self.created_in_window = set()

    def feed(self, t, kind, payload):
        tc = self.type_counts
        tc[kind] = tc.get(kind, 0) + 1
        if kind == "referral.created":
            c, ref, frm, to, urg, ld, deps = payload
            self.open[ref] = (to.id, t, urg)
            if t > self.ws:
                self.arr[to.id] = self.arr.get(to.id, 0) + 1
        elif kind == "referral.started":
            o = self.open.pop(payload[0], None)
            if o is not None and t > self.ws:
                self.starts[o[0]] = self.starts.get(o[0], 0) + 1
                self.waits.setdefault(o[0], []).append((t - o[1]) / DAY)
        elif kind in ("referral.rejected", "referral.withdrawn"):
            self.open.pop(payload[0], None)

    def ranking(self):
        weeks = WINDOW_DAYS / 7
        backlog, over = {}, {}
        for ref, (to, ct, urg) in self.open.items():
            backlog[to] = backlog.get(to, 0) + 1
            p = self.parties[to]
            norm = CRISIS_NORM if urg == "crisis" else (p.norm or DOMAIN_NORMS[p.domain])
            if (self.asof - ct) / DAY > norm:
                over[to] = over.get(to, 0) + 1
        rows = []
        for pid in set(self.arr) | set(backlog):
            p = self.parties[pid]
            b = backlog.get(pid, 0)
            spw = self.starts.get(pid, 0) / weeks
            apw = self.arr.get(pid, 0) / weeks
            if b == 0:
                ew = 0.0
            elif spw == 0:
                ew = math.inf
            else:
                ew = b / spw * 7
            norm = p.norm or DOMAIN_NORMS[p.domain]
            waits = sorted(self.waits.get(pid, []))
            p50 = waits[math.ceil(0.5 * len(waits)) - 1] if waits else None
            p90 = waits[math.ceil(0.9 * len(waits)) - 1] if waits else None
            on = over.get(pid, 0) + sum(1 for w in waits if w > norm)
            rows.append({"party": pid, "domain": p.domain, "arrivalsPerWeek": apw,
                         "startsPerWeek": spw, "backlog": b, "expectedWaitDays": ew,
                         "normDays": norm, "bottleneckScore": ew / norm, "waitP50Days": p50,
                         "waitP90Days": p90, "overNorm": on})
        rows.sort(key=lambda r: (-r["bottleneckScore"], -r["backlog"], r["party"]))
        return rows


def format_ranking(rows, top=15):
    def f(x):
        if x is None:
            return "-"
        if x == math.inf:
            return "Infinity"
        return "%.1f" % x if isinstance(x, float) else str(x)
    lines = ["%-4s %-40s %-14s %8s %8s %8s %9s %6s %8s %8s %8s" % (
        "rank", "party", "domain", "arr/wk", "starts/wk", "backlog", "expWait", "norm",
        "score", "p50", "overNorm")]
    for k, r in enumerate(rows[:top], 1):
        lines.append("%-4d %-40s %-14s %8s %8s %8d %9s %6d %8s %8s %8d" % (
            k, r["party"], r["domain"], f(r["arrivalsPerWeek"]), f(r["startsPerWeek"]),
            r["backlog"], f(r["expectedWaitDays"]), r["normDays"],
            ("%.2f" % r["bottleneckScore"]) if r["bottleneckScore"] != math.inf else "Infinity",
            f(r["waitP50Days"]), r["overNorm"]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# From internal events to records


def to_record(kind, payload):
    """(type, fields) for one internal event."""
    if kind == "referral.accepted" or kind == "referral.started":
        return [("referral", payload[0])]
    if kind == "referral.created":
        c, ref, frm, to, urg, ld, deps = payload
        return [("referral", ref), ("bsn" if c.is_bsn else "case", c.key), ("from", frm.id),
                ("to", to.id), ("urgency", urg), ("lifeDomain", ld), ("dependsOn", deps)]
    if kind == "referral.completed":
        return [("referral", payload[0]), ("outcome", payload[1])]
    if kind in ("referral.rejected", "referral.withdrawn"):
        return [("referral", payload[0]), ("reason", payload[1])]
    if kind == "case.assessed":
        c, zrm = payload
        return [("bsn" if c.is_bsn else "case", c.key), ("zrm", zrm)]
    if kind == "party.registered":
        p = payload[0]
        return [("party", p.id), ("name", p.name), ("domain", p.domain),
                ("capacityPerWeek", p.cap), ("normDays", p.norm), ("regieEligible", p.regie)]
    if kind == "regie.assigned":
        c, p = payload
        return [("bsn" if c.is_bsn else "case", c.key), ("party", p.id)]
    raise ValueError(kind)


CTYPE = [("datacontenttype", "application/json")]


class Writers:
    """Streams records to the NDJSON and XML files; with --shuffle, first to seeded buckets."""

    def __init__(self, out_dir, fmt, shuffle, seed, expected_events):
        self.json = fmt in ("json", "both")
        self.xml = fmt in ("xml", "both")
        self.shuffle = shuffle
        self.seed = seed
        self.n = 0
        self.jf = open(os.path.join(out_dir, "municipality.ndjson"), "w", encoding="utf-8",
                       newline="\n", buffering=1 << 20) if self.json else None
        self.xf = open(os.path.join(out_dir, "municipality.xml"), "w", encoding="utf-8",
                       newline="\n", buffering=1 << 20) if self.xml else None
        if self.xf:
            self.xf.write(XML_HEAD)
        if shuffle:
            self.tmp = tempfile.mkdtemp(prefix=".shuffle-", dir=out_dir)
            self.nb = max(1, expected_events // 250000 + 1)
            self.buckets = [open(os.path.join(self.tmp, "b%04d" % i), "w", encoding="utf-8",
                                 newline="\n", buffering=1 << 18) for i in range(self.nb)]
            self.brng = random.Random(seed * 104729 + 3)

    def __call__(self, eid, source, kind, tstr, payload, ctype):
        fields = to_record(kind, payload)
        extra = CTYPE if ctype else None
        j = render_json(eid, source, kind, tstr, fields, extra) if self.json else ""
        x = render_xml(eid, source, kind, tstr, fields) if self.xml else ""
        self.n += 1
        if self.shuffle:
            self.buckets[self.brng.randrange(self.nb)].write(j.rstrip("\n") + "\x1f" + x)
        else:
            if self.json:
                self.jf.write(j)
            if self.xml:
                self.xf.write(x)

    def close(self):
        if self.shuffle:
            for b in self.buckets:
                b.close()
            srng = random.Random(self.seed * 104729 + 5)
            for i in range(self.nb):
                path = os.path.join(self.tmp, "b%04d" % i)
                with open(path, encoding="utf-8", newline="\n") as fh:
                    lines = fh.readlines()
                srng.shuffle(lines)
                for line in lines:
                    j, x = line.split("\x1f", 1)
                    if self.json:
                        self.jf.write(j + "\n")
                    if self.xml:
                        self.xf.write(x)
                os.unlink(path)
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.xf:
            self.xf.write(XML_TAIL)
            self.xf.close()
        if self.jf:
            self.jf.close()


# ----------------------------------------------------------------------------------------------
# Capacities: the expected arrivals per party from a pilot of case plans


def calibrate(parties, by_role, cases, start, end, seed):
    rng = random.Random(seed * 31 + 17)
    n = min(cases, 5000)
    role_counts = {}
    steps_total = 0
    for _ in range(n):
        _, scores = score_case(rng)
        for s in plan_case(rng, scores):
            role_counts[s[0]] = role_counts.get(s[0], 0) + 1
            steps_total += 1
    weeks = (end - start) / WEEK
    per_week = cases / weeks
    for role, ps in by_role.items():
        rate = per_week * role_counts.get(role, 0) / n * 1.08  # re-referrals, returns
        if role in ("wmo-team", "jeugd-team"):
            shares = [1.0 / len(ps)] * len(ps)
        else:
            tot = sum(p.weight for p in ps)
            shares = [p.weight / tot for p in ps]
        for p, sh in zip(ps, shares):
            p.exp_week = rate * sh
    return steps_total / n


def set_capacities(parties, rng):
    for p in parties:
        if p.role == "km":
            p.cap = int(15 + rng.random() * 20)
        elif p.role == "huisarts":
            p.cap = None  # not a receiver: optional field left out
        elif p.planted:
            p.cap = max(2, int(round(p.exp_week * p.planted["cap_headroom"])))
        else:
            p.cap = max(1, int(math.ceil(p.exp_week * (1.5 + rng.random() * 0.8))))
            # small practices have no waiting list to speak of; large ones take their time
            p.delay_f = min(1.0, max(0.1, p.exp_week / 3.0))
        if p.cap is not None and p.role != "km" and not p.planted and rng.random() < 0.04:
            p.cap = None  # a few parties do not publish a capacity (then: unlimited)


# ----------------------------------------------------------------------------------------------
# The invalid sample


def invalid_records(seed, end, parties_by_id):
    """Valid events interleaved with planted bad ones. Returns (records, notes); a record is
    (id, source, type or None, time or None, fields, element override, note or None, json_extra)."""
    rng = random.Random(seed * 13 + 11)
    used = set()
    good_bsn = make_bsn(rng, used)
    good_bsn2 = make_bsn(rng, used)
    bad_bsn = good_bsn[:8] + str((int(good_bsn[8]) + 1) % 10)  # last digit off by one
    bad_bsn2 = "999999999" if not elfproef_ok("999999999") else "123456780"
    assert not elfproef_ok(bad_bsn) and not elfproef_ok(bad_bsn2)
    g = "urn:nl:gemeente:%s:" % GEMEENTE_CODE
    km, wmo, ggz, sh = (g + "participatie", g + "wmo", "urn:nl:ggz:ggz-invalid-test",
                        g + "schuldhulp")
    reg = g + "partijregister"
    base = end - 60 * DAY
    T = lambda d, h=10: fmt_time(base + int(d * DAY) + h * 3600 - 3600, False)
    recs = []

    def add(eid, src, typ, t, fields, note=None, element=None):
        # Own id space, so the invalid file can be ingested into the same state as the main sample
        # without its events colliding with the sample's e-1, e-2, ...
        if not eid.startswith("inv-"):
            eid = "inv-" + eid
        recs.append((eid, src, typ, t, fields, element, note))

    add("inv-1", reg, "party.registered", T(0), [("party", "km-inv-noord"), ("name", "Klantmanagers Test Noord"), ("domain", "participatie"), ("capacityPerWeek", 10)])
    add("inv-2", reg, "party.registered", T(0), [("party", "ggz-invalid-test"), ("name", "Testkliniek GGZ & Co <fictief>"), ("domain", "ggz"), ("capacityPerWeek", 4), ("normDays", 98), ("regieEligible", False)])
    add("inv-3", reg, "party.registered", T(0), [("party", "wmo-inv-team"), ("name", "Wijkteam \"Test\""), ("domain", "wmo"), ("capacityPerWeek", 6)])
    add("inv-4", reg, "party.registered", T(0), [("party", "schuldhulp-inv"), ("name", "Schuldhulp Test"), ("domain", "schuldhulp"), ("capacityPerWeek", 5)])
    add("e-1", km, "case.assessed", T(1), [("case", "c-inv-001"), ("zrm", (("financien", 1), ("geestelijke-gezondheid", 2), ("werk-opleiding", 2)))])
    add("e-2", km, "case.assessed", T(1, 11), [("bsn", good_bsn), ("zrm", (("financien", 2), ("huisvesting", 3)))])
    add("e-3", km, "case.assessed", T(1, 12), [("bsn", bad_bsn), ("zrm", (("financien", 2),))],
        "BAD: bsn fails the elfproef (last digit altered)")
    add("e-4", km, "referral.created", T(2), [("referral", "r-inv-1"), ("case", "c-inv-001"), ("from", "km-inv-noord"), ("to", "ggz-invalid-test"), ("urgency", "regulier"), ("lifeDomain", "geestelijke-gezondheid")])
    add("e-5", km, "referral.created", T(2, 11), [("referral", "r-inv-2"), ("bsn", bad_bsn2), ("from", "km-inv-noord"), ("to", "schuldhulp-inv")],
        "BAD: bsn %s fails the elfproef" % bad_bsn2)
    add("e-6", km, "referral.created", T(2, 12), [("referral", "r-inv-3"), ("bsn", good_bsn), ("from", "km-inv-noord"), ("to", "schuldhulp-inv"), ("urgency", "urgent"), ("lifeDomain", "financien")])
    add("e-1", ggz, "referral.accepted", T(3), [("referral", "r-inv-1")])
    add("e-2", ggz, "referral.started", T(9), [("referral", "r-inv-1")])
    add("e-7", km, "referral.created", "2027-06-31T10:00:00+02:00", [("referral", "r-inv-4"), ("case", "c-inv-002"), ("from", "km-inv-noord"), ("to", "wmo-inv-team")],
        "BAD: impossible date 2027-06-31")
    add("e-8", km, "referral.created", T(4), [("referral", "r-inv-5"), ("case", "c-inv-002"), ("from", "km-inv-noord"), ("to", "km-inv-noord"), ("lifeDomain", "werk-opleiding")],
        "BAD: self-referral (from = to)")
    add("e-9", km, "referral.created", T(4, 11), [("referral", "r-inv-6"), ("case", "c-inv-002"), ("from", "km-inv-noord"), ("to", "wmo-inv-team"), ("urgency", "regulier"), ("lifeDomain", "instrumentele-adl")])
    add("e-10", km, "referral.transferred", T(4, 12), [("referral", "r-inv-6"), ("to", "ggz-invalid-test")],
        "BAD: unknown event type nl.ketenzicht.referral.transferred (XML: element <transferred>)",
        element="transferred")
    add("e-11", km, "referral.created", T(5), [("referral", "r-inv-7"), ("case", "c-inv-003"), ("from", "km-inv-noord"), ("lifeDomain", "financien")],
        "BAD: missing field `to`")
    add("e-1", wmo, "referral.accepted", T(5, 11), [("referral", "r-inv-6")])
    add("e-2", wmo, "referral.completed", T(6), [("referral", "r-inv-6"), ("outcome", "doel bereikt")],
        "BAD: completed before started (r-inv-6 is started only later, at e-3)")
    add("e-3", wmo, "referral.started", T(8), [("referral", "r-inv-6")])
    add("e-1", sh, "referral.accepted", T(3, 14), [("referral", "r-inv-3")])
    add("e-2", sh, "referral.rejected", T(7), [("referral", "r-inv-3"), ("reason", "Valt buiten de doelgroep & \"wachtlijst\" <vol>")])
    add("e-3", sh, "referral.started", T(12), [("referral", "r-inv-3")],
        "BAD: event after rejected (r-inv-3 was rejected at e-2)")
    add("e-12", km, "referral.created", T(10), [("referral", "r-inv-8"), ("case", "c-inv-001"), ("from", "km-inv-noord"), ("to", "schuldhulp-inv"), ("urgency", "regulier"), ("lifeDomain", "financien")])
    add("e-12", km, "referral.created", T(10), [("referral", "r-inv-8"), ("case", "c-inv-001"), ("from", "km-inv-noord"), ("to", "wmo-inv-team"), ("urgency", "regulier"), ("lifeDomain", "financien")],
        "BAD: conflicting duplicate (same source+id as the previous event, different `to`)")
    add("e-4", sh, "referral.accepted", T(11), [("referral", "r-inv-8")])
    add("e-4", sh, "referral.accepted", T(11), [("referral", "r-inv-8")],
        "DUPLICATE: exact copy of the previous event (counted as duplicate, not an error)")
    add("e-5", sh, "referral.started", T(10, 9), [("referral", "r-inv-8")],
        "BAD: started before the referral was created (r-inv-8 created at e-12)")
    add("e-6", sh, "referral.started", T(12), [("referral", "r-inv-8")])
    add("e-13", km, "regie.assigned", T(12), [("case", "c-inv-001"), ("party", "km-inv-noord")])
    add("e-3", ggz, "referral.created", T(13), [("referral", "r-inv-9"), ("case", "c-inv-001"), ("from", "ggz-invalid-test"), ("to", "km-inv-noord"), ("urgency", "crisis"), ("lifeDomain", "financien"), ("dependsOn", ["r-inv-8"])])
    add("e-4", ggz, "referral.accepted", T(13, 14), [("referral", "r-inv-9")])
    add("e-14", km, "referral.started", T(14), [("referral", "r-inv-9")])
    add("e-15", km, "case.assessed", T(15), [("case", "c-inv-001"), ("zrm", (("financien", 7),))],
        "BAD: ZRM score 7 outside 1..5")
    add("e-16", km, "referral.created", T(16), [("referral", "r-inv-10"), ("case", "c-inv-004"), ("from", "km-inv-noord"), ("to", "ggz-invalid-test"), ("urgency", "spoed")],
        "BAD: urgency must be regulier, urgent or crisis")
    add("e-5", ggz, "referral.accepted", T(17), [("referral", "r-inv-1")],
        "BAD: out of lifecycle order: accepted after started (r-inv-1 started at ggz e-2)")
    add("e-17", km, "referral.created", T(18), [("referral", "r-inv-11"), ("case", "c-inv-004"), ("from", "km-inv-noord"), ("to", "wmo-inv-team"), ("urgency", "regulier"), ("lifeDomain", "sociaal-netwerk")])
    add("e-4", wmo, "referral.withdrawn", T(20), [("referral", "r-inv-11"), ("reason", "Cliënt ziet af van hulp")])
    add("e-5", wmo, "referral.completed", T(25), [("referral", "r-inv-11")],
        "BAD: event after withdrawn (r-inv-11 was withdrawn at e-4)")
    add("e-6", wmo, "referral.completed", T(30), [("referral", "r-inv-6"), ("outcome", "afgesloten")])
    return recs


def write_invalid(out_dir, seed, end, fmt):
    recs = invalid_records(seed, end, None)
    if fmt in ("json", "both"):
        with open(os.path.join(out_dir, "municipality-invalid.ndjson"), "w", encoding="utf-8",
                  newline="\n") as fh:
            for eid, src, typ, t, fields, element, note in recs:
                fh.write(render_json(eid, src, typ, t, fields))
    if fmt in ("xml", "both"):
        with open(os.path.join(out_dir, "municipality-invalid.xml"), "w", encoding="utf-8",
                  newline="\n") as fh:
            fh.write(XML_HEAD)
            for eid, src, typ, t, fields, element, note in recs:
                if note:
                    fh.write("  <!-- %s -->\n" % note.replace("--", "- -"))
                fh.write(render_xml(eid, src, typ, t, fields, element=element))
            fh.write(XML_TAIL)
    return recs


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--parties", type=int, default=300)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--referrals", type=int, default=None,
                    help="target number of referrals; drives the number of cases (approximate)")
    ap.add_argument("--end", default="2026-11-01",
                    help="last day (YYYY-MM-DD); every event is <= this date 00:00 Amsterdam = asOf")
    ap.add_argument("--days", type=int, default=730, help="length of the simulated period")
    ap.add_argument("--format", choices=("json", "xml", "both"), default="both")
    ap.add_argument("--shuffle", action="store_true",
                    help="emit events in a seeded random order instead of time order")
    ap.add_argument("--out", default="samples/")
    ap.add_argument("--surge-days", type=int, default=180,
                    help="how long before --end the planted bottlenecks start to overflow")
    ap.add_argument("--regie-rate", type=float, default=0.006)
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    t_begin = _time.time()
    os.makedirs(args.out, exist_ok=True)
    end_day = parse_day(args.end)
    end = end_day - utc_offset(end_day)  # midnight Amsterdam time at the start of --end
    start = end - args.days * DAY

    cat_rng = random.Random(args.seed * 1000003 + 7)
    parties, by_role = build_parties(args.parties, cat_rng)
    # plant the bottlenecks: the largest GGZ party and the gemeentelijke kredietbank
    ggz_big = by_role["ggz"][0]
    ggz_big.weight = sum(p.weight for p in by_role["ggz"][1:]) * 0.45
    ggz_big.planted = {"share_post": 0.7, "cap_headroom": 1.05, "cap_factor": 0.3}
    sh_big = by_role["schuldhulp"][0]
    sh_big.weight = sum(p.weight for p in by_role["schuldhulp"][1:]) * 0.8
    sh_big.planted = {"share_post": 0.75, "cap_headroom": 1.05, "cap_factor": 0.4}
    # late registrations: a few mid-sized receivers
    cands = [p for p in parties if p.role in ("wmo-prov", "jeugd-prov", "welzijn", "overig", "bewind")
             and not p.planted]
    cat_rng.shuffle(cands)
    for p in cands[:max(3, args.parties // 60)]:
        p.late = True

    cases = args.cases
    per_case = calibrate(parties, by_role, max(cases, 1000), start, end, args.seed)
    if args.referrals:
        cases = max(100, int(round(args.referrals / (per_case * 0.99))))
        calibrate(parties, by_role, cases, start, end, args.seed)
    else:
        calibrate(parties, by_role, cases, start, end, args.seed)
    set_capacities(parties, cat_rng)

    tally = Tally(end, parties)
    expected_events = int(cases * per_case * 4.6)
    writers = Writers(args.out, args.format, args.shuffle, args.seed, expected_events)
    sim = Sim(args, parties, by_role, cases, start, end, writers, tally)
    sim.run()
    writers.close()
    recs = write_invalid(args.out, args.seed, end, args.format)
    elapsed = _time.time() - t_begin

    rows = tally.ranking()
    ranking_text = format_ranking(rows)
    counts = tally.type_counts
    n_events = sum(counts.values())
    late = [p.id for p in parties if p.late]
    report = []
    report.append("Generated %d events (%d referrals, %d cases, %d parties) in %.1f s"
                  % (n_events, counts.get("referral.created", 0), sim.case_n, len(parties), elapsed))
    for k in sorted(counts):
        report.append("  %-30s %9d" % (TYPE_PREFIX + k, counts[k]))
    report.append("Planted: ping-pong returns %d, drop-flagged referrals %d, regie.assigned %d, "
                  "late party.registered %d (%s), BSN cases %d"
                  % (sim.planted["pingpong_returns"], sim.planted["drops"], sim.planted["regie"],
                     len(late), ", ".join(late), sim.planted["bsn_cases"]))
    report.append("Bottleneck ranking at asOf = %s (window %d days):"
                  % (fmt_time(end, True), WINDOW_DAYS))
    report.append(ranking_text)
    top2 = {r["party"] for r in rows[:2]}
    ok = top2 == {ggz_big.id, sh_big.id}
    report.append("Planted bottlenecks %s and %s are the top two: %s"
                  % (ggz_big.id, sh_big.id, "YES" if ok else "NO"))
    if not args.quiet:
        print("\n".join(report))
    if not args.no_readme:
        write_readme(args, argv, parties, by_role, counts, rows, ranking_text, sim, late, recs,
                     ggz_big, sh_big, end, start, n_events)
    return 0 if ok else 2


def write_readme(args, argv, parties, by_role, counts, rows, ranking_text, sim, late, recs,
                 ggz_big, sh_big, end, start, n_events):
    cmd = "python3 scripts/generate_municipality.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    sizes = []
    for name in ("municipality.ndjson", "municipality.xml", "municipality-invalid.ndjson",
                 "municipality-invalid.xml"):
        path = os.path.join(args.out, name)
        if os.path.exists(path):
            sizes.append("| `%s` | %d bytes |" % (name, os.path.getsize(path)))
    dom_counts = {}
    for p in parties:
        dom_counts[p.domain] = dom_counts.get(p.domain, 0) + 1
    L = []
    L.append("# Synthetic municipality sample (fictional gemeente %s)\n" % GEMEENTE_NAME)
    L.append("Generated by `scripts/generate_municipality.py` (Python 3.11, standard library only). "
             "Everything here is fictional: party names are invented, case ids are pseudonymous "
             "(`c-000123`), and the BSNs (about 5% of the cases carry `bsn` instead of `case` in "
             "all their events) are random numbers in the 999xxxxxx test range that pass the "
             "elfproef.\n")
    L.append("Regenerate (byte-identical for the same arguments):\n")
    L.append("```\n%s\npython3 scripts/check_sample.py %s --end %s\n```\n" % (cmd, args.out, args.end))
    L.append("- seed: %d; period: %s .. %s (%d days); asOf for the analyses = `--end` = %s"
             % (args.seed, fmt_time(start, False), fmt_time(end, False), args.days,
                fmt_time(end, False)))
    L.append("- order: %s" % ("seeded random order (`--shuffle`)" if args.shuffle else
                             "time order (ties broken by generation order)"))
    L.append("- %d events; per type:\n" % n_events)
    L.append("| type | events |\n|---|---|")
    for k in sorted(counts):
        L.append("| `%s%s` | %d |" % (TYPE_PREFIX, k, counts[k]))
    L.append("\n| file | size |\n|---|---|")
    L.extend(sizes)
    L.append("\n`municipality.ndjson` (CloudEvents 1.0 NDJSON, SPEC §2.1) and `municipality.xml` "
             "(canonical exchange document, SPEC §2.2) hold the same events in the same order; "
             "`scripts/check_sample.py` verifies that.\n")
    L.append("## Parties (%d)\n" % len(parties))
    L.append("| domain | parties |\n|---|---|")
    for d in sorted(dom_counts):
        L.append("| %s | %d |" % (d, dom_counts[d]))
    L.append("""
Klantmanager teams per wijk (`km-participatie-<wijk>`, plus jongeren and statushouders) only send;
a sociaal wijkteam (`wmo-wijkteam-<wijk>`) and an ouder- en kindteam (`jeugd-okt-<wijk>`) per wijk
receive and refer on to providers. Huisartsen only send (no capacity published). Receivers publish
a `capacityPerWeek` (about 1.5-2.3x their expected arrivals, a few publish none); Wmo/Jeugd
providers carry `regieEligible: false`; two bewindvoerders carry `normDays: 150`. Sources:
gemeente teams use `urn:nl:gemeente:0363:<domain>`, other parties `urn:nl:<domain>:<party id>`,
party registrations `urn:nl:gemeente:0363:partijregister`, manual regie `urn:nl:gemeente:0363:mdt`.
Event ids are `e-<n>`, counted per source (so identity really is source + id). Times are RFC 3339,
office hours Europe/Amsterdam with `+01:00`/`+02:00`, or `Z` for about 30% of the non-gemeente
sources; about a quarter of those sources also send `datacontenttype: application/json`.

## How the timeline is made

Cases arrive uniformly over the period. Each gets a ZRM assessment (5-13 of the life domains,
scores 1-5; 20% a re-assessment 100-300 days later) and a referral plan from its low scores
(life domain -> party domain as in DOMAIN.md): schulden -> schuldhulp (with bewindvoering first and
`dependsOn` when severe), psychisch -> GGZ (via the klantmanager, the wijkteam or the huisarts),
middelen -> verslavingszorg (often from the GGZ), ADL/gezondheid -> wijkteam -> Wmo-aanbieder,
relaties -> ouder- en kindteam -> jeugdhulp, huisvesting -> woningcorporatie, netwerk -> welzijn,
justitie -> reclassering, werk -> re-integratie/UWV. Some cases enter elsewhere: huisarts -> GGZ,
woningcorporatie -> schuldhulp (vroegsignalering), UWV or reclassering -> Werkplein intake.
Urgency: mostly `regulier`, some `urgent`, about 1% `crisis`. A referral is created ->
accepted -> started -> completed; each receiving party is a FIFO queue starting at most
`capacityPerWeek` per week after an administrative delay typical of its domain (urgent and crisis
referrals jump the queue). About 7% are rejected (70% of those re-referred within 9 days), some are
withdrawn before or after the start. Follow-up referrals from a party are created after its own
referral started. Events after `--end` are not written.
""")
    L.append("## Planted\n")
    L.append("- **Bottlenecks**: `%s` (ggz, %s) and `%s` (schuldhulp, %s) get %d%% and %d%% of "
             "their pool's referrals from %d days before `--end` on (before: a large share) while "
             "their effective capacity drops to %d%% and %d%% of the published `capacityPerWeek` "
             "(vacancies). At asOf = `--end` they are the top two by `bottleneckScore`."
             % (ggz_big.id, ggz_big.name, sh_big.id, sh_big.name,
                ggz_big.planted["share_post"] * 100, sh_big.planted["share_post"] * 100,
                args.surge_days, ggz_big.planted["cap_factor"] * 100,
                sh_big.planted["cap_factor"] * 100))
    L.append("- **Ping-pong** (van het kastje naar de muur): %d returns planted: a wijkteam refers "
             "to the GGZ, the GGZ rejects (\"eerst stabilisatie via het wijkteam\") and refers the "
             "case back; after the wijkteam started, it refers to the GGZ again (often the same "
             "one). Likewise GGZ <-> verslavingszorg (dubbele diagnose)." % sim.planted["pingpong_returns"])
    L.append("- **Drops** (tussen wal en schip): %d referrals flagged to be rejected or withdrawn "
             "without any follow-up; natural drops (rejections not re-referred, withdrawals) come "
             "on top." % sim.planted["drops"])
    L.append("- **Manual regie**: %d `regie.assigned` events (source `urn:nl:gemeente:0363:mdt`), "
             "naming an involved regie-eligible party, mostly not the klantmanager."
             % sim.planted["regie"])
    L.append("- **Late registrations**: %s are registered only after their first referral "
             "(SPEC §3: until then the daemon sees an unknown party, auto-registered as `overig` "
             "with a warning)."
             % ", ".join("`%s`" % x for x in late))
    L.append("- **dependsOn**: schuldhulp referrals that depend on a bewindvoering referral having "
             "started; their start is never before it.\n")
    L.append("## Expected bottleneck ranking\n")
    L.append("At asOf = `%s`, window 84 days, with the SPEC §5 formulas "
             "(`expectedWaitDays = backlog / startsPerWeek * 7`, score = expectedWaitDays / "
             "normDays; norms: the party's own, else the domain default):\n" % fmt_time(end, True))
    L.append("```\n" + ranking_text + "\n```\n")
    L.append("`scripts/check_sample.py` recomputes this ranking from the NDJSON file, plus the "
             "ping-pong returns and drops of the window.\n")
    L.append("## municipality-invalid.{ndjson,xml}\n")
    L.append("%d events; the same in both files (the XML marks each bad event with a comment). "
             "Expected: the valid ones are accepted, the exact duplicate is counted as a "
             "duplicate, every event below marked BAD is rejected with an error naming it. The "
             "XML file is deliberately not schema-valid (unknown element, missing attribute, "
             "impossible date).\n" % len(recs))
    L.append("| source | id | planted |\n|---|---|---|")
    for eid, src, typ, t, fields, element, note in recs:
        if note:
            L.append("| `%s` | `%s` | %s |" % (src, eid, note.replace("|", "/")))
    L.append("")
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
