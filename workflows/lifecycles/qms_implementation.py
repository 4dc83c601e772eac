"""Implementing a QMS (ISO 9001), from the decision to certification readiness.

initiated → gap analysis → planning → documenting → implementing → internal
audit → management review → ready for certification → operational.  The
sign-off for certification (e-signature) needs at least one completed internal
audit and no open major nonconformity.  Findings can send the project back to
implementing.  A manager can put the project on hold during any working phase
and resume it in the phase it was held in (fact ``held_from``), or cancel it.
"""

from ..definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from ..guards import none_open

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


LIFECYCLE = Lifecycle(
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
