"""Review of the QMS for a new ISO edition or amendment (for example ISO 9001:2026).

opened → gap analysis → transition planning → implementing → verification →
closed.  The gap analysis is complete when every clause change of the new
edition is assessed; the review closes (e-signature) when every transition
action is done.  Verification can send the review back to implementing, and a
manager can cancel it (for example when the edition is not adopted).

Version 2: the gap assessment is signed by a manager (e-signature, meaning
"approved") when the gap analysis completes, as the transition plan's basis.
"""

import dataclasses

from workflows.definition import Event, Field, Lifecycle, State, roles
from workflows.guards import none_open

QO, MGR = "quality_officer", "manager"

_no_open_action = none_open("open_transition_action_count", "transition action")

_V1 = Lifecycle(
    name="iso_change_review",
    version=1,
    label="ISO change review",
    description="Bringing the QMS in line with a new edition or amendment of a standard.",
    initial="opened",
    states=(
        State("opened", "Opened", description="New edition or amendment identified."),
        State("gap_analysis", "Gap analysis", description="Each clause change assessed against the QMS."),
        State("transition_planning", "Transition planning", description="Transition actions and deadline planned."),
        State("implementing", "Implementing", description="Transition actions in progress."),
        State("verification", "Verification", description="Checking the QMS now meets the new edition."),
        State("closed", "Closed", terminal=True),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event(
            "start_gap_analysis",
            "Start gap analysis",
            ("opened",),
            "gap_analysis",
            roles(QO, MGR),
        ),
        Event(
            "complete_gap_analysis",
            "Complete gap analysis",
            ("gap_analysis",),
            "transition_planning",
            roles(QO, MGR),
            guards=(none_open("unassessed_change_count", "clause change", still="not yet assessed"),),
            fields=(Field("summary", "Gap analysis summary"),),
        ),
        Event(
            "approve_plan",
            "Approve transition plan",
            ("transition_planning",),
            "implementing",
            roles(MGR),
            fields=(Field("target_date", "Transition deadline", "date"),),
        ),
        Event(
            "complete_implementation",
            "Complete implementation",
            ("implementing",),
            "verification",
            roles(QO, MGR),
            guards=(_no_open_action,),
        ),
        Event(
            "return_to_implementing",
            "Return to implementing",
            ("verification",),
            "implementing",
            roles(QO, MGR),
            fields=(Field("reason", "What is not yet in line with the new edition"),),
        ),
        Event(
            "close",
            "Close",
            ("verification",),
            "closed",
            roles(MGR),
            guards=(_no_open_action,),
            fields=(Field("verification", "Verification summary"),),
            signature="approved",
        ),
        Event(
            "cancel",
            "Cancel",
            ("opened", "gap_analysis", "transition_planning", "implementing", "verification"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)


def _signed_gap_assessment(event: Event) -> Event:
    if event.name != "complete_gap_analysis":
        return event
    return dataclasses.replace(
        event,
        label="Sign the gap assessment",
        roles=roles(MGR),
        signature="approved",
        description="A manager signs the gap assessment: every clause change assessed, the summary the plan's basis.",
    )


PREVIOUS_VERSIONS = (_V1,)

LIFECYCLE = dataclasses.replace(_V1, version=2, events=tuple(_signed_gap_assessment(e) for e in _V1.events))
