"""My work: everything a user can act on now, found in SQL, paged and sorted in the database.

The large registers (nonconformities, corrective actions, document revisions, risk treatment
actions) are *SQL sources*: one query per lifecycle selects the records in the states where the
user holds a role for an event that is not blocked, with the lifecycle's guards written as SQL
conditions (segregation of duties, the NC's plan, open actions and SCARs, restricted documents).
Those queries are combined with UNION ALL, counted and ordered in the database (overdue first,
then due date, then reference), and only the rows of the page shown are loaded and have their
event labels worked out by the workflow engine.

The rest (audits the user is on, complaints and surveys they own, certification reminders,
review actions, training, the risks and context items they own, planning, suppliers and
equipment) is *per user*: each is already a handful of queries over the few records the user
owns or is assigned, merged with the SQL rows in the same order.

``tests/core/test_my_work.py`` checks the SQL sources against the lifecycles (every candidate
record's available events) for every role.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, literal, select
from sqlalchemy.orm import joinedload

from ..database import db, id_in
from ..models import (
    Actor,
    Audit,
    AuditTeamMember,
    Complaint,
    CorrectiveAction,
    Document,
    DocumentRevision,
    Inspection,
    Nonconformity,
    Survey,
    TransitionHistory,
    User,
)
from .documents import pending_acknowledgements, visible_to
from .nonconformities import PLAN_ROLES
from .workflow import as_actor, available_events_many, facts_for

log = logging.getLogger(__name__)

QO, MGR, AUD, PO = "quality_officer", "manager", "internal_auditor", "process_owner"
#: what an undated item sorts as: after every dated one
NO_DUE = dt.date.max


@dataclass
class WorkItem:
    kind: str
    record_id: int
    reference: str
    title: str
    state_label: str
    actions: list[str]
    due: dt.date | None
    overdue: bool
    #: for review actions: the kind of review the record_id belongs to (iso_change, org_change, management)
    review_kind: str = ""


def work_order(item: WorkItem) -> tuple[bool, dt.date, str]:
    """How work is listed: overdue first, then by due date (undated last), then by reference."""
    return (not item.overdue, item.due or NO_DUE, item.reference)


# --------------------------------------------------------------------------- SQL sources


@dataclass(frozen=True)
class Branch:
    """Part of a lifecycle's actionable records in which the order of My work is an index's order.

    ``where`` selects them; ``due`` is their due date (None: undated), and when ``overdue`` a date
    before today makes them overdue, so "overdue first, then due date, then reference" is simply
    ``due`` (undated last), then reference: a page reads the first rows of an index and stops.
    """

    where: Any
    due: Any = None
    overdue: bool = True
    #: the order after the due date when it is not the reference's (an equal order the index serves)
    order: tuple[Any, ...] | None = None
    #: what counting needs of ``where`` when less (a condition that only splits the order); False:
    #: counted with another branch
    count_where: Any = None


@dataclass(frozen=True)
class Frame:
    """What a source's rows are read from: ``select`` gives the columns and the joins (no WHERE) for a
    given due and overdue expression; ``reference`` and ``key`` order a branch."""

    select: Callable[[Any, Any], sa.Select]
    reference: Any
    key: Any


@dataclass(frozen=True)
class SqlSource:
    """One lifecycle's actionable records as SELECTs of (kind, key, reference, due, overdue, rank).

    ``branches(actor, today)`` gives the parts of what the user may act on (None or empty when the
    user's roles allow nothing), each sorted by an index in My work's order; ``frame(today)`` the
    table and joins they are read from. ``query(actor, today)`` is all of them in one select (the
    digest). ``fetch(keys)`` loads the records of the given keys (the rows of a page, or of every
    digest of a run); ``item(record, allowed, actor, today)`` builds the WorkItem of one, given the
    labels of the events the user may fire on it.
    """

    kind: str
    rank: int
    branches: Callable[[Actor, dt.date], list[Branch]]
    frame: Callable[[dt.date], Frame]
    #: the due date of any record of the source (a CASE over the branches' dues) and whether it is overdue
    due: Callable[[dt.date], tuple[Any, Any]]
    fetch: Callable[[Sequence[int]], list[Any]]
    item: Callable[[Any, list[str], Actor, dt.date], WorkItem]
    #: the digest's select of every record, when not the branches' OR: a join the planner estimates
    #: well when reading everything (the branches' row-by-row forms made the digest half as slow again)
    whole: Callable[[Actor, dt.date], sa.Select | None] | None = None
    #: the page's count of the records (a select of ``key``), when it needs less than the branches'
    #: frame; None from it: counted from the branches
    count: Callable[[Actor, dt.date], sa.Select | None] | None = None

    def query(self, actor: Actor, today: dt.date) -> sa.Select | None:
        """Every record of the source the user may act on, in one select (unordered)."""
        if self.whole is not None:
            return self.whole(actor, today)
        branches = self.branches(actor, today)
        if not branches:
            return None
        due, overdue = self.due(today)
        return self.frame(today).select(due, overdue).where(sa.or_(*(b.where for b in branches)))

    def first(self, actor: Actor, today: dt.date, limit: int) -> list[Any]:
        """Each branch's first ``limit`` rows in My work's order, as subqueries (a page needs no more)."""
        frame = self.frame(today)
        parts = []
        for branch in self.branches(actor, today) or []:
            if branch.due is None:
                stmt, order = frame.select(sa.cast(sa.null(), sa.Date), sa.false()), []
            else:
                overdue = branch.due < today if branch.overdue else sa.false()
                stmt, order = frame.select(branch.due, overdue), [branch.due.asc().nulls_last()]
            order += [*(branch.order or (_code_point(frame.reference),)), frame.key]
            parts.append(stmt.where(branch.where).order_by(*order).limit(limit).subquery())
        return parts

    def counted(self, actor: Actor, today: dt.date, cap: int) -> sa.Select | None:
        """(kind, n): the records of the source the user may act on, counted up to ``cap + 1``."""
        branches = self.branches(actor, today)
        if not branches:
            return None
        simpler = self.count(actor, today) if self.count is not None else None
        if simpler is not None:
            some = simpler.limit(cap + 1).subquery()
            return select(literal(self.kind).label("kind"), func.count().label("n")).select_from(some)
        frame = self.frame(today)
        wheres = [b.where if b.count_where is None else b.count_where for b in branches]
        parts = [frame.select(sa.cast(sa.null(), sa.Date), sa.false()).where(w) for w in wheres if w is not False]
        found = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        some = select(found.c.key).limit(cap + 1).subquery()
        return select(literal(self.kind).label("kind"), func.count().label("n")).select_from(some)


def _code_point(reference: Any) -> Any:
    """A reference in code-point order (as Python sorts), as the "C" collation indexes are built."""
    return reference.collate("C") if db.session.get_bind().dialect.name == "postgresql" else reference


def _row(kind: str, rank: int, key: Any, reference: Any, due: Any, overdue: Any) -> list[Any]:
    return [
        literal(kind).label("kind"),
        literal(rank).label("rank"),
        key.label("key"),
        reference.label("reference"),
        due.label("due"),
        sa.case((overdue, 1), else_=0).label("overdue"),
    ]


def _has(actor: Actor, *roles: str) -> bool:
    return bool(actor.roles & set(roles))


def _not_actor(column: Any, actor: Actor) -> Any:
    """Segregation of duties as SQL: the user in ``column`` (if any) is not the actor."""
    if actor.id is None:
        return sa.true()
    return column.is_(None) | (column != actor.id)


def _allowed_labels(
    records: Sequence[Any], actor: Actor, today: dt.date, facts: Mapping[int, Mapping[str, Any]] | None = None
) -> dict[int, list[str]]:
    return {
        record_id: [a.event.label for a in events if a.allowed]
        for record_id, events in available_events_many(records, actor, today, facts=facts).items()
    }


def _missing(kind: str, key: int) -> None:
    """A row the SQL conditions chose but the engine finds nothing to do on: the two disagree."""
    log.warning("My work: %s %s was selected in SQL but has no event the user can fire", kind, key)


# -- nonconformities


def _nc_due() -> Any:
    nc = Nonconformity
    return sa.case(
        (nc.state == "triaged", nc.containment_due),
        (nc.state == "actions_completed", nc.verification_due),
        else_=sa.null(),
    )


def _found(query: sa.Select) -> Any:
    """Whether ``query`` (correlated to the outer row) finds a row, as a scalar subquery looked up row by row."""
    return query.limit(1).scalar_subquery().is_not(None)


def _nc_branches(actor: Actor, today: dt.date) -> list[Branch]:
    return _nc_parts(actor, today, row_by_row=True)


def _nc_query(actor: Actor, today: dt.date) -> sa.Select | None:
    """The digest's select of every NC the user may act on: the branches with their guards as NOT EXISTS,
    which PostgreSQL answers by hashing the open actions once when reading them all (the page's
    row-by-row lookups made the digest of 491 users a tenth slower)."""
    branches = _nc_parts(actor, today, row_by_row=False)
    if not branches:
        return None
    due, overdue = _nc_due_overdue(today)
    return _nc_frame(today).select(due, overdue).where(sa.or_(*(b.where for b in branches)))


def _nc_parts(actor: Actor, today: dt.date, *, row_by_row: bool) -> list[Branch]:
    from ..models import Scar

    nc, ca, th = Nonconformity, CorrectiveAction, TransitionHistory
    # an open action or SCAR blocks completing and closing. For a page (``row_by_row``) they are asked
    # first, row by row, in a CASE before the guards that read the history: as a NOT EXISTS the planner
    # made each an anti-join above the scan, so the history's lookups ran for every NC scanned past, and
    # most NCs whose plan runs have an open action (590 looked up to fill a page at 100,000 NCs); a
    # CASE asks the history for the others only. And as a scalar subquery, not an EXISTS, which
    # PostgreSQL may answer by hashing every open action first (11,600 at a million NCs, 6 ms each
    # time) where a page needs a few hundred index lookups
    open_action: Any = sa.exists().where(ca.nonconformity_id == nc.id, ca.state.in_(ca.OPEN_STATES))
    open_scar = sa.exists().where(Scar.nonconformity_id == nc.id, Scar.state.in_(Scar.OPEN_STATES))
    if row_by_row:
        open_action = _found(
            select(ca.nonconformity_id).where(ca.nonconformity_id == nc.id, ca.state.in_(ca.OPEN_STATES))
        )
    branches: list[Branch] = []
    if _has(actor, MGR, QO):
        branches.append(Branch(nc.state == "reported"))
    elif _has(actor, AUD, PO):  # withdraw: only the person who raised it (or a quality officer)
        branches.append(Branch((nc.state == "reported") & (nc.raised_by_id == actor.id)))
    if _has(actor, MGR, QO, PO):
        branches.append(Branch(nc.state == "triaged", nc.containment_due))
        branches.append(Branch(nc.state == "root_cause_identified"))
    if _has(actor, PO, QO):
        branches.append(Branch(nc.state == "contained"))
    elif MGR in actor.roles:  # only an observation closes without corrective action, not by its raiser
        branches.append(
            Branch(
                (nc.state == "contained")
                & (nc.severity == "observation")
                & _not_actor(nc.raised_by_id, actor)
                & ~open_scar
            )
        )
    if _has(actor, PO, QO):  # complete the actions: none open, and a new one after a reopening
        reopened = (
            select(func.max(th.at))
            .where(th.lifecycle == "nonconformity", th.event == "mark_ineffective", th.record_id == nc.id)
            .correlate_except(th)  # to the NC of the outer query, also inside the EXISTS below
            .scalar_subquery()
        )
        replanned = reopened.is_(None) | sa.exists().where(
            ca.nonconformity_id == nc.id, ca.state != "cancelled", ca.created_at > reopened
        )
        if row_by_row:
            branches.append(
                Branch((nc.state == "action_planned") & sa.case((open_action, sa.false()), else_=replanned))
            )
        else:
            branches.append(Branch((nc.state == "action_planned") & ~open_action & replanned))
    if _has(actor, AUD, MGR, QO):
        branches.append(Branch(nc.state == "actions_completed", nc.verification_due))
    if _has(actor, MGR, QO):  # close: not by whoever verified its effectiveness (the latest verification)
        verifier = (
            select(th.actor_id)
            .where(th.lifecycle == "nonconformity", th.event == "verify_effectiveness", th.record_id == nc.id)
            .order_by(th.id.desc())
            .limit(1)
            .correlate_except(th)
            .scalar_subquery()
        )
        if row_by_row:
            scar = _found(select(Scar.id).where(Scar.nonconformity_id == nc.id, Scar.state.in_(Scar.OPEN_STATES)))
            closable = sa.case((open_action | scar, sa.false()), else_=_not_actor(verifier, actor))
        else:
            closable = ~open_action & ~open_scar & _not_actor(verifier, actor)
        branches.append(Branch((nc.state == "effectiveness_verified") & closable))
    return branches


def _nc_frame(today: dt.date) -> Frame:
    nc = Nonconformity
    return Frame(lambda due, overdue: select(*_row("nc", 0, nc.id, nc.reference, due, overdue)), nc.reference, nc.id)


def _nc_due_overdue(today: dt.date) -> tuple[Any, Any]:
    due = _nc_due()
    return due, due < today


def _nc_fetch(keys: Sequence[int]) -> list[Any]:
    return list(db.session.scalars(select(Nonconformity).where(id_in(Nonconformity.id, list(keys)))))


def _nc_item(nc: Any, allowed: list[str], actor: Actor, today: dt.date) -> WorkItem:
    if actor.roles & PLAN_ROLES and nc.state == "root_cause_identified":
        allowed.insert(0, "Add corrective action")  # planning is work even while the plan cannot be approved
    if not allowed:
        _missing("nc", nc.id)
    due = {"triaged": nc.containment_due, "actions_completed": nc.verification_due}.get(nc.state)
    return WorkItem("nc", nc.id, nc.reference, nc.title, nc.state_label, allowed, due, bool(due and due < today))


# -- corrective actions and risk treatment actions (the same rules, following their parent)


def _action_parts(
    kind: str, rank: int, model: Any, parent_state: Any, running: tuple[str, ...], still_open: Any
) -> tuple[Callable[[Actor, dt.date], list[Branch]], Callable[[dt.date], Frame], Callable[[dt.date], tuple[Any, Any]]]:
    """The branches, frame and due of an action source (corrective or risk treatment actions).

    The parent's state is read row by row (a scalar subquery, not a join) and its test hidden from the
    planner's estimates (``_unestimated``): estimating from each table's own statistics, it thought
    few actions have a parent whose plan runs (nearly all do) and sorted every action instead of
    reading the first ones in the index's order (30-100 ms instead of 1 ms at a million NCs).
    """
    running_ok = _unestimated(parent_state.in_(running))
    open_ok = _unestimated(still_open(parent_state))

    def branches(actor: Actor, today: dt.date) -> list[Branch]:
        if QO in actor.roles:
            owner_ok: Any = sa.true()
        else:
            owner_ok = model.owner_id.is_(None) | (model.owner_id == actor.id)
        still: list[Any] = []
        if _has(actor, PO, QO, MGR):  # start, mark implemented: while the parent's plan runs, by the owner
            still.append(running_ok & owner_ok)
        if _has(actor, QO, MGR):  # cancel: while the parent is still acted on
            still.append(open_ok)
        found = [Branch(model.state.in_(model.OPEN_STATES) & sa.or_(*still), model.due_date)] if still else []
        if _has(actor, QO, AUD, MGR):  # send back (verify too, when someone else implemented it)
            found.append(Branch((model.state == "implemented") & running_ok, model.due_date, overdue=False))
        return found

    def frame(today: dt.date) -> Frame:
        return Frame(
            lambda due, overdue: select(*_row(kind, rank, model.id, model.reference, due, overdue)),
            model.reference,
            model.id,
        )

    def due(today: dt.date) -> tuple[Any, Any]:
        return model.due_date, model.state.in_(model.OPEN_STATES) & (model.due_date < today)

    return branches, frame, due


# the digest's selects (every record at once): joined to the parent, as the planner estimates well


def _action_query(
    kind: str, rank: int, model: Any, parent_state: Any, join: Any, running: Any, still_open: Any
) -> Callable[[Actor, dt.date], sa.Select | None]:
    def query(actor: Actor, today: dt.date) -> sa.Select | None:
        if QO in actor.roles:
            owner_ok: Any = sa.true()
        else:
            owner_ok = model.owner_id.is_(None) | (model.owner_id == actor.id)
        states: list[Any] = []
        if _has(actor, PO, QO, MGR):  # start, mark implemented: while the parent's plan runs, by the owner
            states.append(model.state.in_(model.OPEN_STATES) & running & owner_ok)
        if _has(actor, QO, MGR):  # cancel: while the parent is still acted on
            states.append(model.state.in_(model.OPEN_STATES) & still_open)
        if _has(actor, QO, AUD, MGR):  # send back (verify too, when someone else implemented it)
            states.append((model.state == "implemented") & running)
        if not states:
            return None
        overdue = model.state.in_(model.OPEN_STATES) & (model.due_date < today)
        return (
            select(*_row(kind, rank, model.id, model.reference, model.due_date, overdue))
            .join(*join)
            .where(sa.or_(*states))
        )

    return query


def _corrective_action_query(actor: Actor, today: dt.date) -> sa.Select | None:
    from ..lifecycles.corrective_action import PLAN_APPROVED, PLAN_OPEN

    nc = Nonconformity
    return _action_query(
        "action",
        1,
        CorrectiveAction,
        nc.state,
        (nc, nc.id == CorrectiveAction.nonconformity_id),
        nc.state.in_(PLAN_APPROVED),
        nc.state.in_(PLAN_OPEN),
    )(actor, today)


def _risk_action_query(actor: Actor, today: dt.date) -> sa.Select | None:
    from ..models import Risk, RiskTreatmentAction

    return _action_query(
        "risk_action",
        8,
        RiskTreatmentAction,
        Risk.state,
        (Risk, Risk.id == RiskTreatmentAction.risk_id),
        Risk.state == "treatment_planned",
        Risk.state.not_in(("closed", "withdrawn")),
    )(actor, today)


def _unestimated(condition: Any) -> Any:
    """``condition`` as a CASE, which PostgreSQL's planner estimates as true for half the rows instead
    of from the column's statistics (see ``_action_parts``)."""
    return sa.case((condition, sa.true()), else_=sa.false())


def _action_fetch(model: Any) -> Callable[[Sequence[int]], list[Any]]:
    def fetch(keys: Sequence[int]) -> list[Any]:
        return list(db.session.scalars(select(model).where(id_in(model.id, list(keys)))))

    return fetch


def _action_item(kind: str) -> Callable[[Any, list[str], Actor, dt.date], WorkItem]:
    def item(action: Any, allowed: list[str], actor: Actor, today: dt.date) -> WorkItem:
        if not allowed:
            _missing(kind, action.id)
        return WorkItem(
            kind,
            action.id,
            action.reference,
            action.title,
            action.state_label,
            allowed,
            action.due_date,
            action.is_overdue(today),
        )

    return item


def _corrective_action_parts() -> Any:
    from ..lifecycles.corrective_action import PLAN_APPROVED, PLAN_OPEN

    nc, ca = Nonconformity, CorrectiveAction
    state = select(nc.state).where(nc.id == ca.nonconformity_id).correlate(ca).scalar_subquery()
    return _action_parts("action", 1, ca, state, PLAN_APPROVED, lambda parent: parent.in_(PLAN_OPEN))


def _risk_action_parts() -> Any:
    from ..models import Risk, RiskTreatmentAction

    rta = RiskTreatmentAction
    state = select(Risk.state).where(Risk.id == rta.risk_id).correlate(rta).scalar_subquery()
    return _action_parts(
        "risk_action", 8, rta, state, ("treatment_planned",), lambda parent: parent.not_in(("closed", "withdrawn"))
    )


def _risk_action_fetch(keys: Sequence[int]) -> list[Any]:
    from ..models import RiskTreatmentAction

    return _action_fetch(RiskTreatmentAction)(keys)


# -- document revisions (only of documents the user may see)

#: revision states with work, each open to all three of these roles (an approver's own draft
#: still has "Request changes" for them)
REVISION_WORK_STATES = ("draft", "in_review", "approved", "review_due")


def _document_branches(actor: Actor, today: dt.date) -> list[Branch]:
    if not _has(actor, MGR, PO, QO):
        return []
    rev, visible = DocumentRevision, visible_to(actor)
    undated = rev.state.in_(tuple(state for state in REVISION_WORK_STATES if state != "review_due")) & visible
    # "number rev label" sorts as (number, label) when no number holds a character up to the space
    # (then no number followed by " rev " sorts after a longer number it begins): those are read in
    # the order of an index on the number; any others are sorted whole (none in practice)
    plain = ~Document.number.regexp_match(r"[\x01-\x20]")
    by_number = (_code_point(Document.number), _code_point(rev.label))
    return [
        Branch(undated & plain, order=by_number, count_where=undated),
        Branch(undated & ~plain, count_where=False),
        Branch((rev.state == "review_due") & visible, Document.next_review_due),
    ]


def _document_frame(today: dt.date) -> Frame:
    rev = DocumentRevision
    reference = Document.number + literal(" rev ") + rev.label
    return Frame(
        lambda due, overdue: select(*_row("document", 2, rev.id, reference, due, overdue)).join(
            Document, Document.id == rev.document_id
        ),
        reference,
        rev.id,
    )


def _document_due(today: dt.date) -> tuple[Any, Any]:
    rev = DocumentRevision
    due = sa.case((rev.state == "review_due", Document.next_review_due), else_=sa.null())
    return due, due < today


def _document_count(actor: Actor, today: dt.date) -> sa.Select | None:
    """A user who sees every document counts the revisions with work alone: joined to the documents
    (which the branches' frame needs for the order), the planner hashed all of them to count 501 rows
    (26 ms at a million NCs, 100,000 documents); the revisions' state index answers alone."""
    if not _has(actor, MGR, PO, QO) or not isinstance(visible_to(actor), sa.sql.elements.True_):
        return None
    rev = DocumentRevision
    return select(rev.id.label("key")).where(rev.state.in_(REVISION_WORK_STATES))


# the digest's select (every revision at once)


def _document_query(actor: Actor, today: dt.date) -> sa.Select | None:
    if not _has(actor, MGR, PO, QO):
        return None
    rev = DocumentRevision
    due = sa.case((rev.state == "review_due", Document.next_review_due), else_=sa.null())
    reference = Document.number + literal(" rev ") + rev.label
    return (
        select(*_row("document", 2, rev.id, reference, due, due < today))
        .join(Document, Document.id == rev.document_id)
        .where(rev.state.in_(REVISION_WORK_STATES), visible_to(actor))
    )


def _document_fetch(keys: Sequence[int]) -> list[Any]:
    return list(
        db.session.scalars(
            select(DocumentRevision)
            .where(id_in(DocumentRevision.id, list(keys)))
            .options(joinedload(DocumentRevision.document, innerjoin=True))
        )
    )


def _document_item(revision: Any, allowed: list[str], actor: Actor, today: dt.date) -> WorkItem:
    if not allowed:
        _missing("document", revision.id)
    due = revision.document.next_review_due if revision.state == "review_due" else None
    return WorkItem(
        "document",
        revision.document_id,
        f"{revision.document.number} rev {revision.label}",
        revision.document.title,
        revision.state_label,
        allowed,
        due,
        bool(due and due < today),
    )


SQL_SOURCES: tuple[SqlSource, ...] = (
    SqlSource("nc", 0, _nc_branches, _nc_frame, _nc_due_overdue, _nc_fetch, _nc_item, _nc_query),
    SqlSource(
        "action",
        1,
        *_corrective_action_parts(),
        _action_fetch(CorrectiveAction),
        _action_item("action"),
        _corrective_action_query,
    ),
    SqlSource(
        "document",
        2,
        _document_branches,
        _document_frame,
        _document_due,
        _document_fetch,
        _document_item,
        _document_query,
        _document_count,
    ),
    SqlSource(
        "risk_action", 8, *_risk_action_parts(), _risk_action_fetch, _action_item("risk_action"), _risk_action_query
    ),
)
_SOURCE_BY_RANK = {source.rank: source for source in SQL_SOURCES}


# --------------------------------------------------------------------------- per-user sources


def _acknowledgement_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    items = []
    for receipt in pending_acknowledgements(actor):
        revision = receipt.revision
        items.append(
            WorkItem(
                "document",
                revision.document_id,
                f"{revision.document.number} rev {revision.label}",
                revision.document.title,
                "To read",
                ["Read and acknowledge"],
                receipt.due_date,
                receipt.is_overdue(today),
            )
        )
    return items


#: audit states in which the lead auditor and team have work to do
AUDIT_WORK_STATES = ("scheduled", "prepared", "in_progress")


def _audit_condition(actor: Actor) -> Any:
    on_team = select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == actor.id)
    mine = (Audit.lead_auditor_id == actor.id) | Audit.id.in_(on_team)
    condition = Audit.state.in_(AUDIT_WORK_STATES) & mine
    if "manager" in actor.roles:
        condition = condition | (Audit.state == "report_drafted")
    return condition


