"""Certification bodies as data: who certifies, how their audit programme runs, how they grade.

The bundled profiles live in ``standards/data/bodies/certification-bodies.yaml``; an admin edits
a copy that the application stores as JSON (``body_to_dict`` / ``body_from_dict``), and edits
from a web form or the API are checked with ``validate_body_dict``, whose messages name the
field (``severity_scale[1].response_days: must be a whole number from 1 to 365``; list indices
count from 0, as in JSON). ``parse_bodies`` applies the same rules to YAML and puts the line in
front of each message.

Each body grades findings on its own scale (Major/Minor/Opportunity for improvement,
Category 1/2, Critical…); every grade maps to our NC severity (``major``, ``minor`` or
``observation``) and says how many days the body gives to answer it. In YAML a grade may omit
``response_days`` to take the programme's ``findings_response_days``; an observation may set it
to null (no answer required).

Every programme rule is labelled with its source (``rule_sources``): ``standard`` (ISO/IEC
17021-1 sets it), ``body`` (the body's published rules) or ``programme_setting`` (a value the
certification contract fixes; ISO/IEC 17021-1 sets no day counts for recertifying before expiry,
the stage 1 → stage 2 interval or answering findings). A key left out is a programme setting,
except the cycle keys the standard sets (``STANDARD_RULES``). The file's ``rules`` list labels
the fixed rules of the cycle the same way (``cycle_rules``), with ``policy`` for qmsflow's own.

Only the safe YAML loader is used. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from .catalogue import IDENTIFIER_RE, StandardError, _compose, _data_dir, _kind, _line_of, _LookupMessage

__all__ = [
    "NC_SEVERITIES",
    "RULE_SOURCES",
    "AuditProgrammeRules",
    "CertificationBody",
    "CertificationBodyError",
    "CycleRule",
    "SeverityGrade",
    "UnknownBodyError",
    "UnknownGradeError",
    "body_from_dict",
    "body_to_dict",
    "bundled_bodies",
    "cycle_rules",
    "get_body",
    "parse_bodies",
    "validate_body_dict",
]

#: where the bundled profiles live, relative to ``standards/data``
BUNDLED_FILE = ("bodies", "certification-bodies.yaml")
NC_SEVERITIES = ("major", "minor", "observation")
FILE_KEYS = ("bodies", "description", "rules")
BODY_KEYS = (
    "code",
    "name",
    "country",
    "accreditation",
    "marks",
    "website",
    "notes",
    "programme",
    "severity_scale",
    "rule_sources",
)
#: where a rule comes from (key → label shown beside it)
RULE_SOURCES = {
    "standard": "ISO/IEC 17021-1",
    "body": "The body's published rules",
    "programme_setting": "Programme setting",
    "transition": "ISO and IAF transition arrangements",
    "policy": "qmsflow policy",
}
#: programme keys ISO/IEC 17021-1 itself sets (a 3-year cycle, surveillance at least yearly, the first within 12 months)
STANDARD_RULES = ("certificate_years", "surveillance_interval_months", "first_surveillance_max_months")
RULE_KEYS = ("code", "rule", "source", "note")
REQUIRED_BODY_KEYS = ("code", "name", "programme", "severity_scale")
GRADE_KEYS = ("code", "label", "nc_severity", "response_days", "blocks_certification")
REQUIRED_GRADE_KEYS = ("code", "label", "nc_severity", "blocks_certification")
#: programme key -> (lowest, highest) allowed whole number
PROGRAMME_RANGES: dict[str, tuple[int, int]] = {
    "certificate_years": (1, 5),
    # ISO/IEC 17021-1: surveillance at least once a calendar year, the first within 12 months
    "surveillance_interval_months": (1, 12),
    "first_surveillance_max_months": (1, 12),
    "recertification_lead_days": (1, 365),
    "stage2_max_days_after_stage1": (1, 365),
    "findings_response_days": (1, 365),
}
PROGRAMME_KEYS = (*PROGRAMME_RANGES, "reminder_days")
DAYS_RANGE = (1, 365)
COUNTRY_RE = re.compile(r"[A-Z]{2}")
MAX_NAME_LENGTH = 200
MAX_ITEM_LENGTH = 100
MAX_NOTES_LENGTH = 2000


# --------------------------------------------------------------------------- errors


class CertificationBodyError(StandardError):
    """Certification-body data failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        head = f"invalid certification bodies {source}" if source else "invalid certification body"
        ValueError.__init__(self, head + ":\n" + "\n".join(f"  - {error}" for error in self.errors))


