"""Implementing a QMS (ISO 9001): one process or clause at a time, on the implementation board.

Version 2 (current): each process and each clause moves planned → documented (a controlled
document linked as evidence) → implemented (records show it is done) → monitored (a measure or
check in place) → effective (signed; needs a completed internal audit of it and no open major
nonconformity against it). An effective item is reopened when an audit or NC shows otherwise;
a manager retires an item that leaves the QMS.

Version 1 (kept for records started under it) tracked the whole project:
initiated → gap analysis → planning → documenting → implementing → internal
audit → management review → ready for certification → operational.  The
sign-off for certification (e-signature) needs at least one completed internal
audit and no open major nonconformity.  Findings can send the project back to
implementing.  A manager can put the project on hold during any working phase
and resume it in the phase it was held in (fact ``held_from``), or cancel it.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import at_least_one, none_open

QO, MGR = "quality_officer", "manager"

STATES = (
    State("initiated", "Initiated", description="Decision taken to implement a QMS; scope not yet analysed."),
    State("gap_analysis", "Gap analysis", description="Current practice compared with ISO 9001, clause by clause."),
    State("planning", "Planning", description="Implementation plan, responsibilities and timeline being prepared."),
    State("documenting", "Documenting", description="Policy, objectives, processes and procedures being written."),
    State("implementing", "Implementing", description="Processes in use; records being produced."),
    State("internal_audit", "Internal audit", description="The QMS is audited internally before certification."),
    State("management_review", "Management review", description="Top management reviews the QMS (ISO 9001 9.3)."),
    State("ready_for_certification", "Ready for certification", description="Signed off; certification can start."),
    State("operational", "Operational", terminal=True, description="The QMS is in routine operation."),
    State("on_hold", "On hold", description="Paused; resumes in the phase it was held in."),
    State("cancelled", "Cancelled", terminal=True),
)

#: the working phases a project can be put on hold in (and resumed in)
HOLDABLE = ("gap_analysis", "planning", "documenting", "implementing", "internal_audit", "management_review")

_LABELS = {s.name: s.label for s in STATES}


def _audit_completed(ctx: GuardContext) -> str | None:
    if int(ctx.fact("completed_audit_count", 0) or 0) < 1:
        return "Complete at least one internal audit first"
    return None


_has_completed_audit = Guard("has_completed_audit_count", _audit_completed, "At least one completed internal audit")


def _held_in(phase: str) -> Guard:
    """Resume only in the phase the project was held in (any phase when that is unknown)."""

    def check(ctx: GuardContext) -> str | None:
        held_from = ctx.fact("held_from")
        if held_from is not None and held_from != phase:
            where = _LABELS.get(held_from, str(held_from)).lower()
            return f"The project was put on hold during {where}; resume it there"
        return None

    return Guard(f"held_during_{phase}", check, f"Put on hold during {_LABELS[phase].lower()}")


def _resume(phase: str) -> Event:
    return Event(
        f"resume_{phase}",
        f"Resume {_LABELS[phase].lower()}",
        ("on_hold",),
        phase,
        roles(MGR),
        guards=(_held_in(phase),),
    )


_PROJECT = Lifecycle(
    name="qms_implementation",
    version=1,
    label="QMS implementation",
    description="Implementing an ISO 9001 quality management system up to certification readiness.",
    initial="initiated",
    states=STATES,
    events=(
        Event(
            "start_gap_analysis",
            "Start gap analysis",
            ("initiated",),
            "gap_analysis",
            roles(QO, MGR),
            fields=(
                Field("scope", "Intended QMS scope", help="Sites, products and services to be covered (4.3)."),
                Field("target_date", "Target date for certification readiness", "date", required=False),
            ),
        ),
        Event(
            "complete_gap_analysis",
            "Complete gap analysis",
            ("gap_analysis",),
            "planning",
            roles(QO, MGR),
            fields=(Field("summary", "Gap analysis summary"),),
        ),
        Event(
            "approve_plan",
            "Approve implementation plan",
            ("planning",),
            "documenting",
            roles(MGR),
            fields=(Field("target_date", "Target date for certification readiness", "date"),),
        ),
        Event(
            "complete_documentation",
            "Complete documentation",
            ("documenting",),
            "implementing",
            roles(QO, MGR),
        ),
        Event(
            "start_internal_audit",
            "Start internal audit",
            ("implementing",),
            "internal_audit",
            roles(QO, MGR),
        ),
        Event(
            "start_management_review",
            "Start management review",
            ("internal_audit",),
            "management_review",
            roles(QO, MGR),
            guards=(_has_completed_audit,),
        ),
        Event(
            "approve_for_certification",
            "Approve for certification",
            ("management_review",),
            "ready_for_certification",
            roles(MGR),
            guards=(
                none_open("open_major_nc_count", "major nonconformity", "major nonconformities"),
                _has_completed_audit,
            ),
            signature="approved for certification",
        ),
        Event(
            "return_to_implementing",
            "Return to implementing",
            ("internal_audit", "management_review", "ready_for_certification"),
            "implementing",
            roles(QO, MGR),
            fields=(Field("reason", "What still needs to be implemented"),),
        ),
        Event(
            "mark_operational",
            "Mark operational",
            ("ready_for_certification",),
            "operational",
            roles(QO, MGR),
            fields=(Field("operational_from", "Operational from", "date"),),
        ),
        Event(
            "put_on_hold",
            "Put on hold",
            HOLDABLE,
            "on_hold",
            roles(MGR),
            fields=(
                Field("reason", "Reason for the hold"),
                Field("resume_by", "Expected resumption", "date", required=False),
            ),
        ),
        *(_resume(phase) for phase in HOLDABLE),
        Event(
            "cancel",
            "Cancel",
            ("initiated", *HOLDABLE, "ready_for_certification", "on_hold"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)


PREVIOUS_VERSIONS = (_PROJECT,)

PO = "process_owner"
_has_document = at_least_one("document_evidence_count", "controlled document linked as evidence")
_has_evidence = at_least_one("evidence_count", "piece of evidence (a record, document or audit)")
_audited = at_least_one(
    "completed_audit_count", "completed internal audit covering it", purpose="effectiveness is shown by an audit"
)
_no_major = none_open("open_major_nc_count", "major nonconformity against it", "major nonconformities against it")

LIFECYCLE = Lifecycle(
    name="qms_implementation",
    version=2,
    label="QMS implementation",
    description="A process or clause on the implementation board, from planned to effective (ISO 9001).",
    initial="planned",
    states=(
        State("planned", "Planned", description="On the plan; nothing documented yet."),
        State("documented", "Documented", description="Documented in a controlled document."),
        State("implemented", "Implemented", description="In use; records show it is done."),
        State("monitored", "Monitored", description="A measure or check shows how well it works."),
        State("effective", "Effective", description="Shown effective by an internal audit; signed off."),
        State("retired", "Retired", terminal=True, description="No longer part of the QMS (process discontinued)."),
    ),
    events=(
        Event(
            "document",
            "Mark documented",
            ("planned",),
            "documented",
            roles(QO, MGR, PO),
            guards=(_has_document,),
        ),
        Event(
            "implement",
            "Mark implemented",
            ("documented",),
            "implemented",
            roles(QO, MGR, PO),
            guards=(_has_evidence,),
            fields=(Field("implementation", "How it is done and where the records are"),),
        ),
        Event(
            "monitor",
            "Mark monitored",
            ("implemented",),
            "monitored",
            roles(QO, MGR, PO),
            fields=(Field("monitoring", "What is measured or checked, and how often"),),
        ),
        Event(
            "confirm_effective",
            "Confirm effective",
            ("monitored",),
            "effective",
            roles(QO, MGR),
            guards=(_audited, _no_major),
            fields=(Field("evidence", "Evidence of effectiveness"),),
            signature="confirmed effective",
        ),
        Event(
            "reopen",
            "Reopen",
            ("monitored", "effective"),
            "implemented",
            roles(QO, MGR),
            fields=(Field("reason", "What shows it is not (yet) effective"),),
        ),
        Event(
            "revise",
            "Back to planning",
            ("documented", "implemented"),
            "planned",
            roles(QO, MGR),
            fields=(Field("reason", "Why it goes back to planning"),),
        ),
        Event(
            "retire",
            "Retire",
            ("planned", "documented", "implemented", "monitored", "effective"),
            "retired",
            roles(MGR),
            fields=(Field("reason", "Why it is no longer part of the QMS"),),
        ),
    ),
)
