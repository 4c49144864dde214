#!/usr/bin/env python3
"""Peer measurements for run.sh, printing one JSON line like kz-bench does.

  peers.py command LABEL BYTES -- CMD ...   time an external command (wall clock, perf_counter);
                                            peak RSS of the child from getrusage
  peers.py igraph N EDGES [OURS_SCORES]     python-igraph Graph.betweenness(directed=True) on the
                                            edge list kz-bench wrote; only the call is timed; with
                                            OURS_SCORES, the largest difference from kz-bench's scores
  peers.py networkx N EDGES [OURS_SCORES]   the same with networkx.betweenness_centrality (slow;
                                            a correctness cross-check, not a timing peer)
  peers.py to-csv NDJSON CSV                the referral events of a CloudEvents file as an event log
                                            (case = referral, activity = "<step> <to-party>", timestamp)
  peers.py pm4py CSV                        the process-mining notebook: pandas reads the log, PM4Py
                                            formats it and discovers its performance DFG; the per-party
                                            table is read off the DFG's "created X" -> "started X" edges.
                                            Prints one JSON line (timed phases) and the top ten parties
"""

import json
import resource
import subprocess
import sys
import time


def emit(fields):
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def command(label, size, argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"peers.py: {argv!r} exited with {done.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = after.ru_maxrss  # KiB on Linux
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    emit({"command": label, "input": argv[-1], "seconds": seconds, "bytes": size,
          "mb_per_s": size / 1e6 / seconds, "peak_rss_kib": peak, "cpu_s": cpu})


def read_edges(path):
    edges = []
    with open(path) as handle:
        for line in handle:
            a, b = line.split()
            edges.append((int(a), int(b)))
    return edges


def compare(scores, ours_path):
    if not ours_path:
        return {}
    with open(ours_path) as handle:
        ours = [float(line) for line in handle if line.strip()]
    worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, scores))
    return {"max_rel_diff_vs_ours": worst, "same_length": len(ours) == len(scores)}


def igraph_peer(n, edge_path, ours_path):
    import igraph

    edges = read_edges(edge_path)
    graph = igraph.Graph(n=n, edges=edges, directed=True)
    start = time.perf_counter()
    scores = graph.betweenness(directed=True)
    seconds = time.perf_counter() - start
    top = max(range(n), key=lambda v: scores[v])
    fields = {"command": "igraph-betweenness", "input": edge_path, "seconds": seconds, "nodes": n,
              "edges": len(edges), "igraph_version": igraph.__version__, "raw_sum": sum(scores),
              "top_node": top, "top_raw": scores[top],
              "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    fields.update(compare(scores, ours_path))
    emit(fields)


def networkx_peer(n, edge_path, ours_path):
    import networkx

    edges = read_edges(edge_path)
    graph = networkx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    start = time.perf_counter()
    result = networkx.betweenness_centrality(graph, normalized=False)
    seconds = time.perf_counter() - start
    scores = [result[v] for v in range(n)]
    fields = {"command": "networkx-betweenness", "input": edge_path, "seconds": seconds, "nodes": n,
              "edges": len(edges), "networkx_version": networkx.__version__, "raw_sum": sum(scores)}
    fields.update(compare(scores, ours_path))
    emit(fields)


def to_csv(ndjson_path, csv_path):
    import csv

    to_party = {}
    rows = 0
    with open(ndjson_path) as source, open(csv_path, "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["case_id", "activity", "timestamp", "party"])
        for line in source:
            event = json.loads(line)
            kind = event["type"].rsplit(".", 1)[-1]
            if not event["type"].startswith("nl.ketenzicht.referral."):
                continue
            data = event["data"]
            referral = data["referral"]
            if kind == "created":
                to_party[referral] = data["to"]
            party = to_party.get(referral)
            if party is None:
                continue
            writer.writerow([referral, f"{kind} {party}", event["time"], party])
            rows += 1
    emit({"command": "to-csv", "input": ndjson_path, "rows": rows})


def pm4py_peer(csv_path):
    started = time.perf_counter()
    import pandas
    import pm4py

    imported = time.perf_counter()
    frame = pandas.read_csv(csv_path)
    frame["timestamp"] = pandas.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame = pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
    read = time.perf_counter()
    performance = pm4py.discover_performance_dfg(frame)
    dfg = performance[0] if isinstance(performance, tuple) else performance
    # The wait of a party: its "created X" -> "started X" edges, direct or through "accepted X".
    waits = {}
    for (source, target), stats in dfg.items():
        step_from, _, party = source.partition(" ")
        step_to, _, party_to = target.partition(" ")
        if party == party_to and step_from in ("created", "accepted") and step_to == "started":
            waits.setdefault(party, []).append(stats["median"] / 86400)
    table = sorted(((sum(v), p) for p, v in waits.items()), reverse=True)[:10]
    done = time.perf_counter()
    emit({"command": "pm4py-dfg", "input": csv_path, "seconds": done - started, "import_s": imported - started,
          "read_s": read - imported, "dfg_s": done - read, "rows": len(frame), "dfg_edges": len(dfg),
          "pm4py_version": pm4py.__version__, "top": [p for _, p in table[:3]],
          "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
    for days, party in table:
        print(f"# {party}: median wait to start ~{days:.1f} days (created/accepted -> started)", file=sys.stderr)


def main(argv):
    if len(argv) >= 4 and argv[0] == "command" and argv[3] == "--":
        command(argv[1], int(argv[2]), argv[4:])
    elif len(argv) >= 3 and argv[0] in ("igraph", "networkx"):
        peer = igraph_peer if argv[0] == "igraph" else networkx_peer
        peer(int(argv[1]), argv[2], argv[3] if len(argv) > 3 else None)
    elif len(argv) == 3 and argv[0] == "to-csv":
        to_csv(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "pm4py":
        pm4py_peer(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
