"""Large register exports prepared in the background into the instance folder.

The user asks for an export (``request_export``), sees "being prepared", and downloads the file
once a task has written it.  Only the requester or an administrator may download it; files
expire after ``QMS_EXPORT_KEEP_DAYS`` and the clean-exports job deletes them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from workflows.errors import InvalidData, NotPermitted

from ..database import begin_write, db, utcnow
from ..models import Actor, ReportExport, User
from ..models.jobs import EXPORT_FORMATS
from ..services.nonconformities import NcFilters, register_pdf, register_xlsx

log = logging.getLogger(__name__)

REPORTS = {"nc-register": "Nonconformity register"}
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def exports_folder() -> Path:
    folder = Path(current_app.instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def request_export(user: User, report: str, fmt: str, args: Mapping[str, str]) -> ReportExport:
    """Record a requested export (queued) and send its task; in-process mode builds it at once."""
    errors = {}
    if report not in REPORTS:
        errors["report"] = "must be one of: " + ", ".join(REPORTS)
    if fmt not in EXPORT_FORMATS:
        errors["format"] = "must be one of: " + ", ".join(EXPORT_FORMATS)
    if errors:
        raise InvalidData(errors)
    filters = NcFilters.from_args(args).as_args()
    keep = dt.timedelta(days=current_app.config.get("QMS_EXPORT_KEEP_DAYS", 2))
    begin_write(db.session)
    export = ReportExport(
        report=report,
        format=fmt,
        filters=filters,
        requested_by_id=user.id,
        status="queued",
        expires_at=utcnow() + keep,
        filename="",
        error="",
    )
    db.session.add(export)
    db.session.flush()
    export_id = export.id
    # committed before the task is sent, so a worker finds the row; nothing is read after the
    # commit, so that an in-process task's writes are seen by the next read (a fresh snapshot)
    db.session.commit()
    from .tasks import prepare_export_task

    try:
        prepare_export_task.delay(export_id)
    except Exception as exc:  # e.g. the broker is down: say so on the export instead of a 500
        log.exception("could not send the export task %s", export_id)
        _set(export_id, status="failed", error=f"could not be queued: {type(exc).__name__}", finished_at=utcnow())
    return db.session.get(ReportExport, export_id)


def _set(export_id: int, **values: object) -> None:
    begin_write(db.session)
    db.session.execute(update(ReportExport).where(ReportExport.id == export_id).values(**values))
    db.session.commit()
    db.session.expire_all()


def prepare_export(export_id: int) -> str:
    """Build export ``export_id`` if it is still queued (a redelivered task does nothing); its status."""
    begin_write(db.session)
    taken = db.session.execute(
        update(ReportExport)
        .where(ReportExport.id == export_id, ReportExport.status == "queued")
        .values(status="running")
    ).rowcount
    db.session.commit()
    export = db.session.get(ReportExport, export_id)
    if export is None:
        return "missing"
    if not taken:
        return export.status
    try:
        filters = NcFilters.from_args(export.filters)
        data, rows = _build(export.format, filters)
        name = f"{export.report}-{export.id}-{export.created_at:%Y%m%d%H%M%S}.{export.format}"
        path = exports_folder() / name
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half a file
    except Exception as exc:
        db.session.rollback()
        log.exception("export %s failed", export_id)
        _set(export_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow())
        return "failed"
    _set(export_id, status="ready", filename=name, rows=rows, size=len(data), finished_at=utcnow())
    return "ready"


def _build(fmt: str, filters: NcFilters) -> tuple[bytes, int]:
    if fmt == "pdf":
        return register_pdf(filters, current_app.config["QMS_ORGANISATION"])
    return register_xlsx(filters)


def can_download(export: ReportExport, user: User | Actor) -> bool:
    return export.requested_by_id == user.id or "admin" in user.roles


def file_of(export: ReportExport, user: User | Actor) -> Path:
    """The ready file of ``export`` for ``user``; NotPermitted for anyone but the requester or an admin."""
    if not can_download(export, user):
        raise NotPermitted("Only the person who asked for this export (or an administrator) may download it")
    if export.status != "ready" or export.expires_at <= utcnow():
        raise FileNotFoundError("the export is not ready or has expired")
    path = exports_folder() / export.filename
    if not export.filename or not path.is_file():
        raise FileNotFoundError("the export file is gone")
    return path


def exports_of(user: User) -> list[ReportExport]:
    query = select(ReportExport).order_by(ReportExport.id.desc()).limit(50)
    if "admin" not in user.roles:
        query = query.where(ReportExport.requested_by_id == user.id)
    return list(db.session.scalars(query))


def clean_expired(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete expired export files and their rows; also day-old stray files no row knows."""
    now = now or utcnow()
    folder = exports_folder()
    expired = list(db.session.scalars(select(ReportExport).where(ReportExport.expires_at <= now)))
    files = 0
    for export in expired:
        if export.filename and (folder / export.filename).is_file():
            (folder / export.filename).unlink()
            files += 1
    begin_write(db.session)
    for export in expired:
        db.session.delete(export)
    db.session.commit()
    known = set(db.session.scalars(select(ReportExport.filename)))
    stray = 0
    old = now.timestamp() - 86_400  # a file finished this very moment has no row yet: spare recent files
    for path in folder.iterdir():
        if path.is_file() and path.name not in known and path.stat().st_mtime < old:
            path.unlink()
            stray += 1
    return {"expired": len(expired), "files_deleted": files, "stray_files_deleted": stray}
