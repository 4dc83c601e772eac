"""Document control (ISO 9001 7.5): documents, revisions, approval, effectiveness, distribution, review.

Exactly one revision of a document is in force at a time: making a revision effective
supersedes the previous one in the same transaction, and a partial unique index on
``document_revisions`` makes the database refuse a second one even under concurrent approvals.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import string
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from workflows import FireResult
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..lifecycles.roles import ROLES
from ..models import (
    CONFIDENTIALITY,
    DOCUMENT_TYPES,
    IN_FORCE_STATES,
    Acknowledgement,
    Actor,
    DistributionEntry,
    Document,
    DocumentNumbering,
    DocumentRevision,
    User,
    UserRole,
)
from .attachments import discard_if_unreferenced, storage_path, store_file
from .audit_trail import recorded_change
from .references import next_number
from .search import index_revision
from .validation import clean_text
from .workflow import apply_event, as_actor, effect, fire

AUTHOR_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
DEFAULT_NUMBERING = {
    "policy": "POL-{seq:03d}",
    "manual": "QM-{seq:03d}",
    "procedure": "SOP-{process}-{seq:03d}",
    "work_instruction": "WI-{process}-{seq:03d}",
    "form": "F-{process}-{seq:03d}",
    "record": "REC-{process}-{seq:03d}",
    "external": "EXT-{seq:03d}",
}
OPEN_REVISION_STATES = ("draft", "in_review", "approved")
ACKNOWLEDGE_WITHIN_DAYS = 14


def process_code(process: str) -> str:
    """The process as it appears in document numbers: up to 6 upper-case letters or digits."""
    code = re.sub(r"[^A-Za-z0-9]", "", process or "").upper()[:6]
    return code or "GEN"


def numbering_pattern(session: Session, doc_type: str) -> str:
    row = session.get(DocumentNumbering, doc_type)
    return row.pattern if row else DEFAULT_NUMBERING[doc_type]


def validate_pattern(pattern: str) -> str | None:
    """None when ``pattern`` is a usable numbering pattern, else what is wrong with it."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name}
    except ValueError as exc:
        return f"is not a valid pattern ({exc})"
    if "seq" not in fields:
        return "must contain {seq}, e.g. SOP-{process}-{seq:03d}"
    if fields - {"seq", "process", "year"}:
        return "may use only {seq}, {process} and {year}"
    try:
        pattern.format(seq=1, process="QA", year=2026)
    except (ValueError, KeyError, IndexError) as exc:
        return f"is not a valid pattern ({exc})"
    return None


def set_numbering(actor: User | Actor, patterns: dict[str, str]) -> None:
    """An administrator sets the numbering pattern of each document type (all valid, or none saved)."""
    actor = as_actor(actor)
    if "admin" not in actor.roles:
        raise NotPermitted("Only an administrator can change numbering schemes")
    errors = {}
    for doc_type, pattern in patterns.items():
        if doc_type not in DOCUMENT_TYPES:
            errors[doc_type] = "is not a document type"
        elif not pattern or len(pattern) > 60:
            errors[doc_type] = "is required (at most 60 characters)"
        elif problem := validate_pattern(pattern):
            errors[doc_type] = problem
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "document numbering changed") as session:
        for doc_type, pattern in patterns.items():
            row = session.get(DocumentNumbering, doc_type)
            if row is None:
                session.add(DocumentNumbering(doc_type=doc_type, pattern=pattern))
            elif row.pattern != pattern:
                row.pattern = pattern


def next_document_number(session: Session, doc_type: str, process: str, today: dt.date) -> str:
    pattern = numbering_pattern(session, doc_type)
    values = {"process": process_code(process), "year": today.year}
    prefix = pattern.split("{seq", 1)[0].format(**values)
    return pattern.format(seq=next_number(session, f"DOC:{prefix}"), **values)