class UnknownBodyError(_LookupMessage):
    """No bundled certification body has this code."""


class UnknownGradeError(_LookupMessage):
    """The body's severity scale has no grade with this code."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class SeverityGrade:
    """One grade of a body's own severity scale and what it means for us."""

    code: str
    label: str
    #: our NC severity: major, minor or observation
    nc_severity: str
    #: days the body gives to answer a finding of this grade; None when no answer is required
    response_days: int | None
    #: a finding of this grade open at the decision stops (re)certification
    blocks_certification: bool

    @property
    def raises_nonconformity(self) -> bool:
        """Whether a finding of this grade is recorded as a nonconformity (not an observation)."""
        return self.nc_severity != "observation"


@dataclass(frozen=True)
class AuditProgrammeRules:
    """A body's audit programme: the certification cycle and its deadlines."""

    certificate_years: int
    surveillance_interval_months: int
    first_surveillance_max_months: int
    recertification_lead_days: int
    stage2_max_days_after_stage1: int
    findings_response_days: int
    #: remind this many days before each deadline, largest first
    reminder_days: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "reminder_days", tuple(sorted(set(self.reminder_days), reverse=True)))


@dataclass(frozen=True)
class CertificationBody:
    """A certification body's profile: identity, accreditation, programme and grading."""

    code: str
    name: str
    programme: AuditProgrammeRules
    severity_scale: tuple[SeverityGrade, ...]
    #: ISO 3166 alpha-2 code of the head office; None for the generic profile
    country: str | None = None
    accreditation: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()
    website: str | None = None
    notes: str = ""
    #: (programme key, source) for the keys whose source is given; the rest take their default
    rule_sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("severity_scale", "accreditation", "marks"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "rule_sources", tuple(sorted(dict(self.rule_sources).items())))

    def source_of(self, key: str) -> str:
        """Where the programme rule ``key`` comes from: standard, body or programme_setting."""
        given = dict(self.rule_sources)
        if key in given:
            return given[key]
        return "standard" if key in STANDARD_RULES else "programme_setting"

    def grade(self, code: str) -> SeverityGrade:
        """The grade with this code; UnknownGradeError (a KeyError) if the scale has none."""
        for grade in self.severity_scale:
            if grade.code == code:
                return grade
        codes = ", ".join(grade.code for grade in self.severity_scale)
        raise UnknownGradeError(f"{self.name} has no grade {code!r} (grades: {codes})")

    @property
    def major_codes(self) -> tuple[str, ...]:
        """Codes of the grades recorded as major nonconformities."""
        return tuple(grade.code for grade in self.severity_scale if grade.nc_severity == "major")

    def response_due(self, grade_code: str, raised_on: dt.date) -> dt.date | None:
        """The day the body expects an answer to a finding of this grade; None if none is required."""
        days = self.grade(grade_code).response_days
        return None if days is None else raised_on + dt.timedelta(days=days)


# --------------------------------------------------------------------------- validation

Problem = tuple[str, str]  # (field path, message)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range_message(low: int, high: int) -> str:
    return f"must be a whole number from {low} to {high}"


def _line(value: Any, limit: int) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and "\n" not in value
        and "\r" not in value
        and "\x00" not in value
        and len(value) <= limit
    )


