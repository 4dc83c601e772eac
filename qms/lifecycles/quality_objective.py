"""Quality objective (ISO 9001 6.2): set, approved, pursued, evaluated at its deadline, closed.

draft → approved (signed by a manager) → active (its KPI is measured) → achieved or
missed → closed.  An objective is approved only with its plan written (what will be done,
resources, who, when, how the results are evaluated); it is marked achieved only when the
latest measurement meets the target.  When it is missed its owner (or a manager) chooses the follow-up: a
nonconformity or an opportunity for improvement is raised from it.  A draft, approved or
active objective can be withdrawn with a reason.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import actor_is_or_role

QO, MGR, PO = "quality_officer", "manager", "process_owner"

#: what a missed objective raises
MISSED_FOLLOW_UPS = ("nonconformity", "opportunity")


def _plan_complete(ctx: GuardContext) -> str | None:
    missing = ctx.fact("plan_missing")
    if missing:
        return "The plan is incomplete: " + ", ".join(missing)
    return None


def _target_met(ctx: GuardContext) -> str | None:
    if ctx.fact("latest_value") is None:
        return "No measurement has been recorded yet"
    if not ctx.fact("target_met"):
        return "The latest measurement does not meet the target"
    return None


#: what a missed objective raises is its owner's choice (or a manager's)
_owner_decides = actor_is_or_role(
    "owner_id",
    MGR,
    "Only the objective's owner or a manager decides what a missed objective raises",
    name="objective_owner_or_manager",
)

LIFECYCLE = Lifecycle(
    name="quality_objective",
    version=1,
    label="Quality objective",
    description="A measurable quality objective with its KPI and plan, from draft to evaluation (ISO 9001 6.2).",
    initial="draft",
    states=(
        State("draft", "Draft", description="Being written: target, KPI and plan."),
        State("approved", "Approved", description="Approved and signed by a manager; not yet being measured."),
        State("active", "Active", description="Being pursued; its KPI is measured against the target."),
        State("achieved", "Achieved", description="The target was met."),
        State("missed", "Missed", description="The target was not met; a follow-up was raised."),
        State("closed", "Closed", terminal=True),
        State("withdrawn", "Withdrawn", terminal=True, description="No longer pursued; the reason is recorded."),
    ),
    events=(
        Event(
            "approve",
            "Approve",
            ("draft",),
            "approved",
            roles(MGR),
            guards=(Guard("plan_complete", _plan_complete, "The plan says what, resources, who, when and how"),),
            signature="approved",
        ),
        Event(
            "activate",
            "Start measuring",
            ("approved",),
            "active",
            roles(QO, MGR, PO),
        ),
        Event(
            "mark_achieved",
            "Mark achieved",
            ("active",),
            "achieved",
            roles(QO, MGR),
            guards=(Guard("target_met", _target_met, "The latest measurement meets the target"),),
            fields=(Field("evaluation", "How the result was evaluated"),),
        ),
        Event(
            "mark_missed",
            "Mark missed",
            ("active",),
            "missed",
            roles(QO, MGR, PO),
            guards=(_owner_decides,),
            fields=(
                Field("reason", "Why the objective was missed"),
                Field(
                    "follow_up",
                    "Raise from it",
                    "choice",
                    choices=MISSED_FOLLOW_UPS,
                    help="A nonconformity to correct the cause, or an opportunity for improvement.",
                ),
            ),
        ),
        Event(
            "close",
            "Close",
            ("achieved", "missed"),
            "closed",
            roles(QO, MGR),
            fields=(Field("closing_note", "Closing note", required=False),),
        ),
        Event(
            "withdraw",
            "Withdraw",
            ("draft", "approved", "active"),
            "withdrawn",
            roles(MGR),
            fields=(Field("reason", "Why the objective is withdrawn"),),
        ),
    ),
)
