"""Management review (ISO 9001 9.3): gather the inputs, meet, minute, follow up.

planned → gathering inputs → ready → held → minutes drafted → minutes
approved → tracking actions → closed.  The meeting is ready only when every
9.3.2 input is provided; a manager approves the minutes (e-signature) or asks
for changes; the review closes when every action it decided is done.  A review
that has not yet been held can be cancelled.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles
from workflows.guards import none_open

QO, MGR = "quality_officer", "manager"

LIFECYCLE = Lifecycle(
    name="management_review",
    version=1,
    label="Management review",
    description="A management review from its inputs to its decided actions (ISO 9001 9.3).",
    initial="planned",
    states=(
        State("planned", "Planned"),
        State("gathering_inputs", "Gathering inputs", description="The 9.3.2 inputs are being collected."),
        State("ready", "Ready", description="Every input provided; the meeting can be held."),
        State("held", "Held", description="Meeting held; minutes to be written."),
        State("minutes_drafted", "Minutes drafted", description="Waiting for approval."),
        State("minutes_approved", "Minutes approved"),
        State("tracking_actions", "Tracking actions", description="Decisions and actions (9.3.3) being carried out."),
        State("closed", "Closed", terminal=True),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event(
            "start_gathering",
            "Start gathering inputs",
            ("planned",),
            "gathering_inputs",
            roles(QO, MGR),
            fields=(Field("inputs_due", "Inputs due", "date", required=False),),
        ),
        Event(
            "mark_ready",
            "Mark inputs complete",
            ("gathering_inputs",),
            "ready",
            roles(QO, MGR),
            guards=(none_open("missing_input_count", "review input", still="still missing"),),
        ),
        Event(
            "record_meeting",
            "Record meeting held",
            ("ready",),
            "held",
            roles(QO, MGR),
            fields=(
                Field("held_on", "Held on", "date"),
                Field("attendees", "Attendees", "list"),
            ),
        ),
        Event(
            "draft_minutes",
            "Submit minutes for approval",
            ("held",),
            "minutes_drafted",
            roles(QO, MGR),
            fields=(Field("minutes", "Minutes (decisions and actions)"),),
        ),
        Event(
            "request_changes",
            "Request changes to the minutes",
            ("minutes_drafted",),
            "held",
            roles(MGR),
            fields=(Field("comments", "Requested changes"),),
        ),
        Event(
            "approve_minutes",
            "Approve minutes",
            ("minutes_drafted",),
            "minutes_approved",
            roles(MGR),
            signature="approved",
        ),
        Event(
            "start_tracking",
            "Start tracking actions",
            ("minutes_approved",),
            "tracking_actions",
            roles(QO, MGR),
        ),
        Event(
            "close",
            "Close",
            ("tracking_actions",),
            "closed",
            roles(QO, MGR),
            guards=(none_open("open_action_count", "review action"),),
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned", "gathering_inputs", "ready"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
