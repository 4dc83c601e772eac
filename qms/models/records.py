"""What people attach to workflow records: progress notes and evidence files."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, utcnow
from .users import User


class ProgressNote(db.Model):
    """A dated note on a corrective action's progress (append-only)."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    corrective_action_id: Mapped[int] = mapped_column(ForeignKey("corrective_actions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship()


class Attachment(db.Model):
    """An evidence file on a record; the bytes live content-addressed (sha256) in the instance folder."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_record", "lifecycle", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lifecycle: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User] = relationship()
