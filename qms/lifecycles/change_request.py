"""Change request (ISO 9001 6.3 planning of changes): plan, approve, implement, review.

draft → submitted → approved (a manager signs) → implementing → post-change review → closed.
A change is submitted only with its purpose, consequences, resources and responsibilities
written; implementation is complete when every task is done; the post-change review either
closes it (signed) or sends it back to implementation.  A draft or submitted request can be
rejected, an approved one cancelled, each with a reason.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import none_open

QO, MGR, PO = "quality_officer", "manager", "process_owner"


def _planned(ctx: GuardContext) -> str | None:
    missing = ctx.fact("plan_missing")
    if missing:
        return "Still to be written: " + ", ".join(missing)
    return None


def _has_tasks(ctx: GuardContext) -> str | None:
    if not ctx.fact("task_count"):
        return "Add at least one implementation task first"
    return None


LIFECYCLE = Lifecycle(
    name="change_request",
    version=1,
    label="Change request",
    description="A planned change to the QMS, approved, implemented through tasks and reviewed (ISO 9001 6.3).",
    initial="draft",
    states=(
        State("draft", "Draft", description="Purpose, consequences, resources and responsibilities being written."),
        State("submitted", "Submitted", description="Waiting for a manager's approval."),
        State("approved", "Approved", description="Approved and signed; implementation tasks being planned."),
        State("implementing", "Implementing", description="Implementation tasks in progress."),
        State("post_review", "Post-change review", description="Checking the change achieved its purpose."),
        State("closed", "Closed", terminal=True),
        State("rejected", "Rejected", terminal=True, description="Not to be made; the reason is recorded."),
        State("cancelled", "Cancelled", terminal=True, description="Abandoned after approval; the reason is recorded."),
    ),
    events=(
        Event(
            "submit",
            "Submit for approval",
            ("draft",),
            "submitted",
            roles(QO, MGR, PO),
            guards=(Guard("planned", _planned, "Purpose, consequences, resources and responsibilities written"),),
        ),
        Event(
            "approve",
            "Approve",
            ("submitted",),
            "approved",
            roles(MGR),
            fields=(Field("planned_for", "Change to be made by", "date"),),
            signature="approved",
        ),
        Event(
            "return_to_draft",
            "Return for rework",
            ("submitted",),
            "draft",
            roles(QO, MGR),
            fields=(Field("reason", "What needs rework"),),
        ),
        Event(
            "start_implementation",
            "Start implementation",
            ("approved",),
            "implementing",
            roles(QO, MGR, PO),
            guards=(Guard("has_tasks", _has_tasks, "The change has implementation tasks"),),
        ),
        Event(
            "complete_implementation",
            "Complete implementation",
            ("implementing",),
            "post_review",
            roles(QO, MGR, PO),
            guards=(none_open("open_task_count", "implementation task"),),
            fields=(Field("review_due", "Post-change review due", "date"),),
        ),
        Event(
            "close",
            "Close: change effective",
            ("post_review",),
            "closed",
            roles(MGR, QO),
            fields=(Field("review_findings", "Post-change review findings"),),
            signature="reviewed effective",
        ),
        Event(
            "reopen",
            "Reopen: change not effective",
            ("post_review",),
            "implementing",
            roles(QO, MGR),
            fields=(Field("reason", "Why the change is not yet effective"),),
        ),
        Event(
            "reject",
            "Reject",
            ("draft", "submitted"),
            "rejected",
            roles(MGR),
            fields=(Field("reason", "Reason for rejection"),),
        ),
        Event(
            "cancel",
            "Cancel",
            ("approved", "implementing"),
            "cancelled",
            roles(MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
