"""PDFs of document control: the master document list (ISO 9001 7.5: what is in force, where, since
when) and the stamps of controlled copies on uploaded PDFs.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    RectangleObject,
)
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer

from ..database import utcnow
from .pdf import INK, MUTED, RULE, STYLES, PageFurniture, build_pdf, day, frame_width, grid_table, para, printable, utc
from .pdf_input import PdfProblem, open_pdf, pdf_errors

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


__all__ = ["MASTER_LIST_COLUMNS", "PdfProblem", "master_list_report", "open_pdf", "pdf_errors", "stamp_pdf"]


#: statuses printed as the current, controlled revision
CURRENT_STATUSES = frozenset({"effective", "review_due"})


#: statuses whose copies must not be used any more: the watermark says which
WITHDRAWN_STATUSES = frozenset({"superseded", "obsolete"})


BAND = 8 * mm  # height of the header and footer bands


_EDGE = 5 * mm  # left and right inset of the band text


_BAND_SIZE = 7.5


_BAND_FILL = colors.Color(1, 1, 1, alpha=0.82)  # keeps the band legible over anything printed there


_WITHDRAWN_INK = colors.HexColor("#b42318")


_DRAFT_INK = colors.HexColor("#b54708")


_SEP = " · "


_FORM = "/QmsControlledCopyStamp"


@dataclass(frozen=True)
class _Stamp:
    """What the overlay says, worked out once for every page."""

    identity: str  # header, left
    tag: str  # header, right
    notice: str  # footer, left
    printed: str  # footer, right
    ink: colors.Color
    watermark: str | None


def _stamp_text(
    *,
    document_number: str,
    revision: str,
    effective_date: dt.date | None,
    status: str,
    organisation: str,
    printed_at: dt.datetime,
) -> _Stamp:
    key = (status or "").strip().lower()
    label = key.replace("_", " ") or "draft"
    identity = _SEP.join(
        part
        for part in (
            _one_line(organisation),
            f"{_one_line(document_number)} rev {_one_line(revision)}",
            f"effective {day(effective_date)}" if effective_date or key in CURRENT_STATUSES else "not yet effective",
        )
        if part
    )
    printed = f"printed {utc(printed_at, seconds=False)}"
    if key in CURRENT_STATUSES:
        return _Stamp(identity, "CONTROLLED COPY", "Controlled copy — uncontrolled when printed", printed, INK, None)
    if key in WITHDRAWN_STATUSES:
        word = key.upper()
        return _Stamp(identity, word, f"{word} — do not use", printed, _WITHDRAWN_INK, word)
    return _Stamp(
        identity, label.upper(), "DRAFT — NOT APPROVED — not for use", printed, _DRAFT_INK, "DRAFT — NOT APPROVED"
    )


def _one_line(text: str | None) -> str:
    """User text as Helvetica can print it, on one line."""
    return " ".join(printable(text).split())


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    text = text[: int(width / (0.18 * size)) + 1]  # Helvetica has no glyph narrower than 0.19 em: skip what cannot fit
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…" if text else ""


def _draw_overlay(canvas: Canvas, width: float, height: float, stamp: _Stamp) -> None:
    """One page of overlay, in the page's upright (as displayed) coordinates."""
    band = min(BAND, height / 8)
    edge = min(_EDGE, width / 20)
    size = min(_BAND_SIZE, band * 0.6)
    room = max(width - 2 * edge, 0)

    if stamp.watermark:
        _draw_watermark(canvas, width, height, stamp.watermark, stamp.ink)

    canvas.saveState()
    canvas.setFillColor(_BAND_FILL)
    canvas.rect(0, height - band, width, band, stroke=0, fill=1)
    canvas.rect(0, 0, width, band, stroke=0, fill=1)
    canvas.setStrokeColor(RULE if stamp.watermark is None else stamp.ink)
    canvas.setLineWidth(0.5)
    canvas.line(edge, height - band, width - edge, height - band)
    canvas.line(edge, band, width - edge, band)

    top = height - band + (band - size) / 2 + size * 0.22
    bottom = (band - size) / 2 + size * 0.22
    # right-hand parts first: the left-hand text takes what room is left
    canvas.setFillColor(stamp.ink)
    canvas.setFont("Helvetica-Bold", size)
    tag = _fit(stamp.tag, "Helvetica-Bold", size, room / 3)
    canvas.drawRightString(width - edge, top, tag)
    left_room = room - stringWidth(tag, "Helvetica-Bold", size) - 4 * mm
    canvas.setFillColor(INK)
    canvas.drawString(edge, top, _fit(stamp.identity, "Helvetica-Bold", size, left_room))

    canvas.setFont("Helvetica", size)
    canvas.setFillColor(MUTED)
    printed = _fit(stamp.printed, "Helvetica", size, room / 3)
    canvas.drawRightString(width - edge, bottom, printed)
    canvas.setFillColor(stamp.ink)
    font = "Helvetica-Bold" if stamp.watermark else "Helvetica"
    canvas.setFont(font, size)
    notice_room = room - stringWidth(printed, "Helvetica", size) - 4 * mm
    canvas.drawString(edge, bottom, _fit(stamp.notice, font, size, notice_room))
    canvas.restoreState()


