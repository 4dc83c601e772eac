"""Plain text of an uploaded document, for full-text search of controlled documents.

Pure functions on bytes (no Flask, no database), so they can run wherever the
file is at hand.  The formats are the ones uploads are allowed to be (see
:mod:`qms.services.attachments`): PDF through pypdf; DOCX and XLSX read with
the standard library only, with the defences an upload needs (no DTDs or
entities, no zip bombs); plain text; images give no text (no OCR).

DOCX and XLSX parts are inflated a chunk at a time (reading stops at a cap,
whatever size the zip directory claims), their tags counted before they are
parsed, and parsed incrementally with every element cleared and detached once
read; elements and characters are capped per file.  Uploads run this inside a
child process with a memory and time budget (:mod:`qms.services.upload_inspection`).

The result is whitespace-normalised (one space between words, one paragraph
per line, no control characters — PostgreSQL cannot store NUL in text) and
cut to ``limit`` characters.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any
from xml.etree import ElementTree as ET

from ..reports.pdf_input import PdfProblem, open_pdf, pdf_errors

__all__ = [
    "MAX_CHARACTERS",
    "MAX_ELEMENTS",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "PdfProblem",
    "UnreadableDocument",
    "extract_text",
]

#: the largest uncompressed XML part read from a DOCX or XLSX
MAX_MEMBER_SIZE = 50 * 1024 * 1024
#: the most uncompressed XML read from one DOCX or XLSX, all parts together
MAX_TOTAL_SIZE = 100 * 1024 * 1024
#: the most XML elements read from one DOCX or XLSX (a long manual has a few hundred thousand)
MAX_ELEMENTS = 1_000_000
#: the most characters of element text read from one DOCX or XLSX (a 2,000-page manual has ~6 million)
MAX_CHARACTERS = 20_000_000
_XML_CHUNK = 64 * 1024
_ZIP_CHUNK = 64 * 1024

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than newlines
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_FURNITURE = re.compile(r"word/(header|footer)\d{0,4}\.xml")
_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class UnreadableDocument(ValueError):
    """The DOCX or XLSX cannot be read safely (damaged, not what it claims, or built to attack the parser).

    The message is meant for the person who uploaded the file.
    """


def extract_text(data: bytes, content_type: str, *, limit: int = 1_000_000) -> str:
    """The searchable text of ``data``, typed by ``content_type`` (as detected from the content on upload).

    Raises :class:`PdfProblem` for a damaged or password-protected PDF and
    :class:`UnreadableDocument` for a damaged or hostile DOCX/XLSX; both are
    ``ValueError``.  Images and types without text give ``""``.
    """
    if limit <= 0 or not data:
        return ""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == PDF:
        chunks: Iterable[str] = _pdf_pages(data)
    elif kind == DOCX:
        chunks = _docx_paragraphs(data)
    elif kind == XLSX:
        chunks = _xlsx_strings(data)
    elif kind == "text/plain":
        chunks = data.decode("utf-8-sig", errors="replace").splitlines()
    else:
        return ""  # images (no OCR) and anything else
    return _normalised(chunks, limit)


def _normalised(chunks: Iterable[str], limit: int) -> str:
    """Non-empty lines with single spaces, joined by newlines, stopping as soon as ``limit`` is reached.

    Reading stops early so that a huge document costs no more than its first
    ``limit`` characters (the chunks are produced lazily).
    """
    lines: list[str] = []
    size = 0
    for chunk in chunks:
        for raw in chunk.splitlines():
            line = _SPACES.sub(" ", _CONTROL.sub(" ", raw)).strip()
            if not line:
                continue
            lines.append(line)
            size += len(line) + 1
            if size > limit:
                break
        if size > limit:
            break
    return "\n".join(lines)[:limit].rstrip()


# --- PDF -------------------------------------------------------------------------


def _pdf_pages(data: bytes) -> Iterator[str]:
    reader = open_pdf(data)
    for page in reader.pages:
        with pdf_errors():
            text = page.extract_text()
        yield text or ""


# --- Office Open XML -------------------------------------------------------------


class _Parts:
    """The parts of one DOCX or XLSX, streamed within a size limit per part and in total.

    Sizes in the zip directory are checked first, but the reading is capped
    too, since those sizes are whatever the file's author wrote there: each
    part is inflated a chunk at a time and reading stops once the cap is passed.
    The total budget stops a file of many small bombs (say a hundred 50 MB
    headers), and the element budget one of millions of empty tags.
    """

    def __init__(self, data: bytes, what: str) -> None:
        self.what = what
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise UnreadableDocument(f"The {what} file is damaged (not a readable zip archive).") from exc
        self.infos = {info.filename: info for info in self.archive.infolist()}
        self.left = MAX_TOTAL_SIZE
        self.elements = MAX_ELEMENTS
        self.characters = MAX_CHARACTERS

    def chunks(self, name: str, *, counted: bool = True) -> Iterator[bytes]:
        """The inflated bytes of part ``name``, a chunk at a time, never more than the caps allow
        (``counted``: what is read here counts against the total)."""
        info = self.infos[name]
        cap = min(MAX_MEMBER_SIZE, self.left)
        if info.file_size > cap:
            raise self._too_large()
        read = 0
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(min(_ZIP_CHUNK, cap + 1 - read)):
                    read += len(chunk)
                    if read > cap:
                        raise self._too_large()
                    if counted:
                        self.left -= len(chunk)
                    yield chunk
                    if read == cap and stream.read(1):
                        raise self._too_large()
        except UnreadableDocument:
            raise
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError, EOFError) as exc:
            # bad CRC or sizes, unsupported compression, encrypted part, truncated data
            raise UnreadableDocument(f"The {self.what} file is damaged ({name} cannot be unpacked).") from exc

    def _too_large(self) -> UnreadableDocument:
        return UnreadableDocument(
            f"The {self.what} file is too large to index: its parts may be at most "
            f"{MAX_MEMBER_SIZE // (1024 * 1024)} MB uncompressed each and {MAX_TOTAL_SIZE // (1024 * 1024)} MB "
            "in all (larger than that is how zip bombs look)."
        )

    def _count_tags(self, name: str) -> None:
        """Refuse part ``name`` before parsing it when it has more tags than the element budget.

        The part is inflated once more just to count ``<`` (at C speed, a few tenths of a
        second for 50 MB), so that a bomb of millions of empty tags is turned down at once
        instead of after a million parser events.  The count is an upper bound (comments
        and processing instructions count too); the parse below counts exactly.
        """
        tags = 0
        for chunk in self.chunks(name, counted=False):
            tags += chunk.count(b"<") - chunk.count(b"</")
            if tags > self.elements:
                raise self._too_many()

    def _too_many(self) -> UnreadableDocument:
        return UnreadableDocument(
            f"The {self.what} file has more than {MAX_ELEMENTS:,} XML elements; it is refused "
            "(that many, mostly empty, is how parser bombs look)."
        )

    def events(self, name: str) -> Iterator[tuple[str, ET.Element]]:
        """("start" | "end", element) events of part ``name``; each element is cleared and
        detached from its parent right after its "end" event, so memory stays flat whatever
        the part's length (take what you need from an element at its "end")."""
        self._count_tags(name)
        stack: list[ET.Element] = []
        for event, element in _xml_events(self.chunks(name), name, self.what):
            if event == "start":
                self.elements -= 1
                if self.elements < 0:
                    raise self._too_many()
                stack.append(element)
                yield event, element
                continue
            if element.text:
                self.characters -= len(element.text)
                if self.characters < 0:
                    raise UnreadableDocument(
                        f"The {self.what} file has more than {MAX_CHARACTERS:,} characters of text; it is refused."
                    )
            yield event, element
            stack.pop()
            element.clear()
            if stack:
                stack[-1].remove(element)  # the parent's only child by now: done in constant time


