"""The standards the organisation works with: the bundled ones and those it imported (YAML or CSV).

Loading a new edition or amendment is where an ISO-change review starts: next to each standard,
"Review the change" opens the review form with the previous edition pre-selected.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from standards import StandardError
from workflows.errors import NotPermitted

from ..services.reviews import REVIEW_ROLES
from ..services.standards import (
    FORMATS,
    IMPORT_ROLES,
    MAX_IMPORT_BYTES,
    StandardClash,
    all_standards,
    import_standard,
    imported_standards,
    is_bundled,
)
from .reviews import previous_edition

bp = Blueprint("standards", __name__)

KIND_LABELS = {"standard": "Standard", "checklist": "Checklist", "service-standards": "Service standards"}
#: the service speaks to the command line (``--identifier``); the form's fields have no dashes
FLAGS = (
    ("--identifier", "the identifier"),
    ("--title", "the title"),
    ("--edition", "the edition"),
    ("--urn", "the URN"),
)


def can_import() -> bool:
    return current_user.is_authenticated and current_user.has_role(*IMPORT_ROLES)


def _render(*, status: int = 200, errors: list[str] | None = None, values: MultiDict | None = None) -> Any:
    standards = all_standards()
    rows = {row.identifier: row for row in imported_standards()}
    return render_template(
        "standards/index.html",
        standards=standards,
        imported=rows,
        bundled={s.identifier: is_bundled(s.identifier) for s in standards},
        previous={s.identifier: previous_edition(s.identifier, standards) for s in standards},
        kinds=KIND_LABELS,
        can_import=can_import(),
        can_review=current_user.has_role(*REVIEW_ROLES),
        errors=errors or [],
        values=values or MultiDict(),
        formats=FORMATS,
    ), status


@bp.route("/standards")
@login_required
def index() -> Any:
    return _render()


def _message(error: str) -> str:
    for flag, words in FLAGS:
        error = error.replace(flag, words)
    return error.replace("with --replace", "by ticking 'Replace'")


@bp.route("/standards/import", methods=["POST"])
@login_required
def import_file() -> Any:
    if not can_import():
        abort(403)
    form = request.form
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(status=422, errors=["Choose a YAML or CSV file to import."], values=form)
    data = upload.read(MAX_IMPORT_BYTES + 1)
    fmt = form.get("format", "").strip()
    name = upload.filename.lower()
    if not fmt:
        fmt = "csv" if name.endswith(".csv") else "yaml" if name.endswith((".yaml", ".yml")) else ""
    problems: list[str] = []
    if fmt not in FORMATS:
        problems.append("Format: choose YAML or CSV (the file name does not say which).")
    if len(data) > MAX_IMPORT_BYTES:
        problems.append(f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append("The file is not UTF-8 text.")
        text = ""
    edition_text = form.get("edition", "").strip()
    edition = None
    if edition_text:
        if edition_text.isdigit() and len(edition_text) <= 4:
            edition = int(edition_text)
        else:
            problems.append("Edition: must be a year such as 2026.")
    if problems:
        return _render(status=422, errors=problems, values=form)
    try:
        row = import_standard(
            text,
            fmt,  # type: ignore[arg-type]
            current_user,
            identifier=form.get("identifier", "").strip() or None,
            title=form.get("title", "").strip() or None,
            edition=edition,
            urn=form.get("urn", "").strip() or None,
            replace=form.get("replace") in ("1", "on", "yes", "true"),
            source=upload.filename,
        )
    except NotPermitted:
        abort(403)
    except StandardError as exc:
        status = 409 if isinstance(exc, StandardClash) else 422
        return _render(status=status, errors=[_message(e) for e in exc.errors], values=form)
    flash(f"{row.title} ({row.identifier}) imported with its clauses.")
    return redirect(url_for("standards.index") + f"#standard-{row.identifier}")
