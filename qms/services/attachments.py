"""Evidence files: type decided by content, names sanitised, bytes stored by their SHA-256.

Files live in QMS_UPLOAD_FOLDER (the instance folder by default), never under
the static folder, as ``ab/cdef…`` (the first two hex digits of the hash as a
sub-folder), so the same file uploaded twice is stored once and a stored file
cannot be overwritten with other content.
"""

from __future__ import annotations

import hashlib
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


def store_file(stream: BinaryIO, filename: str) -> StoredFile:
    """Check and store an uploaded file by its SHA-256; raises InvalidData for an empty, unknown or too large file."""
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
        except BaseException:
            os.unlink(tmp.name)
            raise
    sha = digest.hexdigest()
    target = storage_path(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.unlink(tmp.name)
    else:
        os.replace(tmp.name, target)
    content_type, ext = detected
    return StoredFile(sha, size, content_type, safe_filename(filename, ext))


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
    return attachment


def attachments_of(record: WorkflowRecord) -> list[Attachment]:
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.lifecycle == record.lifecycle_name, Attachment.record_id == record.id)
            .order_by(Attachment.id)
        )
    )
