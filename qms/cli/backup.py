"""``qms backup PATH`` and ``qms restore PATH`` (see :mod:`qms.services.backup`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from ..database import db


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Write the whole database and the uploaded files to one archive (a consistent snapshot)."""
    from ..services.backup import BackupError, create_backup

    try:
        summary = create_backup(path, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(summary.tables.values())
    click.echo(
        f"Backup written to {summary.path}: {rows} rows in {len(summary.tables)} tables, "
        f"{summary.files} files, {summary.size} bytes."
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore an archive of `qms backup` into a new database prepared with `qms init` only."""
    from ..services.backup import BackupError, restore_backup

    try:
        summary = restore_backup(path)
    except BackupError as exc:
        raise click.ClickException(f"Restore refused: {exc}") from None
    finally:
        db.session.remove()
    rows = sum(summary.tables.values())
    click.echo(
        f"Restored {rows} rows in {len(summary.tables)} tables and {summary.files} files "
        f"(backup of {summary.manifest.get('created_at')} from {summary.manifest.get('dialect')}); "
        f"search index rebuilt ({summary.search_rows} revisions)."
    )
    if summary.audit.ok:
        click.echo(f"Audit trail intact: {summary.audit.checked} entries verified.")
        return
    click.echo(f"Audit trail BROKEN at entry {summary.audit.broken_at}: {summary.audit.problem}", err=True)
    click.echo("The backup was restored as it was; its trail was already broken.", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
