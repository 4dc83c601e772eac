"""Typed errors raised when an event cannot be fired.

Each suits one HTTP answer, for an application that serves them: ``NotPermitted`` → 403,
``InvalidTransition`` and ``Conflict`` → 409, ``GuardFailed`` → 409 with its
reason, ``InvalidData`` → 422 naming each bad field.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class of every error the engine raises."""

    code = "workflow_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLifecycle(WorkflowError):
    code = "unknown_lifecycle"


class UnknownEvent(WorkflowError):
    code = "unknown_event"


class NotPermitted(WorkflowError):
    """The actor holds none of the roles the event requires."""

    code = "not_permitted"


class InvalidTransition(WorkflowError):
    """The event cannot be fired from the record's current state."""

    code = "invalid_transition"


class GuardFailed(WorkflowError):
    """A guard blocked the event; ``reason`` is meant for people."""

    code = "guard_failed"

    def __init__(self, reason: str, guard: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.guard = guard


class InvalidData(WorkflowError):
    """Event data is missing or invalid; ``errors`` maps field name → message."""

    code = "invalid_data"

    def __init__(self, errors: dict[str, str]) -> None:
        fields = ", ".join(f"{name}: {msg}" for name, msg in errors.items())
        super().__init__(f"Invalid event data ({fields})")
        self.errors = dict(errors)


class Conflict(WorkflowError):
    """The record changed since the caller read it (stale version)."""

    code = "conflict"
