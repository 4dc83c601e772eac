"""Evidence files: type decided by content, names sanitised, bytes stored by their SHA-256.

Files live in QMS_UPLOAD_FOLDER (the instance folder by default), never under
the static folder, as ``ab/cdef…`` (the first two hex digits of the hash as a
sub-folder), so the same file uploaded twice is stored once and a stored file
cannot be overwritten with other content.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select

from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..models import Actor, Attachment, User, WorkflowRecord
from .audit_trail import recorded_change
from .workflow import as_actor

log = logging.getLogger(__name__)

UPLOAD_ROLES = frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"})
#: what evidence may be: content type by the file's first bytes (its "magic"), never by its name
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"PK\x03\x04", "application/zip", ".zip"),  # DOCX, XLSX: refined below
)
OFFICE_TYPES = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}


def detect_type(head: bytes, path: Path) -> tuple[str, str] | None:
    """(content type, extension) from the file's content, or None when it is not allowed."""
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            if content_type != "application/zip":
                return content_type, ext
            import zipfile

            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
            except zipfile.BadZipFile:
                return None
            for folder, found in OFFICE_TYPES.items():
                if any(name.startswith(folder) for name in names):
                    return found
            return None
    if head and _is_text(head):
        return "text/plain", ".txt"
    return None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def safe_filename(name: str, ext: str) -> str:
    """A display name without paths or control characters, ending in the detected extension."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    stem = Path(name).stem[:150] or "evidence"
    return stem + ext


def storage_path(sha256: str) -> Path:
    return Path(current_app.config["QMS_UPLOAD_FOLDER"]) / sha256[:2] / sha256[2:]


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    filename: str
    text: str = ""  # the searchable text, when it was asked for
    new: bool = False  # this upload put the file in the store (it was not there already)


def store_file(stream: BinaryIO, filename: str, *, extract: bool = False) -> StoredFile:
    """Check and store an uploaded file by its SHA-256; raises InvalidData for an empty, unknown or too large file.

    The file is read within the upload budget before it enters the store (see
    :mod:`qms.services.upload_inspection`): a PDF over the page limit, a damaged or
    hostile file, or one over the time or memory budget is refused, and a refused
    upload leaves nothing behind.  ``extract`` also returns its text for search.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    folder = Path(current_app.config["QMS_UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        try:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise InvalidData({"file": f"is larger than {limit // (1024 * 1024)} MB"})
                digest.update(chunk)
                tmp.write(chunk)
            tmp.flush()
            if size == 0:
                raise InvalidData({"file": "is empty"})
            with open(tmp.name, "rb") as check:
                detected = detect_type(check.read(4096), Path(tmp.name))
            if detected is None:
                raise InvalidData({"file": "must be a PDF, DOCX, XLSX, PNG, JPEG, GIF or plain-text file"})
            inspection = _inspect(Path(tmp.name), detected[0], extract=extract)
        except BaseException:
            os.unlink(tmp.name)
            raise
    sha = digest.hexdigest()
    target = storage_path(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    new = not target.exists()
    if new:
        os.replace(tmp.name, target)
    else:
        os.unlink(tmp.name)
    content_type, ext = detected
    return StoredFile(sha, size, content_type, safe_filename(filename, ext), inspection.text, new)


def _inspect(path: Path, content_type: str, *, extract: bool) -> Any:
    """The file read within the configured budget; InvalidData naming why when it is refused.

    With a Celery broker the file is read on a worker (see :mod:`qms.jobs.uploads`); when no
    worker answers, here in a limited child process or not at all (``QMS_UPLOAD_PARSE_FALLBACK``).
    """
    from .upload_inspection import UploadRefused, inspect_upload, limits_from_config

    config = current_app.config
    limits = limits_from_config(config)
    try:
        if _on_worker(content_type, extract):
            from ..jobs.uploads import WorkerUnavailable, inspect_on_worker

            try:
                return inspect_on_worker(path, content_type, limits, extract=extract)
            except WorkerUnavailable as exc:
                if config.get("QMS_UPLOAD_PARSE_FALLBACK", "local") != "local":
                    log.error("upload refused: no worker read it (%s)", exc)
                    raise InvalidData(
                        {
                            "file": "could not be checked now: the background worker that reads uploads is not "
                            "answering. Nothing was stored; try again in a few minutes, and tell an administrator "
                            "if it goes on"
                        }
                    ) from None
                log.warning("upload read in the web server: no worker read it (%s)", exc)
        return inspect_upload(path, content_type, limits, extract=extract)
    except UploadRefused as exc:
        raise InvalidData({"file": str(exc)}) from None


def _on_worker(content_type: str, extract: bool) -> bool:
    """Whether this file is read on a Celery worker: a broker is configured, reading there is on, and the
    file has a parser to run (a PDF always: its pages are counted; DOCX and XLSX for their text)."""
    from ..jobs import is_eager
    from .upload_inspection import PARSED_TYPES, PDF

    config = current_app.config
    if not config.get("QMS_CELERY_BROKER_URL") or not config.get("QMS_UPLOAD_PARSE_ON_WORKER", True):
        return False
    if "celery" not in current_app.extensions or is_eager(current_app):
        return False
    return content_type in PARSED_TYPES and (extract or content_type == PDF)


def discard_if_unreferenced(stored: StoredFile) -> bool:
    """Delete a file this upload stored when no revision or attachment names it (the change that
    would have named it failed); True when it was deleted.  A file that was in the store already
    is left alone."""
    from ..models import DocumentRevision

    if not stored.new:
        return False
    sha256 = stored.sha256
    db.session.rollback()  # the failed change's transaction: the check must see what is committed
    for column in (DocumentRevision.sha256, Attachment.sha256):
        if db.session.scalar(select(column).where(column == sha256).limit(1)) is not None:
            return False
    path = storage_path(sha256)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def attach(
    record: Any, actor: User | Actor, stream: BinaryIO, filename: str, *, lifecycle: str | None = None
) -> Attachment:
    """Store an evidence file for ``record``; raises InvalidData for an empty, unknown or too large file.

    ``lifecycle`` names the kind of record for records that follow no lifecycle (checklist items).
    """
    actor = as_actor(actor)
    if not actor.roles & UPLOAD_ROLES:
        raise NotPermitted("Viewers cannot attach evidence")
    if getattr(record, "is_terminal", False):  # a closed record's evidence is what it was closed on
        raise InvalidTransition(
            f"{record.reference} is {record.state_label.lower()}: its evidence can no longer change"
        )
    stored = store_file(stream, filename)
    try:
        with recorded_change(actor, "evidence attached") as session:
            attachment = Attachment(
                lifecycle=lifecycle or record.lifecycle_name,
                record_id=record.id,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by_id=actor.id,
            )
            session.add(attachment)
    except BaseException:
        discard_if_unreferenced(stored)
        raise
    return attachment


def attachments_of(record: WorkflowRecord) -> list[Attachment]:
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.lifecycle == record.lifecycle_name, Attachment.record_id == record.id)
            .order_by(Attachment.id)
        )
    )
