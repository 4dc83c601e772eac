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
from standards.editions import EDITION_STATUSES
from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import ImportedMapping
from ..services.reviews import REVIEW_ROLES
from ..services.standards import (
    FORMATS,
    IMPORT_ROLES,
    MAX_IMPORT_BYTES,
    MAX_MAPPING_BYTES,
    StandardClash,
    all_editions,
    all_mappings,
    all_standards,
    edition_of,
    find_standard,
    import_mapping,
    import_standard,
    imported_standards,
    is_bundled,
    remove_imported_mapping,
    update_edition,
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


def is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_role("admin")


def _render(
    *,
    status: int = 200,
    errors: list[str] | None = None,
    values: MultiDict | None = None,
    mapping_errors: list[str] | None = None,
    mapping_values: MultiDict | None = None,
) -> Any:
    standards = all_standards()
    rows = {row.identifier: row for row in imported_standards()}
    titles = {s.identifier: s.label for s in standards}
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
        editions=sorted(all_editions().values(), key=lambda e: e.identifier),
        edition_statuses=EDITION_STATUSES,
        titles=titles,
        mappings=all_mappings(),
        mapping_errors=mapping_errors or [],
        mapping_values=mapping_values or MultiDict(),
        can_edit_editions=is_admin(),
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


# --------------------------------------------------------------------------- mapping sets


def _upload(form: MultiDict, limit: int) -> tuple[str, str, list[str]]:
    """The uploaded file's text and format, or the problems with them."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return "", "", ["Choose a YAML or CSV file to import."]
    data = upload.read(limit + 1)
    fmt = form.get("format", "").strip()
    name = upload.filename.lower()
    if not fmt:
        fmt = "csv" if name.endswith(".csv") else "yaml" if name.endswith((".yaml", ".yml")) else ""
    problems: list[str] = []
    if fmt not in FORMATS:
        problems.append("Format: choose YAML or CSV (the file name does not say which).")
    if len(data) > limit:
        problems.append(f"The file is larger than {limit // 1_000_000} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append("The file is not UTF-8 text.")
        text = ""
    return text, fmt, problems


MAPPING_FLAGS = (("--source", "the source standard"), ("--target", "the target standard"))


def _mapping_message(error: str) -> str:
    for flag, words in MAPPING_FLAGS:
        error = error.replace(flag, words)
    return error.replace("with --replace", "by ticking 'Replace'")


@bp.route("/standards/mappings/import", methods=["POST"])
@login_required
def import_mapping_file() -> Any:
    if not can_import():
        abort(403)
    form = request.form
    text, fmt, problems = _upload(form, MAX_MAPPING_BYTES)
    if problems:
        return _render(status=422, mapping_errors=problems, mapping_values=form)
    upload = request.files["file"]
    try:
        row = import_mapping(
            text,
            fmt,  # type: ignore[arg-type]
            current_user,
            source_identifier=form.get("source", "").strip() or None,
            target_identifier=form.get("target", "").strip() or None,
            description=form.get("description", "").strip(),
            replace=form.get("replace") in ("1", "on", "yes", "true"),
            source=upload.filename,
        )
    except NotPermitted:
        abort(403)
    except StandardError as exc:
        status = 409 if isinstance(exc, StandardClash) else 422
        return _render(status=status, mapping_errors=[_mapping_message(e) for e in exc.errors], mapping_values=form)
    flash(
        f"Mapping set {row.source_identifier} → {row.target_identifier} imported with {row.entry_count} entries; "
        "it replaces the bundled one between these standards."
    )
    return redirect(url_for("standards.index") + "#mappings")


@bp.route("/standards/mappings/<id:mapping_id>/remove", methods=["POST"])
@login_required
def remove_mapping(mapping_id: int) -> Any:
    if not can_import():
        abort(403)
    row = db.session.get(ImportedMapping, mapping_id) or abort(404)
    pair = f"{row.source_identifier} → {row.target_identifier}"
    remove_imported_mapping(row, current_user)
    flash(f"Imported mapping set {pair} removed; the bundled set applies again where there is one.")
    return redirect(url_for("standards.index") + "#mappings")


# --------------------------------------------------------------------------- editions


EDITION_FIELDS = {
    "status": "Status",
    "published_on": "Publication date",
    "replaces": "Replaces",
    "transition_ends_on": "Transition ends on",
    "cutover_on": "Cut-over (every audit to this edition from)",
    "warn_months": "Warn this many months before the end",
    "source": "Source of the dates",
}


@bp.route("/standards/<string(maxlength=60):identifier>/edition", methods=["GET", "POST"])
@login_required
def edit_edition(identifier: str) -> Any:
    if not is_admin():
        abort(403)
    try:
        standard = find_standard(identifier)
    except KeyError:
        abort(404)
    edition = edition_of(identifier)
    errors: dict[str, str] = {}
    values: MultiDict = MultiDict()
    if request.method == "POST":
        values = request.form
        warn = values.get("warn_months", "").strip()
        data = {
            "status": values.get("status", "").strip(),
            "published_on": values.get("published_on", "").strip() or None,
            "replaces": values.get("replaces", "").strip() or None,
            "transition_ends_on": values.get("transition_ends_on", "").strip() or None,
            "cutover_on": values.get("cutover_on", "").strip() or None,
            "warn_months": int(warn) if warn.isdigit() and len(warn) < 4 else warn,
            "source": values.get("source", "").strip(),
        }
        try:
            update_edition(identifier, current_user, data)
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            errors = dict(exc.errors)
        else:
            flash(f"Status and transition dates of {standard.label} saved.")
            return redirect(url_for("standards.index") + "#editions")
    return render_template(
        "standards/edition.html",
        standard=standard,
        edition=edition,
        errors=errors,
        values=values,
        fields=EDITION_FIELDS,
        statuses=EDITION_STATUSES,
        others=[s for s in all_standards() if s.identifier != identifier],
    ), (422 if errors else 200)
