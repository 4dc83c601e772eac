"""Inspection (ISO 9001 8.6, 8.4.2): a product checked before it is accepted, released or used.

Recorded with what was inspected, the criteria, the measuring equipment used and the result
(accepted, rejected, or accepted with concession); a rejected incoming inspection raises a
nonconformity against the supplier when it is recorded. A quality officer or manager other than
the inspector reviews the record; a record entered in error is voided with the reason.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles
from workflows.guards import not_actor

QO, MGR = "quality_officer", "manager"

LIFECYCLE = Lifecycle(
    name="inspection",
    version=1,
    label="Inspection",
    description="An incoming, in-process or final inspection from its record to its review.",
    initial="recorded",
    states=(
        State("recorded", "Recorded", description="Result recorded; waiting for review."),
        State("reviewed", "Reviewed", terminal=True),
        State("voided", "Voided", terminal=True, description="Entered in error; the reason is recorded."),
    ),
    events=(
        Event(
            "review",
            "Review",
            ("recorded",),
            "reviewed",
            roles(QO, MGR),
            guards=(
                not_actor(
                    "inspected_by_id",
                    "You recorded this inspection, so someone else must review it",
                    name="reviewer_is_not_inspector",
                ),
            ),
            fields=(Field("review_comment", "Review comment", required=False),),
        ),
        Event(
            "void",
            "Void",
            ("recorded",),
            "voided",
            roles(QO, MGR),
            fields=(Field("reason", "Why this record is void"),),
        ),
    ),
)
