"""Server-drawn lifecycle diagrams: well-formed, labelled in words, the state and path marked, nothing unescaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from qms.lifecycles import LIFECYCLE_NAMES
from workflows import Event, Lifecycle, State, get_lifecycle
from workflows.svg import render_svg

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, the thing under test


def _boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float, set[str]]]:
    """State label → (x, y, width, height, classes) of its box."""
    found = {}
    for group in root.iter(f"{SVG}g"):
        rect, text = group.find(f"{SVG}rect"), group.find(f"{SVG}text")
        box = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
        found[text.text] = (*box, set(group.get("class").split()))
    return found


@pytest.mark.parametrize("name", LIFECYCLE_NAMES)
def test_every_lifecycle_draws_every_state_and_event_without_overlap(name):
    lifecycle = get_lifecycle(name)
    root = _parse(render_svg(lifecycle))

    boxes = _boxes(root)
    assert set(boxes) == {st.label for st in lifecycle.states}
    labels = " / ".join(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "lc-event")
    for event in lifecycle.events:
        assert event.label in labels
    # no two states overlap, and every state lies inside the drawing
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    items = list(boxes.values())
    for i, (x, y, w, h, _) in enumerate(items):
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
        for x2, y2, w2, h2, _ in items[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    # an image with a name and a description, for screen readers (and axe-core)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}desc").get("id") == desc_id


def test_the_current_state_and_the_path_taken_are_marked_and_described():
    lifecycle = get_lifecycle("nonconformity")
    taken = [("reported", "triaged"), ("triaged", "contained")]

    svg = render_svg(lifecycle, current="contained", taken=taken)
    root = _parse(svg)

    boxes = _boxes(root)
    assert "lc-current" in boxes["Contained"][4] and "lc-visited" in boxes["Reported"][4]
    assert "lc-visited" not in boxes["Closed"][4] and "lc-current" not in boxes["Triaged"][4]
    assert len([p for p in root.iter(f"{SVG}path") if "lc-taken" in (p.get("class") or "")]) == 2
    assert root.find(f"{SVG}desc").text.endswith("Now: Contained. Path so far: Reported → Triaged → Contained.")
    # the layout is computed once; marks are per call
    assert "lc-current" not in render_svg(lifecycle)


def test_labels_are_escaped_and_an_unknown_state_is_refused():
    odd = Lifecycle(
        name="odd",
        version=1,
        label="Odd <b>",
        description="A & B",
        initial="a",
        states=(State("a", "A <script>"), State("b", 'B "quoted"', terminal=True)),
        events=(Event("go", "Go & <run>", ("a",), "b", frozenset({"r"})),),
    )
    svg = render_svg(odd, current="a")
    assert "<script>" not in svg and "<b>" not in svg and "<run>" not in svg
    assert {t.text for t in _parse(svg).iter(f"{SVG}text")} >= {"A <script>", "Go & <run>"}
    with pytest.raises(ValueError, match="limbo"):
        render_svg(odd, current="limbo")
    assert not re.search(r"style=|<style", svg), "styled by class only: no inline style for the CSP to allow"
