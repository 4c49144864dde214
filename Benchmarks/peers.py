#!/usr/bin/env python3
"""Peer measurements for run.sh, printing one JSON line like kz-bench does.

  peers.py command LABEL BYTES -- CMD ...   time an external command (wall clock, perf_counter);
                                            peak RSS of the child from getrusage
  peers.py igraph N EDGES [OURS_SCORES]     python-igraph Graph.betweenness(directed=True) on the
                                            edge list kz-bench wrote; only the call is timed; with
                                            OURS_SCORES, the largest difference from kz-bench's scores
  peers.py networkx N EDGES [OURS_SCORES]   the same with networkx.betweenness_centrality (slow;
                                            a correctness cross-check, not a timing peer)
"""

import json
import resource
import subprocess
import sys
import time


def emit(fields):
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def command(label, size, argv):
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"peers.py: {argv!r} exited with {done.returncode}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    emit({"command": label, "input": argv[-1], "seconds": seconds, "bytes": size,
          "mb_per_s": size / 1e6 / seconds, "peak_rss_kib": peak})


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


def main(argv):
    if len(argv) >= 4 and argv[0] == "command" and argv[3] == "--":
        command(argv[1], int(argv[2]), argv[4:])
    elif len(argv) >= 3 and argv[0] in ("igraph", "networkx"):
        peer = igraph_peer if argv[0] == "igraph" else networkx_peer
        peer(int(argv[1]), argv[2], argv[3] if len(argv) > 3 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
