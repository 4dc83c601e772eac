"""What in the QMS cites a clause: a small registry that every module can add to.

An ISO-change review lists, for each clause change, the records that cite the old clause
(documents, processes, audit questions, nonconformities…). Each module that keeps clause
references registers a *citation source* here with ``register_citation_source``; the modules
being built beside this one (risks, objectives…) add theirs the same way and need nothing else
from the reviews. A source is asked once per review for every clause at a time, so it costs one
query, not one per clause.

Documents, processes and NCs cite bare clause numbers in ISO 9001:2015 numbering (the numbering
of the 2015 edition and its amendment); checklist questions cite a clause's URN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, select

from standards import Standard

from ..database import db
from ..models import ChecklistItem, Document, Nonconformity, Process

__all__ = [
    "Citation",
    "CitationSource",
    "citation_sources",
    "citations_of",
    "cites",
    "register_citation_source",
    "uses_iso_9001_2015_numbering",
]

#: the standards whose clause numbers records cite without naming the standard
NUMBERING = ("iso-9001-2015", "iso-9001-2015-amd1-2024")
#: the most records of one kind listed for one clause
MAX_PER_CLAUSE = 50


@dataclass(frozen=True)
class Citation:
    """One record citing a clause: its kind, id, what to show and where it lives."""

    kind: str
    id: int
    label: str
    url: str
    #: the clause number or URN the record cites (a sub-clause of the clause asked about, maybe)
    cites: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "url": self.url, "cites": self.cites}


#: (standard, clause numbers) → {clause number: [citations]}
CitationSource = Callable[[Standard, Sequence[str]], dict[str, list[Citation]]]


@dataclass(frozen=True)
class _Registered:
    kind: str
    label: str
    source: CitationSource


_sources: dict[str, _Registered] = {}


def register_citation_source(kind: str, label: str, source: CitationSource | None = None) -> Any:
    """Register what finds the records of ``kind`` (shown as ``label``) that cite clauses; usable as a decorator."""

    def register(fn: CitationSource) -> CitationSource:
        _sources[kind] = _Registered(kind, label, fn)
        return fn

    return register(source) if source is not None else register


def citation_sources() -> list[tuple[str, str]]:
    """(kind, label) of every registered source, in registration order."""
    return [(r.kind, r.label) for r in _sources.values()]


def cites(reference: str, number: str) -> bool:
    """Whether a reference to ``reference`` cites clause ``number`` (the clause itself or a sub-clause of it)."""
    return reference == number or reference.startswith(number + ".")


def uses_iso_9001_2015_numbering(standard: Standard) -> bool:
    return standard.identifier in NUMBERING


def citations_of(standard: Standard, numbers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each clause number: the groups of records citing it, ``[{"kind", "label", "items": [...]}]``.

    A source that fails (a module's table missing, say) is left out rather than failing the review.
    """
    wanted = [n for n in dict.fromkeys(numbers) if n]
    found: dict[str, list[dict[str, Any]]] = {number: [] for number in wanted}
    for registered in list(_sources.values()):
        by_clause = registered.source(standard, wanted)
        for number in wanted:
            items = by_clause.get(number) or []
            if items:
                found[number].append(
                    {
                        "kind": registered.kind,
                        "label": registered.label,
                        "items": [c.as_dict() for c in items[:MAX_PER_CLAUSE]],
                        "count": len(items),
                    }
                )
    return found


def _by_clause(
    rows: Sequence[tuple[Citation, Sequence[str]]], numbers: Sequence[str], *, widen: bool = False
) -> dict[str, list[Citation]]:
    """Citations by clause number; with ``widen`` a reference to a clause also cites its sub-clauses."""
    found: dict[str, list[Citation]] = defaultdict(list)
    for citation, references in rows:
        for number in numbers:
            hit = next((str(r) for r in references if cites(str(r), number) or (widen and cites(number, str(r)))), None)
            if hit is not None:
                found[number].append(Citation(citation.kind, citation.id, citation.label, citation.url, hit))
    return found


