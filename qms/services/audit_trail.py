"""The tamper-evident audit trail: written from the ORM flush, checked by ``verify``.

Every flush that creates, changes or deletes an audited row appends one entry
per row with the old and new values of the changed columns, inside the same
transaction as the change itself.  The chain head row is locked first
(``FOR UPDATE`` on PostgreSQL; SQLite writers already hold the database write
lock, see ``qms.database.begin_write``), so concurrent writers append one
after the other and never fork the chain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from ..database import begin_write, db, utcnow
from ..models import (
    Acknowledgement,
    ApiToken,
    Attachment,
    AuditChainHead,
    AuditEntry,
    DistributionEntry,
    Document,
    DocumentNumbering,
    ProgressNote,
    TransitionHistory,
    User,
    UserRole,
    WorkflowRecord,
)

GENESIS_HASH = "0" * 64
HEAD_ID = 1
#: columns whose values never enter the trail (a hash of a password is still a secret)
REDACTED = frozenset({"password_hash", "token_hash", "security_stamp", "totp_secret", "code_hash"})
#: bookkeeping columns that change on every update and say nothing by themselves
SKIPPED = frozenset({"updated_at", "version"})
AUDITED_TYPES: tuple[type, ...] = (
    User,
    UserRole,
    ApiToken,
    WorkflowRecord,
    ProgressNote,
    Attachment,
    Document,
    DistributionEntry,
    Acknowledgement,
    DocumentNumbering,
)


def register_audited(*models: type) -> None:
    """Let a later feature module add its models to the trail."""
    global AUDITED_TYPES
    AUDITED_TYPES = AUDITED_TYPES + tuple(m for m in models if m not in AUDITED_TYPES)


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None
    actor_name: str
    reason: str = ""
    event: str | None = None


SYSTEM = AuditContext(None, "system")


@contextlib.contextmanager
def audit_context(session: Session, actor: Any = None, reason: str = "", event: str | None = None) -> Iterator[None]:
    """Attribute the changes flushed inside the block to ``actor``, with ``reason``."""
    previous = session.info.get("audit_context")
    if actor is None:
        session.info["audit_context"] = AuditContext(None, "system", reason, event)
    else:
        session.info["audit_context"] = AuditContext(actor.id, actor.name, reason, event)
    try:
        yield
    finally:
        if previous is None:
            session.info.pop("audit_context", None)
        else:
            session.info["audit_context"] = previous


@contextlib.contextmanager
def recorded_change(actor: Any, reason: str) -> Iterator[Session]:
    """One user intention as one write transaction, audited as ``actor`` with ``reason``.

    Commits when the block ends; on any error rolls everything back, so nothing is half-applied.
    """
    session = db.session()
    begin_write(session)
    try:
        with audit_context(session, actor, reason=reason):
            yield session
            session.commit()
    except BaseException:
        session.rollback()
        raise


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_jsonable)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and every stored column of the entry."""
    get = entry.get
    at = get("at")
    at_text = at.astimezone(dt.UTC).isoformat(timespec="microseconds") if at.tzinfo else at.isoformat()
    payload = [
        get("seq"),
        get("prev_hash"),
        at_text,
        get("actor_id"),
        get("actor_name"),
        get("action"),
        get("record_type"),
        get("record_id"),
        get("event"),
        get("fields"),
        get("old_value"),
        get("new_value"),
        get("reason"),
    ]
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _values(obj: Any, keys: list[str]) -> dict[str, Any]:
    return {key: ("[redacted]" if key in REDACTED else _jsonable(getattr(obj, key))) for key in keys}


def _changes(obj: Any) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    state = inspect(obj)
    mapper = state.mapper
    if obj in state.session.new:
        keys = [attr.key for attr in mapper.column_attrs if attr.key not in SKIPPED]
        return "create", {}, _values(obj, keys)
    if obj in state.session.deleted:
        keys = [attr.key for attr in mapper.column_attrs if attr.key not in SKIPPED]
        return "delete", _values(obj, keys), {}
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    column_keys = mapper.column_attrs.keys()
    # committed_state holds exactly the attributes changed since the row was loaded
    for key in [k for k in state.committed_state if k in column_keys and k not in SKIPPED]:
        history = state.attrs[key].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
            old[key] = "[redacted]" if key in REDACTED else _jsonable(before)
            new[key] = "[redacted]" if key in REDACTED else _jsonable(after)
    if not new:
        return None
    return "update", old, new


def _record_id(obj: Any) -> str:
    identity = inspect(obj).identity
    if identity:
        return "/".join(str(part) for part in identity)
    return "/".join(str(getattr(obj, col.key)) for col in inspect(obj).mapper.primary_key)


@event.listens_for(Session, "after_flush")
def _append_after_flush(session: Session, flush_context: Any) -> None:
    objects = [obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, AUDITED_TYPES)]
    if not objects:
        return
    context: AuditContext = session.info.get("audit_context") or SYSTEM
    # the event behind each state change, from the history rows written in the same flush
    fired = {(row.lifecycle, row.record_id): row.event for row in session.new if isinstance(row, TransitionHistory)}
    pending = []
    for obj in objects:
        change = _changes(obj)
        if change is None:
            continue
        action, old, new = change
        event = fired.get((obj.lifecycle_name, obj.id), context.event) if isinstance(obj, WorkflowRecord) else None
        is_transition = event is not None and action == "update" and "state" in new
        pending.append(
            {
                "action": "transition" if is_transition else action,
                "record_type": obj.__tablename__,
                "record_id": _record_id(obj),
                "event": event if is_transition else None,
                "fields": ",".join(sorted(new or old)),
                "old_value": canonical_json(old),
                "new_value": canonical_json(new),
            }
        )
    if pending:
        append(session, pending, context)


def append(session: Session, entries: list[dict[str, Any]], context: AuditContext) -> None:
    """Chain ``entries`` onto the trail under the head lock (same transaction)."""
    conn = session.connection()
    head = conn.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        raise RuntimeError("the audit trail has no head row: run `qms init`")
    seq, prev = head
    now = utcnow()
    rows = []
    for entry in entries:
        seq += 1
        row = {
            "seq": seq,
            "prev_hash": prev,
            "at": now,
            "actor_id": context.actor_id,
            "actor_name": context.actor_name,
            "reason": context.reason,
            **entry,
        }
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    conn.execute(insert(AuditEntry), rows)
    conn.execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(last_seq=seq, last_hash=prev))


def ensure_head(session: Session) -> None:
    """Create the chain head row on a new database (idempotent)."""
    if session.get(AuditChainHead, HEAD_ID) is None:
        session.add(AuditChainHead(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH))
        session.commit()


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None
    problem: str = ""


def verify(session: Session | None = None, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first entry that is missing, edited or out of place."""
    session = session or db.session
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    last_seq = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry.__table__).where(AuditEntry.seq >= expected_seq).order_by(AuditEntry.seq).limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for entry in rows:
            seq = entry["seq"]
            if seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if entry["prev_hash"] != prev:
                return VerifyResult(False, checked, seq, f"entry {seq} does not follow entry {seq - 1}")
            if entry_hash(entry) != entry["hash"]:
                return VerifyResult(False, checked, seq, f"entry {seq} was altered after it was written")
            prev, last_seq = entry["hash"], seq
            expected_seq += 1
            checked += 1
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return VerifyResult(False, checked, None, "the chain head row is missing")
    if head.last_seq != last_seq or head.last_hash != prev:
        return VerifyResult(
            False, checked, last_seq + 1, f"the chain ends at entry {last_seq} but its head says {head.last_seq}"
        )
    return VerifyResult(True, checked)