def create_document(
    actor: User | Actor,
    *,
    title: str,
    doc_type: str,
    owner_id: int,
    process: str = "",
    clause_refs: Sequence[str] = (),
    review_period_months: int = 24,
    confidentiality: str = "internal",
    distribution: Iterable[tuple[str, str]] = (),
    today: dt.date | None = None,
) -> Document:
    """Register a new controlled document (its first revision is added with ``add_revision``)."""
    actor = as_actor(actor)
    if not actor.roles & AUTHOR_ROLES:
        raise NotPermitted("Requires the role manager, process owner or quality officer to create documents")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    process = clean_text(errors, "process", process, required=False, limit=120)
    if doc_type not in DOCUMENT_TYPES:
        errors["doc_type"] = "must be one of: " + ", ".join(DOCUMENT_TYPES)
    if confidentiality not in CONFIDENTIALITY:
        errors["confidentiality"] = "must be one of: " + ", ".join(CONFIDENTIALITY)
    if not isinstance(review_period_months, int) or not 0 <= review_period_months <= 120:
        errors["review_period_months"] = "must be a number of months from 0 (no periodic review) to 120"
    owner = db.session.get(User, owner_id) if isinstance(owner_id, int) else None
    if owner is None or not owner.active:
        errors["owner_id"] = "must be an active user"
    clauses = [str(c).strip() for c in clause_refs if str(c).strip()]
    entries = _clean_distribution(distribution, errors)
    if errors:
        raise InvalidData(errors)
    today = today or dt.date.today()
    with recorded_change(actor, "document registered") as session:
        document = Document(
            number=next_document_number(session, doc_type, process, today),
            title=title,
            doc_type=doc_type,
            owner_id=owner.id,
            process=process,
            clause_refs=clauses,
            review_period_months=review_period_months,
            confidentiality=confidentiality,
            created_by_id=actor.id,
        )
        document.distribution = [DistributionEntry(kind=kind, value=value) for kind, value in entries]
        session.add(document)
    return document


def _clean_distribution(entries: Iterable[tuple[str, str]], errors: dict[str, str]) -> list[tuple[str, str]]:
    cleaned: list[tuple[str, str]] = []
    for kind, value in entries:
        value = str(value).strip()
        if kind not in ("user", "role", "process") or not value or len(value) > 120:
            errors["distribution"] = "each entry is a user id, a role or a process"
            continue
        # isascii: "²".isdigit() is true but int("²") fails; ids beyond 2^31 exist in no table
        if kind == "user" and not (
            value.isascii() and value.isdigit() and 0 < int(value) < 2**31 and db.session.get(User, int(value))
        ):
            errors["distribution"] = f"user {value} does not exist"
            continue
        if kind == "role" and value not in ROLES:
            errors["distribution"] = f"'{value}' is not a role"
            continue
        if (kind, value) not in cleaned:
            cleaned.append((kind, value))
    return cleaned


def _next_label(document: Document) -> str:
    """A, B, … Z, AA, AB … after the document's last revision label."""
    count = len(document.revisions)
    label = ""
    count += 1
    while count:
        count, rest = divmod(count - 1, 26)
        label = chr(65 + rest) + label
    return label


def add_revision(
    document: Document,
    actor: User | Actor,
    *,
    stream: BinaryIO | None,
    filename: str = "",
    change_summary: str = "",
    label: str | None = None,
) -> DocumentRevision:
    """Start a new draft revision with its file; only one revision of a document is in work at a time."""
    actor = as_actor(actor)
    if not actor.roles & AUTHOR_ROLES:
        raise NotPermitted("Requires the role manager, process owner or quality officer to write revisions")
    if document.obsolete:
        raise InvalidTransition(f"{document.number} is withdrawn from use; it takes no new revisions")
    in_work = [r for r in document.revisions if r.state in OPEN_REVISION_STATES]
    if in_work:
        raise InvalidTransition(f"Revision {in_work[0].label} is still in work; finish or cancel it first")
    errors: dict[str, str] = {}
    change_summary = clean_text(errors, "change_summary", change_summary, required=False, limit=5000)
    label = clean_text(errors, "label", label or _next_label(document), limit=20)
    if any(r.label == label for r in document.revisions):
        errors["label"] = f"revision {label} already exists"
    if stream is None:
        errors["file"] = "is required"
    if errors:
        raise InvalidData(errors)
    # read within the upload budget (pages, size unpacked, time, memory) before anything is stored
    stored = store_file(stream, filename, extract=True)
    try:
        with recorded_change(actor, f"revision {label} of {document.number} started") as session:
            revision = DocumentRevision(
                document_id=document.id,
                label=label,
                change_summary=change_summary,
                author_id=actor.id,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                extracted_text=stored.text,
            )
            session.add(revision)
            session.flush()  # the revision's id, for its search index row
            index_revision(session, revision)
    except BaseException:
        discard_if_unreferenced(stored)
        raise
    return revision


