"""``qms documents``: verify the stored files, start periodic reviews that are due."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("documents")
def documents_group() -> None:
    """Controlled documents: file integrity and periodic reviews."""


@documents_group.command("verify")
@click.option("--delete-orphans", is_flag=True, help="Delete the orphan files found (after a backup).")
@with_appcontext
def documents_verify(delete_orphans: bool) -> None:
    """Re-hash every stored document file and list orphan files; exit 1 when a file is missing or changed.

    Orphans (files in the upload folder that no revision or attachment names, left by an
    upload whose change failed or that was interrupted) are reported, and deleted with
    --delete-orphans; they do not make the check fail.
    """
    from pathlib import Path

    from flask import current_app

    from ..services.documents import orphan_files, verify_files

    problems = verify_files()
    for problem in problems:
        click.echo(problem, err=True)
    orphans = orphan_files()
    folder = Path(current_app.config["QMS_UPLOAD_FOLDER"])
    for relative, why in orphans:
        if delete_orphans:
            (folder / relative).unlink(missing_ok=True)
            click.echo(f"orphan file {relative} deleted ({why})")
        else:
            click.echo(f"orphan file {relative}: {why}")
    if orphans and not delete_orphans:
        click.echo(f"{len(orphans)} orphan file(s); run with --delete-orphans to delete them.")
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
