"""``qms documents``: verify the stored files, start periodic reviews that are due."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("documents")
def documents_group() -> None:
    """Controlled documents: file integrity and periodic reviews."""


@documents_group.command("verify")
@with_appcontext
def documents_verify() -> None:
    """Re-hash every stored document file; exit 1 when one is missing or changed."""
    from ..services.documents import verify_files

    problems = verify_files()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo("All document files match their SHA-256.")


@documents_group.command("review-due")
@with_appcontext
def documents_review_due() -> None:
    """Start the periodic review of every effective revision whose review date has come."""
    import datetime as dt

    from ..services.documents import start_due_reviews

    started = start_due_reviews(dt.date.today())
    click.echo(f"Periodic review started for {len(started)} revision(s).")
