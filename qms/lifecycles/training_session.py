"""Training session (ISO 9001 7.2): plan, hold, evaluate its effectiveness, close.

planned → held (who attended, on which day; certificates attached) → evaluated
(after the session's evaluation period: each attendee's test score, an
observation or the manager's sign-off says whether the training worked) →
closed.  A planned session can be cancelled.  Evaluating gives every attendee
found effective a competence record at the session's level; their training
needs are met.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR = "quality_officer", "manager"


def _attendance_recorded(ctx: GuardContext) -> str | None:
    if not ctx.fact("attendees"):
        return "Record who attended first"
    return None


def _evaluation_period_over(ctx: GuardContext) -> str | None:
    due = ctx.fact("evaluation_due", None)
    if due is not None and ctx.today < due:
        return f"The effectiveness can be evaluated from {due.isoformat()}"
    return None


def _everyone_evaluated(ctx: GuardContext) -> str | None:
    missing = ctx.fact("unevaluated")
    if missing:
        return f"{missing} attendee{'s are' if missing != 1 else ' is'} not yet evaluated"
    return None


LIFECYCLE = Lifecycle(
    name="training_session",
    version=1,
    label="Training session",
    description="A training session from plan to evaluated effectiveness (ISO 9001 7.2).",
    initial="planned",
    states=(
        State("planned", "Planned", description="Date, trainer, material and invitees set."),
        State("held", "Held", description="Attendance recorded; waiting for the evaluation period."),
        State("evaluated", "Evaluated", description="Effectiveness evaluated for every attendee."),
        State("closed", "Closed", terminal=True),
        State("cancelled", "Cancelled", terminal=True, description="Not held; the reason is recorded."),
    ),
    events=(
        Event(
            "hold",
            "Record as held",
            ("planned",),
            "held",
            roles(QO, MGR),
            guards=(Guard("attendance_recorded", _attendance_recorded, "Attendance is recorded"),),
            fields=(Field("held_on", "Held on", "date"),),
        ),
        Event(
            "evaluate",
            "Evaluate effectiveness",
            ("held",),
            "evaluated",
            roles(QO, MGR),
            guards=(
                Guard("evaluation_period_over", _evaluation_period_over, "The evaluation period is over"),
                Guard("everyone_evaluated", _everyone_evaluated, "Every attendee is evaluated"),
            ),
            fields=(Field("evaluated_on", "Evaluated on", "date"),),
        ),
        Event(
            "close",
            "Close",
            ("evaluated",),
            "closed",
            roles(QO, MGR),
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned",),
            "cancelled",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
