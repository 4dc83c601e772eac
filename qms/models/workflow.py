"""What every workflow record shares, and the history of its transitions."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from workflows import get_lifecycle

from ..database import db, event_time, utcnow

#: lifecycle name → model class, filled as workflow models are declared
WORKFLOW_MODELS: dict[str, type[WorkflowRecord]] = {}


class WorkflowRecord:
    """Mixin for a record that follows a lifecycle.

    ``version`` is SQLAlchemy's ``version_id_col``: every UPDATE carries
    ``WHERE version = <the version read>`` so a concurrent change is detected
    instead of silently overwritten.  A new record starts in the lifecycle's
    initial state under its current version, and keeps that version.
    """

    lifecycle_name: ClassVar[str]
    #: the relationship to the person who created the record, and the word for it ("Raised"): the
    #: first line of the record's history, which no fired event records
    creator_attribute: ClassVar[str | None] = None
    created_verb: ClassVar[str] = "Created"

    state: Mapped[str] = mapped_column(String(40), index=True)
    lifecycle_version: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=event_time)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "lifecycle_name" in cls.__dict__:
            WORKFLOW_MODELS[cls.lifecycle_name] = cls

    def __init__(self, **kwargs: Any) -> None:
        lifecycle = get_lifecycle(self.lifecycle_name)
        kwargs.setdefault("state", lifecycle.initial)
        kwargs.setdefault("lifecycle_version", lifecycle.version)
        super().__init__(**kwargs)

    @property
    def lifecycle(self):
        return get_lifecycle(self.lifecycle_name, self.lifecycle_version)

    @property
    def state_label(self) -> str:
        return self.lifecycle.state(self.state).label

    @property
    def creator_name(self) -> str | None:
        creator = getattr(self, self.creator_attribute) if self.creator_attribute else None
        return creator.name if creator is not None else None

    @property
    def is_terminal(self) -> bool:
        return self.lifecycle.state(self.state).terminal


class TransitionHistory(db.Model):
    """One fired event: who moved which record from where to where, and why.

    Signature columns hold the electronic signature of approval events
    (printed name, UTC time, meaning), linked to this row and so to the record.
    """

    __tablename__ = "transition_history"
    __table_args__ = (Index("ix_transition_history_record", "lifecycle", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lifecycle: Mapped[str] = mapped_column(String(40))
    lifecycle_version: Mapped[int]
    record_id: Mapped[int]
    event: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signature_meaning: Mapped[str | None] = mapped_column(String(80))
    signed_by_name: Mapped[str | None] = mapped_column(String(120))
    signed_at: Mapped[dt.datetime | None]

    @property
    def signature_manifest(self) -> str | None:
        """§11.50 manifestation: printed name, date and time (UTC), meaning."""
        if not self.signature_meaning or self.signed_at is None:
            return None
        return f"{self.signed_by_name} — {self.signature_meaning} — {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"


class ReferenceCounter(db.Model):
    """Per-key counters behind human references such as NC-2026-0042."""

    __tablename__ = "reference_counters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
