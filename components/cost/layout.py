"""Left-to-right layered layout of the platform graph with grandalf's Sugiyama layout (pure Python).

Every labelled edge gets its label as a vertex of its own in the layer between its ends, and every edge
spanning layers gets grandalf's dummy vertices, so all drawn segments join adjacent layers: an edge
crosses only the gaps between layer columns and the rows its own vertices occupy, never a box or a
label. Within a layer the boxes are kept apart (grandalf averages four alignments, which can let
neighbours touch), and the layout is deterministic (vertices and edges are added in the graph's order).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

from grandalf.graphs import Edge as GEdge
from grandalf.graphs import Vertex, graph_core
from grandalf.utils.poset import Poset
from grandalf.layouts import SugiyamaLayout

LAYER_GAP = 44  # horizontal room for the edges between two layer columns
ROW_GAP = 12  # vertical room between two boxes of one layer
MARGIN = 10


@dataclass
class Box:
    """A vertex to place: its size and, after layout, its centre (x, y)."""

    key: str
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    layer: int = 0

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2


@dataclass
class Layout:
    boxes: dict[str, Box]
    # one polyline per input edge (same order): points (x, y) through the layer columns
    routes: list[list[tuple[float, float]]]
    columns: list[tuple[float, float]]  # per layer: (left, right) of its column
    width: float = 0.0
    height: float = 0.0


class _View:
    """grandalf lays layers out top-down: its w is our height (plus the row gap), its h our width."""

    def __init__(self, w: float, h: float):
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


def layout(sizes: dict[str, tuple[float, float]], edges: list[tuple[str, str]], top: float = 0.0) -> Layout:
    """Place boxes `sizes` (key -> (width, height)) joined by `edges` (src, dst) from left to right."""
    vertices = {k: Vertex(k) for k in sizes}
    for k, v in vertices.items():
        v.view = _View(sizes[k][1] + ROW_GAP, sizes[k][0])
    g_edges = [GEdge(vertices[s], vertices[d]) for s, d in edges]
    boxes = {k: Box(k, *sizes[k]) for k in sizes}
    routes: list[list[tuple[float, float]]] = [[] for _ in edges]
    columns: list[tuple[float, float]] = []
    offset = top
    for component in _components(list(vertices.values()), g_edges):
        with _recursion_room(len(component.sV) + len(component.sE)):
            sug = _placed(component)
        layers = [list(layer) for layer in sug.layers]
        _separate(layers)
        x = MARGIN
        for i, layer in enumerate(layers):
            width = max(v.view.h for v in layer)
            if len(columns) <= i:
                columns.append((x, x + width))
            x += width + LAYER_GAP
        low = min(v.view.xy[0] - v.view.w / 2 for layer in layers for v in layer)
        for i, layer in enumerate(layers):
            left, right = columns[i]
            for v in layer:
                y = offset + v.view.xy[0] - low  # the view's top is `offset` for the topmost; the box sits ROW_GAP/2 in
                if hasattr(v, "data"):
                    b = boxes[v.data]
                    b.layer, b.x, b.y = i, (left + right) / 2, y
                v.view.xy = ((left + right) / 2, y)
        for n, e in enumerate(g_edges):
            if e not in component.sE:
                continue
            ranks = [sug.grx[e.v[0]].rank, sug.grx[e.v[1]].rank]
            points = [e.v[0].view.xy]
            if e in sug.ctrls:
                points += [sug.ctrls[e][r].view.xy for r in range(ranks[0] + 1, ranks[1])]
            points.append(e.v[1].view.xy)
            routes[n] = points
        offset = max(b.y + b.h / 2 for b in boxes.values()) + ROW_GAP * 2
    width = max(right for _, right in columns) + MARGIN
    height = max(b.y + b.h / 2 for b in boxes.values()) + MARGIN
    return Layout(boxes, routes, columns, width, height)


def _placed(component: graph_core) -> SugiyamaLayout:
    sug = SugiyamaLayout(component)
    sug.dw, sug.dh = 10, 10  # a dummy is a thin row an edge passes through
    sug.xspace, sug.yspace = 0, LAYER_GAP
    roots = [v for v in component.sV if not v.e_in()]
    sug.init_all(roots=roots, optimize=True)
    sug.draw(3)
    return sug


@contextlib.contextmanager
def _recursion_room(items: int):
    """grandalf 0.8's horizontal compaction (layouts.py `__place_block`) recurses once per block of a layer,
    so a layer of N boxes (1000 teams) needs about N frames beyond Python's default limit of 1000. Each
    vertex or edge (an edge's dummies) adds at most one block; the old limit comes back afterwards."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 2 * items + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _separate(layers: list[list]) -> None:
    """Keep each layer's boxes in grandalf's order, at least their own size apart (sweep down, then
    centre the shift), so no two boxes of a layer overlap."""
    for layer in layers:
        layer.sort(key=lambda v: v.view.xy[0])
        placed: list[float] = []
        for v in layer:
            want = v.view.xy[0]
            if placed:
                prev = layer[len(placed) - 1]
                want = max(want, placed[-1] + (prev.view.w + v.view.w) / 2)
            placed.append(want)
        for v, y in zip(layer, placed):
            v.view.xy = (y, v.view.xy[1])


class _SharedSet(Poset):
    """The vertex set every vertex of one component holds. graph_core's constructor checks each vertex's set
    against the component's (`v.c != s`), and grandalf 0.8's Poset compares by building both value sets: once
    per vertex, quadratic (0.8 s of a 1000-team picture). Here each vertex holds this very object, and a set
    equals itself: the answer is the same without building anything."""

    __hash__ = Poset.__hash__

    def __eq__(self, other):
        return other is self or super().__eq__(other)

    def __ne__(self, other):
        return other is not self and super().__ne__(other)


def _components(vertices: list[Vertex], edges: list[GEdge]) -> list[graph_core]:
    """What grandalf 0.8's `Graph(vertices, edges).C` holds, built the same way in linear time: its constructor
    compares whole vertex sets for every edge (4 of the picture's 4.7 s at 1000 teams). Components come in the
    order of their first vertex, each vertex's set extended by the sets merged into it, edges attached in order."""
    members = {id(v): [v] for v in vertices}
    owner = {id(v): id(v) for v in vertices}
    for e in edges:
        e.attach()
        x, y = owner[id(e.v[0])], owner[id(e.v[1])]
        if x != y:
            moved = members.pop(y)
            members[x] += moved
            for v in moved:
                owner[id(v)] = x
    cores = []
    for component in members.values():
        shared = _SharedSet(component)
        for v in component:
            v.c = shared
        cores.append(graph_core(component, {e for v in component for e in v.e}, True))
    return cores