def _xml_events(chunks: Iterable[bytes], name: str, what: str) -> Iterator[tuple[str, ET.Element]]:
    """("start" | "end", element) events of one XML part, refusing any DTD.

    DTDs are refused because entities are how "billion laughs" and external
    entity attacks work.  The bytes are decoded here (UTF-8 or UTF-16, as OOXML
    allows) and the check runs on exactly the text handed to the parser, so
    another encoding cannot smuggle a ``<!DOCTYPE`` past it.  The parse is
    incremental, chunk by chunk as the part is inflated, so text extraction can
    stop early at its limit and a long part never sits in memory whole.
    """
    parser = ET.XMLPullParser(events=("start", "end"))  # no DTD is left for expat to read, see below
    decoder: Any = None
    head = b""
    tail = ""  # the end of the previous chunk, so that a declaration split between two chunks is seen
    pending = ""  # text held back until the XML declaration can be recognised
    try:
        for chunk in _then_end(chunks):
            final = chunk is None
            if decoder is None:
                head += chunk or b""
                if len(head) < 4 and not final:
                    continue
                decoder = codecs.getincrementaldecoder(_encoding(head))()
                chunk, head = head, b""
            try:
                text = decoder.decode(chunk or b"", final=final)
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(
                    f"The {what} file is damaged ({name} is not valid {exc.encoding.upper()})."
                ) from exc
            if pending is not None:
                pending += text
                if len(pending) < 512 and "?>" not in pending and not final:
                    continue
                text, pending = _without_declaration(pending, name, what), None
            if "<!DOCTYPE" in tail + text or "<!ENTITY" in tail + text:
                raise UnreadableDocument(
                    f"The {what} file contains a DTD or entity declarations ({name}); it is refused."
                )
            tail = text[-16:]
            for start in range(0, len(text), _XML_CHUNK):
                parser.feed(text[start : start + _XML_CHUNK])
                yield from parser.read_events()
        parser.close()
        yield from parser.read_events()
    except ET.ParseError as exc:
        raise UnreadableDocument(f"The {what} file is damaged ({name} is not well-formed XML).") from exc


