#!/usr/bin/env python3
"""Independent reference outputs for the analysis tests (run once, outputs committed).

- betweenness-*.json: random directed graphs and networkx.betweenness_centrality(G, normalized=True)
- propagation-*.json: random routing matrices P (rows summing to <= 1) and waits w, with
  T = solve(I - P, w) and N = inv(I - P) from numpy's dense solver.

Usage: python3 scripts/reference/make_fixtures.py Tests/KetenzichtCoreTests/Fixtures
"""
import json
import random
import sys

import networkx as nx
import numpy as np


def betweenness_fixture(seed, n, m):
    rng = random.Random(seed)
    edges = set()
    while len(edges) < m:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.add((a, b))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    scores = nx.betweenness_centrality(graph, normalized=True)
    return {
        "generator": f"random directed graph, seed {seed}, networkx {nx.__version__}",
        "nodes": n,
        "edges": sorted([list(e) for e in edges]),
        "betweenness": [scores[v] for v in range(n)],
    }


def propagation_fixture(seed, n, density, leak):
    rng = np.random.default_rng(seed)
    counts = (rng.random((n, n)) < density) * rng.integers(1, 20, size=(n, n))
    np.fill_diagonal(counts, 0)
    outflow = counts.sum(axis=1)
    # in(i) >= out(i) everywhere, plus a random extra, so that every row leaks a little.
    inflow = outflow + rng.integers(1 if leak else 0, 10, size=n)
    denominator = np.maximum(inflow, outflow)
    denominator[denominator == 0] = 1
    p = counts / denominator[:, None]
    w = rng.random(n) * 100
    identity = np.eye(n)
    t = np.linalg.solve(identity - p, w)
    visits = np.linalg.inv(identity - p)
    return {
        "generator": f"random routing, seed {seed}, numpy {np.__version__} dense solve",
        "parties": n,
        "rows": [[[int(j), float(p[i, j])] for j in range(n) if p[i, j] > 0] for i in range(n)],
        "leaks": [bool(p[i].sum() < 1 - 1e-15) for i in range(n)],
        "waits": [float(x) for x in w],
        "times": [float(x) for x in t],
        "visitsTo0": [float(visits[i, 0]) for i in range(n)],
    }


def main(out):
    fixtures = {
        "betweenness-small.json": betweenness_fixture(1, 12, 30),
        "betweenness-medium.json": betweenness_fixture(2, 200, 1200),
        "betweenness-sparse.json": betweenness_fixture(3, 300, 320),
        "propagation-small.json": propagation_fixture(4, 8, 0.4, True),
        "propagation-medium.json": propagation_fixture(5, 120, 0.05, True),
    }
    for name, data in fixtures.items():
        with open(f"{out}/{name}", "w") as handle:
            json.dump(data, handle, sort_keys=True, indent=None)
            handle.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/KetenzichtCoreTests/Fixtures")
