"""The lifecycle reference (docs/lifecycles.md), generated from the definitions.

``qms lifecycle docs -o docs/lifecycles.md`` rewrites it; a test fails when the
committed file no longer matches the definitions.  Each section explains its
lifecycle with the docstring of the module that defines it.
"""

from __future__ import annotations

import inspect
from importlib import import_module

from workflows import Lifecycle, all_lifecycles
from workflows.reference import anchor, lifecycle_markdown


def _explanation(lc: Lifecycle) -> str:
    module = import_module(f"{__package__}.{lc.name}")
    return inspect.cleandoc(module.__doc__ or lc.description)


def markdown_reference() -> str:
    parts = [
        "# Lifecycles",
        "",
        "Generated from `qms/lifecycles/` by `qms lifecycle docs -o docs/lifecycles.md`; do not edit by hand.",
        "",
        "Every record in qmsflow follows one of these lifecycles. An event moves a record from one state to",
        "another; it names the roles that may fire it, the data it asks for, the rules (guards) that can",
        "block it — the reason is shown next to the disabled action — and, for approvals, the meaning of",
        "the electronic signature (✍ in the diagrams). Each definition carries a version; a record keeps",
        "the version it started under.",
        "",
    ]
    parts += [f"- [{lc.label}](#{anchor(lc)})" for lc in all_lifecycles()]
    parts.append("")
    for lc in all_lifecycles():
        parts.append(lifecycle_markdown(lc, _explanation(lc)))
    return "\n".join(parts)
