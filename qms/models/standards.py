"""Standards that an organisation imported (YAML or CSV) beside the bundled ones in ``standards/``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
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
