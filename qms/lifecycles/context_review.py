"""Context review (ISO 9001 4.1, 4.2, Amd 1:2024): the periodic review of the organisation's
internal and external issues and its interested parties.

planned → in progress → completed, signed by a manager.  Completing records what changed since the
last review and answers the climate-change question of the 2024 amendment: is climate change a
relevant issue for the organisation, and why.
"""

from workflows.definition import Event, Field, Lifecycle, State, roles

QO, MGR = "quality_officer", "manager"

CLIMATE_ANSWERS = ("yes", "no")

LIFECYCLE = Lifecycle(
    name="context_review",
    version=1,
    label="Context review",
    description="A periodic review of the issues and interested parties, with the climate-change question.",
    initial="planned",
    states=(
        State("planned", "Planned"),
        State("in_progress", "In progress", description="The issues and interested parties are being reviewed."),
        State("completed", "Completed", terminal=True, description="Signed; what changed is recorded."),
        State("cancelled", "Cancelled", terminal=True),
    ),
    events=(
        Event("start", "Start the review", ("planned",), "in_progress", roles(QO, MGR)),
        Event(
            "complete",
            "Complete and sign",
            ("in_progress",),
            "completed",
            roles(MGR),
            fields=(
                Field("changes", "What changed in the issues and interested parties"),
                Field(
                    "climate_change_relevant",
                    "Is climate change a relevant issue? (ISO 9001 Amd 1:2024)",
                    "choice",
                    choices=CLIMATE_ANSWERS,
                ),
                Field("climate_change_notes", "How climate change affects the QMS, or why it does not"),
                Field("next_review_on", "Next review by", "date"),
            ),
            signature="context reviewed",
        ),
        Event(
            "cancel",
            "Cancel",
            ("planned", "in_progress"),
            "cancelled",
            roles(QO, MGR),
            fields=(Field("reason", "Reason for cancelling"),),
        ),
    ),
)
