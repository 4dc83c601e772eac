"""The append-only audit trail, chained with a keyed MAC (21 CFR Part 11 §11.10(e), Annex 11 §9)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import db


class AuditEntry(db.Model):
    """Who changed what, when, from which values to which, and why.

    ``seq`` numbers entries without gaps; ``hash`` is an HMAC-SHA256, under the audit key
    named by ``key_id`` (a key the database does not hold), of every column and the previous
    entry's ``hash``, so an edited, removed or re-ordered row breaks the chain and nobody
    without the key can recompute it (see ``qms.services.audit_trail.verify``).  ``row_digest``
    is the SHA-256 of the audited row as it was in the database right after the change, so
    ``verify`` can prove the row still holds what the trail says.  Entries written before the
    trail was keyed have ``key_id`` NULL and a plain SHA-256 ``hash``: they are legacy entries,
    anchored by the keyed entries after them (see ``seal``).  Values are stored as canonical
    JSON text so the hashed bytes are exactly the stored bytes.
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))  # create, update, delete, transition
    record_type: Mapped[str] = mapped_column(String(60), index=True)
    record_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str | None] = mapped_column(String(60))
    fields: Mapped[str] = mapped_column(Text, default="")
    old_value: Mapped[str] = mapped_column(Text, default="{}")
    new_value: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: the id of the audit key that made ``hash`` (NULL: a legacy, unkeyed entry)
    key_id: Mapped[str | None] = mapped_column(String(40))
    #: SHA-256 of the audited row's columns right after the change (NULL for deletes and bookkeeping)
    row_digest: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(db.Model):
    """The single row that points at the newest entry.

    Appending locks this row (``SELECT … FOR UPDATE``) inside the writing
    transaction, so concurrent writers take turns and never fork the chain.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
