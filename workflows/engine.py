"""The workflow engine: one ``transitions`` machine per lifecycle, shared by all records.

The machine is built once with ``model=None`` and fired through
``machine.events[name].trigger(record, ctx=...)``, which reads and writes the
record's ``state`` attribute without registering the record with the machine
(no per-record machine, no strong reference kept, SQLAlchemy rows work as they
are).  Guards run as transition conditions; a blocked guard leaves its reason
on the context so the caller gets a human-readable message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from .definition import Event, Guard, GuardContext, Lifecycle, MissingFact, clean_data
from .errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted, UnknownEvent


@dataclass(frozen=True)
class Availability:
    """Whether ``actor`` may fire ``event`` on a record now, and why not."""

    event: Event
    allowed: bool
    reason: str | None = None
    blocked_by: str | None = None  # "role" or the name of the blocking guard

    @property
    def name(self) -> str:
        return self.event.name

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.name,
            "label": self.event.label,
            "allowed": self.allowed,
            "reason": self.reason,
            "signature_required": self.event.signature is not None,
            "fields": [
                {"name": f.name, "label": f.label, "kind": f.kind, "required": f.required, "choices": list(f.choices)}
                for f in self.event.fields
            ],
        }


@dataclass
class FireResult:
    """What a successful fire changed; the service persists it."""

    event: Event
    source: str
    dest: str
    data: dict[str, Any]
    signature_meaning: str | None


@dataclass
class _FireContext(GuardContext):
    blocked: tuple[Guard, str] | None = field(default=None)


def run_guard(guard: Guard, ctx: GuardContext) -> str | None:
    """The guard's reason to block, or None; an unknown fact blocks too (fail closed)."""
    try:
        return guard.check(ctx)
    except MissingFact as missing:
        return f"This cannot be checked yet: '{missing.name}' is not known ({guard.description or guard.name})"


def _role_reason(event: Event) -> str:
    names = " or ".join(sorted(r.replace("_", " ") for r in event.roles))
    return f"Requires the role {names}"


class LifecycleEngine:
    """Fires events of one lifecycle version on any record with a ``state``."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._events_by_state: dict[str, tuple[Event, ...]] = {
            st.name: tuple(lifecycle.events_from(st.name)) for st in lifecycle.states
        }
        transitions = []
        for ev in lifecycle.events:
            conditions = [self._condition(g) for g in ev.guards]
            for src in ev.sources:
                transitions.append({"trigger": ev.name, "source": src, "dest": ev.dest, "conditions": conditions})
        self.machine = Machine(
            model=None,
            states=[st.name for st in lifecycle.states],
            initial=lifecycle.initial,
            transitions=transitions,
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
            name=lifecycle.name,
        )

    @staticmethod
    def _condition(guard: Guard):
        def condition(event_data: Any) -> bool:
            ctx: _FireContext = event_data.kwargs["ctx"]
            reason = run_guard(guard, ctx)
            if reason:
                ctx.blocked = (guard, reason)
                return False
            return True

        condition.__name__ = guard.name
        return condition

    # -- queries -------------------------------------------------------------

    def available_events(
        self,
        record: Any,
        actor: Any,
        facts: Mapping[str, Any] | None = None,
        today: dt.date | None = None,
    ) -> list[Availability]:
        """Every event leaving the record's state, each allowed or with its reason.

        Guards that need the event's data are checked only when it is fired.
        """
        events = self._events_by_state.get(record.state, ())
        if not events:
            return []
        ctx = GuardContext(record, actor, {}, {} if facts is None else facts, today or dt.date.today())
        actor_roles = actor.roles
        result = []
        for ev in events:
            if not (actor_roles & ev.roles):
                result.append(Availability(ev, False, _role_reason(ev), "role"))
                continue
            for guard in ev.guards:
                if guard.uses_data:
                    continue
                reason = run_guard(guard, ctx)
                if reason:
                    result.append(Availability(ev, False, reason, guard.name))
                    break
            else:
                result.append(Availability(ev, True))
        return result

    # -- commands ------------------------------------------------------------

    def check(self, record: Any, event_name: str, actor: Any) -> Event:
        """Raise unless ``event_name`` exists, leaves the current state and the actor holds a role."""
        ev = self.lifecycle.event_index.get(event_name)
        if ev is None:
            raise UnknownEvent(f"{self.lifecycle.label} has no event '{event_name}'")
        if not (actor.roles & ev.roles):
            raise NotPermitted(f"{_role_reason(ev)} to {ev.label.lower()}")
        state = record.state
        if state not in ev.sources:
            label = self.lifecycle.state_index[state].label if state in self.lifecycle.state_index else state
            raise InvalidTransition(f"'{ev.label}' is not possible while the record is '{label}'")
        return ev

    def fire(
        self,
        record: Any,
        event_name: str,
        actor: Any,
        data: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        today: dt.date | None = None,
        confirm: Callable[[Event], None] | None = None,
    ) -> FireResult:
        """Validate and fire; on success ``record.state`` holds the new state.

        The event, the actor's roles and the record's state are checked first,
        then ``confirm(event)`` if given (the caller's own check that needs the
        event, such as an electronic signature; it refuses by raising), then the
        data and the guards.  Raises UnknownEvent, NotPermitted,
        InvalidTransition, InvalidData or GuardFailed (or what ``confirm``
        raises); in each case the record is left unchanged.
        """
        ev = self.check(record, event_name, actor)
        if confirm is not None:
            confirm(ev)
        cleaned = clean_data(ev.fields, data)
        ctx = _FireContext(record, actor, cleaned, {} if facts is None else facts, today or dt.date.today())
        source = record.state
        if not self.machine.events[ev.name].trigger(record, ctx=ctx):
            guard, reason = ctx.blocked or (None, "The event was refused")
            if guard is not None and guard.field is not None:
                raise InvalidData({guard.field: reason})
            raise GuardFailed(reason, guard.name if guard else "")
        return FireResult(ev, source, record.state, cleaned, ev.signature)
