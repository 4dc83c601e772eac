"""Operations on nonconformities and corrective actions (one function per user intention), and the
NC register: its filters, its query (the page's and the API's) and its exports.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult, get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted, UnknownLifecycle

from ..database import db, event_date, id_in, utcnow
from ..lifecycles.nonconformity import FISHBONE_CATEGORIES
from ..models import (
    NC_ENDED_STATES,
    NC_SOURCES,
    SEVERITY_LABELS,
    Actor,
    Attachment,
    CorrectiveAction,
    Nonconformity,
    ProgressNote,
    TransitionHistory,
    User,
)
from .attachments import store_file
from .audit_trail import recorded_change
from .filters import clause_filter_on, contains
from .references import next_reference
from .spreadsheets import xlsx_bytes
from .validation import clean_text
from .workflow import as_actor, effect, facts_provider

RAISE_ROLES = frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"})


PLAN_ROLES = frozenset({"manager", "quality_officer", "process_owner"})


PLANNING_STATES = ("root_cause_identified", "action_planned")


#: who can carry a corrective action out: the owner list offers them only
ACTION_OWNER_ROLES = ("process_owner", "quality_officer", "manager")


def _date(errors: dict[str, str], name: str, value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[name] = "must be a date (YYYY-MM-DD)"
        return None


def raise_nonconformity(
    actor: User | Actor,
    *,
    title: str,
    description: str,
    source: str,
    detected_on: dt.date | str | None = None,
    process: str = "",
    clause_refs: Sequence[str] = (),
    evidence: tuple[BinaryIO, str] | None = None,
    supplier_id: int | None = None,
    equipment_id: int | None = None,
) -> Nonconformity:
    """Record a new nonconformity in state *reported*, with an optional evidence file (stream, name).

    The file is checked before anything is written, and the NC and its evidence commit together.
    ``supplier_id`` (source "supplier" only) and ``equipment_id`` link the supplier it is against
    and the measuring instrument it cites; an NC against a supplier counts in its score at once.
    """
    actor = as_actor(actor)
    if not actor.roles & RAISE_ROLES:
        raise NotPermitted("Viewers cannot raise nonconformities")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    description = clean_text(errors, "description", description)
    process = clean_text(errors, "process", process, required=False, limit=120)
    if source not in NC_SOURCES:
        errors["source"] = "must be one of: " + ", ".join(NC_SOURCES)
    detected = _date(errors, "detected_on", detected_on or dt.date.today())
    if detected and detected > dt.date.today():
        errors["detected_on"] = "cannot be in the future"
    clauses = [str(c).strip() for c in clause_refs if str(c).strip()]
    if any(len(c) > 80 or "\x00" in c for c in clauses):
        errors["clause_refs"] = "each clause reference must be at most 80 characters"
    from .equipment import equipment_link
    from .suppliers import rescore_supplier, supplier_link

    supplier = supplier_link(errors, supplier_id, source)
    equipment = equipment_link(errors, equipment_id)
    if errors:
        raise InvalidData(errors)
    stored = store_file(*evidence) if evidence else None
    with recorded_change(actor, "nonconformity raised") as session:
        nc = Nonconformity(
            reference=next_reference(session, "NC", detected.year),
            title=title,
            description=description,
            source=source,
            process=process,
            clause_refs=clauses,
            detected_on=detected,
            raised_by_id=actor.id,
            supplier_id=supplier.id if supplier is not None else None,
            equipment_id=equipment.id if equipment is not None else None,
        )
        session.add(nc)
        if supplier is not None:
            session.flush()
            rescore_supplier(session, supplier, f"{nc.reference} raised against the supplier")
        if stored is not None:
            session.flush()
            session.add(
                Attachment(
                    lifecycle=nc.lifecycle_name,
                    record_id=nc.id,
                    filename=stored.filename,
                    content_type=stored.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    uploaded_by_id=actor.id,
                )
            )
    return nc


def withdraw_raised(nc: Nonconformity, actor: Actor, reason: str, *, what: str) -> bool:
    """An NC raised automatically whose cause was undone (``what`` names the change, for the refusal):
    withdrawn with ``reason`` in its history while nobody has triaged it (in the caller's
    transaction). True if withdrawn; False if it had already ended. Once triaged it stands, and
    the change is refused naming who triaged it and who can reject it."""
    if nc.state in NC_ENDED_STATES:
        return False
    if nc.state != "reported":
        from .workflow import history_of

        triaged_by = next((h.actor_name for h in history_of(nc) if h.event == "triage"), "someone")
        raise InvalidTransition(
            f"{nc.reference} was already triaged by {triaged_by}, so it is no longer withdrawn on its own: ask a "
            f"quality officer or a manager to reject it first, then {what}"
        )
    from .workflow import apply_event

    apply_event(nc, "withdraw", actor, {"reason": reason})
    return True


def add_corrective_action(
    nc: Nonconformity,
    actor: User | Actor,
    *,
    title: str,
    owner_id: int,
    due_date: dt.date | str,
    description: str = "",
    today: dt.date | None = None,
) -> CorrectiveAction:
    """Add a planned corrective action to the NC's plan (while the plan is open)."""
    actor = as_actor(actor)
    if not actor.roles & PLAN_ROLES:
        raise NotPermitted("Requires the role manager, process owner or quality officer to plan corrective actions")
    if nc.state not in PLANNING_STATES:
        raise InvalidTransition(f"Corrective actions can be planned only after the root cause (now: {nc.state_label})")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    description = clean_text(errors, "description", description, required=False)
    due = _date(errors, "due_date", due_date)
    if due and due < (today or event_date()):
        errors["due_date"] = "cannot be in the past"
    owner = db.session.get(User, owner_id) if isinstance(owner_id, int) and 0 < owner_id < 2**31 else None
    if owner is None or not owner.active:
        errors["owner_id"] = "must be an active user"
    elif not owner.has_role(*ACTION_OWNER_ROLES):
        errors["owner_id"] = "must be a process owner, quality officer or manager (someone who can carry it out)"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"corrective action planned for {nc.reference}") as session:
        action = CorrectiveAction(
            reference=next_reference(session, "CA", utcnow().year),
            nonconformity_id=nc.id,
            title=title,
            description=description,
            owner_id=owner.id,
            due_date=due,
        )
        session.add(action)
    return action


