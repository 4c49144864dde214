#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/ (and the small model fuzz-rpc-dispatch answers from,
Fuzz/Model/) from the samples, the iStandaarden test fixtures and a few hand-written edge cases. Run it again after the samples change; the seeds are committed, and
run.sh never writes into Corpus/ (it fuzzes a copy in /tmp)."""
import json
import os
import re
import shutil

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
corpus = os.path.join(here, "Corpus")


def reset(target):
    path = os.path.join(corpus, target)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(directory, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)


# CloudEvents: one line of each event type, bsn and dependsOn variants, a short NDJSON slice, a
# batch array, refused lines from the invalid sample, and hand-written syntax edge cases.
def cloudevents():
    out = reset("fuzz-cloudevents")
    with open(os.path.join(root, "samples/municipality.ndjson"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    seen = set()
    for line in lines:
        kind = json.loads(line)["type"].rsplit(".", 2)[-2:]
        name = "-".join(kind)
        if name not in seen:
            seen.add(name)
            write(out, f"type-{name}.ndjson", line + "\n")
    write(out, "bsn.ndjson", next(l for l in lines if '"bsn"' in l) + "\n")
    write(out, "dependson.ndjson", next(l for l in lines if '"dependsOn"' in l) + "\n")
    write(out, "slice-6-lines.ndjson", "\n".join(lines[200:206]) + "\n")
    events = [json.loads(l) for l in lines[300:303]]
    write(out, "batch-pretty.json", json.dumps(events, indent=2, ensure_ascii=False))
    write(out, "batch-compact.json", json.dumps(events[:2], separators=(",", ":")))
    with open(os.path.join(root, "samples/municipality-invalid.ndjson"), encoding="utf-8") as f:
        invalid = f.read().splitlines()
    for index, line in enumerate(invalid[4:40:3]):
        write(out, f"invalid-{index:02}.ndjson", line + "\n")
    base = json.loads(lines[0])
    line = json.dumps(base, separators=(",", ":"))
    escaped = line.replace('"data"', '"\\u0064ata"').replace('"party"', '"p\\u0061rty"')
    write(out, "escaped-keys.ndjson", escaped + "\n")
    write(out, "unicode-name.ndjson", line.replace("Ouder- en Kindteam", "\\ud83d\\ude00 Zo\u00eb \u2028") + "\n")
    write(out, "bom-crlf.ndjson", b"\xef\xbb\xbf" + line.encode() + b"\r\n" + line.encode() + b"\r\n")
    write(out, "datacontenttype.ndjson", line.replace('"specversion":"1.0"', '"specversion":"1.0","datacontenttype":"application/cloudevents+json; charset=utf-8"') + "\n")
    write(out, "data-base64.ndjson", line.replace('"data":', '"data_base64":"AAAA","data":') + "\n")
    write(out, "duplicate-key.ndjson", line.replace('"id":"e-1"', '"id":"e-1","id":"e-2"') + "\n")
    write(out, "deep.ndjson", '{"specversion":"1.0","data":' + "[" * 80 + "]" * 80 + "}\n")
    write(out, "numbers.ndjson", line.replace('"capacityPerWeek":2', '"capacityPerWeek":1.5e2,"normDays":-0.0,"x":[1e400,-1E-400,0,12345678901234567890]') + "\n")
    write(out, "empty-array.json", "[]")
    write(out, "batch-trailing-comma.json", "[" + line + ",]")
    write(out, "truncated.ndjson", line[: len(line) // 2])


# Canonical XML: a document per element type, a short slice, the invalid sample's elements, and
# hand-written prolog/namespace/CDATA/DOCTYPE/entity cases.
def canonical_xml():
    out = reset("fuzz-xml")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<exchanges xmlns="urn:ketenzicht:exchange:1">\n'
    tail = "</exchanges>\n"
    with open(os.path.join(root, "samples/municipality.xml"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    events = [l for l in lines if l.startswith("  <")]
    seen = set()
    for line in events:
        name = re.match(r"\s*<(\w+)", line).group(1)
        if name not in seen:
            seen.add(name)
            write(out, f"element-{name}.xml", head + line + "\n" + tail)
    write(out, "bsn.xml", head + next(l for l in events if 'bsn="' in l) + "\n" + tail)
    write(out, "dependson.xml", head + next(l for l in events if "<dependsOn" in l) + "\n" + tail)
    write(out, "slice-6-events.xml", head + "\n".join(events[200:206]) + "\n" + tail)
    write(out, "empty-root.xml", '<exchanges xmlns="urn:ketenzicht:exchange:1"/>')
    with open(os.path.join(root, "samples/municipality-invalid.xml"), encoding="utf-8") as f:
        invalid = [l for l in f.read().splitlines() if l.startswith("  <")]
    for index, line in enumerate(invalid[0:len(invalid):4]):
        write(out, f"invalid-{index:02}.xml", head + line + "\n" + tail)
    party = events[0]
    write(out, "prefixed-cdata-comment.xml",
          '<?xml version="1.0"?>\n<!-- prolog --><?pi x?>\n<k:exchanges xmlns:k="urn:ketenzicht:exchange:1">'
          + party.replace("<party", "<k:party").replace("</party>", "</k:party>").replace("<name>", "<k:name><![CDATA[").replace("</name>", "]]></k:name>")
          + "<!-- c --></k:exchanges>")
    write(out, "doctype.xml", '<?xml version="1.0"?>\n<!DOCTYPE exchanges [<!ENTITY a "aaaa">]>\n' + head[head.index("<exchanges"):] + tail)
    write(out, "entity.xml", head + party.replace("</name>", "&amp;&#233;&lt;</name>") + "\n" + tail)
    write(out, "wrong-namespace.xml", '<exchanges xmlns="urn:ketenzicht:exchange:2"><party/></exchanges>')
    write(out, "truncated.xml", (head + party)[: len(head) + len(party) // 2])
    write(out, "unknown-element.xml", head + '  <note id="x" source="s" time="2026-01-01T00:00:00Z"/>\n' + party + "\n" + tail)


# iStandaarden: the test fixtures (iJw and iWmo), and pairs that one decode links: a 301 followed
# by the 305 and 307 it releases, separated by NUL bytes (see fuzz-istandaarden).
def istandaarden():
    out = reset("fuzz-istandaarden")
    fixtures = os.path.join(root, "Tests/KetenzichtIngestTests/IStandaarden")
    texts = {}
    for name in sorted(os.listdir(fixtures)):
        with open(os.path.join(fixtures, name), "rb") as f:
            texts[name] = f.read()
        write(out, name, texts[name])
    for standard in ("ijw", "iwmo"):
        write(out, f"{standard}-305-then-301-then-307.bin",
              texts[f"{standard}-305.xml"] + b"\0" + texts[f"{standard}-301.xml"] + b"\0" + texts[f"{standard}-307.xml"])
        write(out, f"{standard}-315-then-319.bin", texts[f"{standard}-315.xml"] + b"\0" + texts[f"{standard}-319.xml" if standard == "iwmo" else "ijw-319-afgewezen.xml"])


# The model fuzz-rpc-dispatch answers from: the first 150 events of the sample after the party
# register, with the registrations of the parties they name (open referrals, dependencies, a
# rejection and a withdrawal, all in November 2025).
def dispatch_model():
    with open(os.path.join(root, "samples/municipality.ndjson"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    events = [json.loads(line) for line in lines]
    chosen = [e for e in events if e["type"] != "nl.ketenzicht.party.registered"][:150]
    named = {e["data"][key] for e in chosen for key in ("from", "to", "party") if key in e["data"]}
    registrations = [e for e in events if e["type"] == "nl.ketenzicht.party.registered" and e["data"]["party"] in named]
    os.makedirs(os.path.join(here, "Model"), exist_ok=True)
    write(os.path.join(here, "Model"), "dispatch-model.ndjson",
          "".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in registrations + chosen))
    created = [e["data"] for e in chosen if e["type"] == "nl.ketenzicht.referral.created"]
    return created[0]["case"], created[0]["to"]


# JSON-RPC: every method of SPEC §6 with its params (on ids of the dispatch model), a few bad
# params, and bad request shapes.
def jsonrpc(case, party):
    out = reset("fuzz-jsonrpc")
    window = {"asOf": "2025-12-01T00:00:00+01:00", "window": 84}
    requests = {
        "version": {}, "health": {}, "stats": {}, "stats-prometheus": {"format": "prometheus"},
        "echo": {"x": [1, 2.5, "y", None, True]},
        "ingest": {"format": "cloudevents", "data": '{"specversion":"1.0"}'},
        "ingest-path": {"format": "xml", "path": "/tmp/none.xml"},
        "parties": {}, "party.get": {"id": party, **window},
        "bottlenecks": {"top": 5, "domain": "ggz", **window},
        "case.get": {"id": case, **window}, "regisseurs": {"flag": "noRegisseur", **window},
        "propagation.whatIf": {"party": party, "extraWaitDays": 28, **window},
        "propagation.whatIf-capacity": {"party": party, "capacityPerWeek": 2, **window},
        "pingpong": window, "dropped": window, "structure": window,
        "alerts.list": {}, "alerts.subscribe": {},
        "dot.write": {"view": "network"}, "dot.write-case": {"view": "case", "id": case},
        "config.reload": {}, "shutdown": {},
    }
    for index, (name, params) in enumerate(requests.items()):
        method = name.split("-")[0]
        request = {"jsonrpc": "2.0", "id": index + 1, "method": method}
        if params:
            request["params"] = params
        write(out, f"method-{name}.json", json.dumps(request, separators=(",", ":")) + "\n")
    extra = {
        "notification": '{"jsonrpc":"2.0","method":"version"}',
        "string-id": '{"jsonrpc":"2.0","id":"a\\u00e9\\n","method":"health"}',
        "null-id": '{"jsonrpc":"2.0","id":null,"method":"parties"}',
        "bad-window": '{"jsonrpc":"2.0","id":1,"method":"bottlenecks","params":{"window":-1,"top":-3}}',
        "bad-asof": '{"jsonrpc":"2.0","id":1,"method":"dropped","params":{"asOf":"2027-06-31T00:00:00Z"}}',
        "array-params": '{"jsonrpc":"2.0","id":1,"method":"version","params":[1]}',
        "wrong-version": '{"jsonrpc":"1.0","id":1,"method":"version"}',
        "object-id": '{"jsonrpc":"2.0","id":{},"method":"version"}',
        "not-object": "[1,2,3]",
        "not-json": "{\"jsonrpc\":",
        "unknown-method": '{"jsonrpc":"2.0","id":7,"method":"nope","params":{}}',
    }
    for name, line in extra.items():
        write(out, f"{name}.json", line + "\n")


cloudevents()
canonical_xml()
istandaarden()
jsonrpc(*dispatch_model())
for target in sorted(os.listdir(corpus)):
    files = os.listdir(os.path.join(corpus, target))
    size = sum(os.path.getsize(os.path.join(corpus, target, f)) for f in files)
    print(f"{target}: {len(files)} seeds, {size} bytes")
