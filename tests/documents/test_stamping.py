"""Controlled-copy stamps on uploaded PDFs: every page, every size and rotation, and refusals of unusable files."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from qms.reports.documents import PdfProblem, open_pdf, stamp_pdf

BODY = "Procedure body text"
PRINTED = dt.datetime(2026, 5, 1, 14, 3, 7, tzinfo=dt.UTC)
STAMP = {
    "document_number": "QP-007",
    "revision": "B",
    "effective_date": dt.date(2026, 3, 1),
    "organisation": "Acme Precision Ltd",
    "printed_at": PRINTED,
}


def make_pdf(sizes: list[tuple[float, float]], *, lines: int = 40) -> bytes:
    """A PDF with one page per size, each with a heading and body text inside 20 mm margins."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for number, (width, height) in enumerate(sizes, start=1):
        canvas.setPageSize((width, height))
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(20 * mm, height - 25 * mm, f"Page {number} heading")
        canvas.setFont("Helvetica", 10)
        y = height - 35 * mm
        for _ in range(lines):
            if y < 25 * mm:
                break
            canvas.drawString(20 * mm, y, f"{BODY} on page {number}: check the gauge before use.")
            y -= 14
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def rewritten(source: bytes, change) -> bytes:
    """``source`` passed through pypdf, with ``change(writer)`` applied."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mixed_pdf() -> bytes:
    """A4 portrait, US letter landscape, and an A4 page shown turned by /Rotate 90."""
    return rewritten(make_pdf([A4, landscape(letter), A4]), lambda writer: writer.pages[2].rotate(90))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


# --- what the stamp says ---------------------------------------------------------


def test_effective_a4_page_carries_the_controlled_copy_stamp_and_keeps_its_text():
    out = stamp_pdf(make_pdf([A4]), status="effective", **STAMP)

    [text] = page_texts(out)
    assert "Acme Precision Ltd · QP-007 rev B · effective 2026-03-01" in text
    assert "Controlled copy — uncontrolled when printed" in text
    assert "printed 2026-05-01 14:03 UTC" in text
    assert f"{BODY} on page 1" in text
    assert "SUPERSEDED" not in text and "DRAFT" not in text


@pytest.mark.parametrize("status", ["effective", "review_due"])
def test_every_page_of_mixed_sizes_and_rotations_is_stamped(status):
    source = mixed_pdf()
    out = stamp_pdf(source, status=status, **STAMP)

    texts = page_texts(out)
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert "QP-007" in text, number
        assert "rev B" in text, number
        assert "2026-03-01" in text, number
        assert "uncontrolled when printed" in text, number
        assert f"{BODY} on page {number}" in text, number
    # the pages keep their size and rotation
    before, after = PdfReader(io.BytesIO(source)).pages, PdfReader(io.BytesIO(out)).pages
    assert [tuple(p.mediabox) for p in after] == [tuple(p.mediabox) for p in before]
    assert [p.rotation for p in after] == [0, 0, 90]


@pytest.mark.parametrize("status", ["superseded", "obsolete"])
def test_withdrawn_revisions_say_so_on_every_page(status):
    out = stamp_pdf(mixed_pdf(), status=status, **STAMP)

    word = status.upper()
    for number, text in enumerate(page_texts(out), start=1):
        assert f"{word} — do not use" in text, number
        assert "QP-007 rev B" in text, number
        assert "uncontrolled when printed" not in text
        assert f"{BODY} on page {number}" in text


@pytest.mark.parametrize(
    ("status", "label"), [("draft", "DRAFT"), ("in_review", "IN REVIEW"), ("approved", "APPROVED"), ("", "DRAFT")]
)
def test_unreleased_revisions_are_marked_draft_with_their_status(status, label):
    out = stamp_pdf(mixed_pdf(), status=status, **{**STAMP, "effective_date": None})

    for text in page_texts(out):
        assert "DRAFT — NOT APPROVED" in text
        assert label in text
        assert "QP-007 rev B · not yet effective" in text
        assert "uncontrolled when printed" not in text


def test_names_outside_helvetica_and_very_long_ones_do_not_break_the_stamp():
    out = stamp_pdf(
        make_pdf([A4]),
        status="effective",
        **{**STAMP, "organisation": "Qualität Łódź Sp. z o.o. " * 10, "document_number": "QP-\x00007"},
    )

    [text] = page_texts(out)
    assert "Qualität Lódz Sp. z o.o." in text  # Ł and ź simplified, ä and ó kept
    assert "…" in text  # shortened to fit the band
    assert "uncontrolled when printed" in text


def test_two_hundred_pages_are_stamped_quickly_and_the_stamp_is_stored_once():
    source = make_pdf([A4] * 200)

    started = time.perf_counter()
    out = stamp_pdf(source, status="effective", **STAMP)
    elapsed = time.perf_counter() - started

    reader = PdfReader(io.BytesIO(out))
    assert len(reader.pages) == 200
    for number in (0, 99, 199):
        text = reader.pages[number].extract_text()
        assert "QP-007 rev B" in text and f"on page {number + 1}:" in text
    assert elapsed < 15, f"stamping 200 pages took {elapsed:.1f} s"
    # the drawing is one form XObject shared by every page, not a copy per page
    assert len(out) < len(source) + 40_000


# --- where the stamp is (as the viewer shows the page) -------------------------------


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 from the top left, as the page is displayed


def displayed_words(pdf: Path) -> list[tuple[float, float, dict[str, list[Box]]]]:
    """Per page: (width, height, {word: boxes}) as a viewer shows it, i.e. turned by the page's /Rotate.

    poppler's ``pdftotext -bbox`` places the words on the page as displayed,
    but gives the page's size unturned.
    """
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    rotations = [page.rotation % 360 for page in PdfReader(pdf).pages]
    found = re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S)
    pages = []
    for rotation, match in zip(rotations, found, strict=True):
        width, height = float(match.group(1)), float(match.group(2))
        words: dict[str, list[Box]] = {}
        for *box, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', match.group(3)
        ):
            words.setdefault(word, []).append(tuple(float(v) for v in box))
        pages.append((height, width, words) if rotation in (90, 270) else (width, height, words))
    return pages


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler's pdftotext is not installed")
def test_the_bands_read_upright_at_the_top_and_bottom_of_each_page_as_displayed(tmp_path):
    def turn_and_shift(writer: PdfWriter) -> None:
        writer.pages[0].rotate(270)
        page = writer.pages[1]  # a media box that does not start at 0,0
        page.mediabox.lower_left = (50, 40)
        page.mediabox.upper_right = (792, 612)
        writer.pages[2].rotate(90)
        writer.pages[3].rotate(180)

    source = rewritten(make_pdf([A4, landscape(letter), A4, A4, A4]), turn_and_shift)
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamp_pdf(source, status="effective", **STAMP))

    pages = displayed_words(path)
    assert [(round(w), round(h)) for w, h, _ in pages] == [(842, 595), (742, 572), (842, 595), (595, 842), (595, 842)]
    for number, (width, height, words) in enumerate(pages, start=1):
        [acme], [precision], [uncontrolled] = words["Acme"], words["Precision"], words["uncontrolled"]
        assert acme[3] < 8 * mm, number  # in the header band
        assert acme[0] < 10 * mm, number  # at its left end
        assert acme[2] - acme[0] > acme[3] - acme[1], number  # a word lying flat, not standing on end
        assert acme[2] < precision[0] and abs(acme[1] - precision[1]) < 1, number  # read left to right
        assert uncontrolled[1] > height - 8 * mm, number  # in the footer band
        [copy] = words["COPY"]
        assert copy[2] > width - 10 * mm, number  # the status at the right end of the header
        for body in words["Procedure"]:
            assert 8 * mm < body[1] and body[3] < height - 8 * mm, number  # the bands leave the body alone


@pytest.mark.skipif(not Path("/usr/bin/pdftoppm").exists(), reason="poppler's pdftoppm is not installed")
def test_a_stamped_page_renders_cleanly(tmp_path):
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamp_pdf(mixed_pdf(), status="superseded", **STAMP))

    result = subprocess.run(
        ["/usr/bin/pdftoppm", "-png", "-r", "40", "-f", "3", "-l", "3", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        text=True,
    )

    assert result.stderr == ""  # e.g. no "ExtGState is unknown": the watermark's transparency is intact
    [png] = tmp_path.glob("page*.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert png.stat().st_size > 5_000


# --- files that cannot be stamped -------------------------------------------------


def encrypted(password: str, owner: str | None = None) -> bytes:
    return rewritten(make_pdf([A4]), lambda writer: writer.encrypt(password, owner))


def empty_pdf() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(b"%PDF-1.4 garbage", "damaged or truncated", id="corrupt"),
        pytest.param(make_pdf([A4, A4])[: len(make_pdf([A4, A4])) // 2], "damaged or truncated", id="truncated"),
        pytest.param(encrypted("secret"), "password-protected", id="encrypted"),
        pytest.param(empty_pdf(), "has no pages", id="zero-pages"),
        pytest.param(b"", "empty", id="zero-bytes"),
        pytest.param(b"PK\x03\x04 not a pdf", "not a PDF", id="not-a-pdf"),
    ],
)
def test_unusable_files_raise_a_pdf_problem_with_a_clear_message(source, message):
    with pytest.raises(PdfProblem, match=message) as raised:
        stamp_pdf(source, status="effective", **STAMP)

    assert isinstance(raised.value, ValueError)  # forms and the API report ValueErrors as field errors


def test_a_pdf_restricted_only_by_an_owner_password_is_stamped():
    out = stamp_pdf(encrypted("", owner="owner-secret"), status="effective", **STAMP)

    [text] = page_texts(out)
    assert "QP-007 rev B" in text and BODY in text


def test_open_pdf_returns_a_reader_for_a_good_file():
    assert len(open_pdf(mixed_pdf()).pages) == 3
