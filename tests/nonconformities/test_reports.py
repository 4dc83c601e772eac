"""PDF reports: the full NC record with its signatures, and the register, on numbered pages.

Reports are built with ``compress=False`` so the text drawn on each page can be
read back from the bytes without a PDF library (``pdf_text``); one test reads a
compressed report with poppler's ``pdftotext`` when it is installed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from qms.database import db
from qms.models import CorrectiveAction, Nonconformity, User
from qms.reports import load_history, nonconformity_report, register_load_options, register_report
from qms.reports.pdf import printable
from qms.services import fire

from ..helpers import nc_in_state, new_nc

ORG = "Acme Précision – Works"
GENERATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
FOOTER = "Generated 2026-01-02 03:04 UTC by qmsflow"
HOSTILE = "<b>x</b> & <script>alert('1')</script> (a\\b)"

_TEXT_OPS = re.compile(rb"\(((?:\\.|[^\\()])*)\)\s*Tj|(?<![A-Za-z])(T\*|ET|Td)(?![A-Za-z*])", re.S)
_ESCAPES = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _SIMPLE.get(code, code)

    return _ESCAPES.sub(one, raw)


def pdf_text(pdf: bytes) -> str:
    """The text shown by an uncompressed reportlab PDF, one line per text line, whitespace collapsed."""
    assert b"/FlateDecode" not in pdf, "build the report with compress=False"
    lines, line = [], []
    for m in _TEXT_OPS.finditer(pdf):
        if m.group(1) is not None:
            line.append(_unescape(m.group(1)).decode("cp1252", "replace"))
        else:
            lines.append("".join(line))
            line = []
    lines.append("".join(line))
    return "\n".join(" ".join(text.split()) for text in lines if text.strip())


def flat(text: str) -> str:
    """All the text on one line: a value wrapped in a table cell reads as one phrase."""
    return " ".join(text.split())


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def assert_numbered_pages(pdf: bytes, text: str, header: str) -> int:
    pages = page_count(pdf)
    assert pages >= 1
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text
    assert text.count(FOOTER) == pages
    assert text.count(header) >= pages
    return pages


# --- one nonconformity -----------------------------------------------------


def test_closed_nc_report_shows_its_record_history_and_signatures(app, org):
    nc = nc_in_state(org, "closed")
    pdf = nonconformity_report(nc, ORG, generated_at=GENERATED, compress=False)

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    one_line = flat(text)
    assert nc.reference in text
    assert "Nonconformity report" in text
    assert nc.title in one_line
    assert "Closed" in text
    for phrase in ("Internal audit", "Major", "Production", "7.1.5.2", "Auditor", "Quarantined all parts."):
        assert phrase in one_line
    assert "Why 1." in text and "Why 2." in text and "No recall reminder" in one_line
    assert "Add recall reminders" in one_line and nc.actions[0].reference in text
    assert "No recurrence" in one_line

    history = load_history(nc)
    nc_rows = [row for row in history if row.lifecycle == "nonconformity"]
    assert [row.event for row in nc_rows][-1] == "close"
    for row in nc_rows:
        assert nc.lifecycle.event(row.event).label in one_line
    action = nc.actions[0]
    for name in ("start", "implement", "verify"):
        assert action.lifecycle.event(name).label in one_line

    assert "Electronic signatures" in text
    signed = [row for row in history if row.signature_manifest]
    assert len(signed) == 3  # the action's verification, effectiveness, closure
    for row in signed:
        assert row.signature_manifest in one_line
    closure = nc_rows[-1]
    # printed name and e-mail address (11.300(a): unique to the signer); a quality officer closed it
    assert (closure.signed_by_name, closure.signed_by_email) == (org.quality.name, org.quality.email)
    signer = f"{org.quality.name} <{org.quality.email}>"
    assert f"{signer} — approved for closure — {closure.signed_at:%Y-%m-%d %H:%M:%S} UTC" in one_line

    assert_numbered_pages(pdf, text, nc.reference)
    assert "Page 1 of" in text


def test_new_nc_report_says_what_is_not_done_yet(app, org):
    nc = new_nc(org)
    pdf = nonconformity_report(nc, ORG, generated_at=GENERATED, compress=False)
    text = pdf_text(pdf)
    assert "Reported" in text
    assert "Not graded yet" in text
    assert "Not analysed yet." in text
    assert "No corrective actions planned." in text
    assert "No transitions recorded yet." in text
    assert "No electronic signatures recorded." in text
    assert "Page 1 of 1" in text


def test_hostile_markup_prints_literally(app, org):
    nc = new_nc(
        org,
        title=HOSTILE,
        description="Résumé – “quoted” & <i>not italic</i>\nsecond line " + "y" * 300,
        process="<Plant & Co>",
    )
    fire(nc, "reject", org.quality, {"reason": "<reason> & </para>"}, comment="a <br/> b")

    pdf = nonconformity_report(nc, ORG, generated_at=GENERATED, compress=False)
    text = pdf_text(pdf)
    one_line = flat(text)
    assert HOSTILE in one_line
    assert "Résumé – “quoted” & <i>not italic</i>" in text
    assert "<Plant & Co>" in text
    assert "a <br/> b" in one_line and "<reason> & </para>" in one_line
    assert "Rejected" in text

    register = pdf_text(register_report([nc], ORG, {"Title contains": "<b>"}, compress=False))
    assert HOSTILE in flat(register)
    assert "Title contains: <b>" in register


def test_very_long_text_flows_over_pages(app, org):
    paragraph = "The gauge was used beyond its due date and nobody noticed. "
    nc = new_nc(org, title="Z" * 200, description=(paragraph * 170)[:10_000])
    pdf = nonconformity_report(nc, ORG, generated_at=GENERATED, compress=False)
    text = pdf_text(pdf)
    assert page_count(pdf) >= 2
    assert_numbered_pages(pdf, text, nc.reference)


def test_text_outside_helvetica_is_simplified_not_lost():
    assert printable("é – € “x” ©") == "é – € “x” ©"  # WinAnsi prints as is
    assert printable("Łódź, Győr, ș") == "Lódz, Gyor, s"
    assert printable("tab\there\x00\x07 \r\nend") == "tab here \nend"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext is not installed")
def test_compressed_report_reads_back_with_pdftotext(app, org, tmp_path):
    nc = nc_in_state(org, "closed")
    nc.title = HOSTILE  # not committed: the report prints the object as given
    pdf = nonconformity_report(nc, ORG, generated_at=GENERATED)
    assert pdf.startswith(b"%PDF-") and b"/FlateDecode" in pdf
    path = tmp_path / "nc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    one_line = flat(out)
    assert HOSTILE in one_line
    assert ORG in out and FOOTER in out and "Page 1 of" in out
    assert f"{org.quality.name} <{org.quality.email}> — approved for closure —" in one_line
    db.session.rollback()


# --- the register ----------------------------------------------------------


@pytest.mark.sqlite_only
def test_register_without_rows_says_so(app, org):
    pdf = register_report([], ORG, {"State": "Closed", "Severity": ""}, generated_at=GENERATED, compress=False)
    text = pdf_text(pdf)
    assert pdf.startswith(b"%PDF-")
    assert "Nonconformity register" in text
    assert "No nonconformities match this filter." in text
    assert "Filter: State: Closed" in text and "Severity" not in text
    assert "Total: 0 nonconformities" in text
    assert page_count(pdf) == 1
    assert_numbered_pages(pdf, text, ORG)


def test_register_of_loaded_ncs_spans_pages_without_querying(app, org):
    closed = nc_in_state(org, "closed")
    ncs = [new_nc(org, title=f"Nonconformity number {i}") for i in range(60)]
    for nc in ncs[:5]:
        fire(nc, "triage", org.quality, {"severity": "minor"})
    db.session.expire_all()
    loaded = db.session.scalars(
        select(Nonconformity).options(*register_load_options()).order_by(Nonconformity.id)
    ).all()

    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        pdf = register_report(loaded, ORG, {"State": "all"}, generated_at=GENERATED, compress=False)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []

    text = pdf_text(pdf)
    pages = assert_numbered_pages(pdf, text, ORG)
    assert pages >= 2 and "Page 2 of" in text
    assert flat(text).count("Reference Title Source") == pages  # the header row repeats on every page
    for nc in loaded:
        assert nc.reference in text
    assert "Total: 61 nonconformities" in text
    assert "Closed 1" in text and "Triaged 5" in text and "Reported 55" in text
    assert "Open actions" in flat(text) and "Open corrective actions: 0" in text
    assert closed.reference in text


def test_register_never_lazy_loads_actions(app, org):
    new_nc(org)
    db.session.expire_all()
    loaded = db.session.scalars(select(Nonconformity).options(selectinload(Nonconformity.owner))).all()
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        text = pdf_text(register_report(loaded, ORG, {}, generated_at=GENERATED, compress=False))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []
    assert "Open actions" not in flat(text)
    assert "Filter: none (all)" in text


def test_register_of_twelve_hundred_rows():
    """Objects as a caller hands them over (here built in memory): 1,200 rows over many pages."""
    owner = User(name="Renée Dupont", email="r@example.test", password_hash="x")
    ncs = []
    for i in range(1200):
        nc = Nonconformity(
            reference=f"NC-2026-{i + 1:04d}",
            title=f"Finding {i}: torque values not recorded on station {i % 7}",
            description="",
            source="process_monitoring",
            severity=("major", "minor", None)[i % 3],
            process="Assembly",
            clause_refs=["8.5.1"],
            detected_on=dt.date(2026, 1, 1),
            state=("reported", "triaged", "closed")[i % 3],
        )
        nc.owner = owner
        nc.actions = [CorrectiveAction(reference=f"CA-{i}", title="Fix", state="planned")] if i % 2 else []
        ncs.append(nc)

    pdf = register_report(ncs, ORG, {"Process": "Assembly"}, generated_at=GENERATED, compress=False)
    text = pdf_text(pdf)
    pages = assert_numbered_pages(pdf, text, ORG)
    assert pages > 20
    assert flat(text).count("Reference Title Source") == pages
    assert "NC-2026-0001" in text and "NC-2026-1200" in text
    assert "Total: 1200 nonconformities" in text
    assert "Open corrective actions: 600" in text
    assert "Renée Dupont" in text
