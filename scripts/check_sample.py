#!/usr/bin/env python3
"""Self-check for the output of generate_municipality.py (standard library only).

  python3 scripts/check_sample.py samples/ [--end 2026-11-01]

1. Parses <dir>/municipality.ndjson (CloudEvents) and <dir>/municipality.xml (canonical exchange
   XML, streaming) and verifies that, after normalising, they hold the same events in the same
   order. The same for the -invalid pair.
2. Checks the main sample for things the daemon would reject: duplicate (source, id), times after
   asOf, impossible times, BSNs failing the elfproef, self-referrals, status events before their
   referral or out of lifecycle order, events after rejected/withdrawn, dangling dependsOn.
3. Recomputes the SPEC §5 bottleneck ranking, ping-pong returns and drops at asOf = --end.
Exit status 0 when everything holds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

NS = "{urn:ketenzicht:exchange:1}"
DAY = 86400
ELEMENT_TYPE = {
    "party": "party.registered", "assessment": "case.assessed", "referral": "referral.created",
    "accepted": "referral.accepted", "started": "referral.started",
    "completed": "referral.completed", "rejected": "referral.rejected",
    "withdrawn": "referral.withdrawn", "regie": "regie.assigned",
}
NUMERIC = {"capacityPerWeek", "normDays"}
NORMS = {"participatie": 28, "wmo": 42, "jeugd": 56, "ggz": 98, "schuldhulp": 28,
         "woningbouw": 56, "uwv": 56, "bewindvoering": 120, "huisarts": 56,
         "verslavingszorg": 56, "welzijn": 56, "reclassering": 56, "overig": 56}
CRISIS_NORM = 3


def parse_time(text):
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return ("unparseable", text)
    if dt.tzinfo is None:
        return ("no-offset", text)
    return dt.timestamp()


def norm_value(key, value):
    if key == "zrm":
        return tuple(sorted((k, int(v)) for k, v in value.items()))
    if key == "dependsOn":
        return tuple(value)
    if key in NUMERIC:
        return float(value)
    if key == "regieEligible":
        return value if isinstance(value, bool) else value == "true"
    return value


def read_json(path):
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            ev = json.loads(line)
            typ = ev.get("type", "")
            typ = typ[len("nl.ketenzicht."):] if typ.startswith("nl.ketenzicht.") else typ
            data = tuple(sorted((k, norm_value(k, v)) for k, v in ev["data"].items()))
            yield (ev["source"], ev["id"], typ, parse_time(ev.get("time")), data)


def read_xml(path):
    depth = 0
    for event, el in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth != 1:
            continue
        tag = el.tag[len(NS):] if el.tag.startswith(NS) else el.tag
        typ = ELEMENT_TYPE.get(tag, "referral." + tag)
        data = {k: v for k, v in el.attrib.items() if k not in ("id", "source", "time")}
        scores, deps = {}, []
        for child in el:
            ctag = child.tag[len(NS):]
            if ctag == "score":
                scores[child.get("domain")] = int(child.get("value"))
            elif ctag == "dependsOn":
                deps.append(child.get("ref"))
            else:
                data[ctag] = child.text or ""
        if scores:
            data["zrm"] = scores
        if deps:
            data["dependsOn"] = deps
        norm = tuple(sorted((k, norm_value(k, v)) for k, v in data.items()))
        yield (el.get("source"), el.get("id"), typ, parse_time(el.get("time")), norm)
        el.clear()


def compare(json_path, xml_path):
    n = 0
    problems = []
    for a, b in zip_longest(read_json(json_path), read_xml(xml_path)):
        n += 1
        if a != b:
            problems.append("event #%d differs:\n  json %r\n  xml  %r" % (n, a, b))
            if len(problems) > 5:
                break
    return n, problems


def zip_longest(a, b):
    sentinel = object()
    ia, ib = iter(a), iter(b)
    while True:
        x, y = next(ia, sentinel), next(ib, sentinel)
        if x is sentinel and y is sentinel:
            return
        yield (None if x is sentinel else x), (None if y is sentinel else y)


def elfproef(bsn):
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    s = sum(int(bsn[i]) * (9 - i) for i in range(8)) - int(bsn[8])
    return s % 11 == 0 and s != 0


def analyse(json_path, as_of, window_days=84):
    errors = []
    seen = set()
    counts = {}
    parties = {}
    refs = {}  # ref -> dict
    events = []
    for src, eid, typ, t, data in read_json(json_path):
        counts[typ] = counts.get(typ, 0) + 1
        d = dict(data)
        if (src, eid) in seen:
            errors.append("duplicate identity %s %s" % (src, eid))
        seen.add((src, eid))
        if not isinstance(t, float):
            errors.append("%s %s: bad time %r" % (src, eid, t))
            continue
        if t > as_of:
            errors.append("%s %s: time after asOf" % (src, eid))
        if "bsn" in d and not elfproef(d["bsn"]):
            errors.append("%s %s: bsn fails elfproef" % (src, eid))
        events.append((t, typ, d, src, eid))
    events.sort(key=lambda e: e[0])
    for t, typ, d, src, eid in events:
        if typ == "party.registered":
            parties[d["party"]] = d
        elif typ == "referral.created":
            if d["from"] == d["to"]:
                errors.append("%s: self-referral" % eid)
            for dep in d.get("dependsOn", ()):
                if dep not in refs:
                    errors.append("%s: dependsOn %s not created before" % (d["referral"], dep))
            case = d.get("case") or "bsn:" + d["bsn"]
            refs[d["referral"]] = {"case": case, "from": d["from"], "to": d["to"], "created": t,
                                   "urgency": d.get("urgency"), "state": "created",
                                   "started": None, "closed": None, "deps": d.get("dependsOn", ())}
        elif typ.startswith("referral."):
            r = refs.get(d["referral"])
            step = typ.split(".")[1]
            if r is None:
                errors.append("%s: status %s before its referral" % (d["referral"], step))
                continue
            if t <= r["created"]:
                errors.append("%s: %s not after creation" % (d["referral"], step))
            order = {"created": 0, "accepted": 1, "started": 2}
            if r["state"] in ("completed", "rejected", "withdrawn"):
                errors.append("%s: %s after %s" % (d["referral"], step, r["state"]))
            elif step in ("accepted", "started") and order[step] <= order[r["state"]]:
                errors.append("%s: %s after %s" % (d["referral"], step, r["state"]))
            elif step == "completed" and r["state"] != "started":
                errors.append("%s: completed while %s" % (d["referral"], r["state"]))
            r["state"] = step
            if step == "started":
                r["started"] = t
                for dep in r["deps"]:
                    q = refs[dep]
                    if q["state"] not in ("rejected", "withdrawn") and (q["started"] is None or q["started"] > t):
                        errors.append("%s started before its prerequisite %s" % (d["referral"], dep))
            if step in ("rejected", "withdrawn"):
                r["closed"] = t
    for r in refs.values():
        for p in (r["from"], r["to"]):
            if p not in parties:
                errors.append("party %s never registered" % p)
                parties[p] = {"domain": "overig"}
    return errors, counts, parties, refs


def ranking(parties, refs, as_of, window_days=84):
    ws = as_of - window_days * DAY
    weeks = window_days / 7
    stat = {}
    for ref, r in refs.items():
        to = r["to"]
        s = stat.setdefault(to, {"arr": 0, "starts": 0, "backlog": 0, "waits": [], "over": 0})
        p = parties[to]
        norm = p.get("normDays") or NORMS[p["domain"]]
        rnorm = CRISIS_NORM if r["urgency"] == "crisis" else norm
        if ws < r["created"] <= as_of:
            s["arr"] += 1
        if r["started"] is not None:
            if ws < r["started"] <= as_of:
                s["starts"] += 1
                w = (r["started"] - r["created"]) / DAY
                s["waits"].append(w)
                if w > rnorm:
                    s["over"] += 1
        elif r["closed"] is None:
            s["backlog"] += 1
            if (as_of - r["created"]) / DAY > rnorm:
                s["over"] += 1
    rows = []
    for pid, s in stat.items():
        if s["arr"] == 0 and s["backlog"] == 0:
            continue
        p = parties[pid]
        norm = p.get("normDays") or NORMS[p["domain"]]
        spw = s["starts"] / weeks
        ew = 0.0 if s["backlog"] == 0 else (math.inf if spw == 0 else s["backlog"] / spw * 7)
        rows.append((-(ew / norm), -s["backlog"], pid, ew, norm, s))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


def pingpong_and_drops(refs, as_of, window_days=84):
    ws = as_of - window_days * DAY
    by_case = {}
    for ref, r in refs.items():
        by_case.setdefault(r["case"], []).append(r)
    returns, pairs, drops = 0, {}, 0
    for case, rs in by_case.items():
        rs.sort(key=lambda r: r["created"])
        for k, r in enumerate(rs):
            for q in rs[:k]:
                if (q["created"] < r["created"] <= q["created"] + 90 * DAY
                        and q["from"] == r["to"] and q["to"] == r["from"]):
                    if ws < r["created"] <= as_of:
                        returns += 1
                        pair = tuple(sorted((r["from"], r["to"])))
                        pairs[pair] = pairs.get(pair, 0) + 1
                    break
        for r in rs:
            t = r["closed"]
            if t is None or not (ws < t <= as_of) or t + 14 * DAY > as_of:
                continue
            if not any(t < o["created"] <= t + 14 * DAY for o in rs):
                drops += 1
    return returns, pairs, drops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="samples")
    ap.add_argument("--end", default="2026-11-01")
    args = ap.parse_args()
    ok = True
    for stem in ("municipality", "municipality-invalid"):
        jp = os.path.join(args.dir, stem + ".ndjson")
        xp = os.path.join(args.dir, stem + ".xml")
        if not (os.path.exists(jp) and os.path.exists(xp)):
            print("%s: JSON/XML pair not both present, not compared" % stem)
            continue
        n, problems = compare(jp, xp)
        print("%s: %d events, JSON and XML %s" % (stem, n, "identical after normalising"
                                                     if not problems else "DIFFER"))
        for p in problems:
            print(p)
        ok &= not problems
    jp = os.path.join(args.dir, "municipality.ndjson")
    if not os.path.exists(jp):
        return 0 if ok else 1
    # asOf: midnight Europe/Amsterdam at the start of --end
    y, m, d = (int(x) for x in args.end.split("-"))
    midnight_utc = datetime(y, m, d, tzinfo=timezone.utc).timestamp()
    last_oct_sunday = max(day for day in range(25, 32)
                          if datetime(y, 10, day).weekday() == 6)
    last_mar_sunday = max(day for day in range(25, 32)
                          if datetime(y, 3, day).weekday() == 6)
    summer = datetime(y, 3, last_mar_sunday, 1, tzinfo=timezone.utc).timestamp() <= midnight_utc - 7200 < datetime(y, 10, last_oct_sunday, 1, tzinfo=timezone.utc).timestamp()
    as_of = midnight_utc - (7200 if summer else 3600)
    errors, counts, parties, refs = analyse(jp, as_of)
    print("main sample per type: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    print("consistency errors: %d" % len(errors))
    for e in errors[:20]:
        print("  " + e)
    ok &= not errors
    rows = ranking(parties, refs, as_of)
    print("bottleneck ranking at asOf %s (top 10):"
          % datetime.fromtimestamp(as_of, timezone.utc).isoformat())
    for k, (negscore, negb, pid, ew, norm, s) in enumerate(rows[:10], 1):
        print("  %2d %-38s score %-8s expectedWaitDays %-9s backlog %4d startsPerWeek %.2f norm %d"
              % (k, pid, "Infinity" if ew == math.inf else "%.2f" % (ew / norm),
                 "Infinity" if ew == math.inf else "%.1f" % ew, s["backlog"], s["starts"] / 12, norm))
    returns, pairs, drops = pingpong_and_drops(refs, as_of)
    print("ping-pong returns in window: %d over %d party pairs; top pairs: %s"
          % (returns, len(pairs), ", ".join("%s<->%s %d" % (a, b, n) for (a, b), n in
                                            sorted(pairs.items(), key=lambda kv: -kv[1])[:3])))
    print("dropped in window: %d" % drops)
    print("RESULT: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
