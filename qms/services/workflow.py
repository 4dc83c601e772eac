"""Firing workflow events: the one place where a record changes state.

``fire`` runs the engine's checks, changes the state, applies the event's
effects on the record, writes the history row and (through the flush) the
audit-trail entry, and commits all of it in one transaction, or none of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from workflows import Availability, Event, FireResult, get_engine
from workflows.errors import Conflict, GuardFailed, InvalidData

from ..database import begin_write, db, event_date, event_time
from ..models import Actor, TransitionHistory, User, WorkflowRecord
from .audit_trail import audit_context
from .identity import SignatureRefused, note_signing_failure, note_signing_success, refuse_if_signing_locked
from .users import check_password

Effect = Callable[[Any, FireResult, Actor, dt.datetime], None]
FactsProvider = Callable[[Session, Sequence[Any]], dict[int, dict[str, Any]]]
#: (records, actor, today) → {record id: why the actor may not fire the event on it}
ActorPrecondition = Callable[[Sequence[Any], Actor, dt.date], dict[int, str]]

_effects: dict[tuple[str, str], list[Effect]] = {}
_facts: dict[str, tuple[frozenset[str], FactsProvider]] = {}
_preconditions: dict[tuple[str, str], list[tuple[str, ActorPrecondition]]] = {}


def effect(lifecycle: str, *events: str) -> Callable[[Effect], Effect]:
    """Register what an event writes on the record besides its state."""

    def register(fn: Effect) -> Effect:
        for name in events:
            _effects.setdefault((lifecycle, name), []).append(fn)
        return fn

    return register


def actor_precondition(lifecycle: str, *events: str, name: str) -> Callable[[ActorPrecondition], ActorPrecondition]:
    """Register a rule about the actor that the application, not the lifecycle, knows (a competence an
    administrator made a precondition of an assignment).

    Such a rule reads the database, so it cannot be a guard of the pure ``workflows`` definition; it
    blocks the event when it is fired and shows it blocked, with its reason, wherever the available
    events are listed (record pages, the API, My work), like a guard. It is called once per batch of
    records on which the event is otherwise allowed, so a page of records costs a query or two, not
    one per record.
    """

    def register(fn: ActorPrecondition) -> ActorPrecondition:
        for event in events:
            _preconditions.setdefault((lifecycle, event), []).append((name, fn))
        return fn

    return register


def _apply_preconditions(
    records: Sequence[WorkflowRecord], actor: Actor, today: dt.date, found: dict[int, list[Availability]]
) -> None:
    """Turn the allowed events an actor precondition refuses into blocked ones with its reason."""
    if not records or not _preconditions:
        return
    lifecycle = records[0].lifecycle_name
    by_id = {record.id: record for record in records}
    for (name_of_lifecycle, event), rules in _preconditions.items():
        if name_of_lifecycle != lifecycle:
            continue
        allowed = [
            record
            for record_id, record in by_id.items()
            if any(a.allowed and a.name == event for a in found[record_id])
        ]
        for guard_name, rule in rules:
            if not allowed:
                break
            with db.session.no_autoflush:
                refused = rule(allowed, actor, today)
            for record_id, reason in refused.items():
                found[record_id] = [
                    Availability(a.event, False, reason, guard_name) if a.allowed and a.name == event else a
                    for a in found[record_id]
                ]
            allowed = [record for record in allowed if record.id not in refused]


def _check_preconditions(record: WorkflowRecord, event: str, actor: Actor, today: dt.date) -> None:
    for guard_name, rule in _preconditions.get((record.lifecycle_name, event), ()):
        with db.session.no_autoflush:
            reason = rule([record], actor, today).get(record.id)
        if reason:
            raise GuardFailed(reason, guard_name)


def facts_provider(lifecycle: str, provides: Sequence[str]) -> Callable[[FactsProvider], FactsProvider]:
    """Register the function that computes the guard facts ``provides`` for many records at once."""

    def register(fn: FactsProvider) -> FactsProvider:
        _facts[lifecycle] = (frozenset(provides), fn)
        return fn

    return register


class _LazyFacts(Mapping[str, Any]):
    """Facts of one record, computed (for the whole batch, in one query) on first use.

    Most events have no guard that needs a computed fact: firing them costs no
    extra query.
    """

    def __init__(self, batch: _FactsBatch, record_id: int) -> None:
        self._batch = batch
        self._record_id = record_id

    def __contains__(self, name: object) -> bool:
        return name in self._batch.provides and name in self._batch.values().get(self._record_id, {})

    def __getitem__(self, name: str) -> Any:
        if name not in self._batch.provides:
            raise KeyError(name)
        return self._batch.values()[self._record_id][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._batch.values().get(self._record_id, {}))

    def __len__(self) -> int:
        return len(self._batch.values().get(self._record_id, {}))


class _FactsBatch:
    def __init__(self, records: Sequence[WorkflowRecord]) -> None:
        self.records = records
        self.provides, self._provider = _facts.get(records[0].lifecycle_name, (frozenset(), None))
        self._values: dict[int, dict[str, Any]] | None = None

    def values(self) -> dict[int, dict[str, Any]]:
        if self._values is None:
            self._values = self._provider(db.session, self.records) if self._provider else {}
        return self._values


def facts_for(records: Sequence[WorkflowRecord]) -> dict[int, Mapping[str, Any]]:
    """Guard facts per record id, for records of one lifecycle; one query, and only if a guard asks."""
    if not records:
        return {}
    batch = _FactsBatch(records)
    return {record.id: _LazyFacts(batch, record.id) for record in records}


def as_actor(actor: User | Actor) -> Actor:
    return actor.as_actor() if isinstance(actor, User) else actor


def available_events(record: WorkflowRecord, actor: User | Actor, today: dt.date | None = None) -> list[Availability]:
    actor = as_actor(actor)
    engine = get_engine(record.lifecycle_name, record.lifecycle_version)
    facts = facts_for([record]).get(record.id, {})
    today = today or dt.date.today()
    found = {record.id: engine.available_events(record, actor, facts, today)}
    _apply_preconditions([record], actor, today, found)
    return found[record.id]


def available_events_many(
    records: Iterable[WorkflowRecord],
    actor: User | Actor,
    today: dt.date | None = None,
    *,
    facts: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, list[Availability]]:
    """Available events for a page of records, with one facts query, not one per record.

    ``facts``: ``facts_for`` of these records (or more), when the caller asks for many actors.
    """
    records = list(records)
    actor = as_actor(actor)
    if facts is None:
        facts = facts_for(records)
    today = today or dt.date.today()
    result = {}
    for record in records:
        engine = get_engine(record.lifecycle_name, record.lifecycle_version)
        result[record.id] = engine.available_events(record, actor, facts.get(record.id, {}), today)
    by_lifecycle: dict[str, list[WorkflowRecord]] = {}
    for record in records:
        by_lifecycle.setdefault(record.lifecycle_name, []).append(record)
    for group in by_lifecycle.values():
        _apply_preconditions(group, actor, today, result)
    return result


#: what a refused signature answers, beside its field on a form and in the API's ``errors``: full
#: sentences that name what was wrong, never "is incorrect" alone (the field is not always shown)
SIGNATURE_PASSWORD_WRONG = "The password you signed with is incorrect. Re-enter your own password to sign."  # noqa: S105
SIGNATURE_PASSWORD_MISSING = "Enter your password to sign: a signature needs it every time."  # noqa: S105
SIGNATURE_PASSWORD_UNCHECKED = "The password you signed with was not checked, because the e-mail address is not yours."  # noqa: S105
SIGNATURE_EMAIL_WRONG = "The e-mail address you signed with does not match your account. Enter your own e-mail address."
SIGNATURE_EMAIL_MISSING = "Enter your e-mail address too: the first signature of a session asks for it."


def _check_signature(actor: Actor, password: str | None, email: str | None, full: bool) -> None:
    """21 CFR 11.200(a): both components (e-mail address and password) on the first signing of a
    session (``full``), the password on later ones; refused while signing is locked (11.300(d)).

    A wrong e-mail address or password raises ``SignatureRefused``, which ``fire`` counts and records.
    """
    user = db.session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise InvalidData({"signature_password": "Only a person can sign: sign in as yourself to sign."})
    refuse_if_signing_locked(user)
    missing: dict[str, str] = {}
    if full and not (email or "").strip():
        missing["signature_email"] = SIGNATURE_EMAIL_MISSING
    if not password:
        missing["signature_password"] = SIGNATURE_PASSWORD_MISSING
    if missing:
        raise InvalidData(missing)
    if email is not None and email.strip() and email.strip().lower() != user.email.lower():
        raise SignatureRefused(
            {"signature_email": SIGNATURE_EMAIL_WRONG, "signature_password": SIGNATURE_PASSWORD_UNCHECKED}, user.id
        )
    if not check_password(user, password):
        raise SignatureRefused({"signature_password": SIGNATURE_PASSWORD_WRONG}, user.id)
    note_signing_success(user)


def fire(
    record: WorkflowRecord,
    event: str,
    actor: User | Actor,
    data: Mapping[str, Any] | None = None,
    *,
    comment: str = "",
    expected_version: int | None = None,
    signature_password: str | None = None,
    signature_email: str | None = None,
    full_signature: bool = False,
    today: dt.date | None = None,
) -> TransitionHistory:
    """Fire ``event`` on ``record`` as ``actor``; commit state, history and audit entry together.

    A signed event needs ``signature_password``; with ``full_signature`` (the first signing of a
    session, every signing through the API) ``signature_email`` too. A wrong one is counted
    towards the signing lock and recorded in the audit trail, in a transaction of its own.

    Raises the engine's typed errors (NotPermitted, InvalidTransition,
    GuardFailed, InvalidData) or Conflict when ``expected_version`` is stale or
    another transaction changed the record first.  On any error nothing is
    written and the record is reloaded as it is in the database.
    """
    actor = as_actor(actor)
    comment = (comment or "").strip()
    if len(comment) > 10_000:
        raise InvalidData({"comment": "must be at most 10000 characters"})

    def signed(ev: Event) -> None:
        """Called by the engine after its checks of the event, the role and the state; before the data."""
        if ev.signature:
            _check_signature(actor, signature_password, signature_email, full_signature)

    session = db.session
    begin_write(session)
    try:
        # No row lock is taken: the UPDATE carries ``WHERE version = <read>``
        # (version_id_col), so of two concurrent writers the second updates no
        # row and gets a Conflict instead of overwriting the first.
        if expected_version is not None and record.version != expected_version:
            raise Conflict(
                f"The record changed since you loaded it (version {expected_version}, now {record.version}); reload it"
            )
        history = apply_event(record, event, actor, data, comment=comment, today=today, confirm=signed)
        with audit_context(session, actor, reason=history.comment or _reason(history), event=event):
            session.commit()
    except (StaleDataError, ObjectDeletedError):
        session.rollback()
        raise Conflict("Another change to this record was saved first; reload it and try again") from None
    except SignatureRefused as exc:
        session.rollback()
        locked = note_signing_failure(exc.user_id, exc.kind, "wrong e-mail address or password for a signature")
        if locked is not None:
            exc.errors["signature_password"] = (
                "The password you signed with is incorrect. After 5 failed attempts signing is locked"
                f" until {locked:%Y-%m-%d %H:%M} UTC."
            )
        raise
    except IntegrityError as exc:
        # a database rule (such as one revision in force per document) refused the change
        # because a concurrent transaction got there first
        session.rollback()
        raise Conflict("This change conflicts with another one saved at the same time; reload and try again") from exc
    except BaseException:
        session.rollback()
        raise
    return history


def apply_event(
    record: WorkflowRecord,
    event: str,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
    *,
    comment: str = "",
    today: dt.date | None = None,
    confirm: Callable[[Event], None] | None = None,
) -> TransitionHistory:
    """The engine's checks, the state change, the event's effects and its history row — no commit.

    ``fire`` wraps this in a transaction; an effect uses it directly to move a related record
    in the same transaction (making a revision effective supersedes the previous one).
    ``confirm`` is passed to the engine, which calls it with the event once the event, the
    actor's roles and the record's state are checked; ``fire`` checks the signature there.
    Without it, the signature, if the event needs one, must have been checked by the caller.
    """
    session = db.session()
    model = type(record)
    engine = get_engine(model.lifecycle_name, record.lifecycle_version)
    facts = facts_for([record]).get(record.id, {})
    now = event_time()
    today = today or event_date()
    result = engine.fire(record, event, actor, data, facts=facts, today=today, confirm=confirm)
    _check_preconditions(record, event, actor, today)
    history = TransitionHistory(
        lifecycle=model.lifecycle_name,
        lifecycle_version=record.lifecycle_version,
        record_id=record.id,
        event=event,
        from_state=result.source,
        to_state=result.dest,
        actor_id=actor.id,
        actor_name=actor.name,
        at=now,
        comment=comment,
        data=_json_data(result.data),
        signature_meaning=result.signature_meaning,
        signed_by_name=actor.name if result.signature_meaning else None,
        signed_by_email=_email_of(session, actor) if result.signature_meaning else None,
        signed_at=now if result.signature_meaning else None,
    )
    session.add(history)  # before the effects: a flush inside one knows which event moved the record
    for apply in _effects.get((model.lifecycle_name, event), ()):
        apply(record, result, actor, now)
    return history


def _email_of(session: Session, actor: Actor) -> str | None:
    user = session.get(User, actor.id) if actor.id is not None else None
    return user.email if user is not None else None


def _reason(history: TransitionHistory) -> str:
    return str(history.data.get("reason", "") or "")


def _json_data(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in data.items()}


def history_of(record: WorkflowRecord) -> list[TransitionHistory]:
    return list(
        db.session.scalars(
            select(TransitionHistory)
            .where(TransitionHistory.lifecycle == record.lifecycle_name, TransitionHistory.record_id == record.id)
            .order_by(TransitionHistory.id)
        )
    )


def replay(record: WorkflowRecord) -> str:
    """The state the history leads to from the initial state; raises if it is not a chain."""
    state = get_engine(record.lifecycle_name, record.lifecycle_version).lifecycle.initial
    for row in history_of(record):
        if row.from_state != state:
            raise ValueError(f"history row {row.id} starts from {row.from_state}, expected {state}")
        state = row.to_state
    return state
