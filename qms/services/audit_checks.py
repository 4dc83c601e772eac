"""Proving the audit trail, sealing what came before its key, and checkpointing its head outside the database.

``verify`` proves three things, and names the first entry or record that disagrees:

1. **The chain is whole and keyed.** Entries follow one another without gaps, each MAC
   (HMAC-SHA256 under the key named by the entry's ``key_id``) matches, and the head row
   points at the last one.  Legacy entries (written before the trail was keyed, plain SHA-256)
   are accepted only as the first entries of the chain and only once a keyed *seal* entry names
   how many there are and the hash of the last one; a legacy entry after a keyed one is a chain
   recomputed without the key.
2. **Every audited row holds what the trail says.** For each audited table (workflow records,
   transition history with its signatures, users and roles, documents, revisions and their file
   hashes, …) the SHA-256 of every row must equal the ``row_digest`` of the row's last entry (or
   of the *baseline* that sealed it); a row without an entry was written outside the application,
   a row whose entries say it is gone but which is there (or the other way round) was
   deleted or revived outside it.
3. **Every record's state is the replay of its history**: the transition history starts at the
   lifecycle's initial state, each row starts where the previous one ended, and the last one
   ends in the record's state.

``checkpoint`` writes the head (sequence and MAC) outside the database: a line in
``checkpoints.jsonl`` in an append-only folder, the log, and an e-mail when an address is
configured.  ``verify(checkpoints=…)`` fails when the chain no longer holds a checkpointed head.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import String, cast, collate, exists, func, literal, select, text, union_all
from sqlalchemy.orm import Mapper, Session

from workflows import get_lifecycle
from workflows.errors import UnknownLifecycle

from ..database import begin_write, db, utcnow
from ..models import AuditChainHead, AuditEntry, TransitionHistory, WorkflowRecord
from . import audit_trail
from .audit_trail import (
    GENESIS_HASH,
    HEAD_ID,
    REDACTED,
    SKIPPED,
    AuditContext,
    append,
    canonical_json,
    entry_hash,
    entry_mac,
    keyring,
    record_id_of,
    row_digest,
)

log = logging.getLogger("qms.audit_trail")

CHECKPOINT_FILE = "checkpoints.jsonl"
#: the record type of the trail's own bookkeeping entries (seals)
SEAL_RECORD_TYPE = "audit_entries"
#: rows per baseline entry
BASELINE_CHUNK = 500
#: problems listed in full (the count says how many more)
MAX_PROBLEMS = 20
_MISSING = object()


@dataclass
class VerifyResult:
    """What ``verify`` found; ``problem`` and ``record`` name the first disagreement."""

    ok: bool
    checked: int
    broken_at: int | None = None
    problem: str = ""
    #: legacy (unkeyed, sealed) entries at the start of the chain
    legacy: int = 0
    rows_checked: int = 0
    records_replayed: int = 0
    #: the first record that disagrees, e.g. "nonconformities 7 (NC-2026-0007)"
    record: str | None = None
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    checkpoints_checked: int = 0

    def fail(self, problem: str, *, record: str | None = None, broken_at: int | None = None) -> None:
        if self.ok:
            self.ok, self.problem, self.record = False, problem, record
            if broken_at is not None:
                self.broken_at = broken_at
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


@dataclass
class _Walk:
    """The chain as walked: whether it holds, and what the seals said."""

    result: VerifyResult
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    legacy_head: str = GENESIS_HASH
    legacy_sealed: bool = False
    sealed_tables: set[str] = field(default_factory=set)
    #: the record types the walked entries name (the tables the trail says anything about)
    record_types: set[str] = field(default_factory=set)


class SealRefused(Exception):
    """``seal`` found something it must not bless; nothing was written."""


class CheckpointError(Exception):
    """A checkpoint file that cannot be read, with a message naming the file and line."""


# --- 1. the chain ------------------------------------------------------------------------------


def _walk_chain(session: Session, batch: int) -> _Walk:
    keys = keyring()
    result = VerifyResult(True, 0)
    walk = _Walk(result)
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one_or_none()
    expected_seq, prev, keyed = 1, GENESIS_HASH, False
    seals: list[tuple[int, dict[str, Any]]] = []
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
                result.fail(f"entry {expected_seq} is missing", broken_at=expected_seq)
                return walk
            if entry["prev_hash"] != prev:
                result.fail(f"entry {seq} does not follow entry {seq - 1}", broken_at=seq)
                return walk
            key_id = entry["key_id"]
            if key_id is None:
                if keyed:
                    result.fail(
                        f"entry {seq} carries no key id although the entries before it are keyed: "
                        "it was rewritten without the audit key",
                        broken_at=seq,
                    )
                    return walk
                if entry_hash(entry) != entry["hash"]:
                    result.fail(f"entry {seq} was altered after it was written", broken_at=seq)
                    return walk
                result.legacy += 1
                walk.legacy_head = entry["hash"]
            else:
                key = keys.key(key_id)
                if key is None:
                    result.fail(
                        f"entry {seq} was sealed with the audit key '{key_id}', which this installation does not "
                        f"have (keys from {keys.source}: {', '.join(keys.keys)})",
                        broken_at=seq,
                    )
                    return walk
                if not hmac.compare_digest(entry_mac(entry, key), entry["hash"]):
                    result.fail(
                        f"entry {seq} was altered after it was written (its MAC does not match the audit key "
                        f"'{key_id}')",
                        broken_at=seq,
                    )
                    return walk
                keyed = True
                if entry["action"] == "seal" and entry["record_type"] == SEAL_RECORD_TYPE:
                    seals.append((seq, json.loads(entry["new_value"])))
            prev, walk.last_seq = entry["hash"], seq
            walk.record_types.add(entry["record_type"])
            expected_seq += 1
            result.checked += 1
    walk.last_hash = prev
    for seq, seal in seals:
        if seal.get("legacy_entries") != result.legacy or seal.get("legacy_head") != walk.legacy_head:
            result.fail(
                f"the seal at entry {seq} names {seal.get('legacy_entries')} legacy entries, the trail holds "
                f"{result.legacy}: legacy entries were added or removed",
                broken_at=seq,
            )
            return walk
        walk.legacy_sealed = True
        walk.sealed_tables.update(seal.get("tables") or ())
    if head is None:
        result.fail("the chain head row is missing")
    elif head.last_seq != walk.last_seq or head.last_hash != prev:
        result.fail(
            f"the chain ends at entry {walk.last_seq} but its head says {head.last_seq}", broken_at=walk.last_seq + 1
        )
    return walk


# --- 2. the rows -------------------------------------------------------------------------------


def covered_mappers() -> list[Mapper]:
    """The mapped classes whose rows the trail covers, in the metadata's table order."""
    types = audit_trail.AUDITED_TYPES
    mappers = {
        mapper.local_table.name: mapper
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, types) and mapper.inherits is None
    }
    return [mappers[table.name] for table in db.metadata.sorted_tables if table.name in mappers]


