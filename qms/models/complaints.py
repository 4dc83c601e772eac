"""Customer complaints (ISO 10002): a *complaint* follows the ``complaint`` lifecycle, from any
channel including the social platforms, with acknowledgement and resolution targets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

CHANNELS = {
    "facebook": "Facebook",
    "twitter": "Twitter / X",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "email": "E-mail",
    "phone": "Phone",
    "walk_in": "Walk-in",
    "web_form": "Web form",
}


#: the channels that are virtual (social) platforms, reported on together
VIRTUAL_PLATFORMS = ("facebook", "twitter", "whatsapp", "instagram")


class Complaint(WorkflowRecord, db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_received_at_id", "received_at", "id"),
        CheckConstraint(f"channel IN ({quoted_list(CHANNELS)})", "channel"),
    )
    lifecycle_name = "complaint"
    creator_attribute = "logged_by"
    created_verb = "Logged"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_handle: Mapped[str] = mapped_column(String(200), default="")
    customer_contact: Mapped[str] = mapped_column(String(254), default="")
    post_url: Mapped[str] = mapped_column(String(500), default="")
    service: Mapped[str] = mapped_column(String(120), default="", index=True)
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    remedy_sought: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    acknowledge_due: Mapped[dt.date]
    resolve_due: Mapped[dt.date]
    acknowledged_on: Mapped[dt.date | None]
    severity: Mapped[str | None] = mapped_column(String(10))
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None]
    customer_satisfied: Mapped[str | None] = mapped_column(String(10))
    communicated_on: Mapped[dt.date | None]
    closed_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    #: who logged it: a user, or None for the public form and survey rules
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), unique=True)
    origin: Mapped[str] = mapped_column(String(20), default="staff")  # staff, public_form, survey_rule, api
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    nonconformity: Mapped[Nonconformity | None] = relationship()

    OPEN_STATES = ("received", "acknowledged", "investigating", "escalated")

    def acknowledgement_overdue(self, today: dt.date) -> bool:
        return self.state == "received" and self.acknowledge_due < today

    def resolution_overdue(self, today: dt.date) -> bool:
        return self.state in self.OPEN_STATES and self.resolve_due < today

    @property
    def is_virtual_platform(self) -> bool:
        return self.channel in VIRTUAL_PLATFORMS

    def __repr__(self) -> str:
        return f"<Complaint {self.reference} {self.state}>"
