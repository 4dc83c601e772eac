"""The approved supplier list as a PDF: what purchasing may buy and from whom, with the conditions
of conditionally approved suppliers, certificates and scores (ISO 9001 8.4). All user text is escaped.
"""

from __future__ import annotations

import datetime as dt

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from ..database import utcnow
from ..models import Scar
from ..services.suppliers import approved_suppliers
from ..services.workflow import history_of
from .pdf import (
    DASH,
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    field_table,
    frame_width,
    generated_footer,
    grid_table,
    or_dash,
    organisation_name,
    para,
    plural,
    text_or_note,
    utc,
)

HEADING = "Approved supplier list"


def approved_list_pdf(today: dt.date, organisation: str | None = None, *, compress: bool = True) -> bytes:
    organisation = organisation_name(organisation)
    suppliers = approved_suppliers()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    story: list[Flowable] = [
        para(f"{HEADING} — {organisation}", STYLES.title),
        para(
            f"As of {day(today)}: {plural(len(suppliers), 'supplier')}. Buy only from these suppliers, for what "
            "their approval covers; apply the conditions of conditionally approved suppliers.",
            STYLES.body,
        ),
        Spacer(1, 4 * mm),
    ]
    rows = []
    for s in suppliers:
        status = s.state_label
        if s.state == "conditionally_approved":
            status += f": {s.conditions}" + (
                f" (review by {day(s.conditions_review_by)})" if s.conditions_review_by else ""
            )
        certificate = (
            f"{s.iso9001_certificate}, expires {day(s.iso9001_expires_on)}"
            + (" — EXPIRED" if not s.certificate_valid(today) else "")
            if s.iso9001_certificate
            else "none"
        )
        contact = ", ".join(v for v in (s.contact_name, s.contact_email, s.contact_phone) if v) or DASH
        rows.append(
            [
                f"{s.name}\n{s.reference}",
                s.approval_scope or s.supplies,
                status,
                s.criticality_label,
                certificate,
                DASH if s.score is None else f"{s.score:g}",
                day(s.next_evaluation_due),
                contact,
            ]
        )
    if rows:
        fractions = (0.15, 0.2, 0.16, 0.07, 0.13, 0.05, 0.08, 0.16)
        story.append(
            grid_table(
                (
                    "Supplier",
                    "Approved for",
                    "Status",
                    "Criticality",
                    "ISO 9001",
                    "Score",
                    "Next evaluation",
                    "Contact",
                ),
                rows,
                [width * f for f in fractions],
                bold=(0,),
            )
        )
    else:
        story.append(para("No supplier is approved yet.", STYLES.body))
    generated_at = utcnow()
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, f"{HEADING} {day(today)}", generated_footer(generated_at)),
        title=f"{HEADING} {day(today)}",
        author=organisation,
        subject=HEADING,
        pagesize=pagesize,
        compress=compress,
    )


def scar_report_pdf(scar: Scar, organisation: str | None = None, *, compress: bool = True) -> bytes:
    """A supplier corrective action request as a PDF: the request, the supplier's answer, the review,
    the verification and the history with its e-signatures (for the supplier file or the auditor)."""
    organisation = organisation_name(organisation)
    width = frame_width(A4)
    generated_at = utcnow()
    labels = [32 * mm, width - 32 * mm]
    supplier, nc = scar.supplier, scar.nonconformity
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        para("Supplier corrective action request", STYLES.title),
        para(f"{scar.reference}: {supplier.name}", STYLES.subtitle),
        field_table(
            [
                ("Reference", scar.reference),
                ("State", scar.state_label),
                ("Supplier", f"{supplier.reference} {supplier.name}"),
                ("Contact", ", ".join(v for v in (supplier.contact_name, supplier.contact_email) if v) or DASH),
                ("Nonconformity", f"{nc.reference}: {nc.title}"),
                ("Answer by", day(scar.respond_by)),
                ("Generated", utc(generated_at)),
            ],
            labels,
        ),
        para("What we ask", STYLES.h2),
        text_or_note(scar.request, DASH),
        para("The supplier's answer", STYLES.h2),
    ]
    if scar.answered_at is None:
        story.append(para("Not answered yet.", STYLES.muted))
    else:
        story.append(
            field_table(
                [
                    ("Received", utc(scar.answered_at)),
                    ("From", scar.responder or DASH),
                    ("Through", "the supplier's link" if scar.answered_through_link else "recorded by staff"),
                    ("Containment", scar.containment),
                    ("Root cause", scar.root_cause),
                    ("Corrective actions", scar.actions),
                ],
                labels,
            )
        )
    story.append(para("Review and verification", STYLES.h2))
    story.append(
        field_table(
            [
                ("Returned because", or_dash(scar.returned_reason)),
                ("Review comment", or_dash(scar.review_comment)),
                ("Effectiveness check due", day(scar.verification_due) if scar.verification_due else DASH),
                ("Evidence of effectiveness", or_dash(scar.verification_evidence)),
                ("Cancelled because", or_dash(scar.cancel_reason)),
            ],
            labels,
        )
    )
    rows = [
        [
            utc(h.at, seconds=False),
            h.event.replace("_", " ").capitalize(),
            h.actor_name,
            f"{h.signed_by_name} — {h.signature_meaning}" if h.signature_meaning else "",
        ]
        for h in history_of(scar)
    ]
    story.append(para("History", STYLES.h2))
    if rows:
        story.append(
            grid_table(
                ("When (UTC)", "Event", "By", "Electronic signature"), rows, [w * width for w in (0.2, 0.25, 0.3, 0.25)]
            )
        )
    else:
        story.append(para("No events yet.", STYLES.muted))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, f"SCAR {scar.reference}", generated_footer(generated_at)),
        title=f"Supplier corrective action request {scar.reference}",
        author=organisation,
        subject="Supplier corrective action request",
        compress=compress,
    )