#: rows fetched at a time from each stream (bounded memory whatever the size of the trail)
STREAM_BATCH = 5000
#: entries fetched at a time when walking the chain (fewer: a baseline entry holds 500 rows' digests)
CHAIN_BATCH = 200

_EXPECTED_SQL = {
    # the last entry of each record that says what the row should be (a digest, or deleted), taking
    # the baselines' JSON apart in SQL, so that no table's expectations are ever held whole in memory
    "postgresql": """
        SELECT rid, digest FROM (
            SELECT rid, digest, ROW_NUMBER() OVER (PARTITION BY rid ORDER BY seq DESC) AS rn FROM (
                SELECT record_id AS rid, seq, CASE WHEN action = 'delete' THEN NULL ELSE row_digest END AS digest
                FROM audit_entries
                WHERE record_type = :table AND action <> 'baseline' AND (row_digest IS NOT NULL OR action = 'delete')
                UNION ALL
                SELECT j.key, e.seq, j.value
                FROM audit_entries AS e CROSS JOIN LATERAL json_each_text(CAST(e.new_value AS json)) AS j
                WHERE e.record_type = :table AND e.action = 'baseline'
            ) AS said
        ) AS ranked
        WHERE rn = 1 ORDER BY rid COLLATE "C"
    """,
    "sqlite": """
        SELECT rid, digest FROM (
            SELECT rid, digest, ROW_NUMBER() OVER (PARTITION BY rid ORDER BY seq DESC) AS rn FROM (
                SELECT record_id AS rid, seq, CASE WHEN action = 'delete' THEN NULL ELSE row_digest END AS digest
                FROM audit_entries
                WHERE record_type = :table AND action <> 'baseline' AND (row_digest IS NOT NULL OR action = 'delete')
                UNION ALL
                SELECT CAST(j.key AS TEXT), e.seq, j.value
                FROM audit_entries AS e, json_each(e.new_value) AS j
                WHERE e.record_type = :table AND e.action = 'baseline'
            ) AS said
        ) AS ranked
        WHERE rn = 1 ORDER BY rid
    """,
}


