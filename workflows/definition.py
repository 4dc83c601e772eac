"""Declarative building blocks of a lifecycle: states, events, guards, fields.

A lifecycle is plain data plus small guard functions, so it can be versioned,
validated, rendered as a diagram and tested generically.  Nothing here knows
about Flask or a database: a *record* is any object with a ``state``
attribute, an *actor* anything with ``id`` and ``roles``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import InvalidData


class Actor(Protocol):
    """Who fires an event. ``roles`` is a set of role names (the registry's)."""

    id: Any
    roles: frozenset[str]


@dataclass(frozen=True)
class State:
    name: str
    label: str
    terminal: bool = False
    description: str = ""


# --- fields -----------------------------------------------------------------

#: the dates a record may hold (a year 9999 date would overflow the deadlines computed from it)
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
FIELD_TYPES = ("text", "string", "date", "integer", "choice", "multichoice", "boolean", "list", "json")


@dataclass(frozen=True)
class Field:
    """A piece of data an event asks for (validated before the event fires).

    ``kind`` is one of FIELD_TYPES. ``string`` is a one-line value of at most
    ``max_length`` characters; ``text`` is free text; ``list`` a list of
    non-empty strings; ``json`` any JSON object (structured data, checked by
    the code that stores it).

    ``groups`` declares the shape of a ``json`` field that holds lines sorted
    into named groups: an object mapping group name → list of lines.  It is a
    tuple of ``(name, label)`` pairs, so a form can ask for one list per group
    without knowing what the field is for; like any ``json`` value, the data
    is checked by the code that stores it.
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()
    max_length: int = 10_000
    help: str = ""
    groups: tuple[tuple[str, str], ...] = ()

    def clean(self, value: Any) -> Any:
        """Return the value coerced to its kind, or raise ValueError(message)."""
        kind = self.kind
        if kind in ("text", "string"):
            if not isinstance(value, str):
                raise ValueError("must be a string")
            if "\x00" in value:
                raise ValueError("must not contain NUL characters")
            value = value.strip()
            if kind == "string" and ("\n" in value or "\r" in value):
                raise ValueError("must be a single line")
            limit = min(self.max_length, 200) if kind == "string" else self.max_length
            if len(value) > limit:
                raise ValueError(f"must be at most {limit} characters")
            return value
        if kind == "date":
            if isinstance(value, dt.datetime):
                value = value.date()
            elif isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value.strip())
                except ValueError:
                    raise ValueError("must be a date (YYYY-MM-DD)") from None
            if not isinstance(value, dt.date):
                raise ValueError("must be a date (YYYY-MM-DD)")
            if not MIN_DATE <= value <= MAX_DATE:  # deadlines are computed from dates: keep them in range
                raise ValueError(f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
            return value
        if kind == "integer":
            if isinstance(value, bool):
                raise ValueError("must be an integer")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise ValueError("must be an integer")
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on"):
                return value.lower() in ("true", "1", "yes", "on")
            raise ValueError("must be true or false")
        if kind == "choice":
            if value not in self.choices:
                raise ValueError("must be one of: " + ", ".join(self.choices))
            return value
        if kind in ("list", "multichoice"):
            if not isinstance(value, (list, tuple)):
                raise ValueError("must be a list")
            items = []
            for item in value:
                if not isinstance(item, str) or not item.strip() or "\x00" in item:
                    raise ValueError("must be a list of non-empty strings")
                if kind == "multichoice" and item not in self.choices:
                    raise ValueError(f"'{item}' is not one of: " + ", ".join(self.choices))
                items.append(item.strip())
            return items
        if kind == "json":
            if not isinstance(value, dict):
                raise ValueError("must be an object")
            return value
        raise ValueError(f"unknown field kind {kind!r}")  # pragma: no cover - rejected at definition


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


def clean_data(fields: Iterable[Field], data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate event data against its fields; unknown keys are rejected too."""
    data = dict(data or {})
    known = {f.name: f for f in fields}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name in data:
        if name not in known:
            errors[name] = "is not a field of this event"
    for f in known.values():
        value = data.get(f.name)
        if _is_blank(value):
            if f.required:
                errors[f.name] = "is required"
            continue
        try:
            cleaned[f.name] = f.clean(value)
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        if f.required and _is_blank(cleaned[f.name]):
            errors[f.name] = "is required"
    if errors:
        raise InvalidData(errors)
    return cleaned


# --- guards -----------------------------------------------------------------

_MISSING: Any = object()


class MissingFact(LookupError):
    """A guard asked for a fact that neither the caller nor the record provides."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass
class GuardContext:
    """What a guard sees: the record, the actor, the event data and facts.

    ``facts`` are values the caller computed about the record (for example the
    number of open tasks of each record, counted in one query for a whole page).
    ``fact(name)`` falls back to the record's attribute of the same name.
    """

    record: Any
    actor: Any
    data: Mapping[str, Any]
    facts: Mapping[str, Any]
    today: dt.date

    def fact(self, name: str, default: Any = _MISSING) -> Any:
        """The fact ``name``; with no default, an unknown fact raises MissingFact.

        Guards fail closed: a rule whose facts nobody provided blocks the event
        (with a reason saying so) instead of letting it through unchecked.
        """
        if name in self.facts:
            return self.facts[name]
        value = getattr(self.record, name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise MissingFact(name)
            return default
        return value


@dataclass(frozen=True)
class Guard:
    """A rule that may block an event. ``check`` returns None or the reason.

    ``uses_data`` marks guards that read the event data: when listing the
    available events no data exists yet, so those guards are only checked
    when the event is fired.  ``field`` names the event field such a guard
    validates: its reason is then that field's error (InvalidData, which the
    caller shows beside the field) rather than a block on the event.
    """

    name: str
    check: Callable[[GuardContext], str | None]
    description: str = ""
    uses_data: bool = False
    field: str | None = None

    def __post_init__(self) -> None:
        if self.field is not None and not self.uses_data:
            raise ValueError(f"guard {self.name!r} validates field {self.field!r}, so it must be uses_data=True")


# --- events and lifecycles -----------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One transition: from any of ``sources`` to ``dest``.

    ``signature`` is the meaning recorded with an electronic signature
    ("approved", "verified effective"); None when the event is no approval.
    """

    name: str
    label: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[str]
    guards: tuple[Guard, ...] = ()
    fields: tuple[Field, ...] = ()
    signature: str | None = None
    description: str = ""

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


