"""What the audit modules share: the planners' role, the process standard, clause and standard checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from standards import Standard

from ...models import AuditProgramme, AuditTeamMember, ChecklistItem, Process, ProgrammeEntry, Site
from ..audit_trail import register_audited
from ..standards import find_standard as _find_standard  # bundled or imported

register_audited(Site, Process, AuditProgramme, ProgrammeEntry, AuditTeamMember, ChecklistItem)

#: who plans: sites, processes, programmes, audits and audit teams
PLANNER_ROLES = frozenset({"manager", "quality_officer"})
#: states of an audit that will not take place
NOT_HAPPENING = ("cancelled",)
#: the standard whose clause numbers a process lists (``Process.clause_numbers``)
PROCESS_STANDARD = "iso-9001-2015"


def _process_clauses(process: Process | None, standard_identifier: str) -> list[str]:
    """The process's clauses when the audit is against the standard they are numbered in."""
    if process is None or standard_identifier != PROCESS_STANDARD:
        return []
    return list(process.clause_numbers or [])


# --------------------------------------------------------------------------- helpers


def _check_standard(errors: dict[str, str], name: str, identifier: Any) -> Standard | None:
    if not isinstance(identifier, str) or not identifier.strip():
        errors[name] = "is required"
        return None
    try:
        return _find_standard(identifier.strip())
    except KeyError:
        errors[name] = f"no standard {identifier!r}"
        return None


def _check_clauses(errors: dict[str, str], name: str, standard: Standard | None, numbers: Any) -> list[str]:
    if numbers in (None, ""):
        return []
    if isinstance(numbers, str):
        numbers = [part.strip() for part in numbers.replace(";", ",").split(",")]
    if not isinstance(numbers, (list, tuple)):
        errors[name] = "must be a list of clause numbers"
        return []
    cleaned = list(dict.fromkeys(str(n).strip() for n in numbers if str(n).strip()))
    if standard is not None:
        unknown = [n for n in cleaned if not standard.has_clause(n)]
        if unknown:
            errors[name] = f"{standard.identifier} has no clause " + ", ".join(unknown[:5])
    return cleaned


def _clause_and_descendants(standard: Standard, numbers: Sequence[str]) -> list[str]:
    if not numbers:
        return [c.number for c in standard.clauses]
    chosen: list[str] = []
    for clause in standard.clauses:
        if any(clause.number == n or clause.number.startswith(n + ".") for n in numbers):
            chosen.append(clause.number)
    return chosen
