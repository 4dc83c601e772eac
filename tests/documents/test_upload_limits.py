"""Uploads that cannot take the server down (issue 14, item 5).

Each attack of the issue is made here and shown to fail: an XLSX and a DOCX that inflate to
tens of megabytes of empty XML, a PDF of 20,000 pages, a refused upload that would stay in the
store, a file name outside Latin-1, a stamped copy made on every download.  The memory figure
is the extraction process's own peak (``VmHWM``) as it reports it, and the process runs under
``RLIMIT_AS``, so the bound holds whatever the timing of the machine.
"""

from __future__ import annotations

import io
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import select

from qms.database import db
from qms.models import DocumentRevision
from qms.services import fire
from qms.services import text_extraction as extraction
from qms.services.documents import add_revision, controlled_copy, create_document, orphan_files
from qms.services.upload_inspection import DOCX, XLSX, UploadLimits, UploadRefused, inspect_upload

from ..conftest import PASSWORD, login
from ..helpers import error, ok
from .test_services import pdf_bytes

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: what the issue asks the worker's memory to stay under while a bomb is refused
MEMORY_CEILING_MB = 300


def xlsx_bomb(size: int = 48 * 1024 * 1024) -> bytes:
    """A workbook whose shared strings inflate to ``size`` bytes of empty ``<si/>`` tags."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{S}">'.encode()
    body = b"<si/>" * ((size - len(head)) // 5)
    return _zip(
        {"xl/workbook.xml": f'<workbook xmlns="{S}"/>'.encode(), "xl/sharedStrings.xml": head + body + b"</sst>"}
    )


def docx_bomb(size: int = 45 * 1024 * 1024) -> bytes:
    """A Word file whose body inflates to ``size`` bytes of empty paragraphs."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>'.encode()
    body = b"<w:p/>" * ((size - len(head)) // 6)
    return _zip({"word/document.xml": head + body + b"</w:body></w:document>"})


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def many_pages(count: int) -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(595, 842)
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {"xlsx": xlsx_bomb(), "docx": docx_bomb()}


def store_listing(app) -> set[str]:
    folder = Path(app.config["QMS_UPLOAD_FOLDER"])
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def _upload(api, who: str, document_id: int, content: bytes, name: str):
    return api.post(
        who,
        f"/api/v1/documents/{document_id}/revisions",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _document(org, **overrides):
    fields = {"title": "Calibration", "doc_type": "procedure", "owner_id": org.quality.id, "process": "QA"}
    return create_document(org.quality, **{**fields, **overrides})


# --- the bombs ---------------------------------------------------------------------------------


def test_the_bombs_are_small_files_that_inflate_to_tens_of_megabytes(bombs):
    assert len(bombs["xlsx"]) < 100_000 and len(bombs["docx"]) < 100_000
    for data, part in ((bombs["xlsx"], "xl/sharedStrings.xml"), (bombs["docx"], "word/document.xml")):
        assert zipfile.ZipFile(io.BytesIO(data)).getinfo(part).file_size > 40 * 1024 * 1024


@pytest.mark.parametrize(("kind", "name"), [("xlsx", "prices.xlsx"), ("docx", "manual.docx")])
def test_an_office_bomb_is_refused_through_the_api_quickly_and_leaves_nothing(app, api, org, bombs, kind, name):
    document = _document(org)
    before = store_listing(app)
    started = time.perf_counter()
    response = _upload(api, "quality", document.id, bombs[kind], name)
    elapsed = time.perf_counter() - started

    body = error(response, 422)
    assert "more than 1,000,000 XML elements" in body["errors"]["file"]
    assert elapsed < 10, elapsed
    assert store_listing(app) == before
    assert db.session.scalar(select(DocumentRevision).where(DocumentRevision.document_id == document.id)) is None


def test_an_office_bomb_is_a_form_error_on_the_web(app, client, org, bombs):
    document = _document(org)
    login(client, org.quality.email)
    before = store_listing(app)
    response = client.post(
        f"/documents/{document.id}/revisions",
        data={"file": (io.BytesIO(bombs["docx"]), "manual.docx"), "change_summary": "x"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "more than 1,000,000 XML elements" in response.get_data(as_text=True)
    assert store_listing(app) == before


@pytest.mark.parametrize("kind", ["xlsx", "docx"])
def test_reading_a_bomb_stays_under_the_memory_ceiling(tmp_path, bombs, kind):
    """The child that reads the upload reports its own peak; it runs under RLIMIT_AS as well."""
    path = tmp_path / f"bomb.{kind}"
    path.write_bytes(bombs[kind])
    with pytest.raises(UploadRefused, match="XML elements") as refused:
        inspect_upload(path, {"xlsx": XLSX, "docx": DOCX}[kind], UploadLimits())
    assert 0 < refused.value.peak_memory_mb < MEMORY_CEILING_MB
    assert refused.value.seconds < 10


def test_without_the_element_cap_streaming_still_keeps_memory_flat(tmp_path):
    """Every element is cleared and detached once read: 8 MB of empty paragraphs, read through."""
    path = tmp_path / "long.docx"
    path.write_bytes(docx_bomb(8 * 1024 * 1024))
    found = inspect_upload(path, DOCX, UploadLimits(max_xml_elements=100_000_000))
    assert found.text == ""
    assert found.peak_memory_mb < 100  # the whole parse tree of 1.4 million paragraphs would be ~300 MB


def test_the_memory_limit_is_enforced_on_the_reader(tmp_path):
    path = tmp_path / "fine.pdf"
    path.write_bytes(pdf_bytes("ordinary"))
    with pytest.raises(UploadRefused, match=r"memory") as refused:
        inspect_upload(path, "application/pdf", UploadLimits(memory_mb=24))  # too little to even start pypdf
    assert "24 MB" in str(refused.value)
    assert inspect_upload(path, "application/pdf", UploadLimits()).text == "ordinary"


def test_the_time_limit_is_enforced_on_the_reader(tmp_path, bombs):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bombs["xlsx"])
    started = time.perf_counter()
    with pytest.raises(UploadRefused, match="took longer than 1 seconds"):
        inspect_upload(path, XLSX, UploadLimits(seconds=1, max_xml_elements=100_000_000))
    assert time.perf_counter() - started < 10  # killed at 1 s; the margin is for a loaded machine


def test_the_limits_come_from_the_settings(app, api, org):
    app.config["QMS_UPLOAD_MAX_XML_ELEMENTS"] = 1000
    document = _document(org)
    paragraphs = "".join(f"<w:p><w:r><w:t>line {n}</w:t></w:r></w:p>" for n in range(400))
    docx = _zip({"word/document.xml": f'<w:document xmlns:w="{W}"><w:body>{paragraphs}</w:body></w:document>'.encode()})
    assert (
        "more than 1,000 XML elements"
        in error(_upload(api, "quality", document.id, docx, "a.docx"), 422)["errors"]["file"]
    )
    app.config["QMS_UPLOAD_MAX_XML_ELEMENTS"] = 1_000_000
    assert ok(_upload(api, "quality", document.id, docx, "a.docx"), 201)["filename"] == "a.docx"


def test_the_caps_are_the_extractors_own_too(monkeypatch):
    monkeypatch.setattr(extraction, "MAX_ELEMENTS", 50)
    docx = _zip(
        {"word/document.xml": f'<w:document xmlns:w="{W}"><w:body>{"<w:p/>" * 60}</w:body></w:document>'.encode()}
    )
    with pytest.raises(extraction.UnreadableDocument, match="more than 50 XML elements"):
        extraction.extract_text(docx, DOCX)


# --- PDFs --------------------------------------------------------------------------------------


def test_a_pdf_of_20000_pages_is_refused_at_upload(app, api, org, client):
    document = _document(org)
    before = store_listing(app)
    huge = many_pages(20_000)
    started = time.perf_counter()
    body = error(_upload(api, "quality", document.id, huge, "huge.pdf"), 422)
    assert time.perf_counter() - started < 10
    assert "has 20,000 pages; a PDF may have at most 2,000" in body["errors"]["file"]
    assert store_listing(app) == before

    login(client, org.quality.email)
    response = client.post(
        f"/documents/{document.id}/revisions",
        data={"file": (io.BytesIO(many_pages(2_001)), "huge.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "has 2,001 pages" in response.get_data(as_text=True)


def test_the_page_limit_is_a_setting_and_applies_to_evidence_too(app, api, org):
    from ..helpers import new_nc

    app.config["QMS_PDF_MAX_PAGES"] = 3
    document = _document(org)
    assert ok(_upload(api, "quality", document.id, many_pages(3), "three.pdf"), 201)
    nc = new_nc(org)
    refused = api.post(
        "quality",
        f"/api/v1/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(many_pages(4)), "four.pdf")},
        content_type="multipart/form-data",
    )
    assert "at most 3" in error(refused, 422)["errors"]["file"]


# --- the store -----------------------------------------------------------------------------------


def test_refused_uploads_leave_nothing_and_orphans_are_reported(app, org, runner):
    document = _document(org)
    before = store_listing(app)
    for data in (b"%PDF-1.4 broken", many_pages(2_001), b"MZ\x90\x00 executable"):
        with pytest.raises(Exception, match="file"):
            add_revision(document, org.quality, stream=io.BytesIO(data), filename="x.pdf")
    assert store_listing(app) == before
    result = runner.invoke(args=["documents", "verify"])
    assert result.exit_code == 0 and "orphan" not in result.output

    folder = Path(app.config["QMS_UPLOAD_FOLDER"])
    stray = folder / "ab" / ("c" * 62)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left behind")
    assert orphan_files() == [(f"ab/{'c' * 62}", "no revision or attachment names it")]
    result = runner.invoke(args=["documents", "verify"])
    assert result.exit_code == 0
    assert f"orphan file ab/{'c' * 62}: no revision or attachment names it" in result.output
    assert "1 orphan file(s)" in result.output
    deleted = runner.invoke(args=["documents", "verify", "--delete-orphans"])
    assert deleted.exit_code == 0 and "deleted" in deleted.output and not stray.exists()


def test_a_stamped_copy_is_made_once_per_state_and_served_from_the_store(app, org, monkeypatch):
    from qms.reports import documents as reports

    document = _document(org)
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("Body")), filename="a.pdf")
    calls = []
    real = reports.stamp_pdf
    monkeypatch.setattr(reports, "stamp_pdf", lambda *a, **k: calls.append(k["status"]) or real(*a, **k))
    organisation = app.config["QMS_ORGANISATION"]

    first = controlled_copy(revision, organisation)
    assert controlled_copy(revision, organisation) == first
    assert calls == ["draft"]
    stamped = Path(app.config["QMS_UPLOAD_FOLDER"]) / "stamped" / str(revision.id)
    assert len(list(stamped.glob("*.pdf"))) == 1

    fire(revision, "submit_for_review", org.owner, {"change_summary": "First issue"})
    fire(revision, "approve", org.quality2, signature_password=PASSWORD)
    fire(revision, "make_effective", org.manager, {"effective_date": "2026-01-01"})
    for _ in range(3):
        controlled_copy(revision, organisation)
    assert calls == ["draft", "effective"]
    assert len(list(stamped.glob("*.pdf"))) == 1  # the draft's copy is gone
    assert orphan_files() == []


# --- file names ----------------------------------------------------------------------------------


def test_a_cyrillic_file_name_downloads_on_the_web_and_the_api(app, api, client, org):
    document = _document(org, title="Отчёт")
    revision = ok(_upload(api, "quality", document.id, pdf_bytes("report"), "отчёт.pdf"), 201)
    assert revision["filename"] == "отчёт.pdf"
    expected = f"{document.number}-rev-A-отчёт.pdf"
    encoded = urllib.parse.quote(expected, safe="")

    api_copy = api.get("quality", f"/api/v1/revisions/{revision['id']}/file")
    login(client, org.quality.email)
    web_copy = client.get(f"/revisions/{revision['id']}/file")
    for response in (api_copy, web_copy):
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
        disposition = response.headers["Content-Disposition"]
        disposition.encode("latin-1")  # what a server can send
        assert disposition == f"attachment; filename={document.number}-rev-A-_.pdf; filename*=UTF-8''{encoded}"


@pytest.mark.parametrize(
    ("name", "inline", "expected"),
    [
        ("report.pdf", False, "attachment; filename=report.pdf"),
        ("my report.pdf", True, 'inline; filename="my report.pdf"'),
        ("Grüße.pdf", False, "attachment; filename=Gruße.pdf"),
        ('a"b\\c\r\n.pdf', False, "attachment; filename=\"a_b_c .pdf\"; filename*=UTF-8''a%22b%5Cc%20.pdf"),
        ("отчёт.pdf", False, "attachment; filename=download.pdf; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"),
        ("東京", False, "attachment; filename=download; filename*=UTF-8''%E6%9D%B1%E4%BA%AC"),
        ("", False, "attachment; filename=download"),
    ],
)
def test_the_header_helper_handles_any_name(name, inline, expected):
    from qms.downloads import content_disposition

    value = content_disposition(name, inline=inline)
    value.encode("latin-1")
    if "ß" in name:  # no ASCII letter for ß: the fallback replaces it, the UTF-8 name keeps it
        assert value.startswith("attachment; filename=Gru_e.pdf; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf")
    else:
        assert value == expected


def test_no_route_writes_its_own_content_disposition():
    """Every download goes through qms.downloads (the one helper that handles any file name)."""
    root = Path(__file__).resolve().parents[2] / "qms"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "downloads.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ('Content-Disposition": f' in line or ("filename=" in line and "Content-Disposition" in line)) or (
                "send_file(" in line or "download_name=" in line
            ):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_characters_read_are_capped_too(monkeypatch):
    monkeypatch.setattr(extraction, "MAX_CHARACTERS", 1000)
    runs = "".join(f"<w:p><w:r><w:t>{'x' * 90}</w:t></w:r></w:p>" for _ in range(12))
    docx = _zip({"word/document.xml": f'<w:document xmlns:w="{W}"><w:body>{runs}</w:body></w:document>'.encode()})
    with pytest.raises(extraction.UnreadableDocument, match="more than 1,000 characters"):
        extraction.extract_text(docx, DOCX)
    assert extraction.extract_text(docx, DOCX, limit=200).startswith("x" * 90)  # stops before the cap


def test_a_change_that_fails_after_its_file_was_stored_takes_the_file_away(app, org, monkeypatch):
    from qms.services import documents as service

    document = _document(org)
    kept = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("kept")), filename="kept.pdf")
    fire(kept, "cancel", org.quality, {"reason": "to start again"})
    before = store_listing(app)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "index_revision", broken)
    already = (Path(app.config["QMS_UPLOAD_FOLDER"]) / kept.sha256[:2] / kept.sha256[2:]).read_bytes()
    for data in (pdf_bytes("fresh"), already):  # a new file, and one already in the store
        with pytest.raises(RuntimeError):
            add_revision(document, org.quality, stream=io.BytesIO(data), filename="x.pdf")
        assert store_listing(app) == before  # the new file went, the stored one stayed
    assert orphan_files() == []