def _then_end(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None


def _encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"<\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<"):
        return "utf-16-be"
    return "utf-8-sig"


def _without_declaration(text: str, name: str, what: str) -> str:
    """``text`` without its XML declaration (it is decoded already: the declared encoding no longer
    applies), after checking that the declared encoding is one OOXML allows."""
    declaration = _DECLARATION.match(text)
    if not declaration:
        return text
    declared = _DECLARED_ENCODING.search(declaration.group())
    if declared and declared.group(1).lower().replace("_", "-") not in {"utf-8", "utf8", "utf-16", "utf16"}:
        raise UnreadableDocument(f"The {what} file uses an unsupported character encoding in {name}.")
    return text[declaration.end() :]


def _docx_paragraphs(data: bytes) -> Iterator[str]:
    """The body's paragraphs in order, then those of the headers and footers (table cells are paragraphs too)."""
    parts = _Parts(data, "Word")
    with parts.archive:
        if "word/document.xml" not in parts.infos:
            raise UnreadableDocument("The Word file has no document part (word/document.xml); it is not a DOCX.")
        furniture = sorted((name for name in parts.infos if _FURNITURE.fullmatch(name)), key=_natural)
        for name in ["word/document.xml", *furniture]:
            yield from _paragraphs(parts.events(name))


def _natural(name: str) -> tuple[bool, int]:
    """Headers before footers, and header2 before header10."""
    digits = re.sub(r"\D", "", name)
    return "footer" in name, int(digits or 0)


def _paragraphs(events: Iterable[tuple[str, ET.Element]]) -> Iterator[str]:
    """Each ``w:p`` as one line; a paragraph nested in another (a text box) comes out as a line of its own."""
    open_paragraphs: list[list[str]] = []
    for event, element in events:
        tag = element.tag
        if tag == _W + "p":
            if event == "start":
                open_paragraphs.append([])
            else:
                yield "".join(open_paragraphs.pop())
                if not open_paragraphs:
                    element.clear()  # done with it: keeps memory flat on long documents
        elif event == "end" and open_paragraphs:
            text = open_paragraphs[-1]
            if tag == _W + "t":
                text.append(element.text or "")
            elif tag == _W + "tab":
                text.append("\t")
            elif tag in (_W + "br", _W + "cr"):
                text.append("\n")
            elif tag == _W + "noBreakHyphen":
                text.append("-")


def _xlsx_strings(data: bytes) -> Iterator[str]:
    """The workbook's shared strings (the text of its cells), one per line; a workbook of numbers has none."""
    parts = _Parts(data, "Excel")
    with parts.archive:
        if not any(name.startswith("xl/") for name in parts.infos):
            raise UnreadableDocument("The Excel file has no workbook part (xl/); it is not an XLSX.")
        if "xl/sharedStrings.xml" not in parts.infos:
            return
        events = parts.events("xl/sharedStrings.xml")
        text: list[str] = []
        phonetic = 0  # inside <rPh>: reading hints for East Asian text, not content
        for event, element in events:
            tag = element.tag
            if tag == _S + "si":
                if event == "end":
                    yield "".join(text)
                    text.clear()
                    element.clear()
            elif tag == _S + "rPh":
                phonetic += 1 if event == "start" else -1
            elif tag == _S + "t" and event == "end" and not phonetic:
                text.append(element.text or "")
