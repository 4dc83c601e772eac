"""The master document list as a PDF (ISO 9001 7.5: what is in force, where, since when)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..database import utcnow
from .pdf import STYLES, PageFurniture, build_pdf, frame_width, grid_table, para, utc

MASTER_LIST_COLUMNS = ("Number", "Title", "Type", "Process", "In force", "Effective", "Next review", "Owner")


def master_list_report(
    rows: Sequence[Sequence[object]],
    organisation: str,
    *,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """``rows`` as built by the caller in MASTER_LIST_COLUMNS order (the web view and the XLSX share them)."""
    generated_at = generated_at or utcnow()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    fractions = (0.12, 0.30, 0.10, 0.11, 0.08, 0.09, 0.09, 0.11)
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph("Master document list", STYLES.title),
        Paragraph(f"Generated {escape(utc(generated_at))} · {len(rows)} documents", STYLES.meta),
        Spacer(0, 3 * mm),
    ]
    if rows:
        story.append(grid_table(MASTER_LIST_COLUMNS, rows, [f * width for f in fractions], bold=(0,)))
    else:
        story.append(Paragraph("No documents are registered yet.", STYLES.subtitle))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, "Master document list", f"Generated {utc(generated_at)} by qmsflow"),
        title="Master document list",
        author=organisation,
        subject="Master document list",
        pagesize=pagesize if rows else A4,
        compress=compress,
    )
