"""Every compiled 9.3.2 input of a management review reads as designed for it, on the page and in the
minutes PDF (read back with poppler's pdftotext): its sentence, its headline figures, its tables'
captions and columns, links to the records, and no figure's key."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from qms.database import db
from qms.models import MANAGEMENT_REVIEW_INPUTS
from qms.reports.review_inputs import DESIGNERS, designed
from qms.services.reviews import compile_inputs

from ..audits.test_web import signed_in, text
from ..helpers import new_nc
from .test_web import planned_mr, url

#: keys of compiled figures that must never reach a reader
RAW_KEYS = re.compile(r"\b(?:[a-z]+_){1,}[a-z]+\b")


def flat(value: str) -> str:
    return re.sub(r"\s+", " ", value)


def visible(page: str) -> str:
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def compiled_review(org):
    new_nc(org, title="Burr on flange", source="supplier")
    review = planned_mr(org)
    compile_inputs(review, org.quality)
    db.session.refresh(review)
    return review


def test_every_compiled_input_has_a_designer():
    assert set(DESIGNERS) <= set(MANAGEMENT_REVIEW_INPUTS)
    assert set(MANAGEMENT_REVIEW_INPUTS) - set(DESIGNERS) == {"resources"}  # only notes: nothing to compile


def test_the_page_shows_each_input_as_designed_with_links_to_the_records(app, org):
    review = compiled_review(org)
    page = text(signed_in(app, org.quality).get(url(review)))

    for key in DESIGNERS:
        view = designed(key, (review.inputs.get(key) or {}).get("compiled"))
        if view is None:  # risks: the register is empty, so the input needs notes
            assert key == "risks_opportunities"
            continue
        section = page.split(f'id="input-{key}"')[1].split(">", 1)[1].split("</article>")[0]
        words = visible(section)
        assert view.summary in words, key
        for figure in view.figures:
            assert f"{figure.label} {figure.value}" in words, (key, figure)
        for table in view.tables:
            assert table.caption in words, (key, table.caption)
            assert (table.empty in words) if not table.rows else all(c in words for c in table.columns if c)
        assert not RAW_KEYS.findall(words.split("Edit notes")[0]), (key, RAW_KEYS.findall(words))
    suppliers = page.split('id="input-external_providers"')[1].split("</article>")[0]
    nc_link = re.search(r'<a href="/nonconformities/(\d+)">NC-\d{4}-\d{4}</a>', suppliers)
    assert nc_link, "the supplier's NC links to its page"
    assert "Supplier nonconformities" in visible(suppliers) and "Burr on flange" in suppliers


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext is not installed")
def test_the_minutes_pdf_shows_each_input_as_designed(app, org, tmp_path):
    review = compiled_review(org)
    response = signed_in(app, org.viewer).get(f"/reviews/management/{review.id}/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "minutes.pdf"
    path.write_bytes(response.data)
    out = flat(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout)

    for key in DESIGNERS:
        view = designed(key, (review.inputs.get(key) or {}).get("compiled"))
        if view is None:
            continue
        assert view.summary in out, key
        for figure in view.figures:
            assert figure.label in out and figure.value in out, (key, figure)
        for table in view.tables:
            assert table.caption in out, (key, table.caption)
            if not table.rows:
                assert table.empty in out, (key, table.empty)
    assert "Burr on flange" in out
    assert not RAW_KEYS.findall(out.split("Inputs (ISO 9001 9.3.2)")[1].split("Minutes")[0])
