"""Customer satisfaction surveys: questions, public responses, invitations, CSV import, measures, rules.

The public response page is the only unauthenticated write path besides the complaint form, so
``submit_response`` accepts exactly what the survey defines and nothing else: unknown questions,
values off the scale, choices not offered, oversize text and missing required answers are refused
with a message per field, and nothing is written unless everything is valid.

One module per area: ``surveys`` (surveys, questions, links, invitations and the lifecycle's
effects and facts), ``responses`` (submission, CSV import), ``results`` (measures, segments,
trend), ``rules`` (satisfaction rules), ``measures`` (the NPS and CSI arithmetic); ``common`` holds
what they share. Importing this package registers the effects and facts.
"""

from __future__ import annotations

from . import measures
from .common import MANAGE_ROLES
from .responses import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    MAX_TEXT_ANSWER,
    accepts_responses,
    import_responses_csv,
    response_count,
    submit_response,
)
from .results import (
    PERIODS,
    Measures,
    TrendPoint,
    period_key,
    response_rate,
    segments,
    survey_measures,
    trend,
    verbatims,
)
from .results import _load as _load
from .results import _measure as _measure
from .rules import apply_rules, triggers_of
from .surveys import (
    MAX_CHOICES,
    MAX_QUESTIONS,
    add_question,
    create_invitations,
    create_survey,
    invitation_for,
    remove_question,
    renew_public_link,
    survey_for_token,
    update_question,
    update_survey,
)

__all__ = [
    "MANAGE_ROLES",
    "MAX_CHOICES",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "MAX_QUESTIONS",
    "MAX_TEXT_ANSWER",
    "PERIODS",
    "Measures",
    "TrendPoint",
    "accepts_responses",
    "add_question",
    "apply_rules",
    "create_invitations",
    "create_survey",
    "import_responses_csv",
    "invitation_for",
    "measures",
    "period_key",
    "remove_question",
    "renew_public_link",
    "response_count",
    "response_rate",
    "segments",
    "submit_response",
    "survey_for_token",
    "survey_measures",
    "trend",
    "triggers_of",
    "update_question",
    "update_survey",
    "verbatims",
]