def _audit_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Audits the user leads or is on (scheduled, prepared, in progress), and reports awaiting approval."""
    audits = list(db.session.scalars(select(Audit).where(_audit_condition(actor))))
    by_id = {audit.id: audit for audit in audits}
    items = []
    for audit_id, events in available_events_many(audits, actor, today).items():
        audit = by_id[audit_id]
        allowed = [a.event.label for a in events if a.allowed]
        if audit.state == "report_drafted":
            if not allowed:
                continue  # e.g. the manager led this audit: someone else approves it
            due = audit.actual_end or audit.planned_end
        else:
            if audit.state == "in_progress" and actor.id in audit.auditor_ids:
                allowed.insert(0, "Answer the checklist")
            if not allowed:
                allowed = ["Take part in the audit"]
            due = audit.planned_end if audit.state == "in_progress" else audit.planned_start
        items.append(
            WorkItem(
                "audit",
                audit.id,
                audit.reference,
                audit.title,
                audit.state_label,
                allowed,
                due,
                bool(due and due < today),
            )
        )
    return items


#: survey states in which the owner has work: collecting responses, or closed and waiting for analysis
SURVEY_WORK_STATES = ("open", "closed")


def _complaint_condition(actor: Actor) -> Any:
    return (Complaint.owner_id == actor.id) & Complaint.state.in_(Complaint.OPEN_STATES)


def _survey_condition(actor: Actor) -> Any:
    condition = (Survey.owner_id == actor.id) & Survey.state.in_(SURVEY_WORK_STATES)
    if "manager" in actor.roles:
        condition = condition | (Survey.state == "analysed")
    return condition


def _complaint_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Open complaints the user owns."""
    items = []
    complaints = list(db.session.scalars(select(Complaint).where(_complaint_condition(actor))))
    by_id = {complaint.id: complaint for complaint in complaints}
    for complaint_id, events in available_events_many(complaints, actor, today).items():
        complaint = by_id[complaint_id]
        allowed = [a.event.label for a in events if a.allowed] or ["Follow up the linked nonconformity"]
        due = complaint.acknowledge_due if complaint.state == "received" else complaint.resolve_due
        late = complaint.acknowledgement_overdue(today) or complaint.resolution_overdue(today)
        items.append(
            WorkItem(
                "complaint",
                complaint.id,
                complaint.reference,
                complaint.summary,
                complaint.state_label,
                allowed,
                due,
                late,
            )
        )
    return items


