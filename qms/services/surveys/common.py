"""What the survey modules share: the survey records the audit trail covers, who manages surveys."""

from __future__ import annotations

from workflows.errors import NotPermitted

from ...models import Actor, RuleTrigger, SurveyInvitation, SurveyQuestion, SurveyResponse
from ..audit_trail import register_audited

register_audited(SurveyQuestion, SurveyInvitation, SurveyResponse, RuleTrigger)

MANAGE_ROLES = frozenset({"manager", "quality_officer"})


def _require(actor: Actor) -> None:
    if not actor.roles & MANAGE_ROLES:
        raise NotPermitted("Requires the role manager or quality officer to manage surveys")
