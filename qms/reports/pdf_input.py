"""Reading uploaded PDFs safely: pypdf's many failure modes turned into one error a person can read.

Kept apart from the report code (no reportlab, no Flask, no database) so that the bounded
upload inspector (:mod:`qms.services.upload_inspection`) can load it in a small child process.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

__all__ = ["PdfProblem", "count_pages", "declared_pages", "open_pdf", "pdf_errors"]


#: what a broken file makes pypdf (or the parsers under it) raise besides its own errors
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    PyPdfError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    ZeroDivisionError,
    OverflowError,
    UnicodeError,
    zlib.error,
    struct.error,
)


class PdfProblem(ValueError):
    """The uploaded PDF cannot be used (corrupt, truncated, password-protected or empty).

    The message is meant for the person who uploaded the file.
    """


@contextlib.contextmanager
def pdf_errors(action: str = "read") -> Iterator[None]:
    """Turn whatever pypdf raises on a broken or protected file into a :class:`PdfProblem`.

    pypdf parses untrusted bytes lazily, so a bad file can fail long after it
    was opened (when a page's content is decoded, or when the result is
    written); every use of pypdf objects from an upload belongs inside this.
    """
    try:
        yield
    except PdfProblem:
        raise
    except FileNotDecryptedError as exc:
        raise PdfProblem("The PDF is password-protected; upload a copy without a password.") from exc
    except DependencyError as exc:
        raise PdfProblem(
            "The PDF uses encryption or compression this server cannot read; upload an unprotected copy."
        ) from exc
    except LimitReachedError as exc:
        raise PdfProblem("The PDF is too large or too complex to process.") from exc
    except RecursionError as exc:
        raise PdfProblem("The PDF is damaged (its structure refers to itself); it cannot be read.") from exc
    except _PARSE_ERRORS as exc:
        raise PdfProblem(f"The PDF is damaged or truncated and cannot be {action}; please upload it again.") from exc


def open_pdf(source: bytes) -> PdfReader:
    """A reader for an uploaded PDF that has at least one page; raises :class:`PdfProblem` otherwise.

    A file encrypted only with an owner password (it opens without asking for
    one, only printing or editing is "restricted") is decrypted and accepted;
    one that needs a password to open is refused.
    """
    if not source:
        raise PdfProblem("The PDF is empty (0 bytes).")
    if b"%PDF-" not in source[:1024]:  # where the PDF standard lets the header be
        raise PdfProblem("The file is not a PDF.")
    with pdf_errors():
        reader = PdfReader(io.BytesIO(source), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfProblem("The PDF is password-protected; upload a copy without a password.")
        pages = declared_pages(reader)  # cheap: the page count is checked against the limit before the tree is walked
        if pages is None:
            pages = len(reader.pages)
    if pages == 0:
        raise PdfProblem("The PDF has no pages.")
    return reader


def declared_pages(reader: PdfReader) -> int | None:
    """The page count the PDF's page tree declares (``/Count``), read without visiting a page, or None."""
    with contextlib.suppress(*_PARSE_ERRORS):
        count = reader.trailer["/Root"]["/Pages"]["/Count"]
        if isinstance(count, int) and count >= 0:
            return int(count)
    return None


def count_pages(reader: PdfReader, limit: int | None = None) -> int:
    """How many pages the PDF has, cheaply: no page's content is decoded.

    A declared count above ``limit`` is believed at once (the file is refused anyway);
    otherwise the page tree is walked, since ``/Count`` is whatever the author wrote.
    """
    declared = declared_pages(reader)
    if limit is not None and declared is not None and declared > limit:
        return declared
    with pdf_errors():
        return len(reader.pages)
