"""The tamper-evident audit trail: written from the ORM flush, checked by ``verify``.

Every flush that creates, changes or deletes an audited row appends one entry
per row with the old and new values of the changed columns, inside the same
transaction as the change itself.  The chain head row is locked first
(``FOR UPDATE`` on PostgreSQL; SQLite writers already hold the database write
lock, see ``qms.database.begin_write``), so concurrent writers append one
after the other and never fork the chain.

Each entry is sealed with an HMAC-SHA256 under the audit key (``QMS_AUDIT_KEY`` or the
instance folder's ``audit.key``, see :mod:`qms.keys`), which the database never holds, and
carries the SHA-256 of its row as the database holds it right after the change
(``row_digest``): ``verify`` (in :mod:`qms.services.audit_checks`) proves that the chain is
whole, that every audited row (workflow records, their transition history and signatures,
users and roles, documents, revisions and file hashes…) still holds what its last entry says,
and that each record's state is the replay of its history.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import functools
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, event, insert, inspect, or_, select, update
from sqlalchemy.orm import Session

from ..database import begin_write, db, utcnow
from ..keys import Keyring
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
    TransitionHistory,
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


#: one encoder for every canonical text (``json.dumps`` with these options builds one per call)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_jsonable)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def _payload(entry: Mapping[str, Any]) -> list[Any]:
    get = entry.get
    at = get("at")
    at_text = at.astimezone(dt.UTC).isoformat(timespec="microseconds") if at.tzinfo else at.isoformat()
    return [
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


def entry_hash(entry: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and every stored column of a legacy (unkeyed) entry."""
    return hashlib.sha256(canonical_json(_payload(entry)).encode()).hexdigest()


def entry_mac(entry: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 under ``key`` over the previous MAC, every stored column, the key id and the row digest."""
    payload = [*_payload(entry), entry.get("key_id"), entry.get("row_digest")]
    return hmac.new(key, canonical_json(payload).encode(), hashlib.sha256).hexdigest()


def keyring() -> Keyring:
    """This installation's audit keys (never stored in the database)."""
    return current_app.config["QMS_AUDIT_KEYRING"]


def _digest_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return _jsonable(value)


def row_digest(table_name: str, row: Mapping[str, Any]) -> str:
    """SHA-256 of a row as the database returns it: every column but the bookkeeping ones, NULLs left out.

    Leaving NULLs out means a migration that adds a nullable column does not change the
    digest of the rows written before it.
    """
    values = {name: _digest_value(value) for name, value in row.items() if value is not None and name not in SKIPPED}
    return hashlib.sha256(canonical_json([table_name, values]).encode()).hexdigest()


def record_id_of(mapper: Any, row: Mapping[str, Any]) -> str:
    """The trail's ``record_id`` of a row: its primary key values joined by '/'."""
    return "/".join(str(row[column.name]) for column in mapper.primary_key)


@functools.cache
def _select_by_ids(table: Any, pk: Any) -> Any:
    """One statement per table, built once: the rows whose primary key is in ``:ids``."""
    return select(*table.columns).where(pk.in_(bindparam("ids", expanding=True)))


def _row_digests(conn: Any, objects: list[Any]) -> dict[int, str]:
    """Digest of each object's row as the database holds it now (one query per table)."""
    by_table: dict[Any, list[Any]] = {}
    for obj in objects:
        by_table.setdefault(inspect(obj).mapper, []).append(obj)
    digests: dict[int, str] = {}
    for mapper, group in by_table.items():
        table = mapper.local_table
        pk = list(mapper.primary_key)
        keys = {tuple(getattr(obj, mapper.get_property_by_column(c).key) for c in pk): obj for obj in group}
        if len(pk) == 1:
            rows = conn.execute(_select_by_ids(table, pk[0]), {"ids": [key[0] for key in keys]})
        else:
            where = or_(*(and_(*(c == v for c, v in zip(pk, key, strict=True))) for key in keys))
            rows = conn.execute(select(*table.columns).where(where))
        for row in rows.mappings():
            obj = keys.get(tuple(row[c.name] for c in pk))
            if obj is not None:
                digests[id(obj)] = row_digest(table.name, row)
    return digests


def _values(obj: Any, keys: list[str]) -> dict[str, Any]:
    return {key: ("[redacted]" if key in REDACTED else _jsonable(getattr(obj, key))) for key in keys}


def _changes(obj: Any, deleted: bool = False) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    state = inspect(obj)
    mapper = state.mapper
    if obj in state.session.new:
        keys = [attr.key for attr in mapper.column_attrs if attr.key not in SKIPPED]
        return "create", {}, _values(obj, keys)
    if deleted or obj in state.session.deleted:
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
            # no old value: the attribute was set while expired, and the UPDATE is emitted anyway
            if history.deleted and before == after:
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


def _deleted_in_flush(session: Session, flush_context: Any) -> list[Any]:
    """Objects deleted by this flush: ``session.deleted`` and the orphans the flush removed (delete-orphan)."""
    found = {id(obj): obj for obj in session.deleted}
    for state, (is_delete, list_only) in getattr(flush_context, "states", {}).items():
        if is_delete and not list_only:
            obj = state.obj()
            if obj is not None:
                found.setdefault(id(obj), obj)
    return list(found.values())


@event.listens_for(Session, "after_flush")
def _append_after_flush(session: Session, flush_context: Any) -> None:
    deleted = [obj for obj in _deleted_in_flush(session, flush_context) if isinstance(obj, AUDITED_TYPES)]
    gone = {id(obj) for obj in deleted}
    objects = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, AUDITED_TYPES) and id(obj) not in gone]
    if not objects and not deleted:
        return
    context: AuditContext = session.info.get("audit_context") or SYSTEM
    # the event behind each state change, from the history rows written in the same flush
    fired = {(row.lifecycle, row.record_id): row.event for row in session.new if isinstance(row, TransitionHistory)}
    changed = []
    for obj, is_deleted in [*((obj, False) for obj in objects), *((obj, True) for obj in deleted)]:
        change = _changes(obj, is_deleted)
        if change is not None:
            changed.append((obj, change))
    if not changed:
        return
    # the rows as the database now holds them, so that verify can compare like with like
    digests = _row_digests(session.connection(), [obj for obj, (action, _, _) in changed if action != "delete"])
    pending = []
    for obj, (action, old, new) in changed:
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
                "row_digest": digests.get(id(obj)),
            }
        )
    append(session, pending, context)


def append(session: Session, entries: list[dict[str, Any]], context: AuditContext) -> None:
    """Chain ``entries`` onto the trail under the head lock (same transaction), sealed with the current key."""
    conn = session.connection()
    head = conn.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        raise RuntimeError("the audit trail has no head row: run `qms init`")
    keys = keyring()
    key, key_id = keys.current_key, keys.current
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
            "row_digest": None,
            **entry,
            "key_id": key_id,
        }
        row["hash"] = prev = entry_mac(row, key)
        rows.append(row)
    conn.execute(insert(AuditEntry), rows)
    conn.execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(last_seq=seq, last_hash=prev))


def ensure_head(session: Session) -> None:
    """Create the chain head row on a new database (idempotent)."""
    if session.get(AuditChainHead, HEAD_ID) is None:
        session.add(AuditChainHead(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH))
        session.commit()


def verify(session: Session | None = None, batch: int = 5000, *, checkpoints: Any = None) -> Any:
    """Check the chain, every audited row and every record's replay; see :func:`qms.services.audit_checks.verify`."""
    from .audit_checks import verify as verify_all

    return verify_all(session, batch, checkpoints=checkpoints)