def _draw_watermark(canvas: Canvas, width: float, height: float, text: str, ink: colors.Color) -> None:
    """Large, light, outlined-and-filled text along the page diagonal, bottom left to top right."""
    angle = math.degrees(math.atan2(height, width))
    diagonal = math.hypot(width, height)
    font = "Helvetica-Bold"
    # as wide as 70 % of the diagonal, but no taller than a fifth of the shorter side
    size = min(0.7 * diagonal / max(stringWidth(text, font, 1), 1e-6), min(width, height) / 5)
    canvas.saveState()
    canvas.translate(width / 2, height / 2)
    canvas.rotate(angle)
    canvas.setFont(font, size)
    canvas.setFillColor(ink, alpha=0.13)
    canvas.setStrokeColor(ink, alpha=0.35)
    canvas.setLineWidth(max(size / 90, 0.4))
    text_object = canvas.beginText()
    text_object.setTextRenderMode(2)  # fill, then stroke the outline
    text_object.setFont(font, size)
    text_object.setTextOrigin(-stringWidth(text, font, size) / 2, -size * 0.35)
    text_object.textOut(text)
    canvas.drawText(text_object)
    canvas.restoreState()


def _visible_box(page: PageObject) -> tuple[float, float, float, float]:
    """The part of the page a viewer shows: the crop box, clipped to the media box."""
    media: RectangleObject = page.mediabox
    crop: RectangleObject = page.cropbox
    mx0, my0, mx1, my1 = (float(v) for v in (media.left, media.bottom, media.right, media.top))
    cx0, cy0, cx1, cy1 = (float(v) for v in (crop.left, crop.bottom, crop.right, crop.top))
    x0, y0, x1, y1 = max(mx0, cx0), max(my0, cy0), min(mx1, cx1), min(my1, cy1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        x0, y0, x1, y1 = mx0, my0, mx1, my1
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise PdfProblem("A page of the PDF has no size.")
    return x0, y0, x1, y1


def _rotation(page: PageObject) -> int:
    """The page's ``/Rotate`` as 0, 90, 180 or 270 (clockwise, as the viewer turns it)."""
    try:
        value = float(page.get("/Rotate", 0) or 0)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(value):
        return 0
    return round(value / 90) % 4 * 90


def _placement(box: tuple[float, float, float, float], rotation: int) -> tuple[tuple[float, float], Transformation]:
    """(upright size, transformation) that maps an upright overlay onto the page's own coordinates.

    The viewer turns the page clockwise by ``/Rotate`` degrees; the overlay is
    turned back the other way and moved to the corner that ends up bottom left.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if rotation == 90:
        return (h, w), Transformation().rotate(90).translate(x1, y0)
    if rotation == 180:
        return (w, h), Transformation().rotate(180).translate(x1, y1)
    if rotation == 270:
        return (h, w), Transformation().rotate(270).translate(x0, y1)
    return (w, h), Transformation().translate(x0, y0)


def stamp_pdf(
    source: bytes,
    *,
    document_number: str,
    revision: str,
    effective_date: dt.date | None,
    status: str,
    organisation: str,
    printed_at: dt.datetime,
) -> bytes:
    """A copy of ``source`` with a controlled-copy stamp on every page.

    ``status`` is the revision's lifecycle state: ``effective`` and
    ``review_due`` print as controlled copies; ``superseded`` and ``obsolete``
    get that word as a diagonal watermark and "do not use"; anything else
    (draft, in review, approved but not yet effective) is marked
    "DRAFT — NOT APPROVED".  ``printed_at`` is shown in UTC (a naive datetime
    is taken as UTC).  Raises :class:`PdfProblem` for a file that cannot be used.
    """
    stamp = _stamp_text(
        document_number=document_number,
        revision=revision,
        effective_date=effective_date,
        status=status,
        organisation=organisation,
        printed_at=printed_at,
    )
    reader = open_pdf(source)
    with pdf_errors("stamped"):
        writer = PdfWriter(clone_from=reader)
        layout = [_placement(_visible_box(page), _rotation(page)) for page in writer.pages]
    overlays = _overlays([size for size, _ in layout], stamp)
    with pdf_errors("stamped"):
        for page, overlay, (_, transformation) in zip(writer.pages, overlays, layout, strict=True):
            page.merge_transformed_page(overlay, transformation, over=True, expand=False)
            page.compress_content_streams()
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def _overlays(sizes: list[tuple[float, float]], stamp: _Stamp) -> list[PageObject]:
    """An overlay page for each page size in ``sizes``, drawn once per distinct size (200 A4 pages: once)."""
    index: dict[tuple[float, float], int] = {}
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1, invariant=True)
    for width, height in sizes:
        key = (round(width, 2), round(height, 2))
        if key not in index:
            index[key] = len(index)
            canvas.setPageSize((width, height))
            _draw_overlay(canvas, width, height, stamp)
            canvas.showPage()
    canvas.save()
    drawn = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    for page in drawn.pages:
        _move_into_form(drawn, page)
    return [drawn.pages[index[round(width, 2), round(height, 2)]] for width, height in sizes]


def _move_into_form(writer: PdfWriter, page: PageObject) -> None:
    """Move the overlay's drawing into a form XObject and leave only "draw the form" as the page's content.

    pypdf re-parses the overlay's content stream several times for every page
    it merges it onto; a one-operator stream makes that cheap (a 200-page
    document stamps about twice as fast), and the drawing is stored once in the
    output instead of once per page.  (reportlab's own forms would do, but they
    lose the transparency the watermark needs.)
    """
    contents = page.get_contents()
    form = DecodedStreamObject()
    form.set_data(contents.get_data() if contents is not None else b"")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(v) for v in (0, 0, page.mediabox.width, page.mediabox.height)),
            NameObject("/Resources"): page["/Resources"],
        }
    )
    reference = writer._add_object(form.flate_encode())  # pypdf has no public call to add a free-standing object
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject(_FORM): reference})}
    )
    call = DecodedStreamObject()
    call.set_data(f"{_FORM} Do".encode())
    page.replace_contents(call.flate_encode())
