"""Controlled document revision (ISO 9001 7.5): write, review, approve, use, retire.

One record is one revision of a document.  draft → in review → approved →
effective; a reviewer can send the draft back with comments, and someone other
than the author approves it (e-signature).  An effective revision comes up for
periodic review and is confirmed (e-signature) or retired: superseded when the
next revision becomes effective, obsolete when the document is withdrawn from
use.  A revision that never became effective can be cancelled.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import not_actor

QO, MGR, PO = "quality_officer", "manager", "process_owner"


def _not_in_future(ctx: GuardContext) -> str | None:
    effective = ctx.data.get("effective_date")
    if effective is not None and effective > ctx.today:
        return f"The effective date {effective.isoformat()} is in the future; make the revision effective on that day"
    return None


LIFECYCLE = Lifecycle(
    name="document",
    version=1,
    label="Document revision",
    description="A controlled document revision from draft to effective use and retirement (ISO 9001 7.5).",
    initial="draft",
    states=(
        State("draft", "Draft", description="Being written or changed by its author."),
        State("in_review", "In review", description="Submitted; waiting for review and approval."),
        State("approved", "Approved", description="Approved; not yet in use."),
        State("effective", "Effective", description="The current revision, available at the point of use."),
        State("review_due", "Review due", description="Periodic review due; the revision stays in use meanwhile."),
        State("superseded", "Superseded", terminal=True, description="Replaced by a newer revision."),
        State("obsolete", "Obsolete", terminal=True, description="Withdrawn from use; the reason is recorded."),
        State("cancelled", "Cancelled", terminal=True, description="Abandoned before it became effective."),
    ),
    events=(
        Event(
            "submit_for_review",
            "Submit for review",
            ("draft",),
            "in_review",
            roles(PO, QO, MGR),
            fields=(Field("change_summary", "What changed in this revision"),),
        ),
        Event(
            "request_changes",
            "Request changes",
            ("in_review",),
            "draft",
            roles(QO, MGR, PO),
            fields=(Field("comments", "Requested changes"),),
        ),
        Event(
            "approve",
            "Approve",
            ("in_review",),
            "approved",
            roles(QO, MGR),
            guards=(
                not_actor(
                    "author_id",
                    "You wrote this revision, so someone else must approve it",
                    name="approver_is_not_author",
                ),
            ),
            signature="approved",
        ),
        Event(
            "make_effective",
            "Make effective",
            ("approved",),
            "effective",
            roles(QO, MGR),
            guards=(
                Guard(
                    "effective_date_not_in_future",
                    _not_in_future,
                    "Effective date is not in the future",
                    uses_data=True,
                    field="effective_date",
                ),
            ),
            fields=(Field("effective_date", "Effective date", "date"),),
        ),
        Event(
            "mark_review_due",
            "Start periodic review",
            ("effective",),
            "review_due",
            roles(QO, MGR),
        ),
        Event(
            "confirm_review",
            "Confirm after review",
            ("review_due",),
            "effective",
            roles(PO, QO, MGR),
            fields=(
                Field("next_review_on", "Next review due", "date", required=False),
                Field("comments", "Review notes", required=False),
            ),
            signature="reviewed and confirmed",
        ),
        Event(
            "supersede",
            "Mark superseded",
            ("effective", "review_due"),
            "superseded",
            roles(QO, MGR),
            fields=(Field("superseded_by", "Superseding revision", "string", required=False, max_length=40),),
        ),
        Event(
            "make_obsolete",
            "Withdraw from use",
            ("effective", "review_due"),
            "obsolete",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for withdrawal"),),
        ),
        Event(
            "cancel",
            "Cancel revision",
            ("draft", "in_review", "approved"),
            "cancelled",
            roles(PO, QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
