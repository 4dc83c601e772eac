"""``qms backup PATH`` and ``qms restore PATH`` (see :mod:`qms.services.backup`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from ..database import db

PASSPHRASE_VARIABLE = "QMS_BACKUP_PASSPHRASE"  # noqa: S105 - the name of a variable


def _passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """From the file, else QMS_BACKUP_PASSPHRASE, else asked for (hidden)."""
    if passphrase_file is not None:
        text = passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        if not text:
            raise click.BadParameter("the file is empty", param_hint="--passphrase-file")
        return text
    if os.environ.get(PASSPHRASE_VARIABLE):
        return os.environ[PASSPHRASE_VARIABLE]
    return click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.option(
    "--encrypt",
    is_flag=True,
    help=f"Encrypt the archive with a passphrase (from --passphrase-file, {PASSPHRASE_VARIABLE}, or asked for).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the passphrase from this file (implies --encrypt).",
)
@with_appcontext
def backup_command(path: Path, force: bool, encrypt: bool, passphrase_file: Path | None) -> None:
    """Write the whole database and the uploaded files to one signed archive (a consistent snapshot)."""
    from ..services.backup import BackupError, create_backup

    passphrase = _passphrase(passphrase_file, confirm=True) if encrypt or passphrase_file else None
    try:
        summary = create_backup(path, force=force, passphrase=passphrase)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(summary.tables.values())
    click.echo(
        f"Backup written to {summary.path}: {rows} rows in {len(summary.tables)} tables, "
        f"{summary.files} files, {summary.size} bytes; signed with the backup key '{summary.key_id}'"
        + (", encrypted." if summary.encrypted else ".")
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"The passphrase of an encrypted backup (else {PASSPHRASE_VARIABLE}, else asked for).",
)
@click.option(
    "--accept-unsigned",
    is_flag=True,
    help="Restore a backup made before qmsflow signed its backups (only one you made and kept safe yourself).",
)
@with_appcontext
def restore_command(path: Path, passphrase_file: Path | None, accept_unsigned: bool) -> None:
    """Restore an archive of `qms backup` into a new database prepared with `qms init` only."""
    from ..services.backup import BackupError, restore_backup
    from ..services.backup_crypto import is_encrypted

    passphrase = None
    if path.is_file() and is_encrypted(path):
        passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        summary = restore_backup(path, passphrase=passphrase, accept_unsigned=accept_unsigned)
    except BackupError as exc:
        raise click.ClickException(f"Restore refused, nothing was changed: {exc}") from None
    finally:
        db.session.remove()
    rows = sum(summary.tables.values())
    signed = summary.manifest.get("signed_with")
    click.echo(
        f"Restored {rows} rows in {len(summary.tables)} tables and {summary.files} files "
        f"(backup of {summary.manifest.get('created_at')} from {summary.manifest.get('dialect')}, "
        + (f"signature verified with the backup key '{signed}'" if signed else "UNSIGNED, accepted as asked")
        + f"); search index rebuilt ({summary.search_rows} revisions)."
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
