"""Supplier corrective action request (SCAR, ISO 9001 8.4 and 10.2): the supplier answers itself.

Raised from a nonconformity against a supplier; the quality officer sends the
supplier a single-use link; the supplier answers containment, root cause and
actions through it (or the quality officer records an answer received on
paper); the answer is accepted or returned for more work; after a waiting
period its effectiveness is verified (signed).  The nonconformity cannot close
while its SCAR is not verified or cancelled.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles
from workflows.guards import date_reached

QO, MGR, AUD = "quality_officer", "manager", "internal_auditor"
#: the supplier itself, answering through its link (no account; never a user role)
SUPPLIER = "supplier"

LIFECYCLE = Lifecycle(
    name="scar",
    version=1,
    label="Supplier corrective action request",
    description="A corrective action request answered by the supplier through its own link, reviewed and "
    "verified (ISO 9001 8.4, 10.2).",
    initial="awaiting_response",
    states=(
        State(
            "awaiting_response", "Awaiting the supplier's answer", description="The supplier answers through its link."
        ),
        State("answered", "Answer received", description="Waiting for the quality officer's review."),
        State("accepted", "Answer accepted", description="Waiting for the check of effectiveness."),
        State("verified", "Verified effective", terminal=True),
        State("cancelled", "Cancelled", terminal=True, description="Withdrawn; the reason is recorded."),
    ),
    events=(
        Event(
            "submit_answer",
            "Record the supplier's answer",
            ("awaiting_response",),
            "answered",
            roles(SUPPLIER, QO),
            fields=(
                Field("containment", "Containment (what was done at once)"),
                Field("root_cause", "Root cause"),
                Field("actions", "Corrective actions and dates"),
                Field("responder", "Answered by (name and position)", "string", max_length=200),
            ),
        ),
        Event(
            "accept",
            "Accept the answer",
            ("answered",),
            "accepted",
            roles(QO, MGR),
            fields=(
                Field("review_comment", "Review comment", required=False),
                Field("verification_due", "Effectiveness check due", "date"),
            ),
        ),
        Event(
            "return_answer",
            "Return the answer to the supplier",
            ("answered",),
            "awaiting_response",
            roles(QO, MGR),
            fields=(Field("reason", "What the supplier must improve"),),
        ),
        Event(
            "verify",
            "Verify effectiveness",
            ("accepted",),
            "verified",
            roles(QO, MGR, AUD),
            guards=(date_reached("verification_due", "The effectiveness check"),),
            fields=(Field("evidence", "Evidence of effectiveness"),),
            signature="verified effective",
        ),
        Event(
            "cancel",
            "Cancel",
            ("awaiting_response", "answered", "accepted"),
            "cancelled",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
