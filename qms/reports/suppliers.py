"""The approved supplier list as a PDF: what purchasing may buy and from whom, with the conditions
of conditionally approved suppliers, certificates and scores (ISO 9001 8.4). All user text is escaped.
"""

from __future__ import annotations

import datetime as dt

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from ..database import utcnow
from ..services.suppliers import approved_suppliers
from .pdf import (
    DASH,
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    frame_width,
    generated_footer,
    grid_table,
    organisation_name,
    para,
    plural,
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
