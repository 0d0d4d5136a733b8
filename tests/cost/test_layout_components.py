"""components/cost/layout.py builds the connected components grandalf lays out itself (grandalf 0.8's Graph()
is quadratic); the picture stays the same only if they are grandalf's: same order, vertices, edges."""

from __future__ import annotations

import random

import pytest
from grandalf.graphs import Edge, Graph, Vertex

from components.cost.layout import _components


def build(n: int, pairs: list[tuple[int, int]]) -> tuple[list[Vertex], list[Edge]]:
    vertices = [Vertex(i) for i in range(n)]
    return vertices, [Edge(vertices[a], vertices[b]) for a, b in pairs]


def shape(cores) -> list[tuple[list[int], list[tuple[int, int]], list[list[tuple[int, int]]]]]:
    """Per component: its vertices in order, its edges in order, each vertex's edges in order."""
    return [([v.data for v in core.sV], [(e.v[0].data, e.v[1].data) for e in core.sE],
             [[(e.v[0].data, e.v[1].data) for e in v.e] for v in core.sV]) for core in cores]


@pytest.mark.parametrize("seed", range(8))
def test_components_are_grandalfs(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 60)
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(0, 2 * n))]
    pairs = [(a, b) for a, b in pairs if a != b]
    ours = _components(*build(n, pairs))
    theirs = Graph(*build(n, pairs)).C
    assert len(ours) == len(theirs) > 0
    # sE is filled from a set of edges (grandalf's own iteration order): compared as sets
    assert [(v, sorted(e), es) for v, e, es in shape(ours)] == [(v, sorted(e), es) for v, e, es in shape(theirs)]
    assert all(v.c is core for core in ours for v in core.sV)