def _strings(value: Any, path: str, limit: int) -> list[Problem]:
    if not isinstance(value, list):
        return [(path, f"must be a list of names, not {_kind(value)}")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not _line(item, limit):
            problems.append((f"{path}[{index}]", f"must be a non-empty single line of at most {limit} characters"))
        elif item.strip() in seen:
            problems.append((f"{path}[{index}]", f"repeats {item.strip()!r}"))
        else:
            seen.add(item.strip())
    return problems


def _unknown(data: Mapping[Any, Any], allowed: Sequence[str], prefix: str) -> list[Problem]:
    return [(f"{prefix}{key}", f"unknown key (allowed: {', '.join(allowed)})") for key in data if key not in allowed]


def _body_problems(data: Any) -> list[Problem]:
    """Every problem of one body's data, as (field path, message); empty when it is valid."""
    if not isinstance(data, Mapping):
        return [("", f"a certification body must be a mapping with the keys {', '.join(REQUIRED_BODY_KEYS)}")]
    problems = [(key, "required") for key in REQUIRED_BODY_KEYS if key not in data]
    problems += _unknown(data, BODY_KEYS, "")
    if "code" in data:
        code = data["code"]
        if not isinstance(code, str) or not IDENTIFIER_RE.fullmatch(code) or len(code) > 60:
            problems.append(("code", "must be lowercase letters and digits joined by '-', such as 'tuv-sud'"))
    if "name" in data and not _line(data["name"], MAX_NAME_LENGTH):
        problems.append(("name", f"must be a non-empty single line of at most {MAX_NAME_LENGTH} characters"))
    if data.get("country") is not None:
        problems += _country(data["country"])
    for key in ("accreditation", "marks"):
        if key in data:
            problems += _strings(data[key], key, MAX_ITEM_LENGTH)
    if data.get("website") is not None:
        website = data["website"]
        parts = urlsplit(website) if isinstance(website, str) else None
        if parts is None or parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in website):
            problems.append(("website", "must be an https:// address such as 'https://www.kebs.org'"))
    if "notes" in data:
        notes = data["notes"]
        if not isinstance(notes, str) or len(notes) > MAX_NOTES_LENGTH:
            problems.append(("notes", f"must be text of at most {MAX_NOTES_LENGTH} characters"))
    programme = data.get("programme")
    if "programme" in data:
        problems += _programme_problems(programme)
    if "severity_scale" in data:
        problems += _scale_problems(data["severity_scale"])
    if data.get("rule_sources") is not None:
        problems += _sources_problems(data["rule_sources"])
    return problems


def _sources_problems(value: Any) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [("rule_sources", "must map programme keys to a source")]
    problems: list[Problem] = []
    for key, source in value.items():
        if key not in PROGRAMME_KEYS:
            problems.append((f"rule_sources.{key}", f"unknown programme key (allowed: {', '.join(PROGRAMME_KEYS)})"))
        elif source not in ("standard", "body", "programme_setting"):
            problems.append((f"rule_sources.{key}", "must be one of: standard, body, programme_setting"))
    return problems


def _country(value: Any) -> list[Problem]:
    if isinstance(value, bool):
        return [("country", "must be an ISO 3166 alpha-2 code; write it quoted (YAML reads NO, Norway, as false)")]
    if value == "UK":
        return [("country", "'UK' is not an ISO 3166 alpha-2 code: the United Kingdom is 'GB'")]
    if not isinstance(value, str) or not COUNTRY_RE.fullmatch(value):
        return [("country", "must be an ISO 3166 alpha-2 code in capitals, such as 'KE' or 'GB'")]
    return []


def _programme_problems(programme: Any) -> list[Problem]:
    if not isinstance(programme, Mapping):
        return [("programme", f"must be a mapping with the keys {', '.join(PROGRAMME_KEYS)}")]
    problems = [(f"programme.{key}", "required") for key in PROGRAMME_KEYS if key not in programme]
    problems += _unknown(programme, PROGRAMME_KEYS, "programme.")
    for key, (low, high) in PROGRAMME_RANGES.items():
        if key in programme and not (_whole(programme[key]) and low <= programme[key] <= high):
            problems.append((f"programme.{key}", _range_message(low, high)))
    years, lead = programme.get("certificate_years"), programme.get("recertification_lead_days")
    if _whole(years) and _whole(lead) and years >= 1 and 365 * years <= lead <= DAYS_RANGE[1]:
        problems.append(("programme.recertification_lead_days", "must be shorter than the certificate's validity"))
    if "reminder_days" in programme:
        reminders = programme["reminder_days"]
        if not isinstance(reminders, list):
            problems.append(
                ("programme.reminder_days", f"must be a list of whole numbers of days, not {_kind(reminders)}")
            )
        else:
            seen: set[int] = set()
            for index, days in enumerate(reminders):
                where = f"programme.reminder_days[{index}]"
                if not (_whole(days) and DAYS_RANGE[0] <= days <= DAYS_RANGE[1]):
                    problems.append((where, _range_message(*DAYS_RANGE)))
                elif days in seen:
                    problems.append((where, f"repeats {days}"))
                else:
                    seen.add(days)
    return problems