def _expected(session: Session, table_name: str, batch: int = STREAM_BATCH) -> Iterator[tuple[str, str | None]]:
    """(record id, digest the trail says the row has now; None: deleted), in record-id order
    (code-point order, as Python compares strings), streamed.

    A legacy create or update (no digest) says nothing the seal's baseline did not, so it is left out.
    """
    sql = _EXPECTED_SQL["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
    query = text(sql).bindparams(table=table_name).execution_options(yield_per=batch)
    for record_id, digest in session.execute(query):
        yield str(record_id), digest


def _record_id_order(session: Session, mapper: Mapper) -> Any:
    """The SQL expression of ``record_id_of`` (primary key values joined by '/'), to sort rows by it
    in code-point order ("C" collation) as the trail's record ids are sorted."""
    parts = [cast(column, String) for column in mapper.primary_key]
    expression = parts[0]
    for part in parts[1:]:
        expression = expression + "/" + part
    if session.get_bind().dialect.name == "postgresql":
        expression = collate(expression, "C")
    return expression


def _rows(session: Session, mapper: Mapper, batch: int = STREAM_BATCH) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(record id, digest, row) of every row of the mapper's table, in record-id order, streamed."""
    table = mapper.local_table
    query = select(*table.columns).order_by(_record_id_order(session, mapper)).execution_options(yield_per=batch)
    for row in session.execute(query).mappings():
        yield record_id_of(mapper, row), row_digest(table.name, row), dict(row)


def _merged(
    session: Session, mapper: Mapper, batch: int = STREAM_BATCH
) -> Iterator[tuple[str, Any, tuple[str, dict[str, Any]] | None]]:
    """The table's rows beside what the trail says of them, merged on the record id like a sorted join:
    (record id, digest the trail wants — None: deleted, ``_MISSING``: the trail knows nothing —,
    (digest, row) as the database holds it or None when there is no such row).

    Both sides come sorted from the database and are read ``batch`` rows at a time, so memory stays
    flat whatever the number of rows and entries."""
    table = mapper.local_table.name
    wanted_stream = _ordered(_expected(session, table, batch), f"{table}: the audit trail")
    row_stream = _ordered(((rid, (digest, row)) for rid, digest, row in _rows(session, mapper, batch)), table)
    wanted = next(wanted_stream, None)
    found = next(row_stream, None)
    while wanted is not None or found is not None:
        if found is None or (wanted is not None and wanted[0] < found[0]):
            yield wanted[0], wanted[1], None
            wanted = next(wanted_stream, None)
        elif wanted is None or found[0] < wanted[0]:
            yield found[0], _MISSING, found[1]
            found = next(row_stream, None)
        else:
            yield found[0], wanted[1], found[1]
            wanted, found = next(wanted_stream, None), next(row_stream, None)


def _ordered(items: Iterable[tuple[str, Any]], what: str) -> Iterator[tuple[str, Any]]:
    """``items`` as they come, checked to be in strictly rising record-id order (a merge needs it)."""
    last: str | None = None
    for item in items:
        if last is not None and not item[0] > last:
            raise RuntimeError(f"{what} does not come in record-id order ({last!r}, then {item[0]!r})")
        last = item[0]
        yield item


def _label(table_name: str, record_id: str, row: dict[str, Any] | None = None) -> str:
    label = f"{table_name} {record_id}"
    for name in ("reference", "number", "email"):
        if row and row.get(name):
            return f"{label} ({row[name]})"
    return label


def _differences(session: Session, table_name: str, record_id: str, row: dict[str, Any]) -> str:
    """Which columns differ from what the record's entries say (when they say it in full)."""
    values: dict[str, Any] = {}
    entries = AuditEntry.__table__.c
    for action, new_value in session.execute(
        select(entries.action, entries.new_value)
        .where(entries.record_type == table_name, entries.record_id == record_id)
        .order_by(entries.seq)
    ):
        if action == "baseline":
            return ""  # a baseline holds a digest, not the values
        if action == "create":
            values = json.loads(new_value)
        elif action in ("update", "transition"):
            values.update(json.loads(new_value))
    if not values:
        return ""
    changed = []
    for name, value in row.items():
        if name in SKIPPED or name not in values:
            continue
        if name in REDACTED:
            continue
        current = json.loads(canonical_json(value))
        if current != values[name]:
            changed.append(f"{name} is {current!r} in the database, {values[name]!r} in the trail")
    return "; ".join(changed[:5])


def _with_rows(session: Session, tables: list[Any]) -> set[str]:
    """The names of those of ``tables`` that hold a row: one statement, a probe per table."""
    if not tables:
        return set()
    probes = [select(literal(table.name)).where(exists().select_from(table)) for table in tables]
    return set(session.scalars(union_all(*probes)))


def _mappers_to_check(session: Session, record_types: set[str] | None) -> list[Mapper]:
    """The covered mappers, less those whose table holds no row and no entry names (when the
    entries' record types are known): merging an empty table with nothing could find nothing."""
    mappers = covered_mappers()
    if record_types is None:
        return mappers
    unnamed = [mapper.local_table for mapper in mappers if mapper.local_table.name not in record_types]
    written = _with_rows(session, unnamed)
    return [m for m in mappers if m.local_table.name in record_types or m.local_table.name in written]


def _check_rows(
    session: Session,
    result: VerifyResult,
    detail: bool = True,
    batch: int = STREAM_BATCH,
    record_types: set[str] | None = None,
) -> None:
    """Each covered table's rows against the trail; ``record_types`` (those the chain's entries name)
    lets tables with neither rows nor entries go unread."""
    for mapper in _mappers_to_check(session, record_types):
        table = mapper.local_table.name
        for record_id, wanted, found in _merged(session, mapper, batch):
            if found is None:
                if wanted is not None:
                    label = _label(table, record_id)
                    result.fail(
                        f"{label} is in the audit trail but not in the database (deleted outside the application)",
                        record=label,
                    )
                continue
            digest, row = found
            result.rows_checked += 1
            if wanted == digest:
                continue
            label = _label(table, record_id, row)
            if wanted is _MISSING:
                problem = f"{label} is in the database but not in the audit trail (written outside the application)"
            elif wanted is None:
                problem = f"{label} was deleted according to the audit trail but is in the database"
            else:
                problem = f"{label} differs from its last audit-trail entry (changed outside the application)"
                if detail and len(result.problems) < 5:
                    differences = _differences(session, table, record_id, row)
                    if differences:
                        problem += f": {differences}"
            result.fail(problem, record=label)


# --- 3. the replay -----------------------------------------------------------------------------


@functools.cache
def _initial(lifecycle: str, version: int) -> str | None:
    try:
        return get_lifecycle(lifecycle, version).initial
    except (UnknownLifecycle, KeyError, ValueError):
        return None


def _lifecycles_with_history(session: Session, names: list[str]) -> set[str]:
    """Those of the lifecycles ``names`` that have a transition history row (index probes, one statement)."""
    if not names:
        return set()
    history = TransitionHistory.__table__
    probes = [select(literal(name)).where(exists().where(history.c.lifecycle == name)) for name in names]
    return set(session.scalars(union_all(*probes)))


def _check_replay(session: Session, result: VerifyResult, batch: int = STREAM_BATCH) -> None:
    """Replay each record's transition history: the records (by id) and their history rows (by record,
    then row) are read side by side, ``batch`` rows at a time, like a sorted join: memory stays flat.

    A lifecycle whose table holds no record and whose history has no row is skipped: there is
    nothing to replay (the presence of both is probed first, in two statements)."""
    history = TransitionHistory.__table__.c
    mappers = [
        mapper
        for mapper in covered_mappers()
        if issubclass(mapper.class_, WorkflowRecord) and "lifecycle_name" in vars(mapper.class_)
    ]
    with_records = _with_rows(session, [mapper.local_table for mapper in mappers])
    with_history = _lifecycles_with_history(session, sorted({mapper.class_.lifecycle_name for mapper in mappers}))
    for mapper in mappers:
        table = mapper.local_table
        name = mapper.class_.lifecycle_name
        if table.name not in with_records and name not in with_history:
            continue
        records = session.execute(
            select(table.c.id, table.c.state, table.c.lifecycle_version)
            .order_by(table.c.id)
            .execution_options(yield_per=batch)
        )
        rows = session.execute(
            select(history.id, history.record_id, history.from_state, history.to_state)
            .where(history.lifecycle == name)
            .order_by(history.record_id, history.id)
            .execution_options(yield_per=batch)
        )
        row = next(rows, None)
        for record_id, state, version in records:
            # history rows of records that do not exist (ids below this one)
            while row is not None and row.record_id < record_id:
                row = _orphan_history(result, table.name, row, rows)
            result.records_replayed += 1
            replayed = _initial(name, version)
            label = f"{table.name} {record_id}"
            broken = False
            while row is not None and row.record_id == record_id:
                if not broken and row.from_state != replayed:
                    broken = True
                    result.fail(
                        f"{label}: transition history row {row.id} starts from '{row.from_state}', but the history "
                        f"before it ends in '{replayed}'",
                        record=label,
                    )
                replayed = row.to_state
                row = next(rows, None)
            if not broken and state != replayed:
                result.fail(
                    f"{label} is in state '{state}' but the replay of its transition history leads to "
                    f"'{replayed}' (its state was changed outside the application)",
                    record=label,
                )
        while row is not None:
            row = _orphan_history(result, table.name, row, rows)


def _orphan_history(result: VerifyResult, table: str, row: Any, rows: Iterator[Any]) -> Any:
    """Report history rows of a record that does not exist (its first row only); the next row after them."""
    record_id = row.record_id
    result.fail(
        f"transition history row {row.id} belongs to {table} {record_id}, which does not exist",
        record=f"{table} {record_id}",
    )
    while row is not None and row.record_id == record_id:
        row = next(rows, None)
    return row


# --- verify ------------------------------------------------------------------------------------


def verify(
    session: Session | None = None, batch: int = 5000, *, checkpoints: str | os.PathLike[str] | bool | None = None
) -> VerifyResult:
    """Prove the chain, the rows and the replay; with ``checkpoints`` (True: the configured folder) also those."""
    session = session or db.session
    walk = _walk_chain(session, min(batch, CHAIN_BATCH))
    result = walk.result
    if result.ok and result.legacy and not walk.legacy_sealed:
        result.fail(
            f"entries 1–{result.legacy} were written before the trail was keyed and are not sealed yet: "
            "run `qms audit-trail seal`",
            broken_at=result.legacy + 1,
        )
    if result.ok:
        _check_rows(session, result, batch=batch, record_types=walk.record_types)
        _check_replay(session, result, batch=batch)
    if checkpoints:
        _check_checkpoints(session, result, None if checkpoints is True else Path(checkpoints))
    return result


def verify_snapshot(checkpoints: str | os.PathLike[str] | bool | None = None) -> VerifyResult:
    """``verify`` on one consistent snapshot (REPEATABLE READ, read-only, on PostgreSQL), so writes
    committed while it runs do not look like disagreements.  Under the test suite, whose sessions
    share one transaction, it verifies in the current session instead."""
    if db.engine.dialect.name != "postgresql" or current_app.config.get("TESTING"):
        return verify(db.session, checkpoints=checkpoints)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        with Session(bind=conn) as session:
            return verify(session, checkpoints=checkpoints)


# --- seal --------------------------------------------------------------------------------------


@dataclass
class SealResult:
    sealed: bool
    legacy: int
    baselined: dict[str, int]
    accepted: list[str]
    message: str
    #: rows of audited tables read (and digested) to seal
    rows_read: int = 0


def _sealed_state(session: Session) -> _Walk | None:
    """What the seals already written say, read without walking the chain: the seal entries (few,
    found through the record-type index), each proved by its MAC, and the head proved to name the
    last entry, itself keyed and whole.

    None when there is no seal yet, or when any of that does not hold: the caller then walks the
    whole chain, which says what is wrong.  The chain between the seals and the head is not walked
    here: appending after it blesses nothing (``verify`` walks it from entry 1 and names any break).
    """
    keys = keyring()
    entries = AuditEntry.__table__.c
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one_or_none()
    seals = (
        session.execute(
            select(AuditEntry.__table__)
            .where(entries.record_type == SEAL_RECORD_TYPE, entries.action == "seal")
            .order_by(entries.seq)
        )
        .mappings()
        .all()
    )
    if head is None or not seals:
        return None
    last = session.execute(select(AuditEntry.__table__).where(entries.seq == head.last_seq)).mappings().one_or_none()
    if last is None or last["hash"] != head.last_hash or session.scalar(select(func.max(entries.seq))) != head.last_seq:
        return None
    walk = _Walk(VerifyResult(True, 0), last_seq=head.last_seq, last_hash=head.last_hash, legacy_sealed=True)
    legacy: set[tuple[Any, Any]] = set()
    for entry in (*seals, last):
        key = keys.key(entry["key_id"]) if entry["key_id"] else None
        if key is None or not hmac.compare_digest(entry_mac(entry, key), entry["hash"]):
            return None
    for entry in seals:
        said = json.loads(entry["new_value"])
        legacy.add((said.get("legacy_entries"), said.get("legacy_head")))
        walk.sealed_tables.update(said.get("tables") or ())
    if len(legacy) != 1:
        return None
    walk.result.legacy, walk.legacy_head = legacy.pop()
    return walk


def seal(
    *, accept_current: bool = False, reason: str = "", actor_name: str = "command line", only_uncovered: bool = False
) -> SealResult:
    """Anchor legacy entries and the rows no keyed entry covers yet under the audit key.

    Legacy entries are sealed by one keyed entry naming their count and last hash; the rows of
    every audited table that no seal has covered yet are *baselined* (their digests recorded).
    A table once sealed is never baselined again, so a row forged into it later stays visible to
    ``verify``.  With ``accept_current`` (and a ``reason``), rows that differ from the trail, say
    after a migration that rewrote them, are baselined as they are now: the seal lists them.
    Refuses (writing nothing) when the chain itself is broken.

    ``only_uncovered`` (``qms init``, on every deploy): once a seal exists, read only what no seal
    covers yet (tables added since) instead of walking the whole chain and re-reading every row
    of the tables sealed before, which could only confirm them or refuse: their rows are never
    baselined again whatever they hold, and ``verify`` proves them.  Without a seal yet, or when
    the seal entries or the head do not hold, or with ``accept_current``, the whole check runs.
    """
    if accept_current and not reason.strip():
        raise SealRefused("give the reason for accepting the rows as they are (--reason)")
    session = db.session
    begin_write(session)
    try:
        walk = _sealed_state(session) if only_uncovered and not accept_current else None
        quick = walk is not None
        if walk is None:
            walk = _walk_chain(session, CHAIN_BATCH)
        if not walk.result.ok:
            raise SealRefused(
                f"the chain is broken at entry {walk.result.broken_at}: {walk.result.problem}; nothing was sealed"
            )
        baselines: dict[str, dict[str, str | None]] = {}
        accepted: list[str] = []
        refused = VerifyResult(True, 0)
        tables = []
        rows_read = 0
        for mapper in covered_mappers():
            table = mapper.local_table.name
            tables.append(table)
            first_seal = table not in walk.sealed_tables
            if quick and not first_seal:
                continue  # sealed before: never baselined again, so reading it could only confirm or refuse
            chosen: dict[str, str | None] = {}
            for record_id, wanted, found in _merged(session, mapper):
                if found is None:  # in the trail, not in the database
                    if wanted is None:
                        continue
                    if accept_current:
                        chosen[record_id] = None
                        accepted.append(_label(table, record_id))
                    else:
                        refused.fail(f"{_label(table, record_id)} is in the trail but not in the database")
                    continue
                digest, row = found
                rows_read += 1
                if wanted == digest:
                    continue
                if (wanted is _MISSING and first_seal) or accept_current:
                    chosen[record_id] = digest
                    if wanted is not _MISSING:
                        accepted.append(_label(table, record_id, row))
                else:
                    refused.fail(f"{_label(table, record_id, row)} disagrees with the trail", record=table)
            if chosen:
                baselines[table] = chosen
        if not refused.ok:
            more = f" (and {refused.problem_count - 3} more)" if refused.problem_count > 3 else ""
            raise SealRefused(
                "rows differ from the audit trail: "
                + "; ".join(refused.problems[:3])
                + more
                + ". Find out why (`qms audit-trail verify`); if a migration changed them, seal with "
                "--accept-current --reason '…'"
            )
        new_tables = sorted(set(tables) - walk.sealed_tables)
        needs_legacy_seal = walk.result.legacy > 0 and not walk.legacy_sealed
        if not (needs_legacy_seal or new_tables or baselines):
            session.rollback()
            done = "The audit trail is sealed already; nothing to do."
            if quick:
                done += " (The tables sealed before were not read again: `qms audit-trail verify` proves their rows.)"
            return SealResult(False, walk.result.legacy, {}, [], done, rows_read)
        counts = {table: len(rows) for table, rows in baselines.items()}
        entries: list[dict[str, Any]] = [
            {
                "action": "seal",
                "record_type": SEAL_RECORD_TYPE,
                "record_id": "seal",
                "event": None,
                "fields": "legacy_entries,tables",
                "old_value": "{}",
                "new_value": canonical_json(
                    {
                        "legacy_entries": walk.result.legacy,
                        "legacy_head": walk.legacy_head,
                        "tables": sorted(set(tables) | walk.sealed_tables),
                        "baselined": counts,
                        "accepted": accepted[:200],
                        "accepted_count": len(accepted),
                    }
                ),
            }
        ]
        entries.extend(_baseline_entries(baselines))
        why = reason.strip() or (
            f"audit trail sealed: {walk.result.legacy} legacy entries" if needs_legacy_seal else "audit trail sealed"
        )
        append(session, entries, AuditContext(None, actor_name[:120], why))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    total = sum(counts.values())
    return SealResult(
        True,
        walk.result.legacy,
        counts,
        accepted,
        f"Audit trail sealed under key '{keyring().current}': {walk.result.legacy} legacy entries anchored, "
        f"{total} rows baselined" + (f", {len(accepted)} accepted as they are" if accepted else "") + ".",
        rows_read,
    )


def _baseline_entries(baselines: dict[str, dict[str, str | None]]) -> list[dict[str, Any]]:
    entries = []
    for table, rows in baselines.items():
        items = sorted(rows.items())
        for start in range(0, len(items), BASELINE_CHUNK):
            chunk = dict(items[start : start + BASELINE_CHUNK])
            entries.append(
                {
                    "action": "baseline",
                    "record_type": table,
                    "record_id": f"{len(chunk)} rows",
                    "event": None,
                    "fields": "",
                    "old_value": "{}",
                    "new_value": canonical_json(chunk),
                }
            )
    return entries


def baseline_bulk_load(
    session: Session, context: AuditContext, known: dict[str, dict[str, str]] | None = None
) -> dict[str, int]:
    """Record the digests of rows a trusted bulk loader wrote with Core (no per-row entries); same transaction.

    Only rows the trail knows nothing about are recorded; returns their count per table.
    ``known``: digests the loader computed as it wrote, {table: {record id: digest}}; a table's
    are taken instead of reading every row back when the trail knows none of its rows and they
    are all of its rows (the million-row load's bulk way; ``verify`` still digests the rows).
    """
    baselines: dict[str, dict[str, str | None]] = {}
    for mapper in covered_mappers():
        table = mapper.local_table.name
        given = (known or {}).get(table)
        if (
            given is not None
            and next(_expected(session, table), None) is None
            and session.scalar(select(func.count()).select_from(mapper.local_table)) == len(given)
        ):
            if given:
                baselines[table] = dict(given)
            continue
        rows = {
            record_id: found[0]
            for record_id, wanted, found in _merged(session, mapper)
            if wanted is _MISSING and found is not None
        }
        if rows:
            baselines[table] = rows
    entries = _baseline_entries(baselines)
    if entries:
        append(session, entries, context)
    return {table: len(rows) for table, rows in baselines.items()}


# --- checkpoints -------------------------------------------------------------------------------


def checkpoint_folder() -> Path:
    return Path(current_app.config["QMS_AUDIT_CHECKPOINT_DIR"])


def checkpoint(trigger: str = "cli") -> dict[str, Any]:
    """Write the chain's head outside the database: the checkpoint file, the log and (if configured) e-mail."""
    session = db.session
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one_or_none()
    session.rollback()  # read, not hold, the head
    if head is None:
        raise CheckpointError("the audit trail has no head row: run `qms init`")
    key_id = session.scalar(select(AuditEntry.key_id).where(AuditEntry.seq == head.last_seq))
    record = {
        "at": utcnow().isoformat(timespec="seconds"),
        "seq": head.last_seq,
        "mac": head.last_hash,
        "key_id": key_id,
        "database": db.engine.url.render_as_string(hide_password=True),
        "trigger": trigger,
    }
    folder = checkpoint_folder()
    folder.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    # O_APPEND: works in a folder whose files are append-only (chattr +a)
    fd = os.open(folder / CHECKPOINT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("Audit-trail checkpoint: entry %s, MAC %s (key %s)", record["seq"], record["mac"], key_id)
    record["file"] = str(folder / CHECKPOINT_FILE)
    record["mailed_to"] = _mail_checkpoint(record)
    return record


def _mail_checkpoint(record: dict[str, Any]) -> str:
    address = current_app.config.get("QMS_AUDIT_CHECKPOINT_EMAIL", "")
    if not address:
        return ""
    from flask_mail import Message

    from ..extensions import mail
    from .notifications import mail_configured

    organisation = current_app.config.get("QMS_ORGANISATION", "qmsflow")
    message = Message(
        subject=f"[{organisation}] Audit-trail checkpoint: entry {record['seq']}".replace("\n", " ")[:200],
        recipients=[address],
        body=(
            "The head of the qmsflow audit trail at this moment. Keep this message: "
            "`qms audit-trail verify --checkpoints` proves the trail still holds it.\n\n"
            + json.dumps({k: record[k] for k in ("at", "seq", "mac", "key_id", "database")}, indent=1)
            + "\n"
        ),
    )
    if not mail_configured():
        log.info("No mail server configured: the checkpoint e-mail to %s was not sent:\n%s", address, message.body)
        return ""
    try:
        mail.send(message)
    except Exception:  # the file and the log have it; a mail server down must not lose the checkpoint
        log.exception("The checkpoint e-mail to %s could not be sent", address)
        return ""
    return address


def read_checkpoints(path: Path | None = None) -> list[dict[str, Any]]:
    """Every checkpoint in the folder (or the file) ``path``, oldest first."""
    path = path or checkpoint_folder()
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
    elif path.is_file():
        files = [path]
    else:
        raise CheckpointError(f"no checkpoints: {path} does not exist")
    found = []
    for file in files:
        with open(file, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise CheckpointError(f"{file} line {number} is not a checkpoint (not JSON)") from None
                if (
                    not isinstance(record, dict)
                    or not isinstance(record.get("seq"), int)
                    or isinstance(record.get("seq"), bool)
                    or record["seq"] < 0
                    or not isinstance(record.get("mac"), str)
                    or len(record["mac"]) != 64
                ):
                    raise CheckpointError(f"{file} line {number} is not a checkpoint (seq and mac expected)")
                record["where"] = f"{file.name} line {number}"
                found.append(record)
    return found


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _check_checkpoints(session: Session, result: VerifyResult, path: Path | None) -> None:
    try:
        found = read_checkpoints(path)
    except CheckpointError as exc:
        result.fail(str(exc))
        return
    if not found:
        result.fail(f"no checkpoint found in {path or checkpoint_folder()}: run `qms audit-trail checkpoint`")
        return
    wanted = sorted({record["seq"] for record in found if record["seq"] > 0})
    held: dict[int, str] = {}
    for chunk in _chunks(wanted):
        held.update(session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(chunk))).all())
    last = session.scalar(select(func.max(AuditEntry.seq))) or 0
    for record in found:
        result.checkpoints_checked += 1
        seq, mac, at = record["seq"], record["mac"], record.get("at", "?")
        if seq == 0:
            continue
        if seq not in held:
            result.fail(
                f"the checkpoint of {at} ({record['where']}) names entry {seq}, but the chain ends at entry {last}: "
                "entries were removed after it",
                broken_at=seq,
            )
        elif not hmac.compare_digest(held[seq], mac):
            result.fail(
                f"the checkpoint of {at} ({record['where']}) names entry {seq} with MAC {mac[:16]}…, the chain now "
                f"holds {held[seq][:16]}… there: the trail was rewritten after that checkpoint",
                broken_at=seq,
            )


def verification_summary(result: VerifyResult) -> dict[str, Any]:
    """The result as the API and the log give it."""
    return {
        "ok": result.ok,
        "entries_checked": result.checked,
        "legacy_entries": result.legacy,
        "rows_checked": result.rows_checked,
        "records_replayed": result.records_replayed,
        "checkpoints_checked": result.checkpoints_checked,
        "broken_at": result.broken_at,
        "record": result.record,
        "problem": result.problem,
        "problems": result.problems,
        "problem_count": result.problem_count,
        "checked_at": dt.datetime.now(dt.UTC),
    }
