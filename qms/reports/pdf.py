"""Shared PDF layout: styles, safe text, tables, and pages numbered "Page X of Y".

Only reportlab's built-in Helvetica is used, so nothing outside the package is
needed.  Helvetica covers Western European text (WinAnsi); reportlab draws
arrows and Greek from its Symbol font.  Other Latin letters are printed without
their diacritics (``ő`` → ``o``); anything else shows as a box.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from flask import current_app, has_app_context
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, LongTable, Paragraph, SimpleDocTemplate, TableStyle

MARGIN = 15 * mm
HEADER_GAP = 8 * mm  # between the page header line and the frame
DASH = "—"
_CELL_PAD = 3
_CELL_SIZE = 8

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#9aa5b1")
HEAD_FILL = colors.HexColor("#243b53")
ZEBRA = colors.HexColor("#f0f4f8")
GRID = colors.HexColor("#cbd2d9")
WATERMARK = colors.HexColor("#c81e1e")

# Latin letters that Unicode does not decompose into a base letter and a mark.
_LATIN_FALLBACK = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H", "ı": "i"})


def printable(text: Any) -> str:
    """``text`` as Helvetica can print it: control characters dropped, letters outside WinAnsi simplified."""
    if text is None:
        return ""
    out = []
    for ch in str(text).translate(_LATIN_FALLBACK):
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch)[0] == "C":
            continue  # control, format, surrogate, private use
        else:
            try:
                ch.encode("cp1252")
            except UnicodeEncodeError:
                base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
                try:
                    base.encode("cp1252")
                except UnicodeEncodeError:
                    base = ch  # reportlab substitutes Symbol/ZapfDingbats, or draws a box
                ch = base or ch
            out.append(ch)
    return "".join(out).replace("\r", "")


def markup(text: Any) -> str:
    """User text as Paragraph markup: escaped, with its line breaks kept."""
    return escape(printable(text)).replace("\n", "<br/>")


def utc(value: dt.datetime | None, *, seconds: bool = True) -> str:
    """``2026-05-01 14:03:07 UTC``; a naive datetime is taken as UTC already."""
    if value is None:
        return DASH
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def day(value: dt.date | None) -> str:
    return value.isoformat() if value else DASH


def or_dash(text: Any) -> str:
    text = "" if text is None else str(text).strip()
    return text or DASH


# --- styles ----------------------------------------------------------------


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base = {"fontName": "Helvetica", "fontSize": 9, "leading": 11.5, "textColor": INK}
    base.update(kw)
    return ParagraphStyle(name, **base)


class Styles:
    """The paragraph styles of every report."""

    org = _style("org", fontName="Helvetica-Bold", fontSize=10, textColor=MUTED)
    title = _style("title", fontName="Helvetica-Bold", fontSize=18, leading=22, spaceAfter=2)
    subtitle = _style("subtitle", fontName="Helvetica-Bold", fontSize=12, leading=15, spaceAfter=6)
    h2 = _style(
        "h2", fontName="Helvetica-Bold", fontSize=11.5, leading=14, spaceBefore=10, spaceAfter=4, keepWithNext=1
    )
    h3 = _style("h3", fontName="Helvetica-Bold", fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=2, keepWithNext=1)
    body = _style("body", spaceAfter=3)
    muted = _style("muted", textColor=MUTED, fontName="Helvetica-Oblique", spaceAfter=3)
    meta = _style("meta", textColor=MUTED, fontSize=8.5, leading=11)
    cell = _style("cell", fontSize=8, leading=10)
    cell_bold = _style("cell_bold", fontName="Helvetica-Bold", fontSize=8, leading=10)
    cell_small = _style("cell_small", fontSize=7, leading=8.8, textColor=MUTED)
    head = _style("head", fontName="Helvetica-Bold", fontSize=8, leading=10, textColor=colors.white)
    label = _style("label", fontName="Helvetica-Bold", fontSize=8.5, leading=11, textColor=MUTED)
    #: a boxed warning in red, such as a draft report's "not yet approved"
    notice = _style(
        "notice",
        spaceAfter=8,
        fontName="Helvetica-Bold",
        fontSize=10,
        leading=13,
        textColor=colors.HexColor("#9b1c1c"),
        backColor=colors.HexColor("#fdecea"),
        borderColor=colors.HexColor("#c81e1e"),
        borderWidth=0.6,
        borderPadding=(4, 5, 4, 5),
        spaceBefore=6,
    )


STYLES = Styles()


def para(text: Any, style: ParagraphStyle | None = None) -> Paragraph:
    """A Paragraph of user text (escaped)."""
    return Paragraph(markup(text), style or STYLES.body)


def text_or_note(text: Any, note: str) -> Paragraph:
    """The text, or a muted note when it is empty."""
    if text is None or not str(text).strip():
        return Paragraph(escape(note), STYLES.muted)
    return para(text)


# --- tables ----------------------------------------------------------------


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    plain: Collection[int] = (),
    bold: Collection[int] = (),
    split_in_row: bool = True,
) -> LongTable:
    """A table with a repeated header row, zebra rows and explicit column widths.

    Cells that are not flowables are escaped into wrapping Paragraphs, except in
    the ``plain`` columns, where a value that fits on one line is drawn as plain
    text (much faster for registers of thousands of rows).  ``bold`` columns
    print in bold.  With ``split_in_row`` a row taller than a page splits inside
    the row instead of failing the layout.
    """
    data: list[list[Any]] = [[Paragraph(escape(h), STYLES.head) for h in header]]
    room = [w - 2 * _CELL_PAD for w in widths]
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            font = "Helvetica-Bold" if i in bold else "Helvetica"
            if i in plain and not isinstance(value, Flowable | list):
                text = printable(value)
                if "\n" not in text and stringWidth(text, font, _CELL_SIZE) <= room[i]:
                    cells.append(text)
                    continue
            cells.append(_cell(value, STYLES.cell_bold if i in bold else STYLES.cell))
        data.append(cells)
    table = LongTable(data, colWidths=list(widths), repeatRows=1, splitInRow=int(split_in_row), hAlign="LEFT")
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 1), (-1, -1), "Helvetica", _CELL_SIZE, STYLES.cell.leading),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [("FONT", (i, 1), (i, -1), "Helvetica-Bold", _CELL_SIZE, STYLES.cell.leading) for i in bold]
    table.setStyle(TableStyle(style))
    return table


def _cell(value: Any, style: ParagraphStyle) -> Any:
    """A flowable (or a list of them) as is; anything else as escaped text."""
    if isinstance(value, Flowable) or (isinstance(value, list) and all(isinstance(v, Flowable) for v in value)):
        return value
    return para(value, style)


def field_table(pairs: Sequence[tuple[str, Any]], widths: Sequence[float]) -> LongTable:
    """Label/value pairs, labels in a muted column."""
    data = [
        [Paragraph(escape(label), STYLES.label), value if isinstance(value, Flowable) else para(value, STYLES.body)]
        for label, value in pairs
    ]
    table = LongTable(data, colWidths=list(widths), splitInRow=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


# --- pages -----------------------------------------------------------------


@dataclass(frozen=True)
class PageFurniture:
    """What every page shows: a header line and a footer line."""

    header_left: str
    header_right: str
    footer_left: str
    #: drawn large and faint across every page when set (e.g. "Not yet approved — draft")
    watermark: str = ""


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


class NumberedCanvas(Canvas):
    """A canvas that draws each page's header and "Page X of Y" footer once the page count is known.

    Pass it to ``doc.build(..., canvasmaker=functools.partial(NumberedCanvas, furniture=...))``.
    """

    def __init__(self, *args: Any, furniture: PageFurniture, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_furniture(total)
            super().showPage()
        super().save()

    def _draw_furniture(self, total: int) -> None:
        width, height = self._pagesize
        f = self._furniture
        page = f"Page {self._pageNumber} of {total}"
        self.saveState()
        self.setFillColor(MUTED)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        top = height - MARGIN + 2 * mm
        right_text = printable(f.header_right)
        self.setFont("Helvetica", 8.5)
        right_w = stringWidth(right_text, "Helvetica", 8.5)
        self.drawRightString(width - MARGIN, top, right_text)
        self.setFont("Helvetica-Bold", 8.5)
        left_room = width - 2 * MARGIN - right_w - 6 * mm
        self.drawString(MARGIN, top, _fit(printable(f.header_left), "Helvetica-Bold", 8.5, left_room))
        self.line(MARGIN, top - 2 * mm, width - MARGIN, top - 2 * mm)
        bottom = MARGIN - 6 * mm
        self.line(MARGIN, bottom + 4 * mm, width - MARGIN, bottom + 4 * mm)
        self.setFont("Helvetica", 8)
        self.drawString(MARGIN, bottom, printable(f.footer_left))
        self.drawRightString(width - MARGIN, bottom, page)
        self.restoreState()
        if f.watermark:
            self._draw_watermark(printable(f.watermark))

    def _draw_watermark(self, text: str) -> None:
        """``text`` diagonally across the page, faint enough to read what lies beneath."""
        width, height = self._pagesize
        self.saveState()
        self.translate(width / 2, height / 2)
        self.rotate(35)
        size = 40.0
        room = (width * width + height * height) ** 0.5 * 0.75
        while size > 12 and stringWidth(text, "Helvetica-Bold", size) > room:
            size -= 2
        self.setFont("Helvetica-Bold", size)
        self.setFillColor(WATERMARK)
        self.setFillAlpha(0.18)
        self.drawCentredString(0, -size / 3, text)
        self.restoreState()


def build_pdf(
    story: list[Flowable],
    *,
    furniture: PageFurniture,
    title: str,
    author: str,
    subject: str,
    pagesize: tuple[float, float] = A4,
    compress: bool = True,
) -> bytes:
    """Lay out ``story`` on numbered pages and return the PDF bytes.

    ``compress=False`` leaves the page streams readable (for tests).
    """
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_GAP,
        bottomMargin=MARGIN + 2 * mm,
        title=printable(title),
        author=printable(author),
        subject=printable(subject),
        creator="qmsflow",
        producer="qmsflow (reportlab)",
        pageCompression=1 if compress else 0,
    )
    doc.build(story, canvasmaker=functools.partial(NumberedCanvas, furniture=furniture))
    return buffer.getvalue()


def frame_width(pagesize: tuple[float, float]) -> float:
    return pagesize[0] - 2 * MARGIN


def organisation_name(organisation: str | None) -> str:
    """The organisation named on a report: the one given, else QMS_ORGANISATION."""
    if organisation is not None:
        return organisation
    return str(current_app.config.get("QMS_ORGANISATION", "")) if has_app_context() else ""


def generated_footer(generated_at: dt.datetime) -> str:
    return f"Generated {utc(generated_at, seconds=False)} by qmsflow"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else DASH


def headed(title: str, lead: Sequence[Flowable]) -> Flowable:
    """A section heading kept on one page with what follows it (a chart, a short table)."""
    return KeepTogether([Paragraph(escape(title), STYLES.h2), *lead])
