"""The QMS implementation board: each process and clause from planned to effective (ISO 9001).

Every active process and every clause (two levels deep by default: 4.1 … 10.3) is one item
following the ``qms_implementation`` lifecycle (planned → documented → implemented → monitored →
effective). Evidence links (a controlled document, an audit, a nonconformity, a web address)
show where each item stands; the guards read their counts from the facts provider below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from workflows import get_lifecycle
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in
from ..models import (
    NC_ENDED_STATES,
    Actor,
    Audit,
    ChecklistItem,
    Document,
    ImplementationItem,
    Nonconformity,
    Process,
    User,
)
from .audit_trail import recorded_change
from .standards import find_standard
from .validation import clean_text, require_roles, row_by_id
from .workflow import as_actor, facts_provider

#: who sets up the board
BOARD_ROLES = frozenset({"manager", "quality_officer"})
#: who links evidence (a process owner only on the items they own)
EVIDENCE_ROLES = frozenset({"manager", "quality_officer"})
EVIDENCE_KINDS = {
    "document": "Controlled document",
    "audit": "Internal audit",
    "nonconformity": "Nonconformity",
    "url": "Web address",
}
#: audits whose report is approved: they show whether what they audited is effective
COMPLETED_AUDIT_STATES = ("report_approved", "follow_up", "closed")
NC_CLOSED_STATES = NC_ENDED_STATES
MAX_EVIDENCE = 100
DEFAULT_STANDARD = "iso-9001-2015"


def _within(number: str, clause: str) -> bool:
    """Whether ``number`` is ``clause`` or one of its sub-clauses."""
    return number == clause or number.startswith(clause + ".")


# --------------------------------------------------------------------------- the board


def build_board(actor: User | Actor, *, standard_identifier: str = DEFAULT_STANDARD, depth: int = 2) -> int:
    """Add the items missing from the board: every active process, every clause ``depth`` levels deep.

    Running it again adds only what is new (a new process); returns the number of items added.
    """
    actor = as_actor(actor)
    require_roles(actor, BOARD_ROLES, "set up the implementation board")
    errors: dict[str, str] = {}
    standard = None
    try:
        standard = find_standard(str(standard_identifier or "").strip())
    except KeyError:
        errors["standard_identifier"] = f"no standard {standard_identifier!r}"
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 4:
        errors["depth"] = "must be a whole number from 1 to 4"
    if errors:
        raise InvalidData(errors)
    assert standard is not None
    session = db.session
    have_processes = set(
        session.scalars(select(ImplementationItem.process_id).where(ImplementationItem.process_id.is_not(None)))
    )
    have_clauses = set(
        session.scalars(
            select(ImplementationItem.clause_number).where(
                ImplementationItem.standard_identifier == standard.identifier,
                ImplementationItem.clause_number.is_not(None),
            )
        )
    )
    processes = [
        p
        for p in session.scalars(select(Process).where(Process.active.is_(True)).order_by(Process.name))
        if p.id not in have_processes
    ]
    clauses = [c for c in standard.clauses if c.depth == depth and c.number not in have_clauses]
    if not processes and not clauses:
        return 0
    try:
        with recorded_change(actor, f"implementation board built for {standard.identifier}") as session:
            for process in processes:
                session.add(
                    ImplementationItem(
                        process_id=process.id, standard_identifier=standard.identifier, owner_id=process.owner_id
                    )
                )
            for clause in clauses:
                session.add(ImplementationItem(standard_identifier=standard.identifier, clause_number=clause.number))
    except IntegrityError:  # someone built the board at the same moment: theirs stands
        raise Conflict("The board was changed at the same time; reload it and build again") from None
    return len(processes) + len(clauses)


def _sort_key(standard_order: Mapping[str, int]) -> Any:
    def key(item: ImplementationItem) -> tuple[int, int, str]:
        if item.process_id is not None:
            return (0, 0, item.process.name.lower() if item.process else "")
        return (1, standard_order.get(item.clause_number or "", 10**6), item.clause_number or "")

    return key


def board(standard_identifier: str = DEFAULT_STANDARD) -> dict[str, list[ImplementationItem]]:
    """The items per state (in the lifecycle's order): every process, then the standard's clauses."""
    try:
        order = {c.number: i for i, c in enumerate(find_standard(standard_identifier).clauses)}
    except KeyError:
        order = {}
    items = db.session.scalars(
        select(ImplementationItem)
        .options(selectinload(ImplementationItem.process), selectinload(ImplementationItem.owner))
        .where(
            (ImplementationItem.process_id.is_not(None))
            | (ImplementationItem.standard_identifier == standard_identifier)
        )
    ).all()
    columns: dict[str, list[ImplementationItem]] = {
        state.name: [] for state in get_lifecycle("qms_implementation").states
    }
    for item in sorted(items, key=_sort_key(order)):
        columns.setdefault(item.state, []).append(item)
    return columns


@dataclass(frozen=True)
class BoardSummary:
    """Where the QMS stands: items per state; retired items count for nothing."""

    counts: Mapping[str, int]
    total: int
    effective: int

    @property
    def percent_effective(self) -> float | None:
        return round(100 * self.effective / self.total, 1) if self.total else None


def board_summary(columns: Mapping[str, Sequence[ImplementationItem]]) -> BoardSummary:
    counts = {state: len(items) for state, items in columns.items()}
    total = sum(n for state, n in counts.items() if state != "retired")
    return BoardSummary(counts, total, counts.get("effective", 0))


def item_label(item: ImplementationItem) -> str:
    if item.process_id is not None:
        return f"Process: {item.process.name}" if item.process else "Process"
    try:
        clause = find_standard(item.standard_identifier).clause(item.clause_number or "")
        return clause.label
    except KeyError:
        return item.clause_number or ""


# --------------------------------------------------------------------------- evidence


def _check_evidence_rights(item: ImplementationItem, actor: Actor) -> None:
    owns = actor.id is not None and (
        item.owner_id == actor.id or (item.process is not None and item.process.owner_id == actor.id)
    )
    if not actor.roles & EVIDENCE_ROLES and not ("process_owner" in actor.roles and owns):
        raise NotPermitted("Only a quality officer, a manager or the item's owner can change its evidence")
    if item.is_terminal:
        raise InvalidTransition(f"The item is {item.state_label.lower()}; its evidence is fixed")


def add_evidence(
    item: ImplementationItem, actor: User | Actor, *, kind: str, ref: Any, label: str = ""
) -> dict[str, str]:
    """Link evidence: a document, an audit or a nonconformity (by id), or a web address (http or https)."""
    actor = as_actor(actor)
    _check_evidence_rights(item, actor)
    errors: dict[str, str] = {}
    label = clean_text(errors, "label", label, required=False, limit=200)
    value = ""
    default_label = ""
    if kind not in EVIDENCE_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(EVIDENCE_KINDS)
    elif kind == "url":
        value = clean_text(errors, "ref", ref, limit=500)
        parts = urlsplit(value) if value and "ref" not in errors else None
        if parts is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
            errors["ref"] = "must be a web address starting with https:// or http://"
        default_label = value
    else:
        model = {"document": Document, "audit": Audit, "nonconformity": Nonconformity}[kind]
        record = row_by_id(model, ref.strip() if isinstance(ref, str) else ref)
        if record is None:
            errors["ref"] = f"no {kind} with id {ref!r}"
        else:
            value = str(record.id)
            if isinstance(record, Document):
                default_label = f"{record.number} {record.title}"
                if record.obsolete:
                    errors["ref"] = f"the document {record.number} is obsolete"
            else:
                default_label = f"{record.reference} {record.title}"
    evidence = list(item.evidence or [])
    if value and any(e.get("kind") == kind and e.get("ref") == value for e in evidence):
        errors["ref"] = "is already linked as evidence"
    if len(evidence) >= MAX_EVIDENCE:
        errors["ref"] = f"an item holds at most {MAX_EVIDENCE} pieces of evidence"
    if errors:
        raise InvalidData(errors)
    entry = {"kind": kind, "ref": value, "label": (label or default_label)[:200]}
    with recorded_change(actor, f"evidence linked to {item_label(item)}"):
        item.evidence = [*evidence, entry]
    return entry


def remove_evidence(item: ImplementationItem, actor: User | Actor, index: int) -> None:
    actor = as_actor(actor)
    _check_evidence_rights(item, actor)
    evidence = list(item.evidence or [])
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(evidence):
        raise InvalidData({"index": "no such piece of evidence"})
    del evidence[index]
    with recorded_change(actor, f"evidence removed from {item_label(item)}"):
        item.evidence = evidence


# --------------------------------------------------------------------------- facts


@facts_provider(
    "qms_implementation",
    provides=("document_evidence_count", "evidence_count", "completed_audit_count", "open_major_nc_count"),
)
def _item_facts(session: Session, items: Sequence[ImplementationItem]) -> dict[int, dict[str, Any]]:
    """Evidence counts, completed audits and open major NCs per item, in four queries."""
    document_ids = {
        int(e["ref"])
        for item in items
        for e in item.evidence or []
        if e.get("kind") == "document" and e.get("ref", "").isdigit()
    }
    live_documents = (
        set(
            session.scalars(
                select(Document.id).where(id_in(Document.id, list(document_ids)), Document.obsolete.is_(False))
            )
        )
        if document_ids
        else set()
    )
    process_ids = [item.process_id for item in items if item.process_id is not None]
    audits_by_process: dict[int, set[int]] = defaultdict(set)
    if process_ids:
        for audit_id, process_id in session.execute(
            select(Audit.id, Audit.process_id).where(
                Audit.state.in_(COMPLETED_AUDIT_STATES), id_in(Audit.process_id, process_ids)
            )
        ):
            audits_by_process[process_id].add(audit_id)
    clause_items = [item for item in items if item.clause_number is not None]
    audited_clauses: list[tuple[int, str, str]] = []
    if clause_items:
        audited_clauses = [
            tuple(row)  # type: ignore[misc]
            for row in session.execute(
                select(ChecklistItem.audit_id, ChecklistItem.standard_identifier, ChecklistItem.clause_number)
                .join(Audit, Audit.id == ChecklistItem.audit_id)
                .where(
                    Audit.state.in_(COMPLETED_AUDIT_STATES),
                    ChecklistItem.standard_identifier.in_({i.standard_identifier for i in clause_items}),
                    ChecklistItem.clause_number != "",
                )
                .distinct()
            )
        ]
    process_names = dict(
        session.execute(select(Process.id, Process.name).where(id_in(Process.id, process_ids))).all()
        if process_ids
        else []
    )
    majors = session.execute(
        select(Nonconformity.process, Nonconformity.clause_refs).where(
            Nonconformity.severity == "major", Nonconformity.state.not_in(NC_CLOSED_STATES)
        )
    ).all()
    facts: dict[int, dict[str, Any]] = {}
    for item in items:
        evidence = item.evidence or []
        documents = sum(
            1
            for e in evidence
            if e.get("kind") == "document" and e.get("ref", "").isdigit() and int(e["ref"]) in live_documents
        )
        if item.process_id is not None:
            completed = len(audits_by_process.get(item.process_id, set()))
            name = (process_names.get(item.process_id) or "").strip().lower()
            open_majors = sum(1 for process, _ in majors if name and (process or "").strip().lower() == name)
        else:
            clause = item.clause_number or ""
            completed = len(
                {
                    audit_id
                    for audit_id, standard, number in audited_clauses
                    if standard == item.standard_identifier and _within(number, clause)
                }
            )
            open_majors = sum(1 for _, refs in majors if any(_within(str(ref).strip(), clause) for ref in refs or []))
        facts[item.id] = {
            "document_evidence_count": documents,
            "evidence_count": len(evidence),
            "completed_audit_count": completed,
            "open_major_nc_count": open_majors,
        }
    return facts


def item_for_process(process: Process) -> ImplementationItem | None:
    return db.session.scalar(select(ImplementationItem).where(ImplementationItem.process_id == process.id))


def clause_item(number: str, standard_identifier: str = DEFAULT_STANDARD) -> ImplementationItem | None:
    return db.session.scalar(
        select(ImplementationItem).where(
            ImplementationItem.standard_identifier == standard_identifier, ImplementationItem.clause_number == number
        )
    )
