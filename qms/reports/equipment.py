"""The calibration label of an instrument: a small page to print on a label printer and stick on the
instrument, saying what it is, when it was calibrated, by whom, when it is due, and whether it may be
used (ISO 9001 7.1.5.2: identified to determine its calibration status).
"""

from __future__ import annotations

import datetime as dt
import io

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..models import Equipment
from .pdf import INK, MUTED, WATERMARK, day, organisation_name, printable

#: a common thermal label: 62 × 40 mm
LABEL_SIZE = (62 * mm, 40 * mm)


def calibration_label_pdf(equipment: Equipment, organisation: str | None = None, today: dt.date | None = None) -> bytes:
    today = today or dt.date.today()
    organisation = organisation_name(organisation)
    status = equipment.calibration_status(today)
    usable = status in ("in_service", "due")
    buffer = io.BytesIO()
    width, height = LABEL_SIZE
    canvas = Canvas(buffer, pagesize=LABEL_SIZE, pageCompression=0)
    canvas.setTitle(f"Calibration label {equipment.identifier}")
    canvas.setAuthor(printable(organisation))
    canvas.setCreator("qmsflow")
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(1)
    canvas.rect(1.5 * mm, 1.5 * mm, width - 3 * mm, height - 3 * mm)
    x = 4 * mm
    y = height - 7 * mm
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(x, y, printable(equipment.identifier)[:28])
    canvas.setFont("Helvetica", 6.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(x, y - 3.2 * mm, printable(equipment.name)[:48])
    lines = (
        ("Calibrated", day(equipment.last_calibrated_on) if equipment.last_calibrated_on else "never"),
        ("Next due", day(equipment.next_calibration_due) if equipment.next_calibration_due else "—"),
        ("Accuracy", printable(equipment.accuracy or "—")[:34]),
    )
    canvas.setFillColor(INK)
    for i, (label, value) in enumerate(lines):
        line_y = y - (8 + 4 * i) * mm
        canvas.setFont("Helvetica", 7)
        canvas.drawString(x, line_y, label)
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawString(x + 17 * mm, line_y, value)
    verdict = (
        "CALIBRATED — MAY BE USED"
        if usable
        else "DO NOT USE — "
        + {
            "overdue": "CALIBRATION OVERDUE",
            "quarantined": "QUARANTINED",
            "out_of_service": "OUT OF SERVICE",
            "retired": "RETIRED",
        }.get(status, status.upper())
    )
    canvas.setFillColor(colors.HexColor("#1d6b34") if usable else WATERMARK)
    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(x, 5 * mm, verdict[:44])
    canvas.setFillColor(MUTED)
    canvas.setFont("Helvetica", 5)
    canvas.drawRightString(width - 3 * mm, 2.5 * mm, printable(organisation)[:40])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