@dataclass(frozen=True)
class Lifecycle:
    name: str
    version: int
    label: str
    description: str
    states: tuple[State, ...]
    initial: str
    events: tuple[Event, ...]
    state_index: dict[str, State] = field(init=False, repr=False, compare=False)
    event_index: dict[str, Event] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_index", {s.name: s for s in self.states})
        object.__setattr__(self, "event_index", {e.name: e for e in self.events})
        self.validate()

    def validate(self) -> None:
        """Reject an inconsistent definition when it is loaded, not when used."""
        problems: list[str] = []
        if len(self.state_index) != len(self.states):
            problems.append("duplicate state names")
        if len(self.event_index) != len(self.events):
            problems.append("duplicate event names")
        if self.initial not in self.state_index:
            problems.append(f"initial state {self.initial!r} is not a state")
        for ev in self.events:
            for src in ev.sources:
                if src not in self.state_index:
                    problems.append(f"event {ev.name}: unknown source {src!r}")
                elif self.state_index[src].terminal:
                    problems.append(f"event {ev.name}: source {src!r} is terminal")
            if ev.dest not in self.state_index:
                problems.append(f"event {ev.name}: unknown destination {ev.dest!r}")
            if not ev.roles:
                problems.append(f"event {ev.name}: needs at least one role")
            for f in ev.fields:
                if f.kind not in FIELD_TYPES:
                    problems.append(f"event {ev.name}: field {f.name} has unknown kind {f.kind!r}")
                if f.kind in ("choice", "multichoice") and not f.choices:
                    problems.append(f"event {ev.name}: field {f.name} needs choices")
                if f.groups:
                    names = [name for name, _label in f.groups]
                    if f.kind != "json":
                        problems.append(f"event {ev.name}: field {f.name} has groups but is not of kind 'json'")
                    if len(set(names)) != len(names) or not all(names):
                        problems.append(f"event {ev.name}: field {f.name} needs distinct, non-empty group names")
        reachable = {self.initial}
        frontier = [self.initial]
        while frontier:
            current = frontier.pop()
            for ev in self.events:
                if current in ev.sources and ev.dest not in reachable:
                    reachable.add(ev.dest)
                    frontier.append(ev.dest)
        for st in self.states:
            if st.name not in reachable:
                problems.append(f"state {st.name!r} cannot be reached")
            if not st.terminal and not any(st.name in ev.sources for ev in self.events):
                problems.append(f"state {st.name!r} is not terminal but has no way out")
        if problems:
            raise ValueError(f"lifecycle {self.name} v{self.version}: " + "; ".join(problems))

    def state(self, name: str) -> State:
        return self.state_index[name]

    def event(self, name: str) -> Event:
        return self.event_index[name]

    def events_from(self, state: str) -> list[Event]:
        return [ev for ev in self.events if state in ev.sources]

    @property
    def terminal_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.terminal)


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)
