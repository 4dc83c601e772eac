"""The lifecycle reference (docs/lifecycles.md), generated from the definitions.

``qms lifecycle docs -o docs/lifecycles.md`` rewrites it; a test fails when the
committed file no longer matches the definitions.
"""

from __future__ import annotations

import inspect
from importlib import import_module

from .definition import Lifecycle
from .diagram import mermaid
from .registry import all_lifecycles


def _explanation(lc: Lifecycle) -> str:
    module = import_module(f"{__package__}.lifecycles.{lc.name}")
    return inspect.cleandoc(module.__doc__ or lc.description)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def lifecycle_markdown(lc: Lifecycle) -> str:
    lines = [f"## {lc.label} (`{lc.name}`, v{lc.version})", "", _explanation(lc), ""]
    lines += ["```mermaid", mermaid(lc).rstrip(), "```", ""]
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


def markdown_reference() -> str:
    parts = [
        "# Lifecycles",
        "",
        "Generated from `workflows/lifecycles/` by `qms lifecycle docs -o docs/lifecycles.md`; do not edit by hand.",
        "",
        "Every record in qmsflow follows one of these lifecycles. An event moves a record from one state to",
        "another; it names the roles that may fire it, the data it asks for, the rules (guards) that can",
        "block it — the reason is shown next to the disabled action — and, for approvals, the meaning of",
        "the electronic signature (✍ in the diagrams). Each definition carries a version; a record keeps",
        "the version it started under.",
        "",
    ]
    parts += [
        f"- [{lc.label}](#{lc.label.lower().replace(' ', '-')}-{lc.name}-v{lc.version})" for lc in all_lifecycles()
    ]
    parts.append("")
    for lc in all_lifecycles():
        parts.append(lifecycle_markdown(lc))
    return "\n".join(parts)