def _survey_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Surveys the user owns to run or analyse, and analysed ones a manager approves."""
    items = []
    surveys = list(db.session.scalars(select(Survey).where(_survey_condition(actor))))
    surveys_by_id = {survey.id: survey for survey in surveys}
    for survey_id, events in available_events_many(surveys, actor, today).items():
        survey = surveys_by_id[survey_id]
        allowed = [a.event.label for a in events if a.allowed]
        if survey.state == "analysed" and not allowed:
            continue
        if survey.state == "open" and not allowed:
            allowed = ["Collect responses"]
        due = survey.closes_on if survey.state == "open" else None
        items.append(
            WorkItem(
                "survey",
                survey.id,
                survey.reference,
                survey.title,
                survey.state_label,
                allowed,
                due,
                bool(due and due < today),
            )
        )
    return items


def _certification_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The certification deadlines whose reminder has come, for the certifications the user owns."""
    from .certifications import reminders

    return [
        WorkItem(
            "certification",
            reminder.certification.id,
            reminder.certification.reference,
            f"{reminder.what} — {reminder.certification.body.name}",
            reminder.certification.state_label,
            [f"Prepare: {reminder.what.lower()}"],
            reminder.due,
            reminder.days_left < 0,
        )
        for reminder in reminders(today, owner_id=actor.id)
    ]


