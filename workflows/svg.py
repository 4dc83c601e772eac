"""Lifecycle diagrams as SVG drawn in Python: no script in the page, readable at normal size.

States stand in one column, in the order the lifecycle defines them (its authors list
them in the order a record usually meets them). An event to the next state is a short
arrow labelled beside it; an event that skips ahead runs down a lane on the left, one
that goes back (a reopening, a return for rework) runs up a lane on the right, each
labelled where it leaves its state. Lanes whose spans do not overlap share a track,
and every line meets a state at its own port, so lines and labels do not collide.
The layout depends only on the lifecycle, so it is computed once per lifecycle
version; each call only marks the current state and the path the record took.
Styling is by class (``lc-…``) so the page's stylesheet draws it: no inline style.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from .definition import Lifecycle

FONT = 13  # px for state names; event labels are 12 px
CHAR = 12 * 0.6  # width of a character of an event label (about 0.6 em in a sans-serif)
NODE_H = 32
ROW_GAP = 34
PAD = 12
TRACK = 12  # distance between two lanes
PORT = 18  # vertical distance between two lines meeting the same side of a state
LABEL_ROOM = 10  # between a label and the lanes


def _text_width(text: str, char: float = CHAR) -> float:
    return len(text) * char


@dataclass
class _Node:
    name: str
    label: str
    index: int
    terminal: bool
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = NODE_H
    ports: dict[str, list[_Edge]] = field(default_factory=lambda: {"left": [], "right": []})

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    def port_y(self, side: str, edge: _Edge) -> float:
        ports = self.ports[side]
        k = ports.index(edge)
        return self.y + self.h / 2 + (k - (len(ports) - 1) / 2) * PORT


@dataclass(eq=False)
class _Edge:
    source: str
    dest: str
    label: str
    kind: str  # "down" (the next state), "skip" (left lane) or "back" (right lane)
    path: str = ""
    label_x: float = 0.0
    label_y: float = 0.0
    anchor: str = "start"
    track: int = 0


@dataclass
class _Layout:
    lifecycle: Lifecycle
    nodes: dict[str, _Node]
    edges: list[_Edge]
    width: float
    height: float


def _edges(lifecycle: Lifecycle, index: dict[str, int]) -> list[_Edge]:
    """One edge per (source, destination) pair, its events' labels joined; ✍ marks a signed event."""
    labels: dict[tuple[str, str], list[str]] = {}
    for event in lifecycle.events:
        text = event.label + (" ✍" if event.signature else "")
        for source in event.sources:
            found = labels.setdefault((source, event.dest), [])
            if text not in found:
                found.append(text)
    edges = []
    for (source, dest), texts in labels.items():
        gap = index[dest] - index[source]
        kind = "down" if gap == 1 else "skip" if gap > 1 else "back"
        edges.append(_Edge(source, dest, " / ".join(texts), kind))
    return edges


def _assign_tracks(edges: list[_Edge], index: dict[str, int]) -> int:
    """Give each lane edge a track, shortest spans nearest the states; spans that do not overlap share one."""
    used: list[list[tuple[int, int]]] = []
    for edge in sorted(edges, key=lambda e: (abs(index[e.dest] - index[e.source]), index[e.source])):
        low, high = sorted((index[edge.source], index[edge.dest]))
        for track, spans in enumerate(used):
            if all(high < a or low > b for a, b in spans):
                spans.append((low, high))
                edge.track = track
                break
        else:
            used.append([(low, high)])
            edge.track = len(used) - 1
    return len(used)


def _layout(lifecycle: Lifecycle) -> _Layout:
    index = {st.name: i for i, st in enumerate(lifecycle.states)}
    nodes = {st.name: _Node(st.name, st.label, index[st.name], st.terminal) for st in lifecycle.states}
    edges = _edges(lifecycle, index)
    skips = [e for e in edges if e.kind == "skip"]
    backs = [e for e in edges if e.kind == "back"]
    left_tracks = _assign_tracks(skips, index)
    right_tracks = _assign_tracks(backs, index)

    # ports: each lane line meets its states at a port of its own, in the order of the other end
    for side, lane_edges in (("left", skips), ("right", backs)):
        for edge in lane_edges:
            nodes[edge.source].ports[side].append(edge)
            nodes[edge.dest].ports[side].append(edge)
        for node in nodes.values():
            node.ports[side].sort(key=lambda e, n=node: index[e.dest] if e.source == n.name else index[e.source])

    width = max(150.0, max(_text_width(st.label, FONT * 0.62) + 32 for st in lifecycle.states))
    left_label = max((_text_width(e.label) for e in skips), default=0.0)
    right_label = max((_text_width(e.label) for e in backs), default=0.0)
    column = PAD + (left_tracks * TRACK + LABEL_ROOM + left_label if skips else 0)
    y = PAD
    for node in nodes.values():
        most = max(len(node.ports["left"]), len(node.ports["right"]))
        node.x, node.y, node.w = column, y, width
        node.h = max(NODE_H, most * PORT + 8)
        y += node.h + ROW_GAP
    height = y - ROW_GAP + PAD
    right_side = column + width

    for edge in edges:
        src, dst = nodes[edge.source], nodes[edge.dest]
        if edge.kind == "down":
            y1, y2 = src.y + src.h, dst.y
            edge.path = f"M{src.cx:.1f},{y1:.1f} V{y2 - 1:.1f}"
            edge.label_x, edge.label_y, edge.anchor = src.cx + 8, (y1 + y2) / 2 + 4, "start"
        elif edge.kind == "skip":
            lane = column - LABEL_ROOM - left_label - (edge.track + 1) * TRACK + TRACK / 2
            y1, y2 = src.port_y("left", edge), dst.port_y("left", edge)
            edge.path = f"M{src.x:.1f},{y1:.1f} H{lane:.1f} V{y2:.1f} H{dst.x - 1:.1f}"
            edge.label_x, edge.label_y, edge.anchor = src.x - 5, y1 - 4, "end"
        else:
            lane = right_side + LABEL_ROOM + right_label + (edge.track + 1) * TRACK - TRACK / 2
            y1, y2 = src.port_y("right", edge), dst.port_y("right", edge)
            edge.path = f"M{right_side:.1f},{y1:.1f} H{lane:.1f} V{y2:.1f} H{right_side + 1:.1f}"
            edge.label_x, edge.label_y, edge.anchor = right_side + 5, y1 - 4, "start"
    total = right_side + (LABEL_ROOM + right_label + right_tracks * TRACK if backs else 0) + PAD
    # labels of the next-state arrows sit right of the column: make room when no lane is there
    down_label = max((_text_width(e.label) for e in edges if e.kind == "down"), default=0.0)
    total = max(total, column + width / 2 + 8 + down_label + PAD)
    return _Layout(lifecycle, nodes, edges, total, height)


