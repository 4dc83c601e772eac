"""Standards that an organisation imported (YAML or CSV) beside the bundled ones in ``standards/``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, utcnow
from .users import User


class ImportedStandard(db.Model):
    """A standard or SOP checklist an organisation imported (``qms standards import``).

    ``content`` is the canonical YAML of the standard (CSV imports are converted), so the same
    loader and validator read bundled and imported standards alike.
    """

    __tablename__ = "imported_standards"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    edition: Mapped[int]
    urn: Mapped[str] = mapped_column(String(200), unique=True)
    source_format: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    imported_by: Mapped[User | None] = relationship()


class ImportedMapping(db.Model):
    """A mapping set an organisation imported (YAML or CSV) to relate two editions.

    It replaces the bundled set between the same two standards (a consultant's table, or the
    final one ISO publishes) without a release. ``content`` is the canonical YAML, so the same
    parser reads bundled and imported sets alike.
    """

    __tablename__ = "imported_mappings"
    __table_args__ = (UniqueConstraint("source_identifier", "target_identifier", name="uq_imported_mappings_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_identifier: Mapped[str] = mapped_column(String(60))
    target_identifier: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    source_format: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    imported_by: Mapped[User | None] = relationship()


class StandardEditionStatus(db.Model):
    """An admin's record of an edition's status and transition dates (``standards/data/editions/editions.yaml`` edited).

    Without a row the bundled facts apply; with one, the row does, so the dates follow what ISO
    and the IAF publish without a release.
    """

    __tablename__ = "standard_edition_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(60), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="published")
    published_on: Mapped[dt.date | None]
    replaces: Mapped[str | None] = mapped_column(String(60))
    transition_ends_on: Mapped[dt.date | None]
    cutover_on: Mapped[dt.date | None]
    warn_months: Mapped[int] = mapped_column(default=12)
    source: Mapped[str] = mapped_column(Text, default="")
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[dt.datetime | None]

    edited_by: Mapped[User | None] = relationship()