def _review_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The open actions of reviews (ISO change, organisational change, management review) the user owns."""
    from .reviews import open_actions_for, reviews_of

    items = []
    actions = open_actions_for(actor)
    reviews = reviews_of(actions)
    for action in actions:
        review = reviews.get((action.review_kind, action.review_id))
        if review is None:
            continue
        items.append(
            WorkItem(
                "review_action",
                review.id,
                review.reference,
                action.title,
                "Open action",
                ["Complete the action"],
                action.due_date,
                action.is_overdue(today),
                review_kind=action.review_kind,
            )
        )
    return items


def _risk_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Risks to rate, treat or review (risk treatment actions are an SQL source)."""
    from . import risks

    return risks.work_items(actor, today, actions=False)


def _objective_condition(actor: Actor) -> Any:
    from ..models import QualityObjective

    mine = (QualityObjective.owner_id == actor.id) & (QualityObjective.state == "active")
    if "manager" in actor.roles:  # drafts whose plan is written wait for a manager's approval
        return mine | (QualityObjective.state == "draft")
    return mine


def _objective_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The values due of the objectives the user owns, those past their deadline, drafts to approve."""
    from ..models import QualityObjective
    from .objectives import last_measured

    items: list[WorkItem] = []
    found = list(db.session.scalars(select(QualityObjective).where(_objective_condition(actor))))
    objectives = [o for o in found if o.state == "active" and o.owner_id == actor.id]
    drafts = [o for o in found if o.state == "draft"]
    last = last_measured([o.id for o in objectives])
    for o in objectives:
        if o.deadline < today:
            items.append(
                WorkItem(
                    "objective",
                    o.id,
                    o.reference,
                    o.title,
                    o.state_label,
                    ["Evaluate: achieved or missed"],
                    o.deadline,
                    True,
                )
            )
            continue
        due = o.next_measurement_due(last.get(o.id))
        if due is not None:
            items.append(
                WorkItem(
                    "objective",
                    o.id,
                    o.reference,
                    f"{o.kpi_name}: record the value",
                    o.state_label,
                    ["Record the value"],
                    due,
                    due < today,
                )
            )
    if drafts:
        by_id = {o.id: o for o in drafts}
        for objective_id, events in available_events_many(drafts, actor, today).items():
            allowed = [a.event.label for a in events if a.allowed]
            if allowed:
                o = by_id[objective_id]
                items.append(WorkItem("objective", o.id, o.reference, o.title, o.state_label, allowed, None, False))
    return items


def _opportunity_condition(actor: Actor) -> Any:
    from ..models import Opportunity
    from ..models.opportunities import committee_members

    mine = select(committee_members.c.committee_id).where(committee_members.c.user_id == actor.id)
    return ((Opportunity.owner_id == actor.id) & (Opportunity.state == "piloting")) | (
        Opportunity.committee_id.in_(mine) & Opportunity.state.in_(("evaluated", "piloting"))
    )


def _opportunity_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Pilots the user runs that end, and the committee's decisions."""
    from ..models import Opportunity

    items: list[WorkItem] = []
    opportunities = db.session.scalars(select(Opportunity).where(_opportunity_condition(actor)))
    for o in opportunities:
        if o.state == "evaluated":
            items.append(
                WorkItem(
                    "opportunity",
                    o.id,
                    o.reference,
                    o.title,
                    o.state_label,
                    ["Committee: decide on a pilot"],
                    None,
                    False,
                )
            )
        else:
            items.append(
                WorkItem(
                    "opportunity",
                    o.id,
                    o.reference,
                    f"Pilot ends: {o.title}",
                    o.state_label,
                    ["Adopt or drop on the pilot's results"],
                    o.pilot_end,
                    o.pilot_overdue(today),
                )
            )
    return items


