"""Pages of background work: exports being prepared and downloaded, and the job runs (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..downloads import send_download
from ..models import ReportExport
from ..services.nonconformities import NC_FILTERS
from .exports import REPORTS, can_download, exports_of, file_of, request_export
from .runs import JOBS, recent_runs

bp = Blueprint("jobs", __name__)


@bp.route("/exports")
@login_required
def exports() -> str:
    """Your exports (all of them for admins), and a form to prepare one of the NC register as filtered."""
    filters = {name: request.args[name] for name in (*NC_FILTERS, "sort") if request.args.get(name)}
    return render_template("jobs/exports.html", exports=exports_of(current_user), filters=filters, reports=REPORTS)


@bp.route("/exports", methods=["POST"])
@login_required
def new_export() -> Any:
    args = {name: request.form[name] for name in (*NC_FILTERS, "sort") if request.form.get(name)}
    try:
        export = request_export(
            current_user, request.form.get("report", "nc-register"), request.form.get("format", ""), args
        )
    except InvalidData as exc:
        for name, message in exc.errors.items():
            flash(f"{name}: {message}")
        return render_template(
            "jobs/exports.html", exports=exports_of(current_user), filters=args, reports=REPORTS
        ), 422
    return redirect(url_for("jobs.export", export_id=export.id))


def _export_for_user(export_id: int) -> ReportExport:
    export = db.session.get(ReportExport, export_id) or abort(404)
    if not can_download(export, current_user):
        abort(403)
    return export


@bp.route("/exports/<id:export_id>")
@login_required
def export(export_id: int) -> str:
    return render_template("jobs/export.html", export=_export_for_user(export_id), reports=REPORTS)


@bp.route("/exports/<id:export_id>/download")
@login_required
def download(export_id: int) -> Any:
    export = _export_for_user(export_id)
    try:
        path = file_of(export, current_user)
    except NotPermitted:
        abort(403)
    except FileNotFoundError:
        abort(404)
    name = f"{export.report}-{export.created_at:%Y-%m-%d}.{export.format}"
    from .exports import MEDIA_TYPES

    return send_download(path, name, MEDIA_TYPES[export.format])


@bp.route("/admin/jobs")
@login_required
def runs() -> str:
    if not current_user.has_role("admin"):
        abort(403)
    return render_template("jobs/runs.html", runs=recent_runs(100), jobs=JOBS)