_layouts: dict[int, tuple[Lifecycle, _Layout]] = {}
_lock = threading.Lock()


def _cached_layout(lifecycle: Lifecycle) -> _Layout:
    key = id(lifecycle)
    with _lock:
        found = _layouts.get(key)
        if found is None:  # keeping the lifecycle keeps its id from being reused
            found = _layouts[key] = (lifecycle, _layout(lifecycle))
    return found[1]


def render_svg(
    lifecycle: Lifecycle,
    *,
    current: str | None = None,
    taken: Iterable[tuple[str, str]] = (),
    title: str | None = None,
    id_prefix: str = "lc",
) -> str:
    """The lifecycle as an SVG element: ``current`` marked, the ``taken`` (from, to) steps drawn bold.

    The SVG is an image with a title and a description that says, in words, where
    the record is and how it got there; ``id_prefix`` keeps ids unique when a page
    shows more than one diagram.
    """
    if current is not None and current not in lifecycle.state_index:
        raise ValueError(f"{current!r} is not a state of {lifecycle.name}")
    layout = _cached_layout(lifecycle)
    steps = [(a, b) for a, b in taken if a in lifecycle.state_index and b in lifecycle.state_index]
    visited = {s for step in steps for s in step}
    walked = set(steps)
    title = title or f"{lifecycle.label} lifecycle"
    description = _description(lifecycle, current, steps)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lc-diagram" role="img" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" width="{layout.width:.0f}" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{escape(title)}</title>',
        f'<desc id="{id_prefix}-desc">{escape(description)}</desc>',
        "<defs>",
        *(
            f'<marker id="{id_prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
            f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" class="lc-{name}head"/></marker>'
            for name in ("arrow", "arrow-taken")
        ),
        "</defs>",
    ]
    for edge in layout.edges:
        kind = "taken" if (edge.source, edge.dest) in walked else "edge"
        marker = f"{id_prefix}-arrow-taken" if kind == "taken" else f"{id_prefix}-arrow"
        out.append(f'<path d="{edge.path}" class="lc-{kind} lc-{edge.kind}" marker-end="url(#{marker})"/>')
    for edge in layout.edges:
        out.append(
            f'<text x="{edge.label_x:.1f}" y="{edge.label_y:.1f}" text-anchor="{edge.anchor}" '
            f'class="lc-event">{escape(edge.label)}</text>'
        )
    for node in layout.nodes.values():
        classes = ["lc-state"]
        if node.terminal:
            classes.append("lc-terminal")
        if node.name in visited:
            classes.append("lc-visited")
        if node.name == current:
            classes.append("lc-current")
        if node.name == lifecycle.initial:
            classes.append("lc-initial")
        out.append(
            f'<g class="{" ".join(classes)}"><rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" '
            f'height="{node.h:.1f}" rx="{16 if node.terminal else 5}"/>'
            f'<text x="{node.cx:.1f}" y="{node.y + node.h / 2 + FONT / 3:.1f}" text-anchor="middle">'
            f"{escape(node.label)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _description(lifecycle: Lifecycle, current: str | None, steps: list[tuple[str, str]]) -> str:
    label = lifecycle.state_index
    parts = [lifecycle.description or lifecycle.label]
    if current is not None:
        parts.append(f"Now: {label[current].label}.")
    if steps:
        path = [label[steps[0][0]].label] + [label[b].label for _, b in steps]
        parts.append("Path so far: " + " → ".join(path) + ".")
    return " ".join(parts)


def steps_in_words(lifecycle: Lifecycle) -> list[tuple[str, str, str]]:
    """Every step as (from state, event, to state) labels, for a text version of the diagram."""
    return [
        (
            lifecycle.state(source).label,
            event.label + (" (signed)" if event.signature else ""),
            lifecycle.state(event.dest).label,
        )
        for event in lifecycle.events
        for source in event.sources
    ]