def _change_condition(actor: Actor) -> Any:
    from ..models import ChangeRequest

    condition = (ChangeRequest.owner_id == actor.id) & (ChangeRequest.state == "post_review")
    if actor.roles & {"manager", "quality_officer"}:
        condition = condition | (ChangeRequest.state == "post_review")
    if "manager" in actor.roles:
        condition = condition | (ChangeRequest.state == "submitted")
    return condition


#: change states in which the change's open tasks are work
CHANGE_TASK_STATES = ("draft", "submitted", "approved", "implementing")


def _change_task_condition(actor: Actor) -> Any:
    from ..models import ChangeRequest, ChangeTask

    return (
        (ChangeTask.owner_id == actor.id)
        & (ChangeTask.status == "open")
        & ChangeTask.change_id.in_(select(ChangeRequest.id).where(ChangeRequest.state.in_(CHANGE_TASK_STATES)))
    )


def _change_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Changes to approve and post-change reviews due."""
    from ..models import ChangeRequest

    items: list[WorkItem] = []
    for c in db.session.scalars(select(ChangeRequest).where(_change_condition(actor))):
        if c.state == "submitted":
            items.append(WorkItem("change", c.id, c.reference, c.title, c.state_label, ["Approve"], None, False))
        else:
            items.append(
                WorkItem(
                    "change",
                    c.id,
                    c.reference,
                    f"Post-change review: {c.title}",
                    c.state_label,
                    ["Review the change"],
                    c.review_due,
                    c.review_overdue(today),
                )
            )
    return items


def _change_task_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """The open tasks the user owns of changes still under way."""
    from ..models import ChangeRequest, ChangeTask

    items: list[WorkItem] = []
    tasks = db.session.execute(
        select(ChangeTask, ChangeRequest.reference)
        .join(ChangeRequest)
        .where(
            ChangeTask.owner_id == actor.id,
            ChangeTask.status == "open",
            ChangeRequest.state.in_(CHANGE_TASK_STATES),
        )
    )
    for task, reference in tasks:
        items.append(
            WorkItem(
                "change",
                task.change_id,
                reference,
                task.title,
                "Open task",
                ["Complete the task"],
                task.due_date,
                task.is_overdue(today),
            )
        )
    return items


#: how far ahead supplier evaluations and calibrations come onto My work
SUPPORT_HORIZON_DAYS = 30


def _supplier_condition(actor: Actor, today: dt.date) -> Any:
    from ..models import APPROVED_STATES, Supplier
    from .suppliers import EVALUATE_ROLES

    horizon = today + dt.timedelta(days=SUPPORT_HORIZON_DAYS)
    mine = Supplier.owner_id == actor.id
    if "quality_officer" in actor.roles:
        mine = mine | Supplier.owner_id.is_(None)
    due = Supplier.state.in_((*APPROVED_STATES, "under_evaluation", "suspended")) & (
        Supplier.next_evaluation_due <= horizon
    )
    if actor.roles & EVALUATE_ROLES:
        return (mine & due) | Supplier.proposed_state.is_not(None)
    return mine & due


def _supplier_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Evaluations due on suppliers the user owns, and status proposals to decide on."""
    from ..models import Supplier
    from .suppliers import EVALUATE_ROLES

    horizon = today + dt.timedelta(days=SUPPORT_HORIZON_DAYS)
    evaluates = bool(actor.roles & EVALUATE_ROLES)
    items = []
    for supplier in db.session.scalars(select(Supplier).where(_supplier_condition(actor, today))):
        actions = []
        if supplier.next_evaluation_due is not None and supplier.next_evaluation_due <= horizon:
            actions.append("Evaluate the supplier")
        if evaluates and supplier.proposed_state is not None:
            actions.append("Decide on the proposed status change")
        due_on = supplier.next_evaluation_due if "Evaluate the supplier" in actions else None
        items.append(
            WorkItem(
                "supplier",
                supplier.id,
                supplier.reference,
                supplier.name,
                supplier.state_label,
                actions,
                due_on,
                bool(due_on and due_on < today),
            )
        )
    return items


#: SCAR states with work for the organisation: an answer to review, effectiveness to verify
SCAR_WORK_STATES = ("answered", "accepted")


