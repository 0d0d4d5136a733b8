"""components/cost/layout.py builds the connected components grandalf lays out itself (grandalf 0.8's Graph()
is quadratic); the picture stays the same only if they are grandalf's: same order, vertices, edges."""

from __future__ import annotations

import random
import sys

import pytest
from grandalf.graphs import Edge, Graph, Vertex

from components.cost.layout import _components, layout


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


def test_a_layer_wider_than_pythons_recursion_limit_is_laid_out_and_the_limit_restored():
    """grandalf 0.8 layouts.py `__place_block` recurses along the blocks of a layer: 3,000 teams' boxes each
    joined to two of three pools need more frames than Python's default 1,000 (the 1000-team picture failed
    with RecursionError outside `plan`, where only celpy's own raise of the limit hid it)."""
    teams, pools = [f"t{i}" for i in range(3000)], ["p0", "p1", "p2"]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        placed = layout({**{t: (40.0, 20.0) for t in teams}, **{p: (60.0, 20.0) for p in pools}},
                        [(t, pools[(i + k) % 3]) for i, t in enumerate(teams) for k in (0, 1)])
        assert sys.getrecursionlimit() == 1000
    finally:
        sys.setrecursionlimit(limit)
    assert {placed.boxes[t].layer for t in teams} == {0} and {placed.boxes[p].layer for p in pools} == {1}
