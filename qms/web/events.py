"""Record pages and their event forms, shared by every workflow feature (the web twin of the API's
``add_workflow_routes``).

The form for an event is generated from its definition (fields, signature),
so the page always asks for exactly what the engine will check.  Errors come
back as form errors next to the fields, never as a 500, with the status of
the one table in ``qms/errors.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, redirect, request
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from workflows import Event, Lifecycle
from workflows.errors import InvalidData, WorkflowError
from workflows.svg import render_svg

from ..errors import message_of, status_of
from ..models import WorkflowRecord
from ..security import DIAGRAM_CSP, talisman
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
    except WorkflowError as exc:
        return render(EventFormState(event_name, form, message=message_of(exc)), status_of(exc))
    subject = getattr(record, "reference", None) or f"The {record.lifecycle.label.lower()}"
    flash(f"{event.label}: done. {subject} is now at “{record.state_label}”.")
    return redirect(success_url)


#: renders a record's page: (record, the failed event form or None, HTTP status) → response
RenderPage = Callable[[WorkflowRecord, EventFormState | None, int], Any]


def lifecycle_diagram(subject: WorkflowRecord | Lifecycle, history: Iterable[Any] = ()) -> Markup:
    """A record's lifecycle drawn on the server, its state and the steps of its ``history`` marked
    (or a lifecycle on its own). No script: the page carries the SVG itself."""
    if isinstance(subject, Lifecycle):
        return Markup(render_svg(subject))  # noqa: S704 - render_svg escapes every label it writes
    taken = [(row.from_state, row.to_state) for row in history]
    return Markup(render_svg(subject.lifecycle, current=subject.state, taken=taken))  # noqa: S704 - as above


def add_record_routes(
    bp: Blueprint,
    rule: str,
    *,
    load: Callable[..., WorkflowRecord],
    render: RenderPage,
    url: Callable[[WorkflowRecord], str],
    detail: str | None = "detail",
    fire_event: str = "fire_event",
) -> None:
    """Register a workflow record's page (GET ``rule``, endpoint ``detail``) and its event forms
    (POST ``rule/events/<event>``, endpoint ``fire_event``) on ``bp``.

    ``load(**view_args)`` finds the record or aborts with 404; ``render`` draws its page, with the
    failed form when an event was refused; a fired event redirects to ``url(record)``. ``detail=None``
    registers the event route only (a document's revisions fire on the document's page).
    """

    def protect(view: Callable[..., Any]) -> Callable[..., Any]:
        return login_required(talisman(content_security_policy=DIAGRAM_CSP)(view))

    if detail is not None:

        def show(**view_args: Any) -> Any:
            return render(load(**view_args), None, 200)

        bp.add_url_rule(rule, endpoint=detail, view_func=protect(show))

    def fire_from_page(event: str, **view_args: Any) -> Any:
        record = load(**view_args)
        if request.method == "GET":  # the address bar after a refused form: back to the page, nothing fired
            return redirect(url(record))
        return fire_from_form(
            record, event, request.form, lambda failed, status: render(record, failed, status), url(record)
        )

    bp.add_url_rule(
        f"{rule}/events/<event>", endpoint=fire_event, view_func=protect(fire_from_page), methods=["GET", "POST"]
    )