def _scar_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """SCAR answers to review and their effectiveness to verify, where the user may."""
    from ..models import Scar

    items = []
    scars = list(
        db.session.scalars(
            select(Scar).where(Scar.state.in_(SCAR_WORK_STATES)).options(joinedload(Scar.supplier, innerjoin=True))
        )
    )
    by_id = {scar.id: scar for scar in scars}
    for scar_id, events in available_events_many(scars, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if not allowed:
            continue
        scar = by_id[scar_id]
        due_on = (
            scar.verification_due if scar.state == "accepted" else scar.answered_at.date() if scar.answered_at else None
        )
        items.append(
            WorkItem(
                "scar",
                scar.id,
                scar.reference,
                f"{scar.supplier.name}: {'review the answer' if scar.state == 'answered' else 'verify effectiveness'}",
                scar.state_label,
                allowed,
                due_on,
                bool(scar.state == "accepted" and due_on and due_on < today),
            )
        )
    return items


def _equipment_condition(actor: Actor, today: dt.date) -> Any:
    from ..models import Equipment

    horizon = today + dt.timedelta(days=SUPPORT_HORIZON_DAYS)
    mine = Equipment.owner_id == actor.id
    if "quality_officer" in actor.roles:
        mine = mine | Equipment.owner_id.is_(None)
    due = (Equipment.state == "in_service") & (
        Equipment.next_calibration_due.is_(None) | (Equipment.next_calibration_due <= horizon)
    )
    return mine & (due | (Equipment.state == "quarantined"))


def _equipment_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Calibrations due or overdue on instruments the user owns, and quarantined ones."""
    from ..models import Equipment

    items = []
    for equipment in db.session.scalars(select(Equipment).where(_equipment_condition(actor, today))):
        quarantined = equipment.state == "quarantined"
        due_on = None if quarantined else equipment.next_calibration_due
        items.append(
            WorkItem(
                "equipment",
                equipment.id,
                equipment.identifier,
                equipment.name,
                equipment.calibration_status_label(today),
                ["Calibrate, repair or retire it"] if quarantined else ["Calibrate"],
                due_on,
                bool(not quarantined and (due_on is None or due_on < today)),
            )
        )
    return items


def _oot_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Open out-of-tolerance impact assessments the user may complete."""
    from ..models import OotAssessment

    items = []
    assessments = list(
        db.session.scalars(
            select(OotAssessment)
            .where(OotAssessment.state == "open")
            .options(joinedload(OotAssessment.equipment, innerjoin=True))
        )
    )
    by_id = {a.id: a for a in assessments}
    for assessment_id, events in available_events_many(assessments, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if allowed:
            assessment = by_id[assessment_id]
            items.append(
                WorkItem(
                    "oot_assessment",
                    assessment.id,
                    assessment.reference,
                    f"{assessment.equipment.identifier} out of tolerance: assess the impact",
                    assessment.state_label,
                    allowed,
                    assessment.window_end,
                    False,
                )
            )
    return items


#: who reviews recorded inspections (not their own)
INSPECTION_REVIEWERS = frozenset({"quality_officer", "manager"})


def _inspection_condition(actor: Actor) -> Any:
    return (Inspection.state == "recorded") & (Inspection.inspected_by_id != actor.id)


def _inspection_work(actor: Actor, today: dt.date) -> list[WorkItem]:
    """Inspections waiting for a review the user may give (not their own), rejected ones first."""
    if not actor.roles & INSPECTION_REVIEWERS:
        return []
    waiting = list(
        db.session.scalars(
            select(Inspection)
            .where(_inspection_condition(actor))
            .order_by(Inspection.inspected_on, Inspection.id)
            .limit(200)
        )
    )
    by_id = {i.id: i for i in waiting}
    items = []
    for inspection_id, events in available_events_many(waiting, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed and a.name == "review"]  # voiding is not work
        if allowed:
            inspection = by_id[inspection_id]
            items.append(
                WorkItem(
                    "inspection",
                    inspection.id,
                    inspection.reference,
                    f"{inspection.kind_label} inspection of {inspection.item}: {inspection.result_label.lower()}",
                    inspection.state_label,
                    allowed,
                    inspection.inspected_on + dt.timedelta(days=7),
                    inspection.inspected_on + dt.timedelta(days=7) < today,
                )
            )
    return items


# -- what the per-user sources may find, asked in one statement


def _exists(condition: Any) -> list[Any]:
    return [sa.exists().where(condition)]


def _acknowledgement_probe(actor: Actor, today: dt.date) -> list[Any]:
    from ..models import Acknowledgement

    return _exists((Acknowledgement.user_id == actor.id) & Acknowledgement.acknowledged_at.is_(None))


def _certification_probe(actor: Actor, today: dt.date) -> list[Any]:
    from ..models import Certification
    from .certifications import ACTIVE

    return _exists((Certification.owner_id == actor.id) & Certification.state.in_(ACTIVE))


def _review_probe(actor: Actor, today: dt.date) -> list[Any]:
    from ..models import ReviewAction

    return _exists((ReviewAction.owner_id == actor.id) & (ReviewAction.status == "open"))


def _training_source(rank: int, kinds: tuple[str, ...], part: str) -> UserSource:
    def build(actor: Actor, today: dt.date) -> list[WorkItem]:
        from .training import training_work

        return training_work(actor, today, (part,))

    def probe(actor: Actor, today: dt.date) -> list[Any]:
        from .training import training_work_conditions

        return [sa.exists().where(condition) for condition in training_work_conditions(actor, today, part)]

    return UserSource(rank, kinds, build, probe)


def _risk_probe(actor: Actor, today: dt.date) -> list[Any]:
    from .risks import work_condition

    return _exists(work_condition(actor, today))


def _context_source(rank: int, kind: str) -> UserSource:
    def build(actor: Actor, today: dt.date) -> list[WorkItem]:
        from .context import work_items

        return work_items(actor, today, (kind,))

    def probe(actor: Actor, today: dt.date) -> list[Any]:
        from .context import WORK_KINDS, work_conditions

        return _exists(work_conditions(actor, today)[WORK_KINDS.index(kind)])

    return UserSource(rank, (kind,), build, probe)


def _audit_probe(actor: Actor, today: dt.date) -> list[Any]:
    """``_audit_condition``'s parts asked apart, each from an index: as one OR, PostgreSQL read every
    audit (8,000 at a million NCs: 2.4 ms of the manager's page)."""
    working = Audit.state.in_(AUDIT_WORK_STATES)
    on_team = select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == actor.id)
    probes = [
        sa.exists().where(working & (Audit.lead_auditor_id == actor.id)),
        sa.exists().where(working & Audit.id.in_(on_team)),
    ]
    if "manager" in actor.roles:
        probes.append(sa.exists().where(Audit.state == "report_drafted"))
    return probes


def _scar_probe(actor: Actor, today: dt.date) -> list[Any]:
    from ..models import Scar

    return _exists(Scar.state.in_(SCAR_WORK_STATES))


def _oot_probe(actor: Actor, today: dt.date) -> list[Any]:
    from ..models import OotAssessment

    return _exists(OotAssessment.state == "open")


def _inspection_probe(actor: Actor, today: dt.date) -> list[Any]:
    return _exists(_inspection_condition(actor)) if actor.roles & INSPECTION_REVIEWERS else []


@dataclass(frozen=True)
class UserSource:
    """A per-user source: ``build`` gives its WorkItems; ``probe`` gives SQL conditions of which at least
    one holds whenever ``build`` would find anything (it may hold and ``build`` still find nothing).
    My work asks every probe in one statement and builds only the sources whose probe holds: most
    users have nothing in most of them."""

    rank: int
    kinds: tuple[str, ...]
    build: Callable[[Actor, dt.date], list[WorkItem]]
    probe: Callable[[Actor, dt.date], list[Any]]


#: the per-user sources, in the order My work has always listed equal items; the rank places them
#: among the SQL sources (nc 0, action 1, document 2, risk_action 8) for items that tie
USER_SOURCES: tuple[UserSource, ...] = (
    UserSource(3, ("document",), _acknowledgement_work, _acknowledgement_probe),
    UserSource(4, ("audit",), _audit_work, _audit_probe),
    UserSource(5, ("complaint",), _complaint_work, lambda actor, today: _exists(_complaint_condition(actor))),
    UserSource(5, ("survey",), _survey_work, lambda actor, today: _exists(_survey_condition(actor))),
    UserSource(6, ("certification",), _certification_work, _certification_probe),
    UserSource(7, ("review_action",), _review_work, _review_probe),
    _training_source(7, ("training",), "sessions"),
    _training_source(7, ("competence",), "needs"),
    _training_source(7, ("competence",), "competences"),
    UserSource(7, ("risk",), _risk_work, _risk_probe),
    _context_source(7, "context_review"),
    _context_source(7, "context_issue"),
    _context_source(7, "interested_party"),
    UserSource(9, ("objective",), _objective_work, lambda actor, today: _exists(_objective_condition(actor))),
    UserSource(9, ("opportunity",), _opportunity_work, lambda actor, today: _exists(_opportunity_condition(actor))),
    UserSource(9, ("change",), _change_work, lambda actor, today: _exists(_change_condition(actor))),
    UserSource(9, ("change",), _change_task_work, lambda actor, today: _exists(_change_task_condition(actor))),
    UserSource(9, ("supplier",), _supplier_work, lambda actor, today: _exists(_supplier_condition(actor, today))),
    UserSource(9, ("scar",), _scar_work, _scar_probe),
    UserSource(9, ("equipment",), _equipment_work, lambda actor, today: _exists(_equipment_condition(actor, today))),
    UserSource(9, ("oot_assessment",), _oot_work, _oot_probe),
    UserSource(9, ("inspection",), _inspection_work, _inspection_probe),
)


# --------------------------------------------------------------------------- combining them


#: My work counts each kind's records up to this many (and shows "500+" beyond): counting a quality
#: officer's 45,000 nonconformities at a million took longer than the whole page. Counted in an
#: index's order, each kind costs about 5 ms a thousand rows at a million NCs (the four SQL kinds
#: 14 ms of a 23 ms main statement at 1,000; 500 takes 7 ms off); lower than the registers' 10,000
#: (``paging.COUNT_CAP``) because beyond a few hundred the number changes nothing for the reader.
WORK_COUNT_CAP = 500


@dataclass
class WorkPage:
    """One page of My work, with the counts of the whole list (each kind up to ``cap``)."""

    items: list[WorkItem]
    total: int
    page: int
    per_page: int
    #: items per kind over the whole list (before the kind filter), for the filter; a count above
    #: ``cap`` means "more than ``cap``"
    kinds: dict[str, int] = field(default_factory=dict)
    cap: int = WORK_COUNT_CAP
    #: whether items follow this page
    more: bool = False

    @property
    def capped(self) -> bool:
        """True when some kind has more items than were counted: the total is a lower bound."""
        return any(n > self.cap for n in self.kinds.values())

    @property
    def pages(self) -> int:
        """The number of pages, or when counts are capped the pages known so far (this one, and the next)."""
        if self.capped:
            return self.page + 1 if self.more else self.page
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    def count_label(self, kind: str | None = None) -> str:
        """A kind's count (or the total) in plain words: "1,234", or "1,000+" beyond the cap."""
        if kind is None:
            return f"{self.total:,}+" if self.capped else f"{self.total:,}"
        n = self.kinds.get(kind, 0)
        return f"{self.cap:,}+" if n > self.cap else f"{n:,}"


def _union(actor: Actor, today: dt.date, kind: str | None, due_by: dt.date | None) -> Any | None:
    selects = []
    for source in SQL_SOURCES:
        if kind is not None and source.kind != kind:
            continue
        query = source.query(actor, today)
        if query is not None:
            selects.append(query)
    if not selects:
        return None
    if due_by is not None:  # the digest: overdue, or due by the horizon
        union = sa.union_all(*selects).subquery("work")
        return select(union).where((union.c.overdue == 1) | (union.c.due <= due_by)).subquery("due_work")
    return sa.union_all(*selects).cte("work")


def _paged(actor: Actor, today: dt.date, kind: str | None) -> bool | None:
    """True when a source of the page (of ``kind`` if given) has branches for the user, else None."""
    sources = [source for source in SQL_SOURCES if kind is None or source.kind == kind]
    return True if any(source.branches(actor, today) for source in sources) else None


def page_statement(
    actor: Actor, today: dt.date, *, kind: str | None = None, end: int = 51, cap: int | None = None
) -> Any:
    """My work's main statement: the SQL sources' first ``end`` rows in order (each branch reading at
    most that many in its index's order), then one (kind, n) row per kind counted up to the cap
    (``WORK_COUNT_CAP`` unless given)."""
    sources = [source for source in SQL_SOURCES if kind is None or source.kind == kind]
    parts = [select(part) for source in sources for part in source.first(actor, today, end)]
    work = sa.union_all(*parts).subquery("work") if len(parts) > 1 else parts[0].subquery("work")
    rows = select(work, sa.cast(sa.null(), sa.BigInteger).label("n"))
    rows = rows.order_by(*_ordering(work)).limit(end).subquery()
    none = [sa.cast(sa.null(), t) for t in (sa.Integer, sa.Integer, sa.String, sa.Date, sa.Integer)]
    per_kind = []
    for source in sources:
        counted = source.counted(actor, today, WORK_COUNT_CAP if cap is None else cap)
        if counted is not None:
            one = counted.subquery()
            per_kind.append(select(one.c.kind, *none, one.c.n))
    return sa.union_all(select(rows), *per_kind)


@functools.lru_cache(maxsize=64)
def _built_page_statement(dialect: str, actor: Actor, today: dt.date, kind: str | None, end: int, cap: int) -> Any:
    """``page_statement`` as built for these arguments, kept: building it is some 7,000 SQLAlchemy
    operations (10-20 ms of the page), and it depends on nothing else (the user's id and roles, the
    day, the kind, the page's end, the cap; the dialect names its collation). SQLAlchemy then also
    finds its compiled form without working out the statement's cache key again."""
    return page_statement(actor, today, kind=kind, end=end, cap=cap)


def _ordering(rows: Any) -> list[Any]:
    """overdue first, then due date (undated last), then reference in code-point order (as Python sorts)."""
    dialect = db.session.get_bind().dialect.name
    reference = rows.c.reference.collate("C") if dialect == "postgresql" else rows.c.reference
    return [
        rows.c.overdue.desc(),
        func.coalesce(rows.c.due, NO_DUE),
        reference,
        rows.c.rank,
        rows.c.key,
    ]


#: the correlated guards make the planner's estimate of the main query large enough to JIT-compile a
#: query that runs in milliseconds: compiling took seconds on a loaded machine. Off for the rest of
#: the transaction (``set_config(…, true)`` is SET LOCAL), set by the statement before the main query.
_JIT_OFF = {"jit": "off"}
#: a page's branches read a few rows in an index's order and stop; the planner, which cannot know that
#: nearly every open action's parent is in a state where it runs, estimated a parallel scan of a whole
#: table cheaper (100 ms instead of 0.6 ms at a million NCs). The page turns parallel plans off too.
#: And custom plans always: psycopg prepares a statement run five times, and PostgreSQL then may plan
#: it once for any values, a plan that cannot use the partial indexes (43 ms against 17 at 1M NCs).
_PAGE_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0", "plan_cache_mode": "force_custom_plan"}


def _probed(
    sources: Sequence[UserSource], actor: Actor, today: dt.date, settings: Mapping[str, str]
) -> list[UserSource]:
    """The sources whose probe holds for ``actor``, asked in one statement, which also applies
    ``settings`` for this transaction (PostgreSQL's ``set_config(…, true)``, as SET LOCAL, without a
    statement of its own)."""
    from .competence import expiry_warning_days

    dialect = db.session.get_bind().dialect.name
    statement, asked = _probe_statement(
        dialect, actor, today, tuple(sources), tuple(settings.items()), expiry_warning_days()
    )
    if statement is None:
        return []
    flags = db.session.execute(statement).one()._mapping
    return [sources[i] for i in asked if flags[f"p{i}"]]


@functools.lru_cache(maxsize=64)
def _probe_statement(
    dialect: str,
    actor: Actor,
    today: dt.date,
    sources: tuple[UserSource, ...],
    settings: tuple[tuple[str, str], ...],
    warning_days: int,
) -> tuple[sa.Select | None, tuple[int, ...]]:
    """``_probed``'s statement and the positions of the sources it asks about, kept as for
    ``_built_page_statement``: the probes depend on the user, the day and (training's) the warning
    days before a competence expires; the dialect names the collation."""
    probes = [source.probe(actor, today) for source in sources]
    columns = [sa.or_(*conditions).label(f"p{i}") for i, conditions in enumerate(probes) if conditions]
    configs = [func.set_config(name, value, sa.true()).label(f"s{i}") for i, (name, value) in enumerate(settings)]
    asked = tuple(i for i, conditions in enumerate(probes) if conditions)
    if not columns and not configs:
        return None, ()
    return select(*columns, *configs), asked


def _user_items(
    actor: Actor,
    today: dt.date,
    kind: str | None,
    due_by: dt.date | None,
    *,
    settings: Mapping[str, str] | None = None,
) -> list[tuple[Any, WorkItem]]:
    keyed = []
    position = 0
    sources = [source for source in USER_SOURCES if kind is None or kind in source.kinds]
    for source in _probed(sources, actor, today, settings or {}):
        rank = source.rank
        for item in source.build(actor, today):
            position += 1
            if kind is not None and item.kind != kind:
                continue
            if due_by is not None and not (item.overdue or (item.due is not None and item.due <= due_by)):
                continue
            keyed.append(((*work_order(item), rank, position), item))
    keyed.sort(key=lambda pair: pair[0])
    return keyed


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))  # SQLite through a UNION: the stored text


