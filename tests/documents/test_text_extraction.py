"""Plain text of uploaded documents for full-text search, and refusal of hostile or damaged files."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from qms.reports.documents import PdfProblem
from qms.services import text_extraction
from qms.services.text_extraction import DOCX, PDF, XLSX, UnreadableDocument, extract_text

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>'
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>'
)


def make_pdf(pages: list[str]) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for text in pages:
        canvas.drawString(72, 760, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def make_zip(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def word_part(root: str, paragraphs: list[str]) -> str:
    body = "".join(f"<w:p>{p}</w:p>" for p in paragraphs)
    inner = f"<w:body>{body}</w:body>" if root == "document" else body
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{root} xmlns:w="{W_NS}">{inner}</w:{root}>'


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def make_docx(paragraphs: list[str], **extra: str | bytes) -> bytes:
    return make_zip({"word/document.xml": word_part("document", paragraphs), **extra})


# --- PDF ---------------------------------------------------------------------------


def test_pdf_text_of_every_page_one_line_each():
    text = extract_text(make_pdf(["Calibration procedure", "Second page   with   gaps"]), PDF)

    assert text == "Calibration procedure\nSecond page with gaps"


def test_damaged_and_password_protected_pdfs_raise_pdf_problem():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["secret text"]))))
    writer.encrypt("secret")
    protected = io.BytesIO()
    writer.write(protected)

    with pytest.raises(PdfProblem, match="password-protected"):
        extract_text(protected.getvalue(), PDF)
    with pytest.raises(PdfProblem, match="damaged or truncated"):
        extract_text(b"%PDF-1.4 garbage", PDF)


# --- DOCX --------------------------------------------------------------------------


def test_docx_paragraphs_with_headers_and_footers():
    docx = make_docx(
        [
            run("The  xylophonic") + "<w:r><w:tab/></w:r>" + run("calibration rig."),
            run("Second ") + run("paragraph") + "<w:r><w:br/></w:r>" + run("after a line break"),
            "",  # an empty paragraph leaves no blank line
            # a paragraph inside another one (as in a text box) is a line of its own
            "<w:r><w:pict><w:txbxContent><w:p>" + run("in a text box") + "</w:p></w:txbxContent></w:pict></w:r>",
        ],
        **{
            "word/header1.xml": word_part("hdr", [run("Header: QP-007")]),
            "word/footer10.xml": word_part("ftr", [run("Footer ten")]),
            "word/footer2.xml": word_part("ftr", [run("Footer two")]),
            "word/styles.xml": word_part("styles", [run("not content")]),
        },
    )

    text = extract_text(docx, DOCX)

    assert text.splitlines() == [
        "The xylophonic calibration rig.",
        "Second paragraph",
        "after a line break",
        "in a text box",
        "Header: QP-007",
        "Footer two",
        "Footer ten",
    ]


def test_docx_in_utf16_is_read():
    xml = word_part("document", [run("zweisprachig")]).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    docx = make_zip({"word/document.xml": xml.encode("utf-16")})

    assert extract_text(docx, DOCX) == "zweisprachig"


def test_docx_with_a_dtd_is_refused_billion_laughs():
    with pytest.raises(UnreadableDocument, match="DTD or entity"):
        extract_text(make_zip({"word/document.xml": BILLION_LAUGHS}), DOCX)


def test_a_dtd_cannot_hide_in_another_encoding():
    for encoding in ("utf-16-le", "utf-16-be", "utf-16"):
        docx = make_zip({"word/document.xml": BILLION_LAUGHS.encode(encoding)})
        assert b"<!DOCTYPE" not in docx
        with pytest.raises(UnreadableDocument, match="DTD or entity"):
            extract_text(docx, DOCX)
    latin = BILLION_LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="cp500"?>')
    with pytest.raises(UnreadableDocument):
        extract_text(make_zip({"word/document.xml": latin.encode("ascii")}), DOCX)


def test_a_dtd_in_a_header_is_refused_too():
    docx = make_docx([run("fine")], **{"word/header1.xml": BILLION_LAUGHS})

    with pytest.raises(UnreadableDocument, match=r"word/header1\.xml"):
        extract_text(docx, DOCX)


def claim_size(archive: bytes, member: str, size: int) -> bytes:
    """``archive`` with ``member``'s uncompressed size in the central directory changed to ``size``."""
    name = member.encode()
    at = archive.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", archive, at + 28)[0]
        if archive[at + 46 : at + 46 + name_length] == name:
            return archive[: at + 24] + struct.pack("<I", size) + archive[at + 28 :]
        at = archive.index(b"PK\x01\x02", at + 4)


def test_a_member_claiming_a_huge_size_is_refused_before_it_is_read():
    docx = claim_size(make_docx([run("small really")]), "word/document.xml", 0xFFFF_FFF0)
    assert zipfile.ZipFile(io.BytesIO(docx)).getinfo("word/document.xml").file_size == 0xFFFF_FFF0

    with pytest.raises(UnreadableDocument, match=r"too large to index: .* at most 50 MB"):
        extract_text(docx, DOCX)


