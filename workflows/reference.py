"""A lifecycle as Markdown: its diagram, a table of its states and one of its events.

Generated from the definition alone, so a reference built from it cannot drift
from the rules the engine applies.
"""

from __future__ import annotations

from .definition import Lifecycle
from .diagram import mermaid


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def lifecycle_markdown(lc: Lifecycle, explanation: str | None = None) -> str:
    """A ``##`` section for ``lc``: ``explanation`` (default: its description), diagram, states, events."""
    lines = [f"## {lc.label} (`{lc.name}`, v{lc.version})", "", lc.description if explanation is None else explanation]
    lines += ["", "```mermaid", mermaid(lc).rstrip(), "```", ""]
    lines += ["| State | Meaning |", "| --- | --- |"]
    for st in lc.states:
        marks = [m for m, on in (("start", st.name == lc.initial), ("end", st.terminal)) if on]
        suffix = f" ({', '.join(marks)})" if marks else ""
        lines.append(f"| {st.label}{suffix} | {_cell(st.description)} |")
    lines += ["", "| Event | From → to | Who | Asks for | Rules | Signature |", "| --- | --- | --- | --- | --- | --- |"]
    for ev in lc.events:
        sources = ", ".join(lc.state(s).label for s in ev.sources)
        who = ", ".join(sorted(r.replace("_", " ") for r in ev.roles))
        fields = ", ".join(f.label + ("" if f.required else " (optional)") for f in ev.fields)
        rules = "; ".join(g.description for g in ev.guards)
        lines.append(
            f"| {ev.label} | {sources} → {lc.state(ev.dest).label} | {who} | {_cell(fields)} | {_cell(rules)} "
            f"| {ev.signature or ''} |"
        )
    return "\n".join(lines) + "\n"


def anchor(lc: Lifecycle) -> str:
    """The Markdown anchor of ``lc``'s section heading (as GitHub renders it)."""
    return f"{lc.label.lower().replace(' ', '-')}-{lc.name}-v{lc.version}"
