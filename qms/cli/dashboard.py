"""``qms dashboard``: recount the dashboard's running counts from the records, or check them."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..database import db


@click.group("dashboard")
def dashboard_group() -> None:
    """The dashboard's running counts of open NCs and corrective actions, and its panels."""


@dashboard_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Recount from the records and replace the counts (after rows were written past the application),
    then count the organisation-wide panels afresh."""
    from ..services.dashboard_counts import rebuild
    from ..web.main import refresh_panels

    result = rebuild(db.session)
    click.echo(f"Dashboard counts rebuilt: {result['counts']} counts, {result['corrected']} of them were wrong.")
    refresh_panels()
    click.echo("Dashboard panels counted afresh.")


@dashboard_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Compare the counts with a recount from the records; changes nothing, exits 1 when they differ."""
    from ..services.dashboard_counts import differences

    found = differences(db.session.connection())
    if found:  # a change committed between the two reads shows as a difference once: look again
        db.session.rollback()
        again = set(differences(db.session.connection()))
        found = [d for d in found if d in again]
    db.session.rollback()
    if not found:
        click.echo("Dashboard counts agree with the records.")
        return
    for d in found[:50]:
        click.echo(f"{d.figure} {d.key!r}: kept {d.kept}, counted {d.counted}")
    if len(found) > 50:
        click.echo(f"… and {len(found) - 50} more.")
    raise click.ClickException(f"{len(found)} dashboard counts differ from the records: run `qms dashboard rebuild`.")