def _scale_problems(scale: Any) -> list[Problem]:
    if not isinstance(scale, list) or not scale:
        return [("severity_scale", "must be a non-empty list of grades")]
    problems: list[Problem] = []
    codes: dict[str, int] = {}
    labels: dict[str, int] = {}
    for index, grade in enumerate(scale):
        at = f"severity_scale[{index}]"
        if not isinstance(grade, Mapping):
            problems.append((at, f"must be a mapping with the keys {', '.join(REQUIRED_GRADE_KEYS)}"))
            continue
        problems += [(f"{at}.{key}", "required") for key in REQUIRED_GRADE_KEYS if key not in grade]
        problems += _unknown(grade, GRADE_KEYS, f"{at}.")
        code, label, severity = grade.get("code"), grade.get("label"), grade.get("nc_severity")
        if "code" in grade:
            if not isinstance(code, str) or not IDENTIFIER_RE.fullmatch(code) or len(code) > 40:
                problems.append(
                    (f"{at}.code", "must be lowercase letters and digits joined by '-', such as 'major' (40 at most)")
                )
            elif code in codes:
                problems.append((f"{at}.code", f"repeats the code of severity_scale[{codes[code]}]"))
            else:
                codes[code] = index
        if "label" in grade:
            if not _line(label, MAX_ITEM_LENGTH):
                problems.append(
                    (f"{at}.label", f"must be a non-empty single line of at most {MAX_ITEM_LENGTH} characters")
                )
            elif label.strip().casefold() in labels:
                problems.append(
                    (f"{at}.label", f"repeats the label of severity_scale[{labels[label.strip().casefold()]}]")
                )
            else:
                labels[label.strip().casefold()] = index
        if "nc_severity" in grade and severity not in NC_SEVERITIES:
            problems.append((f"{at}.nc_severity", f"must be one of: {', '.join(NC_SEVERITIES)}"))
        if "response_days" in grade:
            days = grade["response_days"]
            if days is None:
                if severity in ("major", "minor"):
                    problems.append((f"{at}.response_days", "a nonconformity needs a response deadline"))
            elif not (_whole(days) and DAYS_RANGE[0] <= days <= DAYS_RANGE[1]):
                problems.append((f"{at}.response_days", _range_message(*DAYS_RANGE)))
        if "blocks_certification" in grade:
            blocks = grade["blocks_certification"]
            if not isinstance(blocks, bool):
                problems.append((f"{at}.blocks_certification", "must be true or false"))
            elif blocks and severity == "observation":
                problems.append((f"{at}.blocks_certification", "an observation cannot block certification"))
    return problems


