"""Customer satisfaction survey (ISO 9001 9.1.2, ISO 10004): ask, analyse, report.

draft → open → closed → analysed → reported.  A survey opens only with
questions and is analysed only with responses; it can be reopened to collect
more, and a manager approves the report for distribution (e-signature) or
sends the analysis back.  A survey can be cancelled until it is analysed.
"""

from workflows.definition import Event, Field, Guard, GuardContext, Lifecycle, State, roles
from workflows.guards import at_least_one

QO, MGR = "quality_officer", "manager"

METHODS = ("nps", "csi", "servqual", "other")


def _has_responses(ctx: GuardContext) -> str | None:
    if int(ctx.fact("response_count", 0) or 0) < 1:
        return "No responses were received; reopen the survey or cancel it"
    return None


LIFECYCLE = Lifecycle(
    name="survey",
    version=1,
    label="Survey",
    description="A customer satisfaction survey from its questions to an approved report.",
    initial="draft",
    states=(
        State("draft", "Draft", description="Questions being written."),
        State("open", "Open", description="Collecting responses."),
        State("closed", "Closed", description="No more responses; waiting for analysis."),
        State("analysed", "Analysed", description="Results analysed; report waiting for approval."),
        State("reported", "Reported", terminal=True),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event(
            "open",
            "Open for responses",
            ("draft",),
            "open",
            roles(QO, MGR),
            guards=(at_least_one("question_count", "question"),),
            fields=(Field("closes_on", "Closes on", "date", required=False),),
        ),
        Event(
            "close",
            "Close responses",
            ("open",),
            "closed",
            roles(QO, MGR),
        ),
        Event(
            "reopen",
            "Reopen for responses",
            ("closed",),
            "open",
            roles(QO, MGR),
            fields=(Field("closes_on", "Closes on", "date", required=False),),
        ),
        Event(
            "analyse",
            "Record analysis",
            ("closed",),
            "analysed",
            roles(QO),
            guards=(Guard("has_response_count", _has_responses, "At least one response"),),
            fields=(
                Field("method", "Method", "choice", choices=METHODS),
                Field("summary", "Findings"),
            ),
        ),
        Event(
            "request_changes",
            "Send back for re-analysis",
            ("analysed",),
            "closed",
            roles(MGR),
            fields=(Field("comments", "Requested changes"),),
        ),
        Event(
            "report",
            "Approve report for distribution",
            ("analysed",),
            "reported",
            roles(MGR),
            fields=(Field("distribution", "Distribute to", "list", required=False),),
            signature="approved for distribution",
        ),
        Event(
            "cancel",
            "Cancel",
            ("draft", "open", "closed"),
            "cancelled",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
