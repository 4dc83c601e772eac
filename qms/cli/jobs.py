"""``qms jobs``: run the scheduled jobs by hand or from cron, and see their last runs."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask
from flask.cli import with_appcontext

from ..jobs.runs import JOBS, recent_runs, run_job, today


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not 2000 <= day.year <= 2999:
        raise click.BadParameter("must be a date between the years 2000 and 2999")
    return day


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: each runs once per day, however often or wherever it is started."""


@jobs_group.command("run")
@click.argument("name", type=click.Choice(sorted(JOBS)))
@click.option("--on", "day", callback=_date, metavar="YYYY-MM-DD", help="The day (default: today in QMS_TIMEZONE).")
@with_appcontext
def run_command(name: str, day: dt.date | None) -> None:
    """Run job NAME now, in this process (for cron); does nothing if it already ran for the day."""
    try:
        run = run_job(name, day, trigger="cli")
    except Exception as exc:
        raise click.ClickException(f"{name} failed: {type(exc).__name__}: {exc}") from None
    day = day or today()
    if run is None:
        click.echo(f"{name} for {day}: already run (or running) elsewhere; nothing done.")
        return
    counts = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in run.counts.items())
    click.echo(f"{name} for {day}: {run.outcome}. {counts}")


@jobs_group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many runs to show.")
@with_appcontext
def list_command(limit: int) -> None:
    """The jobs, and their latest runs (newest first)."""
    for job in JOBS.values():
        click.echo(f"{job.name:18} {job.description}")
    click.echo("")
    runs = recent_runs(limit)
    if not runs:
        click.echo("No job has run yet.")
    for run in runs:
        finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "—"
        counts = ", ".join(f"{key}={value}" for key, value in run.counts.items())
        error = f"  error: {run.error.splitlines()[0]}" if run.error else ""
        click.echo(
            f"{run.job:18} {run.period}  {run.outcome:9} by {run.trigger:5} "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} finished {finished}  {counts}{error}"
        )


def register(app: Flask) -> None:
    app.cli.add_command(jobs_group)