def _format(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def validate_body_dict(data: Any) -> list[str]:
    """Every problem of one body's data (from a web form, the API or a stored copy); empty when valid.

    Each message names its field, e.g. ``severity_scale[1].response_days: must be a whole number
    from 1 to 365`` (indices count from 0).
    """
    return [_format(path, message) for path, message in _body_problems(data)]


# --------------------------------------------------------------------------- building


def _build(data: Mapping[str, Any]) -> CertificationBody:
    """A CertificationBody from data that ``_body_problems`` found valid."""
    programme = data["programme"]
    rules = AuditProgrammeRules(
        **{key: programme[key] for key in PROGRAMME_RANGES}, reminder_days=tuple(programme["reminder_days"])
    )
    grades = []
    for grade in data["severity_scale"]:
        if "response_days" in grade:
            days = grade["response_days"]
        else:
            days = None if grade["nc_severity"] == "observation" else rules.findings_response_days
        grades.append(
            SeverityGrade(
                code=grade["code"],
                label=grade["label"].strip(),
                nc_severity=grade["nc_severity"],
                response_days=days,
                blocks_certification=grade["blocks_certification"],
            )
        )
    return CertificationBody(
        code=data["code"],
        name=data["name"].strip(),
        programme=rules,
        severity_scale=tuple(grades),
        country=data.get("country"),
        accreditation=tuple(item.strip() for item in data.get("accreditation") or ()),
        marks=tuple(item.strip() for item in data.get("marks") or ()),
        website=data.get("website"),
        notes=(data.get("notes") or "").strip(),
        rule_sources=tuple((data.get("rule_sources") or {}).items()),
    )


def body_from_dict(data: Any) -> CertificationBody:
    """A CertificationBody from its dict form (``body_to_dict``); CertificationBodyError if invalid."""
    errors = validate_body_dict(data)
    if errors:
        raise CertificationBodyError(errors)
    return _build(data)


def body_to_dict(body: CertificationBody) -> dict[str, Any]:
    """The JSON-ready dict form of a body, every field explicit; ``body_from_dict`` reads it back."""
    rules = body.programme
    return {
        "code": body.code,
        "name": body.name,
        "country": body.country,
        "accreditation": list(body.accreditation),
        "marks": list(body.marks),
        "website": body.website,
        "notes": body.notes,
        "programme": {key: getattr(rules, key) for key in PROGRAMME_RANGES}
        | {"reminder_days": list(rules.reminder_days)},
        "severity_scale": [
            {
                "code": grade.code,
                "label": grade.label,
                "nc_severity": grade.nc_severity,
                "response_days": grade.response_days,
                "blocks_certification": grade.blocks_certification,
            }
            for grade in body.severity_scale
        ],
        "rule_sources": dict(body.rule_sources),
    }


# --------------------------------------------------------------------------- YAML


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    """Line of every field path under ``node``: a key's line for mapping values, an item's for list items."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = f"{path}.{key_node.value}" if path else key_node.value
                lines[child] = key_node.start_mark.line + 1
                _node_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, f"{path}[{index}]", lines)


def _line_for(path: str, lines: Mapping[str, int]) -> int | None:
    """The line of ``path``, or of its nearest enclosing field (a missing key: its mapping's line)."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def _duplicates(node: yaml.Node, path: str = "") -> list[Problem]:
    """Keys repeated within any mapping under ``node`` (PyYAML silently keeps the last)."""
    found: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            child = f"{path}.{key_node.value}" if path else key_node.value
            if key_node.value in seen:
                found.append((f"line {key_node.start_mark.line + 1}", f"{child}: duplicate key"))
            seen.add(key_node.value)
            found += _duplicates(value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicates(item, f"{path}[{index}]")
    return found


def parse_bodies(text: str, *, source: str | None = None) -> list[CertificationBody]:
    """Certification bodies from YAML text (``bodies:`` a list of profiles).

    CertificationBodyError lists every problem, each as ``line N: <body code>: <field>: <message>``.
    """
    try:
        data, node = _compose(text, source)
    except StandardError as exc:  # the YAML reader's own errors, already line-numbered
        raise CertificationBodyError(exc.errors, source) from exc
    if not isinstance(data, Mapping) or not isinstance(node, yaml.MappingNode):
        raise CertificationBodyError(["a certification bodies file must be a mapping with the key 'bodies'"], source)
    top: dict[str, int] = {}
    _node_lines(node, "", top)
    errors = [f"{where}: {message}" for where, message in _duplicates(node)]
    errors += [
        f"line {top.get(key, 1)}: {key}: unknown key (allowed: {', '.join(FILE_KEYS)})"
        for key in data
        if key not in FILE_KEYS
    ]
    if "description" in data and not isinstance(data["description"], str):
        errors.append(f"line {top['description']}: description: must be text")
    bodies = data.get("bodies")
    bodies_node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "bodies"), None)
    built: list[CertificationBody] = []
    if not isinstance(bodies, list) or not bodies or not isinstance(bodies_node, yaml.SequenceNode):
        errors.append(f"line {top.get('bodies', 1)}: bodies: must be a non-empty list of certification bodies")
    else:
        first_line: dict[str, int] = {}
        for index, (item_node, entry) in enumerate(zip(bodies_node.value, bodies, strict=True)):
            lines: dict[str, int] = {}
            _node_lines(item_node, "", lines)
            code = entry.get("code") if isinstance(entry, Mapping) else None
            name = code if isinstance(code, str) and IDENTIFIER_RE.fullmatch(code) else f"bodies[{index}]"
            problems = _body_problems(entry)
            errors += [f"line {_line_for(path, lines)}: {name}: {_format(path, message)}" for path, message in problems]
            if isinstance(code, str) and name == code:
                if code in first_line:
                    errors.append(f"line {lines['code']}: {code}: code: repeats the code of line {first_line[code]}")
                else:
                    first_line[code] = lines["code"]
            if not problems:
                built.append(_build(entry))
    if errors:
        raise CertificationBodyError(sorted(errors, key=_line_of), source)
    return built


# --------------------------------------------------------------------------- cycle rules


@dataclass(frozen=True)
class CycleRule:
    """A fixed rule of the certification cycle, labelled with where it comes from."""

    code: str
    rule: str
    source: str
    note: str = ""

    @property
    def source_label(self) -> str:
        return RULE_SOURCES.get(self.source, self.source)


def _rules_from(data: Any, source: str | None) -> tuple[CycleRule, ...]:
    if data is None:
        return ()
    errors: list[str] = []
    if not isinstance(data, list):
        raise CertificationBodyError(["rules: must be a list"], source)
    found = []
    for index, entry in enumerate(data):
        at = f"rules[{index}]"
        if not isinstance(entry, Mapping) or any(key not in RULE_KEYS for key in entry):
            errors.append(f"{at}: must be a mapping with the keys {', '.join(RULE_KEYS)}")
            continue
        if entry.get("source") not in RULE_SOURCES:
            errors.append(f"{at}.source: must be one of: {', '.join(RULE_SOURCES)}")
            continue
        if not _line(entry.get("code"), 60) or not _line(entry.get("rule"), 300):
            errors.append(f"{at}: code and rule must be single lines")
            continue
        found.append(
            CycleRule(entry["code"], entry["rule"].strip(), entry["source"], (entry.get("note") or "").strip())
        )
    if errors:
        raise CertificationBodyError(errors, source)
    return tuple(found)


@functools.cache
def _bundled_rules() -> tuple[CycleRule, ...]:
    resource = _data_dir().joinpath(*BUNDLED_FILE)
    source = "standards/data/" + "/".join(BUNDLED_FILE)
    data, _ = _compose(resource.read_text(encoding="utf-8"), source)
    return _rules_from(data.get("rules") if isinstance(data, Mapping) else None, source)


def cycle_rules() -> list[CycleRule]:
    """The fixed rules of the certification cycle, each with its source (loaded once)."""
    return list(_bundled_rules())


# --------------------------------------------------------------------------- bundled


@functools.cache
def _bundled() -> tuple[CertificationBody, ...]:
    resource = _data_dir().joinpath(*BUNDLED_FILE)
    return tuple(parse_bodies(resource.read_text(encoding="utf-8"), source="standards/data/" + "/".join(BUNDLED_FILE)))


def bundled_bodies() -> list[CertificationBody]:
    """Every certification body profile shipped with qmsflow, in file order (loaded once)."""
    return list(_bundled())


def get_body(code: str) -> CertificationBody:
    """The bundled body with this code; UnknownBodyError (a KeyError) if there is none."""
    for body in _bundled():
        if body.code == code:
            return body
    known = ", ".join(body.code for body in _bundled())
    raise UnknownBodyError(f"no bundled certification body {code!r} (bundled: {known})")
