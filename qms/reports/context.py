"""The context summary as a PDF (ISO 9001 4.1, 4.2): the SWOT board with each issue's PESTLE
category, owner and review date; the interested parties with their relevant requirements and how
each is monitored; and the last context review with its answer to the climate-change question.
All user text is escaped.
"""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.platypus import Flowable, Paragraph

from ..database import db, utcnow
from ..models import PARTY_CATEGORIES, PESTLE, SWOT, SWOT_PLURALS, Site
from ..services.context import last_completed_review, party_list, swot_board
from .pdf import (
    STYLES,
    PageFurniture,
    build_pdf,
    day,
    field_table,
    frame_width,
    generated_footer,
    grid_table,
    organisation_name,
    para,
    plural,
)


def context_summary_pdf(
    organisation: str | None = None,
    *,
    site_id: int | None = None,
    generated_at: dt.datetime | None = None,
    compress: bool = True,
) -> bytes:
    """The printable context of the organisation (of one site and the organisation-wide items, or all)."""
    organisation = organisation_name(organisation)
    generated_at = generated_at or utcnow()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    site = db.session.get(Site, site_id) if site_id else None
    board = swot_board(site.id if site else None)
    parties = list(db.session.scalars(party_list(site=site.id if site else None)))
    review = last_completed_review(site.id if site else None)
    heading = "Context of the organisation"
    scope = site.name if site else "The whole organisation"
    story: list[Flowable] = [
        para(organisation, STYLES.org),
        Paragraph(escape(heading), STYLES.title),
        Paragraph(escape(f"ISO 9001 4.1 and 4.2 · {scope}"), STYLES.subtitle),
    ]
    facts = [
        ("Issues", ", ".join(plural(len(board[k]), v.lower()) for k, v in SWOT.items())),
        ("Interested parties", str(len(parties))),
    ]
    if review is not None:
        answer = {"yes": "Yes", "no": "No"}.get(review.climate_change_relevant or "", "—")
        facts += [
            (
                "Last context review",
                f"{review.reference} ({review.site.name if review.site else 'whole organisation'}) "
                f"completed {day(review.completed_at.date())}",
            ),
            ("Climate change a relevant issue?", f"{answer} — {review.climate_change_notes}"),
            ("What changed", review.changes),
            ("Next review by", day(review.next_review_on)),
        ]
    else:
        facts.append(("Last context review", "None completed yet"))
    story.append(field_table(facts, (50 * 2.83, width - 50 * 2.83)))
    for key, heading in SWOT_PLURALS.items():
        origin = "internal" if key in ("strength", "weakness") else "external"
        story.append(Paragraph(escape(f"{heading} ({origin} issues)"), STYLES.h2))
        rows = [
            [
                issue.reference,
                issue.title + (f"\n{issue.description}" if issue.description else ""),
                PESTLE.get(issue.pestle or "", "—"),
                "Yes" if issue.climate_related else "",
                issue.site.name if issue.site else "Whole organisation",
                issue.owner.name,
                day(issue.review_on),
            ]
            for issue in board[key]
        ]
        if rows:
            widths = (24, 110, 26, 16, 34, 34, 24)
            scale = width / sum(widths)
            header = ("Reference", "Issue", "PESTLE", "Climate", "Site", "Owner", "Review by")
            story.append(grid_table(header, rows, [w * scale for w in widths]))
        else:
            story.append(Paragraph("None recorded.", STYLES.muted))
    story.append(Paragraph("Interested parties and their relevant requirements", STYLES.h2))
    if parties:
        rows = [
            [
                p.reference,
                f"{p.name}\n{PARTY_CATEGORIES[p.category]}",
                p.requirements + (f"\nClimate: {p.climate_requirements}" if p.climate_requirements else ""),
                p.monitoring,
                p.owner.name,
                day(p.review_on),
            ]
            for p in parties
        ]
        widths = (22, 45, 95, 70, 30, 22)
        scale = width / sum(widths)
        header = ("Reference", "Party", "Relevant requirements", "How monitored", "Owner", "Review by")
        story.append(grid_table(header, rows, [w * scale for w in widths]))
    else:
        story.append(Paragraph("None recorded.", STYLES.muted))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, heading, generated_footer(generated_at)),
        title=heading,
        author=organisation,
        subject="Context of the organisation (ISO 9001 4.1, 4.2)",
        pagesize=pagesize,
        compress=compress,
    )
