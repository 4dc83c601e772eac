"""The SQLAlchemy handle, the declarative base and what every database needs.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout, and
services that write begin with ``begin_write`` so that SQLite takes its write
lock up front (``BEGIN IMMEDIATE``): two writers then queue instead of failing
on a lock upgrade, and the second one sees the first one's commit.
PostgreSQL needs nothing special: its writers lock rows (``FOR UPDATE``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, MetaData, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(timezone.utc)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: the moment business events happen at, when the demo seeding replays a year (see ``as_of``)
_as_of: ContextVar[dt.datetime | None] = ContextVar("qms_as_of", default=None)


def event_time() -> dt.datetime:
    """When a record is created or an event fires: now, except inside ``as_of``."""
    return _as_of.get() or utcnow()


def event_date() -> dt.date:
    """Today, except inside ``as_of`` (the day guards such as "the check is due" compare with)."""
    moment = _as_of.get()
    return moment.date() if moment is not None else dt.date.today()


@contextmanager
def as_of(moment: dt.datetime) -> Iterator[None]:
    """Create records and fire events as at ``moment`` (their dates and history rows), for the demo
    organisation's year of history. The audit trail still records when each change was really written."""
    token = _as_of.set(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    try:
        yield
    finally:
        _as_of.reset(token)


class Base(DeclarativeBase):
    # Given as a registry because Flask-SQLAlchemy copies the base class body.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base, disable_autonaming=True)

_WRITE_OPTION = "qms_write"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin), as the docs advise.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN")


def id_in(column: Any, ids: list[int]) -> Any:
    """``column IN ids`` that stays cheap for thousands of ids (one array parameter on PostgreSQL).

    The parameter is unique: two of these in one statement keep their own lists (a shared name made
    the second list silently replace the first).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer), unique=True))
    return column.in_(ids)


def begin_write(session: Session | scoped_session) -> None:
    """Start the transaction of one user intention that will write.

    On SQLite, a read-only transaction left open by the request (loading the
    user, the record) is ended first, so the write transaction starts fresh
    and holds the write lock from its first statement.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: rows are locked as they are read (FOR UPDATE); nothing to prepare
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return  # the caller composes a larger intention; keep its transaction
        session.rollback()
    session.connection(execution_options={_WRITE_OPTION: True})


def quoted_list(values: Iterable[str]) -> str:
    """The values as a SQL list of string literals, for CHECK constraints over fixed choices."""
    return ", ".join(f"'{value}'" for value in values)
