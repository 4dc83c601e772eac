"""``qms certifications``: the deadlines whose reminder day has come (for a daily cron job)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("certifications")
def certifications_group() -> None:
    """Certification with external bodies."""


@certifications_group.command("reminders")
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), help="As of this day (default: today).")
@with_appcontext
def certifications_reminders(on: object) -> None:
    """List the certification deadlines whose reminder day has come, or that are overdue (for cron)."""
    import datetime as dt

    from ..services.certifications import reminders

    today = on.date() if isinstance(on, dt.datetime) else dt.date.today()
    due = reminders(today)
    for reminder in due:
        c = reminder.certification
        when = f"overdue by {-reminder.days_left} days" if reminder.days_left < 0 else f"in {reminder.days_left} days"
        click.echo(f"{c.reference}\t{c.body.name}\t{reminder.what}\t{reminder.due.isoformat()}\t{when}")
    click.echo(f"{len(due)} reminder(s) as of {today.isoformat()}.")