@register_citation_source("documents", "Documents")
def _documents(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    if not uses_iso_9001_2015_numbering(standard):
        return {}
    rows = db.session.execute(
        select(Document.id, Document.number, Document.title, Document.clause_refs)
        .where(Document.obsolete.is_(False))
        .order_by(Document.number)
    )
    return _by_clause(
        [(Citation("documents", i, f"{n} {t}", f"/documents/{i}"), refs or []) for i, n, t, refs in rows], numbers
    )


@register_citation_source("processes", "Processes")
def _processes(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    if not uses_iso_9001_2015_numbering(standard):
        return {}
    rows = db.session.execute(
        select(Process.id, Process.code, Process.name, Process.clause_numbers)
        .where(Process.active.is_(True))
        .order_by(Process.name)
    )
    # a process addresses a clause with all its sub-clauses: one addressing 6.1 cites 6.1.2 too
    return _by_clause(
        [(Citation("processes", i, f"{name} ({code})", "/processes"), refs or []) for i, code, name, refs in rows],
        numbers,
        widen=True,
    )


@register_citation_source("questions", "Audit questions")
def _questions(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    identifiers = NUMBERING if uses_iso_9001_2015_numbering(standard) else (standard.identifier,)
    rows = db.session.execute(
        select(ChecklistItem.id, ChecklistItem.audit_id, ChecklistItem.clause_number, ChecklistItem.question)
        .where(
            ChecklistItem.standard_identifier.in_(identifiers),
            or_(
                *(
                    or_(
                        ChecklistItem.clause_number == n,
                        ChecklistItem.clause_number.startswith(n + ".", autoescape=True),
                    )
                    for n in numbers
                ),
                false(),
            ),
        )
        .order_by(ChecklistItem.id)
    )
    return _by_clause(
        [
            (Citation("questions", i, question[:160], f"/audits/{audit_id}#item-{i}"), [number])
            for i, audit_id, number, question in rows
        ],
        numbers,
    )


@register_citation_source("nonconformities", "Nonconformities")
def _nonconformities(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    if not uses_iso_9001_2015_numbering(standard):
        return {}
    from .nonconformities import nc_is_open

    rows = db.session.execute(
        select(Nonconformity.id, Nonconformity.reference, Nonconformity.title, Nonconformity.clause_refs)
        .where(nc_is_open())
        .order_by(Nonconformity.id)
    )
    return _by_clause(
        [
            (Citation("nonconformities", i, f"{ref} {title}", f"/nonconformities/{i}"), refs or [])
            for i, ref, title, refs in rows
        ],
        numbers,
    )


@register_citation_source("risks", "Risks")
def _risks(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    """Open risks of the register that cite the clause (ISO 9001 6.1)."""
    if not uses_iso_9001_2015_numbering(standard):
        return {}
    from ..models import Risk

    rows = db.session.execute(
        select(Risk.id, Risk.reference, Risk.title, Risk.clause_refs)
        .where(Risk.state.in_(Risk.OPEN_STATES))
        .order_by(Risk.reference)
    )
    return _by_clause(
        [(Citation("risks", i, f"{ref} {title}", f"/risks/{i}"), refs or []) for i, ref, title, refs in rows], numbers
    )


#: the clause every quality objective evidences: objectives and planning to achieve them
OBJECTIVES_CLAUSE = "6.2"


@register_citation_source("objectives", "Quality objectives")
def _objectives(standard: Standard, numbers: Sequence[str]) -> dict[str, list[Citation]]:
    """Quality objectives in force evidence 6.2 and its sub-clauses (an objective names no clause of its own)."""
    if not uses_iso_9001_2015_numbering(standard) or not any(cites(n, OBJECTIVES_CLAUSE) for n in numbers):
        return {}
    from ..models import QualityObjective

    rows = db.session.execute(
        select(QualityObjective.id, QualityObjective.reference, QualityObjective.title)
        .where(QualityObjective.state.in_(QualityObjective.OPEN_STATES))
        .order_by(QualityObjective.reference)
    )
    return _by_clause(
        [
            (Citation("objectives", i, f"{ref} {title}", f"/objectives/{i}"), [OBJECTIVES_CLAUSE])
            for i, ref, title in rows
        ],
        numbers,
        widen=True,
    )
