"""Corrective action: one planned action of a nonconformity's plan.

planned → in progress → implemented → verified, with the verification by
someone other than the implementer (segregation of duties, e-signature).
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import actor_is_or_role, not_actor

QO, MGR, AUD, PO = "quality_officer", "manager", "internal_auditor", "process_owner"

PLAN_APPROVED = ("action_planned", "actions_completed")
PLAN_OPEN = ("root_cause_identified", *PLAN_APPROVED)


def _nc_in(states: tuple[str, ...], reason: str):
    def check(ctx: GuardContext) -> str | None:
        nc_state = ctx.fact("nc_state")
        if nc_state not in states:
            return reason.format(state=str(nc_state).replace("_", " "))
        return None

    return check


_plan_approved = Guard(
    "nc_plan_approved",
    _nc_in(PLAN_APPROVED, "The nonconformity is {state}: its actions move only while its approved plan runs"),
    "The nonconformity's action plan is approved and running",
)
_plan_open = Guard(
    "nc_plan_open",
    _nc_in(PLAN_OPEN, "The nonconformity is {state}: its actions can no longer change"),
    "The nonconformity is still being acted on",
)

_owner_only = actor_is_or_role(
    "owner_id", QO, "Only the action owner or a quality officer can do this", name="owner_or_quality_officer"
)

LIFECYCLE = Lifecycle(
    name="corrective_action",
    version=1,
    label="Corrective action",
    description="A corrective action from plan to independent verification.",
    initial="planned",
    states=(
        State("planned", "Planned"),
        State("in_progress", "In progress"),
        State("implemented", "Implemented", description="Done; waiting for independent verification."),
        State("verified", "Verified", terminal=True),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event("start", "Start", ("planned",), "in_progress", roles(PO, QO, MGR), guards=(_plan_approved, _owner_only)),
        Event(
            "implement",
            "Mark implemented",
            ("in_progress",),
            "implemented",
            roles(PO, QO, MGR),
            guards=(_plan_approved, _owner_only),
            fields=(Field("implementation", "What was done"),),
        ),
        Event(
            "verify",
            "Verify",
            ("implemented",),
            "verified",
            roles(QO, AUD, MGR),
            guards=(
                _plan_approved,
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
            guards=(_plan_approved,),
            fields=(Field("reason", "Why it is not done"),),
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned", "in_progress"),
            "cancelled",
            roles(QO, MGR),
            guards=(_plan_open,),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
