"""Competence reports: the matrix (PDF and XLSX) and one person's training record, the PDF an auditor
sampling clause 7.2 is handed. All user text is escaped.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..database import utcnow
from ..models import COMPETENCE_LEVELS, EVALUATION_METHODS, NEED_SOURCES, NEED_STATUSES, RECORD_SOURCES
from ..services.competence import Cell, Matrix, TrainingRecord
from ..services.filters import spreadsheet_safe
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
    organisation_name,
    para,
    share,
)

LEVEL_SHORT = {"aware": "A", "practitioner": "P", "expert": "E"}
STATUS_WORDS = {"met": "", "gap": "GAP", "expired": "EXPIRED", "expiring": "expiring", "held": "", "none": ""}


def cell_text(cell: Cell) -> str:
    """A matrix cell in a few characters: held/required level, and the status when it needs attention."""
    if cell.status == "none":
        return ""
    held = LEVEL_SHORT.get(cell.held or "", DASH)
    text = f"{held}/{LEVEL_SHORT[cell.required]}" if cell.required else held
    if STATUS_WORDS[cell.status]:
        text += f" {STATUS_WORDS[cell.status]}"
    if cell.expires_on and cell.status in ("expiring", "expired"):
        text += f" {cell.expires_on.isoformat()}"
    return text


def matrix_pdf(found: Matrix, *, organisation: str | None = None, showing: str = "", compress: bool = True) -> bytes:
    organisation = organisation_name(organisation)
    generated_at = utcnow()
    pagesize = landscape(A4)
    width = frame_width(pagesize)
    story: list[Flowable] = [
        Paragraph("Competence matrix", STYLES.title),
        para(f"On {found.today.isoformat()}" + (f" · {showing}" if showing else ""), STYLES.meta),
        para(
            f"Required competences met: {found.met_cells} of {found.required_cells} "
            f"({share(found.met_cells, found.required_cells)}). Cells read held level / required level "
            "(A aware, P practitioner, E expert); GAP and EXPIRED need training.",
            STYLES.body,
        ),
        Spacer(1, 3 * mm),
    ]
    competences = found.competences
    if not found.people or not competences:
        story.append(para("No people or competences match.", STYLES.muted))
    else:
        # at most eight competences per table, so that the columns stay readable
        for start in range(0, len(competences), 8):
            chunk = competences[start : start + 8]
            name_w, role_w = 45 * mm, 35 * mm
            cell_w = (width - name_w - role_w) / len(chunk)
            rows = []
            for person in found.people:
                profile = person.profile
                role = profile.job_role.name if profile and profile.job_role else DASH
                rows.append([person.user.name, role, *[cell_text(person.cells[c.id]) for c in chunk]])
            story.append(
                grid_table(
                    ["Person", "Job role", *[c.name for c in chunk]],
                    rows,
                    [name_w, role_w, *[cell_w] * len(chunk)],
                    plain=set(range(2 + len(chunk))),
                )
            )
            story.append(Spacer(1, 4 * mm))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, "Competence matrix", generated_footer(generated_at)),
        title="Competence matrix",
        author=organisation,
        subject="Competence matrix (ISO 9001 7.2)",
        pagesize=pagesize,
        compress=compress,
    )


def matrix_xlsx(found: Matrix) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Competence matrix")
    sheet.append(["Person", "E-mail", "Job role", "Site", "Process", *[c.name for c in found.competences]])
    for person in found.people:
        p = person.profile
        sheet.append(
            [
                spreadsheet_safe(person.user.name),
                spreadsheet_safe(person.user.email),
                spreadsheet_safe(p.job_role.name if p and p.job_role else ""),
                spreadsheet_safe(p.site.name if p and p.site else ""),
                spreadsheet_safe(p.process.name if p and p.process else ""),
                *[cell_text(person.cells[c.id]) for c in found.competences],
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def material_label(session: Any) -> str:
    """The training material as document control names it: "QP-07 rev B", or "—"."""
    if session.material_revision is not None:
        return session.material_revision.reference
    return session.material.number if session.material is not None else "—"


def _level(level: str | None) -> str:
    return COMPETENCE_LEVELS.get(level or "", DASH)


def training_record_pdf(record: TrainingRecord, *, organisation: str | None = None, compress: bool = True) -> bytes:
    """One person's competence and training, for an auditor: requirements and status, records with
    their evidence and expiry, training attended with its evaluated effectiveness, open needs."""
    organisation = organisation_name(organisation)
    generated_at = utcnow()
    width = frame_width(A4)
    user, profile = record.user, record.profile
    heading = f"Training record: {user.name}"
    story: list[Flowable] = [
        Paragraph(heading, STYLES.title),
        field_table(
            [
                ("E-mail", user.email),
                ("Job role", profile.job_role.name if profile and profile.job_role else DASH),
                ("Site", profile.site.name if profile and profile.site else DASH),
                ("Process", profile.process.name if profile and profile.process else DASH),
                ("Virtual platforms", ", ".join(profile.platforms) if profile and profile.platforms else DASH),
                ("Printed on", generated_at.date().isoformat()),
            ],
            [40 * mm, width - 40 * mm],
        ),
        Paragraph("Competences required and held", STYLES.h2),
    ]
    rows = []
    for competence_id, cell in record.status.cells.items():
        if cell.status == "none":
            continue
        competence = record.competences[competence_id]
        status = {
            "met": "Met",
            "gap": "Gap",
            "expired": "Expired",
            "expiring": "Expiring soon",
            "held": "Held (not required)",
        }[cell.status]
        rows.append(
            [
                competence.name,
                _level(cell.required),
                _level(cell.held),
                day(cell.expires_on),
                status,
                "; ".join(cell.reasons) or DASH,
            ]
        )
    if rows:
        story.append(
            grid_table(
                ["Competence", "Required", "Held", "Expires", "Status", "Why required"],
                rows,
                [42 * mm, 22 * mm, 22 * mm, 20 * mm, 22 * mm, width - 128 * mm],
            )
        )
    else:
        story.append(para("No competence is required of or recorded for this person.", STYLES.muted))
    story.append(Paragraph("Competence records and qualifications", STYLES.h2))
    if record.records:
        story.append(
            grid_table(
                ["Achieved", "Competence or qualification", "Level", "Source", "Evidence", "Expires"],
                [
                    [
                        day(r.achieved_on),
                        r.competence.name if r.competence else r.title,
                        _level(r.level),
                        RECORD_SOURCES[r.source] + (f" ({r.provider})" if r.provider else ""),
                        r.evidence,
                        day(r.expires_on) if r.expires_on else "Does not expire",
                    ]
                    for r in record.records
                ],
                [20 * mm, 38 * mm, 20 * mm, 32 * mm, width - 130 * mm, 20 * mm],
            )
        )
    else:
        story.append(para("No records yet.", STYLES.muted))
    story.append(Paragraph("Training attended", STYLES.h2))
    attended = [a for a in record.attendance if a.attended is not None]
    if attended:
        rows = []
        for a in attended:
            s = a.session
            if not a.attended:
                outcome = "Did not attend"
            elif a.effective is None:
                outcome = "Not yet evaluated"
            else:
                outcome = ("Effective" if a.effective else "Not effective") + (
                    f" (score {a.score})" if a.score is not None else ""
                )
            rows.append(
                [
                    s.reference,
                    s.title,
                    s.competence.name,
                    material_label(s),
                    day(s.held_on or s.planned_on),
                    EVALUATION_METHODS[s.evaluation_method],
                    outcome,
                ]
            )
        story.append(
            grid_table(
                ["Session", "Title", "Competence", "Material", "Held", "Evaluated by", "Effectiveness"],
                rows,
                [24 * mm, width - 170 * mm, 34 * mm, 32 * mm, 20 * mm, 26 * mm, 34 * mm],
            )
        )
    else:
        story.append(para("No training recorded.", STYLES.muted))
    open_needs = [n for n in record.needs if n.status in ("open", "planned")]
    story.append(Paragraph("Open training needs", STYLES.h2))
    if open_needs:
        story.append(
            grid_table(
                ["Competence", "Level", "Raised from", "Status", "Due"],
                [
                    [
                        n.competence.name,
                        _level(n.level),
                        NEED_SOURCES[n.source],
                        NEED_STATUSES[n.status],
                        day(n.due_date),
                    ]
                    for n in open_needs
                ],
                [width - 118 * mm, 24 * mm, 40 * mm, 30 * mm, 24 * mm],
            )
        )
    else:
        story.append(para("None.", STYLES.muted))
    return build_pdf(
        story,
        furniture=PageFurniture(organisation, heading, generated_footer(generated_at)),
        title=heading,
        author=organisation,
        subject="Training record (ISO 9001 7.2)",
        compress=compress,
    )
