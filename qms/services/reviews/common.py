"""What every kind of review shares: the reviewers' roles, the text limit, the conflict-safe write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflows.errors import Conflict

from ...models import (
    NC_ENDED_STATES,
    Actor,
    ChangeImpact,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    OrgChangeReview,
    ReviewAction,
)
from ..audit_trail import recorded_change, register_audited

register_audited(IsoChangeItem, ChangeImpact, ReviewAction)

Review = IsoChangeReview | OrgChangeReview | ManagementReview

#: who runs reviews: opens them, assesses, compiles inputs, plans and cancels actions
REVIEW_ROLES = frozenset({"manager", "quality_officer"})
NC_CLOSED_STATES = NC_ENDED_STATES
MAX_TEXT = 20_000


@contextlib.contextmanager
def _review_change(actor: Actor, reason: str) -> Iterator[Session]:
    """``recorded_change`` on a review record: a concurrent change to it first is a Conflict, not lost."""
    try:
        with recorded_change(actor, reason) as session:
            yield session
    except StaleDataError:
        raise Conflict("Someone else changed this review meanwhile; reload it and try again") from None