@effect("nonconformity", "triage")
def _triaged(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.severity = result.data["severity"]
    nc.containment_due = result.data.get("containment_due")
    if nc.owner_id is None:
        nc.owner_id = actor.id


@effect("nonconformity", "reject")
def _rejected(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.rejection_reason = result.data["reason"]
    nc.closed_at = now


@effect("nonconformity", "contain")
def _contained(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.containment = result.data["containment"]
    nc.correction = result.data.get("correction", "")


@effect("nonconformity", "analyse_root_cause")
def _root_cause(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    data = result.data
    fishbone = data.get("fishbone") or {}
    bad = [
        k
        for k, v in fishbone.items()
        if k not in FISHBONE_CATEGORIES
        or not isinstance(v, list)
        or not all(isinstance(c, str) and c.strip() and "\x00" not in c and len(c) <= 500 for c in v)
    ]
    if bad:
        raise InvalidData(
            {
                "fishbone": "keys must be among "
                + ", ".join(FISHBONE_CATEGORIES)
                + ", each with a list of causes (non-empty text)"
            }
        )
    if data["method"] == "five_whys" and not data.get("whys"):
        raise InvalidData({"whys": "is required for the five whys method"})
    nc.root_cause_method = data["method"]
    nc.root_cause = data["root_cause"]
    nc.root_cause_whys = data.get("whys", [])
    nc.root_cause_fishbone = fishbone


@effect("nonconformity", "plan_actions")
def _planned(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.verification_due = result.data["verification_due"]


@effect("nonconformity", "mark_ineffective")
def _reopened(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    """The next check is of the new actions, on a new date; the old evidence no longer stands."""
    nc.verification_due = result.data["verification_due"]
    nc.effectiveness_evidence = ""


@effect("nonconformity", "verify_effectiveness")
def _verified(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.effectiveness_evidence = result.data["evidence"]


@effect("nonconformity", "close")
def _closed(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.closed_at = now


@effect("nonconformity", "close_observation")
def _closed_observation(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    nc.closure_note = result.data["justification"]
    nc.closed_at = now


@effect("corrective_action", "implement")
def _implemented(action: CorrectiveAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.implementation = result.data["implementation"]
    action.implemented_by_id = actor.id
    action.implemented_at = now


@effect("corrective_action", "verify")
def _action_verified(action: CorrectiveAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.verification = result.data["verification"]
    action.verified_by_id = actor.id
    action.verified_at = now


@effect("corrective_action", "cancel")
def _action_cancelled(action: CorrectiveAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.cancel_reason = result.data["reason"]


@facts_provider(
    "nonconformity",
    provides=(
        "action_count",
        "open_action_count",
        "unverified_action_count",
        "verified_action_count",
        "implementer_ids",
        "reopened_on",
        "new_action_count",
        "effectiveness_verifier_id",
        "open_scar_count",
    ),
)
def _nc_facts(session: Session, ncs: Sequence[Nonconformity]) -> dict[int, dict[str, Any]]:
    """Action counts and implementers per NC for its guards, in one query (two when one awaits closure)."""
    ids = [nc.id for nc in ncs]
    ca = CorrectiveAction
    facts: dict[int, dict[str, Any]] = {
        i: {
            "action_count": 0,
            "open_action_count": 0,
            "unverified_action_count": 0,
            "verified_action_count": 0,
            "implementer_ids": set(),
            "reopened_on": None,
            "new_action_count": 0,
            "open_scar_count": 0,
        }
        for i in ids
    }
    # when the actions were last found ineffective: only actions added since then count as the new plan
    th = TransitionHistory
    reopened_at = dict(
        session.execute(
            select(th.record_id, func.max(th.at))
            .where(th.lifecycle == "nonconformity", th.event == "mark_ineffective", id_in(th.record_id, ids))
            .group_by(th.record_id)
        ).all()
    )
    from ..models import Scar

    for nc_id, count in session.execute(
        select(Scar.nonconformity_id, func.count())
        .where(id_in(Scar.nonconformity_id, ids), Scar.state.in_(Scar.OPEN_STATES))
        .group_by(Scar.nonconformity_id)
    ).all():
        facts[nc_id]["open_scar_count"] = count
    rows = session.execute(
        select(ca.nonconformity_id, ca.state, ca.implemented_by_id, ca.created_at).where(
            id_in(ca.nonconformity_id, ids)
        )
    ).all()
    for nc_id, at in reopened_at.items():
        facts[nc_id]["reopened_on"] = at.date()
    for nc_id, state, implementer, created_at in rows:
        f = facts[nc_id]
        if state != "cancelled":
            f["action_count"] += 1
            reopened = reopened_at.get(nc_id)
            if reopened is None or created_at > reopened:
                f["new_action_count"] += 1
        if state in ca.OPEN_STATES:
            f["open_action_count"] += 1
        elif state == "implemented":
            f["unverified_action_count"] += 1
        elif state == "verified":
            f["verified_action_count"] += 1
        if implementer is not None and state != "cancelled":
            f["implementer_ids"].add(implementer)
    # who verified effectiveness (the closer must be someone else): asked only where closing is next
    verified = [nc.id for nc in ncs if nc.state == "effectiveness_verified"]
    for i in ids:
        facts[i]["effectiveness_verifier_id"] = None
    if verified:
        th = TransitionHistory
        for nc_id, actor_id in session.execute(
            select(th.record_id, th.actor_id)
            .where(th.lifecycle == "nonconformity", th.event == "verify_effectiveness", id_in(th.record_id, verified))
            .order_by(th.id)
        ):
            facts[nc_id]["effectiveness_verifier_id"] = actor_id  # the latest verification counts
    return facts


@facts_provider("corrective_action", provides=("nc_state",))
def _action_facts(session: Session, actions: Sequence[CorrectiveAction]) -> dict[int, dict[str, Any]]:
    """The state of each action's nonconformity (its guards follow the NC's plan)."""
    ca = CorrectiveAction
    rows = session.execute(
        select(ca.id, Nonconformity.state)
        .join(Nonconformity, Nonconformity.id == ca.nonconformity_id)
        .where(id_in(ca.id, [a.id for a in actions]))
    ).all()
    return {action_id: {"nc_state": state} for action_id, state in rows}


def add_progress_note(action: CorrectiveAction, actor: User | Actor, text: str) -> ProgressNote:
    """Record progress on an open corrective action (its owner, a quality officer or a manager)."""
    actor = as_actor(actor)
    if action.owner_id != actor.id and not actor.roles & {"quality_officer", "manager"}:
        raise NotPermitted("Only the action owner, a quality officer or a manager can add progress notes")
    if action.is_terminal:
        raise InvalidTransition(f"The action is {action.state_label.lower()}; no more progress notes")
    errors: dict[str, str] = {}
    text = clean_text(errors, "text", text, limit=5000)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"progress on {action.reference}") as session:
        note = ProgressNote(corrective_action_id=action.id, author_id=actor.id, text=text)
        session.add(note)
    return note


#: the severity sort key, gravest first (the register page and the API); an unknown severity sorts last
SEVERITY_RANK = case({"major": 0, "minor": 1, "observation": 2}, value=Nonconformity.severity, else_=3)

NC_SORTS = {
    "reference": Nonconformity.id,
    "detected_on": Nonconformity.detected_on,
    "title": Nonconformity.title,
    "state": Nonconformity.state,
    "severity": SEVERITY_RANK,
    "process": Nonconformity.process,
}


NC_FILTERS = ("q", "state", "severity", "source", "process", "clause", "owner", "open")


@dataclass(frozen=True)
class NcFilters:
    q: str = ""
    state: str = ""
    severity: str = ""
    source: str = ""
    process: str = ""
    clause: str = ""
    owner: int | None = None
    open: bool = False
    sort: str = "-reference"
    raised_by: int | None = None
    #: the register page picks a process from a list (exact match); the API searches within the name
    process_exact: bool = True

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> NcFilters:
        args = {key: value.replace("\x00", "") for key, value in args.items()}  # NUL cannot be stored or searched
        owner = args.get("owner", "")
        sort = args.get("sort", "-reference")
        if sort.lstrip("-") not in NC_SORTS:
            sort = "-reference"
        return cls(
            q=args.get("q", "").strip()[:200],
            state=args.get("state", "").strip()[:40],
            severity=args.get("severity", "").strip()[:20],
            source=args.get("source", "").strip()[:30],
            process=args.get("process", "").strip()[:120],
            clause=args.get("clause", "").strip()[:40],
            owner=int(owner) if owner.isdigit() and len(owner) < 10 else None,
            open=args.get("open") in ("1", "true", "on"),
            sort=sort,
        )

    @classmethod
    def from_api(cls, args: Mapping[str, Any]) -> NcFilters:
        """The API's query arguments, already validated by its schema (the sort applies there)."""
        return cls(
            **{name: args[name] for name in ("q", "state", "severity", "source", "process", "clause") if name in args},
            owner=args.get("owner"),
            raised_by=args.get("raised_by"),
            process_exact=False,
        )

    def as_args(self) -> dict[str, str]:
        """Non-empty filters as query-string arguments (for links and exports)."""
        args = {name: str(getattr(self, name)) for name in NC_FILTERS if getattr(self, name) not in ("", None, False)}
        if self.open:
            args["open"] = "1"
        if self.sort != "-reference":
            args["sort"] = self.sort
        return args

    def describe(self) -> str:
        parts = [f"{name}: {value}" for name, value in self.as_args().items() if name != "sort"]
        return "; ".join(parts) or "all nonconformities"


def clause_filter(clause: str) -> Any:
    """NCs citing ``clause`` or one of its sub-clauses."""
    return clause_filter_on(Nonconformity.clause_refs, clause)


@functools.cache
def open_nc_states() -> tuple[str, ...]:
    """Every state of every version of the NC lifecycle but closed and rejected.

    ``state IN (these)`` finds the few open NCs through the state index, where ``NOT IN (closed,
    rejected)`` reads all of them (most NCs of a mature register are closed).
    """
    latest = get_lifecycle("nonconformity")
    states: set[str] = set()
    for version in range(1, latest.version + 1):
        try:
            states |= {state.name for state in get_lifecycle("nonconformity", version).states}
        except UnknownLifecycle:
            continue
    return tuple(sorted(states - set(NC_ENDED_STATES)))


def nc_is_open() -> Any:
    """The SQL condition of an open NC (see ``open_nc_states``)."""
    return Nonconformity.state.in_(open_nc_states())


def nonconformity_register(filters: NcFilters, *, order: Sequence[Any] = ()) -> Select:
    """SELECT of the NCs matching ``filters``, with owner, raiser and actions eager-loaded: the register
    page's and the API's query. Sorted by ``order`` when given, else by ``filters.sort``."""
    query = select(Nonconformity).options(
        selectinload(Nonconformity.owner),
        selectinload(Nonconformity.raised_by),
        selectinload(Nonconformity.actions),
    )
    if filters.q:
        query = query.where(
            or_(
                contains(Nonconformity.reference, filters.q),
                contains(Nonconformity.title, filters.q),
                contains(Nonconformity.description, filters.q),
            )
        )
    if filters.state:
        query = query.where(Nonconformity.state == filters.state)
    if filters.open:
        query = query.where(nc_is_open())
    if filters.severity:
        query = query.where(Nonconformity.severity == filters.severity)
    if filters.source:
        query = query.where(Nonconformity.source == filters.source)
    if filters.process:
        matches = contains(Nonconformity.process, filters.process)
        query = query.where(Nonconformity.process == filters.process if filters.process_exact else matches)
    if filters.clause:
        query = query.where(clause_filter(filters.clause))
    if filters.raised_by:
        query = query.where(Nonconformity.raised_by_id == filters.raised_by)
    if filters.owner:
        query = query.where(Nonconformity.owner_id == filters.owner)
    if order:
        return query.order_by(*order)
    column = NC_SORTS[filters.sort.lstrip("-")]
    if filters.sort.startswith("-"):  # ties by id in the same direction: one (column, id) index walks both
        return query.order_by(column.desc(), Nonconformity.id.desc())
    return query.order_by(column.asc(), Nonconformity.id.asc())


def overdue_actions_query(today: dt.date) -> Select:
    return (
        select(CorrectiveAction)
        .where(CorrectiveAction.state.in_(CorrectiveAction.OPEN_STATES), CorrectiveAction.due_date < today)
        .order_by(CorrectiveAction.due_date)
    )


EXPORT_COLUMNS = (
    "Reference",
    "Title",
    "Source",
    "Severity",
    "Process",
    "ISO clauses",
    "State",
    "Detected on",
    "Raised by",
    "Owner",
    "Open actions",
    "Closed at (UTC)",
)


def export_rows(filters: NcFilters) -> list[list[Any]]:
    """The register as filtered, one row per NC in the order of EXPORT_COLUMNS."""
    query = nonconformity_register(filters).options(
        selectinload(Nonconformity.raised_by), selectinload(Nonconformity.owner), selectinload(Nonconformity.actions)
    )
    return [
        [
            nc.reference,
            nc.title,
            NC_SOURCES.get(nc.source, nc.source),
            SEVERITY_LABELS.get(nc.severity or "", ""),
            nc.process,
            ", ".join(nc.clause_refs),
            nc.state_label,
            nc.detected_on,
            nc.raised_by.name,
            nc.owner.name if nc.owner else "",
            sum(1 for a in nc.actions if a.state in CorrectiveAction.OPEN_STATES),
            nc.closed_at.strftime("%Y-%m-%d %H:%M") if nc.closed_at else "",
        ]
        for nc in db.session.scalars(query)
    ]


def register_xlsx(filters: NcFilters) -> tuple[bytes, int]:
    """The filtered register as an XLSX workbook, and its number of rows."""
    rows = export_rows(filters)
    return xlsx_bytes("Nonconformities", EXPORT_COLUMNS, rows), len(rows)


def register_pdf(filters: NcFilters, organisation: str) -> tuple[bytes, int]:
    """The filtered register as the PDF report, and its number of rows."""
    from ..reports import register_load_options, register_report

    ncs = list(db.session.scalars(nonconformity_register(filters).options(*register_load_options())))
    return register_report(ncs, organisation, {"Showing": filters.describe()}), len(ncs)