# --- what document events write besides the state -----------------------------------------


@effect("document", "submit_for_review")
def _submitted(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.change_summary = result.data["change_summary"]
    index_revision(db.session(), revision)


@effect("document", "request_changes")
def _changes_requested(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.review_comments = [
        *revision.review_comments,
        {"by": actor.name, "at": now.isoformat(), "comments": result.data["comments"]},
    ]


@effect("document", "approve")
def _approved(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.approved_by_id = actor.id
    revision.approved_at = now


@effect("document", "make_effective")
def _made_effective(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    """Supersede the revision in force, then request read receipts from the distribution list."""
    session = db.session()
    effective_date = result.data["effective_date"]
    revision.effective_date = effective_date
    # No autoflush until the old revision has left the in-force states: flushing the new one
    # first would break the one-in-force rule for an instant, and the database checks each row.
    with session.no_autoflush:
        previous = session.scalars(
            select(DocumentRevision).where(
                DocumentRevision.document_id == revision.document_id,
                DocumentRevision.state.in_(IN_FORCE_STATES),
                DocumentRevision.id != revision.id,
            )
        ).all()
        for old in previous:
            apply_event(old, "supersede", actor, {"superseded_by": revision.label}, comment="")
    session.flush()
    document = revision.document
    if document.review_period_months:
        document.next_review_due = _add_months(effective_date, document.review_period_months)
    due = effective_date + dt.timedelta(days=ACKNOWLEDGE_WITHIN_DAYS)
    readers = distribution_user_ids(document)
    readers_with_roles = (
        select(User).where(User.id.in_(readers)).order_by(User.id).options(selectinload(User.role_links))
    )
    for user in session.scalars(readers_with_roles) if readers else ():
        if can_view(document, user):  # a process on the list does not open a restricted document to its owners
            session.add(Acknowledgement(revision_id=revision.id, user_id=user.id, due_date=due))


@effect("document", "confirm_review")
def _review_confirmed(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    document = revision.document
    next_review = result.data.get("next_review_on")
    if next_review is None and document.review_period_months:
        next_review = _add_months(now.date(), document.review_period_months)
    document.next_review_due = next_review


@effect("document", "supersede")
def _superseded(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.superseded_at = now


@effect("document", "make_obsolete")
def _withdrawn(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.retired_reason = result.data["reason"]
    revision.superseded_at = now
    revision.document.obsolete = True
    revision.document.next_review_due = None


@effect("document", "cancel")
def _cancelled(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    revision.retired_reason = str(result.data.get("reason", ""))


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def distribution_user_ids(document: Document) -> list[int]:
    """Active users on the distribution list: named users, role holders, and owners of the process's documents."""
    session = db.session()
    ids: set[int] = set()
    for entry in document.distribution:
        if entry.kind == "user":
            ids.add(int(entry.value))
        elif entry.kind == "role":
            ids.update(session.scalars(select(UserRole.user_id).where(UserRole.role == entry.value)))
        else:
            ids.update(session.scalars(select(Document.owner_id).where(Document.process == entry.value)))
    if not ids:
        return []
    return list(session.scalars(select(User.id).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)))


def acknowledge(revision: DocumentRevision, user: User | Actor) -> Acknowledgement:
    """Record that ``user`` has read and understood the revision in force."""
    actor = as_actor(user)
    if revision.state not in IN_FORCE_STATES:
        raise InvalidTransition("Only the revision in force can be acknowledged")
    receipt = db.session.scalar(
        select(Acknowledgement).where(Acknowledgement.revision_id == revision.id, Acknowledgement.user_id == actor.id)
    )
    with recorded_change(actor, f"read and understood {revision.document.number} rev {revision.label}") as session:
        if receipt is None:  # not on the list, but reading it is welcome and recorded
            receipt = Acknowledgement(revision_id=revision.id, user_id=actor.id, due_date=dt.date.today())
            session.add(receipt)
        if receipt.acknowledged_at is None:
            receipt.acknowledged_at = utcnow()
    return receipt


def pending_acknowledgements(user: User | Actor) -> list[Acknowledgement]:
    """The revisions in force ``user`` is asked to read (only of documents they may see)."""
    actor = as_actor(user)
    return list(
        db.session.scalars(
            select(Acknowledgement)
            .join(DocumentRevision)
            .join(Document, Document.id == DocumentRevision.document_id)
            .where(
                Acknowledgement.user_id == actor.id,
                Acknowledgement.acknowledged_at.is_(None),
                DocumentRevision.state.in_(IN_FORCE_STATES),
                visible_to(actor),
            )
            .order_by(Acknowledgement.due_date)
            .options(
                contains_eager(Acknowledgement.revision).contains_eager(DocumentRevision.document)
            )  # the rows of the joins: one statement
        )
    )


#: the system acting on a schedule (no user: its history rows have no actor id)
SCHEDULER = Actor(id=None, name="qmsflow scheduler", roles=frozenset({"quality_officer"}))


def start_due_reviews(today: dt.date) -> list[DocumentRevision]:
    """Move every effective revision whose document's review date has come to *review due*."""
    due = db.session.scalars(
        select(DocumentRevision)
        .join(Document)
        .where(DocumentRevision.state == "effective", Document.next_review_due <= today)
        .order_by(DocumentRevision.id)
    ).all()
    started = []
    for revision in due:
        try:
            fire(revision, "mark_review_due", SCHEDULER, comment="periodic review date reached", today=today)
        except Conflict:
            continue  # someone acted on it meanwhile; the next run sees its new state
        started.append(revision)
    return started


#: who sees confidential and restricted documents besides their owner and distribution list
PRIVILEGED_ROLES = ("admin", "manager", "quality_officer")


def can_view(document: Document, user: Any) -> bool:
    """Public and internal documents are open to every user; the others to the owner, the
    distribution list (named users and roles) and quality staff.  ``user`` is a User or an Actor."""
    roles = set(user.roles)
    if document.confidentiality in ("public", "internal") or roles & set(PRIVILEGED_ROLES):
        return True
    if document.owner_id == user.id:
        return True
    return any(
        (entry.kind == "user" and entry.value == str(user.id)) or (entry.kind == "role" and entry.value in roles)
        for entry in document.distribution
    )


def visible_to(user: Any) -> Any:
    """``can_view`` as an SQL condition on Document, so that a page of the list is filtered in the query.

    Every place that names documents to a person uses one of the two: lists, search, exports,
    My work and the daily digest.
    """
    roles = set(user.roles)
    if roles & set(PRIVILEGED_ROLES):
        return sa.true()
    entry = DistributionEntry
    listed = sa.exists().where(
        entry.document_id == Document.id,
        sa.or_(
            sa.and_(entry.kind == "user", entry.value == str(user.id)),
            sa.and_(entry.kind == "role", entry.value.in_(sorted(roles))) if roles else sa.false(),
        ),
    )
    return sa.or_(Document.confidentiality.in_(("public", "internal")), Document.owner_id == user.id, listed)


#: how a document the reader may not see is named where its number and title would be
HIDDEN_DOCUMENT = "A document you may not see"


def visible_ids(ids: Iterable[int], user: Any) -> set[int]:
    """Which of the documents ``ids`` ``user`` may see (``visible_to``, one query)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(db.session.scalars(sa.select(Document.id).where(id_in(Document.id, wanted), visible_to(user))))


class StoredFileMissing(LookupError):
    """The revision's file is not in the store (deleted or never written)."""


def controlled_copy(revision: DocumentRevision, organisation: str) -> bytes:
    """The revision's file as handed out: a PDF stamped by its status on every page.

    The stamped copy is made once for each state of the revision (draft, effective,
    superseded …) and kept in the store beside the original, so that downloading a long
    PDF a hundred times stamps it once; the stamp's "printed" time is when that copy was
    made.  Raises StoredFileMissing, or PdfProblem when the stored PDF cannot be stamped.
    """
    path = storage_path(revision.sha256) if revision.sha256 else None
    if path is None or not path.is_file():
        raise StoredFileMissing(f"the file of revision {revision.id} is missing from the store ({path})")
    if revision.content_type != "application/pdf":
        return path.read_bytes()
    copy = stamped_path(revision.id, stamp_key(revision, organisation))
    if copy.is_file():
        return copy.read_bytes()
    from ..reports.documents import stamp_pdf

    data = stamp_pdf(
        path.read_bytes(),
        document_number=revision.document.number,
        revision=revision.label,
        effective_date=revision.effective_date,
        status=revision.state,
        organisation=organisation,
        printed_at=utcnow(),
    )
    _keep_stamped(copy, data)
    return data


STAMPED_FOLDER = "stamped"


def stamp_key(revision: DocumentRevision, organisation: str) -> str:
    """What the stamp of ``revision`` depends on, hashed: a change to any of it makes a new copy."""
    import hashlib

    parts = (
        revision.sha256 or "",
        revision.document.number,
        revision.label,
        revision.effective_date.isoformat() if revision.effective_date else "",
        revision.state,
        organisation,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def stamped_path(revision_id: int, key: str) -> Path:
    """Where the stamped copy of revision ``revision_id`` for ``key`` is kept in the store."""
    return Path(current_app.config["QMS_UPLOAD_FOLDER"]) / STAMPED_FOLDER / str(revision_id) / f"{key}.pdf"


def _keep_stamped(path: Path, data: bytes) -> None:
    """Write the copy whole (a reader never sees half a file) and drop the revision's older copies."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)
    for old in path.parent.glob("*.pdf"):
        if old != path:
            old.unlink(missing_ok=True)


def verify_files() -> list[str]:
    """Every stored document file re-hashed; returns the problems found (empty when all is well)."""
    import hashlib

    problems = []
    rows = db.session.execute(
        select(DocumentRevision.id, DocumentRevision.sha256, DocumentRevision.filename).where(
            DocumentRevision.sha256.is_not(None)
        )
    ).all()
    for revision_id, sha, name in rows:
        path: Path = storage_path(sha)
        if not path.exists():
            problems.append(f"revision {revision_id} ({name}): file {sha} is missing")
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1024 * 1024), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha:
            problems.append(f"revision {revision_id} ({name}): content does not match its SHA-256")
    return problems


def orphan_files() -> list[tuple[str, str]]:
    """(path in the upload folder, why) of each file no revision or attachment names: left by an
    upload whose change failed, or by an interrupted one.  Stamped copies count as named while
    their revision exists; backups and the files of other tools are not looked at."""
    from ..models import Attachment

    folder = Path(current_app.config["QMS_UPLOAD_FOLDER"])
    if not folder.is_dir():
        return []
    named = set(db.session.scalars(select(DocumentRevision.sha256).where(DocumentRevision.sha256.is_not(None))))
    named.update(db.session.scalars(select(Attachment.sha256)))
    revisions = {str(r) for r in db.session.scalars(select(DocumentRevision.id))}
    found: list[tuple[str, str]] = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() and _HEX2.fullmatch(path.name):
            for stored in sorted(path.iterdir()):
                if stored.is_file() and path.name + stored.name not in named:
                    found.append((f"{path.name}/{stored.name}", "no revision or attachment names it"))
        elif path.is_dir() and path.name == STAMPED_FOLDER:
            for copies in sorted(path.iterdir()):
                if copies.name not in revisions:
                    found += [
                        (f"{STAMPED_FOLDER}/{copies.name}/{c.name}", "stamped copy of a revision that does not exist")
                        for c in sorted(copies.iterdir())
                    ]
        elif path.is_file() and path.name.startswith("tmp"):
            found.append((path.name, "left by an interrupted upload"))
    return found


_HEX2 = re.compile(r"[0-9a-f]{2}")


def in_force_count(document_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            DocumentRevision.document_id == document_id, DocumentRevision.state.in_(IN_FORCE_STATES)
        )
    )


__all__ = [
    "acknowledge",
    "add_revision",
    "create_document",
    "distribution_user_ids",
    "orphan_files",
    "pending_acknowledgements",
    "start_due_reviews",
    "verify_files",
]
