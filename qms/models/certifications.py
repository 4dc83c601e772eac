"""Certification with external bodies (ISO/IEC 17021-1).

- A *certification body* is a profile loaded from ``standards/data/certification-bodies.yaml``
  and editable by an admin; ``profile`` keeps the whole profile (programme rules, severity
  scale) as JSON so edits never need a migration.
- A *certification* follows the ``certification`` lifecycle with one body, for one standard,
  scope and site. Its *external audits* (stage 1, stage 2, surveillance, recertification…) carry
  *findings* graded on the body's own scale; each finding raises a nonconformity with the body's
  response deadline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import Site
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

EXTERNAL_AUDIT_KINDS = {
    "pre_audit": "Pre-audit",
    "stage1": "Stage 1",
    "stage2": "Stage 2",
    "surveillance": "Surveillance",
    "recertification": "Recertification",
    "transition": "Transition audit",
    "special": "Special audit",
}


class CertificationBody(db.Model):
    __tablename__ = "certification_bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="")
    #: the whole profile as ``standards.body_to_dict`` writes it (programme rules, severity scale…)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<CertificationBody {self.code}>"


class Certification(WorkflowRecord, db.Model):
    __tablename__ = "certifications"
    lifecycle_name = "certification"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    standard_identifier: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(Text)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    applied_on: Mapped[dt.date]
    contract_reference: Mapped[str] = mapped_column(String(60), default="")
    contracted_on: Mapped[dt.date | None]
    stage1_date: Mapped[dt.date | None]
    stage2_date: Mapped[dt.date | None]
    response_due: Mapped[dt.date | None]
    certificate_number: Mapped[str] = mapped_column(String(60), default="")
    decided_on: Mapped[dt.date | None]
    #: start of the current three-year cycle (the decision date, or the old expiry + 1 on early recertification)
    cycle_start: Mapped[dt.date | None]
    expires_on: Mapped[dt.date | None] = mapped_column(index=True)
    next_audit_due: Mapped[dt.date | None]
    suspended_until: Mapped[dt.date | None]
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: the body's transition audit to a new edition, once planned: its date and the audit it is
    #: combined with ("surveillance", "recertification" or "" for an audit of its own)
    transition_audit_planned_on: Mapped[dt.date | None]
    transition_audit_combined_with: Mapped[str] = mapped_column(String(20), default="")
    #: the edition the certificate was to before the body's transition decision, and when it moved
    previous_standard_identifier: Mapped[str] = mapped_column(String(60), default="")
    edition_changed_on: Mapped[dt.date | None]

    body: Mapped[CertificationBody] = relationship()
    site: Mapped[Site | None] = relationship()
    owner: Mapped[User] = relationship()
    audits: Mapped[list[ExternalAudit]] = relationship(
        back_populates="certification", order_by="(ExternalAudit.start_date, ExternalAudit.id)"
    )

    def __repr__(self) -> str:
        return f"<Certification {self.reference} {self.state}>"


class ExternalAudit(db.Model):
    """An audit by the certification body, with its findings on the body's own scale."""

    __tablename__ = "external_audits"
    __table_args__ = (CheckConstraint(f"kind IN ({quoted_list(EXTERNAL_AUDIT_KINDS)})", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date]
    lead_auditor: Mapped[str] = mapped_column(String(200), default="")
    body_reference: Mapped[str] = mapped_column(String(60), default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    certification: Mapped[Certification] = relationship(back_populates="audits")
    findings: Mapped[list[ExternalFinding]] = relationship(
        back_populates="audit", order_by="ExternalFinding.id", cascade="all, delete-orphan"
    )


class ExternalFinding(db.Model):
    __tablename__ = "external_findings"
    __table_args__ = (UniqueConstraint("external_audit_id", "body_reference", name="uq_external_findings_reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_audit_id: Mapped[int] = mapped_column(ForeignKey("external_audits.id", ondelete="CASCADE"), index=True)
    body_reference: Mapped[str] = mapped_column(String(60))
    #: the grade's code on the body's scale, and its label when recorded
    grade: Mapped[str] = mapped_column(String(40))
    grade_label: Mapped[str] = mapped_column(String(120))
    clause_number: Mapped[str] = mapped_column(String(30), default="")
    clause_urn: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    #: the body's deadline for our answer; None for grades that need none (observations)
    response_due: Mapped[dt.date | None]
    #: findings the body grouped together share a label (e.g. "G1")
    group_label: Mapped[str] = mapped_column(String(40), default="")
    regraded_from: Mapped[str] = mapped_column(String(40), default="")
    regrade_reason: Mapped[str] = mapped_column(Text, default="")
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), unique=True)

    audit: Mapped[ExternalAudit] = relationship(back_populates="findings")
    nonconformity: Mapped[Nonconformity | None] = relationship()
