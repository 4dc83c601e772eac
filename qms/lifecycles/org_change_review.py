"""Review of the QMS for an organisational change (ISO 9001 6.3 planning of changes).

proposed → impact assessment → planning → implementing → effectiveness
review → closed.  The impact assessment records what 6.3 asks to consider
(purpose and consequences, integrity of the QMS, resources, responsibilities).
Implementation is complete when every change action is done; the effectiveness
review closes the change (e-signature) or sends it back to planning.  A
proposal can be rejected before planning; an approved change can be cancelled.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles
from workflows.guards import date_reached, none_open

QO, MGR, PO = "quality_officer", "manager", "process_owner"

LIFECYCLE = Lifecycle(
    name="org_change_review",
    version=1,
    label="Organisational change review",
    description="Planning and checking a change to the organisation so the QMS stays intact (ISO 9001 6.3).",
    initial="proposed",
    states=(
        State("proposed", "Proposed", description="Change described; waiting for assessment."),
        State("impact_assessment", "Impact assessment", description="Effects on the QMS being assessed."),
        State("planning", "Planning", description="Change actions, resources and responsibilities planned."),
        State("implementing", "Implementing", description="Change actions in progress."),
        State("effectiveness_review", "Effectiveness review", description="Checking the change achieved its purpose."),
        State("closed", "Closed", terminal=True),
        State("rejected", "Rejected", terminal=True, description="Not to be made; the reason is recorded."),
        State("cancelled", "Cancelled", terminal=True, description="Abandoned after approval; the reason is recorded."),
    ),
    events=(
        Event(
            "start_assessment",
            "Start impact assessment",
            ("proposed",),
            "impact_assessment",
            roles(QO, MGR),
        ),
        Event(
            "complete_assessment",
            "Complete impact assessment",
            ("impact_assessment",),
            "planning",
            roles(QO, PO, MGR),
            fields=(
                Field("consequences", "Purpose and potential consequences"),
                Field("qms_integrity", "Effect on the integrity of the QMS"),
                Field("resources", "Resources needed"),
                Field("responsibilities", "Responsibilities and authorities"),
            ),
        ),
        Event(
            "approve_plan",
            "Approve change plan",
            ("planning",),
            "implementing",
            roles(MGR),
            fields=(Field("target_date", "Target date", "date"),),
        ),
        Event(
            "complete_implementation",
            "Complete implementation",
            ("implementing",),
            "effectiveness_review",
            roles(QO, PO, MGR),
            guards=(none_open("open_change_action_count", "change action"),),
            fields=(Field("effectiveness_review_due", "Effectiveness review due", "date", required=False),),
        ),
        Event(
            "close",
            "Close as effective",
            ("effectiveness_review",),
            "closed",
            roles(MGR),
            guards=(date_reached("effectiveness_review_due", "The effectiveness review"),),
            fields=(Field("evidence", "Evidence of effectiveness"),),
            signature="verified effective",
        ),
        Event(
            "mark_ineffective",
            "Reopen: change not effective",
            ("effectiveness_review",),
            "planning",
            roles(QO, MGR),
            fields=(Field("reason", "Why the change is not yet effective"),),
        ),
        Event(
            "reject",
            "Reject",
            ("proposed", "impact_assessment"),
            "rejected",
            roles(MGR),
            fields=(Field("reason", "Reason for rejection"),),
        ),
        Event(
            "cancel",
            "Cancel",
            ("planning", "implementing"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
