"""Risk treatment action: one action of a risk's treatment plan.

planned → in progress → implemented → verified, like a corrective action: verified by someone
other than the implementer (segregation of duties, e-signature).  Its actions move only while the
risk's treatment is planned.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import actor_is_or_role, not_actor

QO, MGR, AUD, PO = "quality_officer", "manager", "internal_auditor", "process_owner"


def _risk_in_treatment(ctx: GuardContext) -> str | None:
    state = ctx.fact("risk_state")
    if state != "treatment_planned":
        return f"The risk is {str(state).replace('_', ' ')}: its actions move only while its treatment is planned"
    return None


def _risk_open(ctx: GuardContext) -> str | None:
    state = ctx.fact("risk_state")
    if state in ("closed", "withdrawn"):
        return f"The risk is {state}: its actions can no longer change"
    return None


_in_treatment = Guard("risk_treatment_planned", _risk_in_treatment, "The risk's treatment is planned")
_open = Guard("risk_open", _risk_open, "The risk is still open")
_owner_only = actor_is_or_role(
    "owner_id", QO, "Only the action owner or a quality officer can do this", name="owner_or_quality_officer"
)

LIFECYCLE = Lifecycle(
    name="risk_treatment",
    version=1,
    label="Risk treatment action",
    description="An action of a risk's treatment plan, from plan to independent verification.",
    initial="planned",
    states=(
        State("planned", "Planned"),
        State("in_progress", "In progress"),
        State("implemented", "Implemented", description="Done; waiting for independent verification."),
        State("verified", "Verified", terminal=True),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event("start", "Start", ("planned",), "in_progress", roles(PO, QO, MGR), guards=(_in_treatment, _owner_only)),
        Event(
            "implement",
            "Mark implemented",
            ("in_progress",),
            "implemented",
            roles(PO, QO, MGR),
            guards=(_in_treatment, _owner_only),
            fields=(Field("implementation", "What was done"),),
        ),
        Event(
            "verify",
            "Verify",
            ("implemented",),
            "verified",
            roles(QO, AUD, MGR),
            guards=(
                _in_treatment,
                not_actor(
                    "implemented_by_id",
                    "You implemented this action, so someone else must verify it",
                    name="verifier_is_not_implementer",
                ),
            ),
            fields=(Field("verification", "Verification notes"),),
            signature="verified effective",
        ),
        Event(
            "reject_implementation",
            "Send back",
            ("implemented",),
            "in_progress",
            roles(QO, AUD, MGR),
            guards=(_in_treatment,),
            fields=(Field("reason", "Why it is not done"),),
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned", "in_progress"),
            "cancelled",
            roles(QO, MGR),
            guards=(_open,),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
