"""Firing workflow events from HTML forms, shared by every record page.

The form for an event is generated from its definition (fields, signature),
so the page always asks for exactly what the engine will check.  Errors come
back as form errors next to the fields, never as a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from workflows import Event
from workflows.errors import Conflict, GuardFailed, InvalidData, InvalidTransition, NotPermitted, UnknownEvent

from ..models import WorkflowRecord
from ..services import fire


@dataclass
class EventFormState:
    """An event form that failed: which event, what was typed, and the errors."""

    event: str
    values: MultiDict
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


def data_from_form(event: Event, form: MultiDict) -> dict[str, Any]:
    """The event's data from a submitted form, by field kind (blank optional fields left out)."""
    data: dict[str, Any] = {}
    for f in event.fields:
        if f.kind == "list":
            items = [line.strip() for line in form.get(f.name, "").splitlines() if line.strip()]
            if items:
                data[f.name] = items
        elif f.kind == "multichoice":
            chosen = form.getlist(f.name)
            if chosen:
                data[f.name] = chosen
        elif f.groups:  # one box per group, named <field>-<group>, one line per item
            groups = {}
            for group, _label in f.groups:
                lines = [ln.strip() for ln in form.get(f"{f.name}-{group}", "").splitlines() if ln.strip()]
                if lines:
                    groups[group] = lines
            if groups:
                data[f.name] = groups
        elif f.kind == "boolean":
            data[f.name] = form.get(f.name) in ("on", "true", "1", "yes")
        else:
            value = form.get(f.name, "")
            if value.strip():
                data[f.name] = value
    return data


def fire_from_form(
    record: WorkflowRecord,
    event_name: str,
    form: MultiDict,
    render: Callable[[EventFormState, int], Any],
    success_url: str,
) -> Any:
    """Fire the event with the form's data; redirect on success, re-render with errors otherwise."""
    lifecycle = record.lifecycle
    event = lifecycle.event_index.get(event_name)
    if event is None:
        return render(EventFormState(event_name, form, message=f"There is no action '{event_name}'."), 404)
    raw_version = form.get("version", "")
    if raw_version and not raw_version.isdigit():
        damaged = EventFormState(event_name, form, {"version": "must be a whole number"}, "The form is damaged.")
        return render(damaged, 422)
    version = int(raw_version) if raw_version and len(raw_version) < 10 else None
    try:
        fire(
            record,
            event_name,
            current_user,
            data_from_form(event, form),
            comment=form.get("comment", ""),
            expected_version=version,
            signature_password=form.get("signature_password") if event.signature else None,
        )
    except InvalidData as exc:
        return render(EventFormState(event_name, form, exc.errors, "Please correct the fields marked below."), 422)
    except GuardFailed as exc:
        return render(EventFormState(event_name, form, message=exc.reason), 409)
    except Conflict as exc:
        return render(EventFormState(event_name, form, message=exc.message), 409)
    except InvalidTransition as exc:
        return render(EventFormState(event_name, form, message=exc.message), 409)
    except NotPermitted as exc:
        return render(EventFormState(event_name, form, message=exc.message), 403)
    except UnknownEvent as exc:
        return render(EventFormState(event_name, form, message=exc.message), 404)
    flash(f"{event.label}: done. The record is now {record.state_label.lower()}.")
    return redirect(success_url)