def test_a_zip_bomb_is_refused_even_when_its_directory_lies(monkeypatch):
    monkeypatch.setattr(text_extraction, "MAX_MEMBER_SIZE", 64 * 1024)
    padding = "<w:p/>" * 20_000  # 120 kB that compresses to almost nothing
    bomb = make_zip(
        {"word/document.xml": word_part("document", [run("boom")]).replace("<w:body>", "<w:body>" + padding)}
    )
    assert len(bomb) < 4_000

    with pytest.raises(UnreadableDocument, match="too large to index"):
        extract_text(bomb, DOCX)
    # the directory claims a harmless size: the capped read (and zip's own checks) still stop it
    with pytest.raises(UnreadableDocument):
        extract_text(claim_size(bomb, "word/document.xml", 1000), DOCX)


def test_many_parts_within_the_limit_each_are_refused_together(monkeypatch):
    monkeypatch.setattr(text_extraction, "MAX_MEMBER_SIZE", 64 * 1024)
    monkeypatch.setattr(text_extraction, "MAX_TOTAL_SIZE", 100 * 1024)
    header = word_part("hdr", [run("same header")] * 700)
    assert 40_000 < len(header) < 64 * 1024
    docx = make_docx([run("body")], **{f"word/header{n}.xml": header for n in range(1, 4)})

    # reading stops at the limit, so only the parts it needs count
    assert extract_text(docx, DOCX, limit=40) == "body\nsame header\nsame header\nsame header"
    with pytest.raises(UnreadableDocument, match="too large to index"):
        extract_text(docx, DOCX)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"PK\x03\x04 not really a zip", "not a readable zip", id="not-a-zip"),
        pytest.param(make_zip({"xl/workbook.xml": "<x/>"}), "no document part", id="no-document-part"),
        pytest.param(make_zip({"word/document.xml": "<w:document><w:body>"}), "not well-formed", id="broken-xml"),
        pytest.param(make_zip({"word/document.xml": b"<a>\xff\xfe\xfa</a>"}), "not valid UTF-8", id="bad-bytes"),
    ],
)
def test_damaged_docx_files_raise_unreadable_document(data, message):
    with pytest.raises(UnreadableDocument, match=message) as raised:
        extract_text(data, DOCX)

    assert isinstance(raised.value, ValueError)


# --- XLSX --------------------------------------------------------------------------


def test_xlsx_shared_strings_one_per_line():
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{S_NS}" count="3" uniqueCount="3">'
        "<si><t>Torque wrench</t></si>"
        "<si><r><t>Rich </t></r><r><rPr><b/></rPr><t>text cell</t></r></si>"
        '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si>'
        "<si><t/></si>"
        "</sst>"
    )
    xlsx = make_zip({"xl/workbook.xml": "<workbook/>", "xl/sharedStrings.xml": shared})

    assert extract_text(xlsx, XLSX) == "Torque wrench\nRich text cell\n東京"


def test_xlsx_without_text_cells_gives_nothing_and_hostile_strings_are_refused():
    assert extract_text(make_zip({"xl/workbook.xml": "<workbook/>"}), XLSX) == ""

    hostile = make_zip({"xl/workbook.xml": "<workbook/>", "xl/sharedStrings.xml": BILLION_LAUGHS})
    with pytest.raises(UnreadableDocument, match="DTD or entity"):
        extract_text(hostile, XLSX)
    with pytest.raises(UnreadableDocument, match="not an XLSX"):
        extract_text(make_docx([run("a Word file")]), XLSX)


# --- plain text, images, normalisation and the limit ---------------------------------


def test_plain_text_is_decoded_leniently_and_cleaned():
    data = "\ufeffLine  one\t\twith tabs\r\n\r\n\r\nNUL\x00here \xff".encode() + b"\xff broken"

    text = extract_text(data, "text/plain; charset=utf-8")

    assert text == "Line one with tabs\nNUL here \xff\ufffd broken"
    assert "\x00" not in text


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "image/gif", "application/zip", ""])
def test_images_and_other_types_give_no_text(content_type):
    assert extract_text(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, content_type) == ""


@pytest.mark.parametrize("kind", ["pdf", "docx", "xlsx", "text"])
def test_the_limit_is_respected(kind):
    words = [f"word{i:04d} " * 10 for i in range(300)]
    data, content_type = {
        "pdf": (make_pdf(words), PDF),
        "docx": (make_docx([run(w) for w in words]), DOCX),
        "xlsx": (
            make_zip(
                {
                    "xl/workbook.xml": "<workbook/>",
                    "xl/sharedStrings.xml": f'<sst xmlns="{S_NS}">'
                    + "".join(f"<si><t>{w}</t></si>" for w in words)
                    + "</sst>",
                }
            ),
            XLSX,
        ),
        "text": ("\n".join(words).encode(), "text/plain"),
    }[kind]

    full = extract_text(data, content_type)
    short = extract_text(data, content_type, limit=500)

    assert len(full) > 20_000
    assert len(short) <= 500
    assert full.startswith(short)
    assert short.startswith("word0000 word0000")
    assert extract_text(data, content_type, limit=0) == ""
