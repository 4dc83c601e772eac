"""Audit results: checklist result counts, conformity scores and their trend, finding NCs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...database import db
from ...models import RESULTS, Audit, ChecklistItem, Nonconformity

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Score:
    """Conformity of a checklist: conforming answers as a share of applicable answered ones."""

    standard_identifier: str
    conforming: int
    applicable: int
    findings: Mapping[str, int]

    @property
    def percent(self) -> float | None:
        return round(100 * self.conforming / self.applicable, 1) if self.applicable else None


def result_counts(audit: Audit) -> dict[str, int]:
    counts = {key: 0 for key in RESULTS}
    counts["unanswered"] = 0
    for item in audit.items:
        counts[item.result or "unanswered"] += 1
    return counts


def scores(audit: Audit) -> list[Score]:
    """One score per standard on the checklist (service performance audits report it)."""
    grouped: dict[str, list[ChecklistItem]] = defaultdict(list)
    for item in audit.items:
        grouped[item.standard_identifier].append(item)
    found = []
    for identifier, items in grouped.items():
        applicable = [i for i in items if i.result and i.result != "not_applicable"]
        findings = {key: sum(1 for i in items if i.result == key) for key in ("major", "minor", "observation", "ofi")}
        conforming = sum(1 for i in applicable if i.result in ("conforming", "observation", "ofi"))
        found.append(Score(identifier, conforming, len(applicable), findings))
    return found


def score_trend(audit: Audit, limit: int = 8) -> list[tuple[Audit, list[Score]]]:
    """This audit and earlier ones of the same kind, standard and process, oldest first."""
    query = (
        select(Audit)
        .options(selectinload(Audit.items))
        .where(
            Audit.kind == audit.kind,
            Audit.standard_identifier == audit.standard_identifier,
            Audit.state.in_(Audit.CONDUCTED_STATES),
            Audit.id != audit.id,
        )
        .order_by(Audit.planned_start.desc(), Audit.id.desc())
        .limit(limit - 1)
    )
    if audit.process_id is not None:
        query = query.where(Audit.process_id == audit.process_id)
    if audit.planned_start is not None:
        query = query.where(Audit.planned_start <= audit.planned_start)
    earlier = list(db.session.scalars(query))[::-1]
    return [(a, scores(a)) for a in [*earlier, audit]]


def finding_ncs(audit: Audit) -> list[Nonconformity]:
    return [item.nonconformity for item in audit.items if item.nonconformity is not None]
