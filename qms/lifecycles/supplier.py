"""External provider (ISO 9001 8.4): evaluated before approval, re-evaluated on a cadence.

prospective → under evaluation → approved (signed) or conditionally approved
(signed, with its conditions); an approved supplier whose performance falls is
conditionally approved or suspended; a suspended one is re-evaluated or
disqualified.  Approval needs at least one recorded evaluation.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles

QO, MGR = "quality_officer", "manager"

CRITICALITIES = ("high", "medium", "low")


def _evaluated(ctx: GuardContext) -> str | None:
    if not ctx.fact("evaluation_count", 0):
        return "Record an evaluation of the supplier first"
    return None


LIFECYCLE = Lifecycle(
    name="supplier",
    version=1,
    label="Supplier",
    description="An external provider from first contact through evaluation to approval, suspension or "
    "disqualification (ISO 9001 8.4).",
    initial="prospective",
    states=(
        State("prospective", "Prospective", description="Known, not yet evaluated; not to be used."),
        State("under_evaluation", "Under evaluation", description="Being evaluated against the criteria."),
        State("approved", "Approved", description="On the approved supplier list."),
        State(
            "conditionally_approved",
            "Conditionally approved",
            description="On the approved supplier list with conditions (extra inspection, limited scope).",
        ),
        State("suspended", "Suspended", description="Not to be used until re-evaluated."),
        State("disqualified", "Disqualified", terminal=True, description="Not to be used; the reason is recorded."),
    ),
    events=(
        Event(
            "start_evaluation",
            "Start evaluation",
            ("prospective",),
            "under_evaluation",
            roles(QO, MGR),
        ),
        Event(
            "approve",
            "Approve",
            ("under_evaluation", "conditionally_approved"),
            "approved",
            roles(QO, MGR),
            guards=(Guard("evaluated", _evaluated, "At least one evaluation recorded"),),
            fields=(Field("scope", "Scope of approval (what they may supply)"),),
            signature="approved",
        ),
        Event(
            "approve_conditionally",
            "Approve with conditions",
            ("under_evaluation", "approved"),
            "conditionally_approved",
            roles(QO, MGR),
            guards=(Guard("evaluated", _evaluated, "At least one evaluation recorded"),),
            fields=(
                Field("conditions", "Conditions (what must happen, extra controls)"),
                Field("review_by", "Conditions reviewed by", "date"),
            ),
            signature="approved with conditions",
        ),
        Event(
            "suspend",
            "Suspend",
            ("approved", "conditionally_approved"),
            "suspended",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for suspension"),),
        ),
        Event(
            "re_evaluate",
            "Re-evaluate",
            ("suspended",),
            "under_evaluation",
            roles(QO, MGR),
            fields=(Field("reason", "Why the supplier may be considered again"),),
        ),
        Event(
            "disqualify",
            "Disqualify",
            ("prospective", "under_evaluation", "approved", "conditionally_approved", "suspended"),
            "disqualified",
            roles(MGR, QO),
            fields=(Field("reason", "Reason for disqualification"),),
            signature="disqualified",
        ),
    ),
)