@dataclass
class _Shared:
    """Records of the SQL sources and their guard facts, loaded once for many users (the digest run)."""

    records: dict[int, dict[int, Any]] = field(default_factory=dict)
    facts: dict[int, Mapping[int, Mapping[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Any]) -> _Shared:
        """One statement per lifecycle (and one facts query, when a guard asks) for all the rows."""
        keys: dict[int, set[int]] = {}
        for row in rows:
            keys.setdefault(row.rank, set()).add(row.key)
        shared = cls()
        for rank, wanted in keys.items():
            records = _SOURCE_BY_RANK[rank].fetch(sorted(wanted))
            shared.records[rank] = {record.id: record for record in records}
            shared.facts[rank] = facts_for(records)
        return shared


def _load(
    rows: Iterable[Any], actor: Actor, today: dt.date, shared: _Shared | None = None
) -> dict[tuple[int, int], WorkItem]:
    """The WorkItems of the SQL rows: one load (and one facts query) per lifecycle, or none with ``shared``."""
    by_rank: dict[int, list[int]] = {}
    for row in rows:
        by_rank.setdefault(row.rank, []).append(row.key)
    loaded = {}
    for rank, keys in by_rank.items():
        source = _SOURCE_BY_RANK[rank]
        if shared is None:
            records, facts = source.fetch(keys), None
        else:
            records = [shared.records[rank][key] for key in keys if key in shared.records[rank]]
            facts = shared.facts[rank]
        labels = _allowed_labels(records, actor, today, facts)
        for record in records:
            loaded[(rank, record.id)] = source.item(record, labels.get(record.id, []), actor, today)
    return loaded


@dataclass
class _Found:
    """One user's work before the SQL rows become WorkItems: what the queries found, in order."""

    actor: Actor
    user_items: list[tuple[Any, WorkItem]]
    sql_rows: list[Any]
    counts: dict[str, int]


def _find(
    actor: Actor,
    today: dt.date,
    *,
    kind: str | None = None,
    due_by: dt.date | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> _Found:
    """The per-user items, the SQL rows up to ``offset + limit`` (all without a limit) and the counts per kind."""
    union = _union(actor, today, kind, due_by) if limit is None else _paged(actor, today, kind)
    settings: Mapping[str, str] = {}
    if union is not None and db.session.get_bind().dialect.name == "postgresql":
        settings = _JIT_OFF if limit is None else _PAGE_SETTINGS
    user_items = _user_items(actor, today, kind, due_by, settings=settings)
    counts: dict[str, int] = {}
    for _key, item in user_items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    sql_rows: list[Any] = []
    if union is not None and limit is None:
        sql_rows = list(db.session.execute(select(union).order_by(*_ordering(union))))
        for row in sql_rows:
            counts[row.kind] = counts.get(row.kind, 0) + 1
    elif union is not None:
        # one statement: the rows up to the page's end and one more (the user items may come first;
        # the one more says whether a next page exists), each branch reading only that many rows in
        # its index's order, and the counts per kind, each up to the cap
        dialect = db.session.get_bind().dialect.name
        statement = _built_page_statement(dialect, actor, today, kind, offset + limit + 1, WORK_COUNT_CAP)
        for row in db.session.execute(statement):
            if row.n is not None:
                counts[row.kind] = counts.get(row.kind, 0) + row.n
            else:
                sql_rows.append(row)
    return _Found(actor, user_items, sql_rows, counts)


def _items(
    found: _Found, today: dt.date, *, offset: int = 0, limit: int | None = None, shared: _Shared | None = None
) -> list[WorkItem]:
    """The WorkItems [offset, offset + limit) of the merged list; labels worked out for those rows only."""
    keyed_rows = [
        ((not row.overdue, _as_date(row.due) or NO_DUE, row.reference, row.rank, row.key), row)
        for row in found.sql_rows
    ]
    keyed_rows.sort(key=lambda pair: pair[0])  # as the database ordered them (a UNION may not keep it)
    merged = heapq.merge(keyed_rows, found.user_items, key=lambda pair: pair[0])
    end = None if limit is None else offset + limit
    page = [entry for _key, entry in list(merged)[offset:end]]
    loaded = _load([entry for entry in page if not isinstance(entry, WorkItem)], found.actor, today, shared)
    items = [entry if isinstance(entry, WorkItem) else loaded.get((entry.rank, entry.key)) for entry in page]
    return [item for item in items if item is not None]


def work_for(user: User | Actor, today: dt.date, *, due_by: dt.date | None = None) -> list[WorkItem]:
    """Everything ``user`` can act on now, overdue first, then by due date; with ``due_by``, only
    what is overdue or due by that day (the digest)."""
    return _items(_find(as_actor(user), today, due_by=due_by), today)


def work_for_many(
    users: Iterable[User | Actor], today: dt.date, *, due_by: dt.date | None = None
) -> dict[int, list[WorkItem]]:
    """``work_for`` of each user (by id), batched for the digest run: each user's own queries find what
    that user may act on (their roles, ownership, segregation of duties), then the records those
    queries found are loaded once per lifecycle for everyone, with their guard facts, and each user's
    labels are worked out from them."""
    found = [_find(as_actor(user), today, due_by=due_by) for user in users]
    shared = _Shared.of(row for one in found for row in one.sql_rows)
    return {one.actor.id: _items(one, today, shared=shared) for one in found if one.actor.id is not None}


#: My work's page size
PER_PAGE = 50


def work_page(
    user: User | Actor, today: dt.date, *, page: int = 1, per_page: int = PER_PAGE, kind: str | None = None
) -> WorkPage:
    """One page of ``user``'s work (optionally of one kind), sorted and paged in the database: each
    source reads only the rows up to the page's end, and counts its kind up to ``WORK_COUNT_CAP``."""
    page = max(1, page)
    offset = (page - 1) * per_page
    found = _find(as_actor(user), today, kind=kind, offset=offset, limit=per_page)
    more = len(found.sql_rows) + len(found.user_items) > offset + per_page
    items = _items(found, today, offset=offset, limit=per_page)
    total = sum(min(n, WORK_COUNT_CAP) for n in found.counts.values())
    return WorkPage(items, total, page, per_page, found.counts, cap=WORK_COUNT_CAP, more=more)
