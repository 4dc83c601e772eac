"""Stored values in words people read: one place for pages, PDFs, e-mails and exports.

The database and the API keep precise values (``five_whys``, ``quality_officer``,
``internal_audit``); people see "Five whys", "Quality officer", "Internal audit".
``label`` knows every value a choice can hold; ``event_details`` turns the data an
event recorded into labelled lines, lists kept as lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from workflows import Lifecycle

from .lifecycles.roles import ROLE_LABELS
from .models.complaints import CHANNELS
from .models.nonconformities import NC_SOURCES, SEVERITY_LABELS

ROOT_CAUSE_METHOD_LABELS = {
    "five_whys": "Five whys",
    "fishbone": "Fishbone (Ishikawa)",
    "8d": "8D (eight disciplines)",
    "other": "Other method",
}

#: every stored choice whose words are not just the value with its underscores turned into spaces
LABELS: dict[str, str] = {
    **ROLE_LABELS,
    **NC_SOURCES,
    **SEVERITY_LABELS,
    **ROOT_CAUSE_METHOD_LABELS,
    **CHANNELS,
    "man": "People",
    "nps": "Net Promoter Score",
    "csi": "Customer Satisfaction Index",
    "servqual": "SERVQUAL",
    "kebs": "KEBS",
    "sgs": "SGS",
    "stage1": "Stage 1 audit",
    "stage2": "Stage 2 audit",
    "iso-9001-2015": "ISO 9001:2015",
    "iso-9001-2008": "ISO 9001:2008",
    "iso-9001-2015-amd1-2024": "ISO 9001:2015 with Amendment 1:2024",
    "iso-9001-2026": "ISO 9001:2026",
}


#: words that are written in capitals inside a label
ACRONYMS = {"nps": "NPS", "csi": "CSI", "nc": "NC", "ncs": "NCs", "qms": "QMS", "iso": "ISO", "ofi": "OFI"}
#: keys of compiled figures whose words are not their parts'
FIGURE_LABELS = {"nps_n": "NPS responses", "csi_n": "CSI responses", "n": "Responses"}
_IDENTIFIER = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")


def _add_bundled_standards() -> None:
    """Standards shipped as data are named by their title where no shorter label is given above."""
    from standards import bundled_standards

    for standard in bundled_standards():
        LABELS.setdefault(standard.identifier, standard.title)


_add_bundled_standards()


def label(value: Any) -> str:
    """The words for a stored value: "five_whys" → "Five whys"; None or "" → "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text in LABELS:
        return LABELS[text]
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def figure_label(key: Any) -> str:
    """A compiled figure's key as a label: ``open_by_severity`` → "Open by severity", ``nps_n`` → "NPS responses"."""
    text = str(key)
    if text in FIGURE_LABELS:
        return FIGURE_LABELS[text]
    if text in LABELS and text not in ACRONYMS:
        return LABELS[text]
    parts = [w for w in text.replace("-", "_").split("_") if w]
    if not parts:
        return text
    out = [ACRONYMS.get(w.lower(), w) for w in parts]
    if out[0] not in ACRONYMS.values():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def words(value: str) -> str:
    """A stored value that turns up among free text ("in_progress", "whatsapp") in words; other text as it is."""
    return label(value) if _IDENTIFIER.fullmatch(value) or value in LABELS else value


def _value_lines(field: Any, value: Any) -> str | list[str]:
    """One line, or a list of lines, for the value of an event field."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, Mapping):
        groups = dict(getattr(field, "groups", ()) or ())
        lines = []
        for key, items in value.items():
            name = groups.get(key, label(key))
            for item in items if isinstance(items, list) else [items]:
                lines.append(f"{name}: {item}")
        return lines
    if field is not None and getattr(field, "choices", ()):
        return label(value)
    if isinstance(value, bool | dt.date):
        return label(value)
    return str(value)


def event_details(lifecycle: Lifecycle, event_name: str, data: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """The data an event recorded as (field label, value or list of values), in the event's field order."""
    if not data:
        return []
    event = lifecycle.event_index.get(event_name)
    fields = {f.name: f for f in event.fields} if event is not None else {}
    order = list(fields) + [name for name in data if name not in fields]
    details = []
    for name in order:
        if name not in data or data[name] in (None, "", [], {}):
            continue
        field = fields.get(name)
        details.append((field.label if field is not None else label(name), _value_lines(field, data[name])))
    return details
