"""How the engine's and services' typed errors answer over HTTP, for the web pages and the API alike.

NotPermitted → 403, UnknownEvent / UnknownLifecycle → 404, InvalidTransition / Conflict /
GuardFailed → 409 (a guard's reason is the message), InvalidData → 422 naming each field.
"""

from __future__ import annotations

from workflows.errors import (
    Conflict,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotPermitted,
    UnknownEvent,
    UnknownLifecycle,
    WorkflowError,
)

STATUS_OF: dict[type[WorkflowError], int] = {
    NotPermitted: 403,
    InvalidTransition: 409,
    Conflict: 409,
    GuardFailed: 409,
    InvalidData: 422,
    UnknownEvent: 404,
    UnknownLifecycle: 404,
}


def status_of(exc: WorkflowError) -> int:
    """The HTTP status of a typed error (400 for a kind the table does not name)."""
    return next((status for kind, status in STATUS_OF.items() if isinstance(exc, kind)), 400)


def message_of(exc: WorkflowError) -> str:
    """The sentence for people: a guard's reason, or the error's message."""
    return exc.reason if isinstance(exc, GuardFailed) else exc.message
