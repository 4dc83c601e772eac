"""Internal audit (ISO 9001 9.2, conducted as in ISO 19011 clause 6).

planned → scheduled → prepared (checklist ready) → in progress → report
drafted (signed by the lead auditor) → report approved → follow-up → closed.
Scheduling needs a lead auditor, and no auditor on the team may own the audited
process; the audit starts only with a checklist and the report is drafted only
when every question is answered.
Someone other than the lead auditor approves the report (e-signature), and the
audit closes when the nonconformities it raised are closed.  Before it starts
an audit can be postponed (and resumed with new dates) or cancelled.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import actor_is_or_role, at_least_one, fact_true, none_open, not_actor

QO, MGR, AUD = "quality_officer", "manager", "internal_auditor"


def _auditor_independent(ctx: GuardContext) -> str | None:
    if ctx.fact("auditor_owns_process"):
        return "An auditor on this audit owns the audited process; choose an independent auditor"
    return None


def _dates_in_order(ctx: GuardContext) -> str | None:
    start, end = ctx.data.get("planned_start"), ctx.data.get("planned_end")
    if start is not None and end is not None and end < start:
        return f"The planned end ({end.isoformat()}) is before the planned start ({start.isoformat()})"
    return None


_has_lead_auditor = fact_true("lead_auditor_id", "Assign a lead auditor first", name="has_lead_auditor")
_independent = Guard("auditor_is_independent", _auditor_independent, "No auditor on the team owns the process")
_dates_valid = Guard(
    "planned_end_not_before_start",
    _dates_in_order,
    "The planned end is not before the planned start",
    uses_data=True,
    field="planned_end",
)
_lead_auditor_only = actor_is_or_role(
    "lead_auditor_id",
    QO,
    "Only the lead auditor or a quality officer can do this",
    name="lead_auditor_or_quality_officer",
)
_has_questions = at_least_one("question_count", "checklist question")

_SCHEDULE_FIELDS = (  # optional: a programme's audit already has planned dates
    Field("planned_start", "Planned start", "date", required=False, help="Leave empty to keep the planned date"),
    Field("planned_end", "Planned end", "date", required=False, help="Leave empty to keep the planned date"),
)

LIFECYCLE = Lifecycle(
    name="internal_audit",
    version=1,
    label="Internal audit",
    description="An internal audit from planning to report approval and follow-up (ISO 19011).",
    initial="planned",
    states=(
        State("planned", "Planned", description="In the audit programme; dates and auditor not yet fixed."),
        State("scheduled", "Scheduled", description="Dates and an independent lead auditor set."),
        State("prepared", "Prepared", description="Audit plan and checklist ready."),
        State("in_progress", "In progress", description="Opening meeting held; evidence being collected."),
        State("report_drafted", "Report drafted", description="Findings and conclusions written; awaiting approval."),
        State("report_approved", "Report approved"),
        State("follow_up", "Follow-up", description="Nonconformities raised by the audit are being resolved."),
        State("closed", "Closed", terminal=True),
        State("postponed", "Postponed", description="Deferred; the reason is recorded."),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event(
            "schedule",
            "Schedule",
            ("planned",),
            "scheduled",
            roles(QO, MGR),
            guards=(_has_lead_auditor, _independent, _dates_valid),
            fields=_SCHEDULE_FIELDS,
        ),
        Event(
            "prepare",
            "Mark checklist ready",
            ("scheduled",),
            "prepared",
            roles(AUD, QO),
            guards=(_lead_auditor_only, _has_questions),
        ),
        Event(
            "start",
            "Start audit",
            ("prepared",),
            "in_progress",
            roles(AUD, QO),
            guards=(_lead_auditor_only, _independent, _has_questions),
        ),
        Event(
            "draft_report",
            "Submit report for approval",
            ("in_progress",),
            "report_drafted",
            roles(AUD, QO),
            guards=(
                _lead_auditor_only,
                none_open("unanswered_question_count", "checklist question", still="still unanswered"),
            ),
            fields=(Field("summary", "Audit conclusions"),),
            signature="submitted as lead auditor",
        ),
        Event(
            "request_changes",
            "Request changes to the report",
            ("report_drafted",),
            "in_progress",
            roles(MGR),
            fields=(Field("comments", "Requested changes"),),
        ),
        Event(
            "approve_report",
            "Approve report",
            ("report_drafted",),
            "report_approved",
            roles(MGR),
            guards=(
                not_actor(
                    "lead_auditor_id",
                    "You led this audit, so someone else must approve its report",
                    name="approver_is_not_lead_auditor",
                ),
            ),
            signature="approved",
        ),
        Event(
            "start_follow_up",
            "Distribute report and start follow-up",
            ("report_approved",),
            "follow_up",
            roles(QO, AUD),
        ),
        Event(
            "close",
            "Close",
            ("follow_up",),
            "closed",
            roles(QO, MGR),
            guards=(
                none_open("open_finding_nc_count", "nonconformity from this audit", "nonconformities from this audit"),
            ),
        ),
        Event(
            "postpone",
            "Postpone",
            ("planned", "scheduled", "prepared"),
            "postponed",
            roles(QO, MGR),
            fields=(
                Field("reason", "Reason for postponing"),
                Field("new_date", "New target date", "date", required=False),
            ),
        ),
        Event(
            "resume",
            "Resume and reschedule",
            ("postponed",),
            "scheduled",
            roles(QO, MGR),
            guards=(_has_lead_auditor, _independent, _dates_valid),
            fields=_SCHEDULE_FIELDS,
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned", "scheduled", "prepared", "in_progress", "postponed"),
            "cancelled",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
