"""The risk register as a PDF (ISO 9001 6.1): the heat map's counts and the register as filtered,
with each risk's cause, effect, inherent and current ratings, treatment and next review.
All user text is escaped.
"""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.platypus import Flowable, Paragraph

from ..database import db, utcnow
from ..models import LEVEL_LABELS, TREATMENT_LABELS
from ..services.risks import RiskFilters, heat_map, risk_register
from .pdf import (
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    frame_width,
    generated_footer,
    grid_table,
    organisation_name,
    para,
)

MAX_ROWS = 5000


def risk_register_pdf(
    filters: RiskFilters,
    organisation: str | None = None,
    *,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The filtered register (at most MAX_ROWS risks) with the heat map of every open rated risk."""
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    risks = list(db.session.scalars(risk_register(filters).limit(MAX_ROWS)))
    hm = heat_map("current")
    heading = "Risk register"
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(escape("ISO 9001 6.1 · actions to address risks"), STYLES.subtitle),
        Paragraph(escape("Heat map: open rated risks by current likelihood (rows) and impact (columns)"), STYLES.h2),
    ]
    header = ["Likelihood", *(f"Impact {i}" for i in range(1, hm.scale + 1))]
    rows = [
        [str(likelihood), *(str(hm.count(likelihood, i) or "") for i in range(1, hm.scale + 1))]
        for likelihood in range(hm.scale, 0, -1)
    ]
    story.append(grid_table(header, rows, [60.0] * (hm.scale + 1), plain=range(hm.scale + 1)))
    story.append(Paragraph(escape(f"The register ({len(risks)} risks shown)"), STYLES.h2))
    rows = [
        [
            r.reference,
            r.title,
            f"Cause: {r.cause}\nEffect: {r.effect}",
            r.process.name if r.process else "—",
            f"{r.likelihood} × {r.impact} = {r.inherent_score}" if r.inherent_score else "not rated",
            f"{LEVEL_LABELS[r.level]} {r.current_score}" if r.level else "—",
            TREATMENT_LABELS.get(r.treatment or "", "—"),
            r.owner.name,
            day(r.next_review_on) if r.next_review_on else "—",
            r.state_label,
        ]
        for r in risks
    ]
    widths = (24, 50, 95, 30, 24, 20, 18, 28, 22, 26)
    scale = width / sum(widths)
    header = [
        "Reference",
        "Risk",
        "Cause and effect",
        "Process",
        "Inherent",
        "Current",
        "Treatment",
        "Owner",
        "Next review",
        "State",
    ]
    story.append(grid_table(header, rows, [w * scale for w in widths]))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, heading, generated_footer(generated_at)),
        title=heading,
        author=organisation,
        subject="Risk register (ISO 9001 6.1)",
        pagesize=pagesize,
        compress=compress,
    )
