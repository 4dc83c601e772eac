"""The ``qms`` command line (a Flask CLI group): init, users, lifecycles, audit trail, serving."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import inspect, select

from workflows import all_lifecycles, get_lifecycle, lifecycle_names
from workflows.diagram import mermaid
from workflows.errors import InvalidData, UnknownLifecycle

from ..database import db
from .backup import register as register_backup_commands
from .certifications import certifications_group
from .dashboard import dashboard_group
from .documents import documents_group
from .jobs import register as register_jobs_commands
from .standards import standards_group


def init_database() -> str:
    """Upgrade the schema, create the audit-trail head, seal what the key does not cover yet, load body profiles.

    Returns what sealing the audit trail did (or why it refused, which does not stop the upgrade).
    """
    from flask_migrate import upgrade

    from ..services.audit_checks import SealRefused, seal
    from ..services.audit_trail import audit_context, ensure_head
    from ..services.certifications import ensure_bodies

    upgrade(directory=current_app.extensions["migrate"].directory)
    ensure_head(db.session)
    try:
        sealed = seal(actor_name="qms init", only_uncovered=True).message
    except SealRefused as exc:
        sealed = f"The audit trail was NOT sealed: {exc}"
    with audit_context(db.session, None, reason="certification body profiles loaded"):
        ensure_bodies(db.session)
        db.session.commit()
    return sealed


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database to the current schema (and seal the audit trail under its key)."""
    sealed = init_database()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database ready: {url}")
    click.echo(sealed)


@click.command("create-user")
@click.argument("email")
@click.option("--name", help="Full name (defaults to the part of the e-mail before @).")
@click.option(
    "--role", "roles", multiple=True, required=True, help="Role to grant; repeat for several (e.g. --role manager)."
)
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters, hard to guess."
)
@with_appcontext
def create_user_command(email: str, name: str | None, roles: tuple[str, ...], password: str) -> None:
    """Create a user account with one or more roles."""
    from ..services.users import create_user

    try:
        user = create_user(email, name or email.split("@")[0], password, set(roles))
    except InvalidData as exc:
        raise click.ClickException("; ".join(f"{k} {v}" for k, v in exc.errors.items())) from None
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(user.roles))}")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
@click.option(
    "--scope",
    type=click.Choice(["read", "read-write"]),
    default="read-write",
    show_default=True,
    help="read: GET only; read-write: everything the user may do.",
)
@click.option("--days", type=int, default=90, show_default=True, help="Days until the token expires (1–365).")
@with_appcontext
def create_token_command(email: str, name: str, scope: str, days: int) -> None:
    """Create an API token for a user; the token is printed alone on the last line.

    The audit trail records the command line (the operator), not the user, as its creator.
    """
    from ..services.identity import COMMAND_LINE
    from ..services.tokens import create_token
    from ..services.users import find_by_email

    user = find_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"No active user with e-mail {email}")
    try:
        token, plaintext = create_token(user, name, COMMAND_LINE, scope=scope, days=days)
    except InvalidData as exc:
        raise click.ClickException("; ".join(f"{k} {v}" for k, v in exc.errors.items())) from None
    click.echo(
        f"Token '{token.name}' for {user.email}, {scope}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC "
        "(shown once; store it safely):"
    )
    click.echo(plaintext)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option(
    "--scale",
    type=click.Choice(["demo", "large", "xl"]),
    default="demo",
    show_default=True,
    help="demo: a small organisation through the services; large: ~500 users, 100,000 NCs and 3 years of "
    "history, bulk-loaded (a few minutes); xl: ten times large, ~5,000 users and 1,000,000 NCs, "
    "bulk-loaded into PostgreSQL (about 14 minutes of CPU).",
)
@click.option(
    "--factor",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="With --scale large or xl: scale every count by this factor (greater than 0, at most 1).",
)
@with_appcontext
def seed_demo_command(if_empty: bool, scale: str, factor: float) -> None:
    """Load a believable demo organisation with demo users."""
    from ..demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
    from ..models import User

    if factor != 1.0 and scale == "demo":
        raise click.BadParameter("is only used with --scale large or xl", param_hint="--factor")
    if scale != "demo" and not inspect(db.engine).has_table("audit_chain_head"):
        raise click.ClickException("The database is not initialised: run `qms init` first.")
    if db.session.scalar(select(User.id).limit(1)) is not None:
        if if_empty:
            click.echo("The database already has users; demo data not loaded.")
            return
        raise click.ClickException("The database already has users; seed-demo needs an empty database.")
    if scale != "demo":
        from ..demo.large import SeedRefused, seed_large

        try:
            counts = seed_large(factor, progress=click.echo, scale=scale)
        except SeedRefused as exc:
            raise click.ClickException(str(exc)) from None
        elapsed = counts.pop("elapsed_seconds")
        click.echo("Rows loaded:")
        for table, count in counts.items():
            click.echo(f"  {table:<26} {count:>10,}")
        click.echo(f"{'Large' if scale == 'large' else 'Extra-large'} demo organisation loaded in {elapsed} s.")
    else:
        click.echo(seed_demo())
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, name, roles in DEMO_USERS:
        click.echo(f"  {email:<28} {name:<20} {', '.join(roles)}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (the production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    from .. import create_app

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self) -> Flask:
            return create_app()

    click.echo(f"Serving qmsflow on http://{host}:{port}/ (Ctrl+C to stop)")
    Server().run()


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Inspect the workflow lifecycles."""


@lifecycle_group.command("list")
def lifecycle_list() -> None:
    """List every lifecycle with its version, states and events."""
    for lc in all_lifecycles():
        terminal = ", ".join(sorted(lc.terminal_states))
        click.echo(
            f"{lc.name:<20} v{lc.version}  {len(lc.states):>2} states  {len(lc.events):>2} events  "
            f"({lc.label}; ends: {terminal})"
        )


@lifecycle_group.command("diagram")
@click.argument("name", type=click.Choice(lifecycle_names()))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option("--state", help="Highlight this state.")
@click.option("--version", "version", type=int, help="Lifecycle version (default: the newest).")
def lifecycle_diagram(name: str, output: str | None, state: str | None, version: int | None) -> None:
    """Print the lifecycle as a Mermaid state diagram."""
    try:
        lc = get_lifecycle(name, version)
        text = mermaid(lc, current=state)
    except (UnknownLifecycle, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@lifecycle_group.command("docs")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
def lifecycle_docs(output: str | None) -> None:
    """Print the Markdown reference of every lifecycle (docs/lifecycles.md)."""
    from ..lifecycles.reference import markdown_reference

    text = markdown_reference()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@click.group("audit-trail")
def audit_trail_group() -> None:
    """Check the tamper-evident audit trail."""


@audit_trail_group.command("verify")
@click.option(
    "--checkpoints",
    "with_checkpoints",
    is_flag=True,
    help="Also prove that the chain still holds every checkpointed head (QMS_AUDIT_CHECKPOINT_DIR).",
)
@click.option(
    "--checkpoint-path",
    type=click.Path(exists=True, path_type=Path),
    help="Read the checkpoints from this folder or file instead (implies --checkpoints).",
)
@with_appcontext
def audit_trail_verify(with_checkpoints: bool, checkpoint_path: Path | None) -> None:
    """Prove the keyed chain, every audited row and every record's history; exit 1 at the first disagreement."""
    from ..services.audit_checks import verify_snapshot

    if not inspect(db.engine).has_table("audit_entries"):
        raise click.ClickException("The database is not initialised: run `qms init`.")
    result = verify_snapshot(checkpoint_path or with_checkpoints)
    if result.ok:
        legacy = f" ({result.legacy} legacy entries sealed)" if result.legacy else ""
        click.echo(
            f"Audit trail intact: {result.checked} entries verified{legacy}; {result.rows_checked} audited rows "
            f"match the trail; {result.records_replayed} records replay to their state"
            + (f"; {result.checkpoints_checked} checkpoints found in the chain." if result.checkpoints_checked else ".")
        )
        return
    where = f"entry {result.broken_at}" if result.broken_at else (result.record or "the trail")
    click.echo(f"Audit trail BROKEN at {where}: {result.problem}", err=True)
    if result.problem_count > 1:
        click.echo(f"{result.problem_count} problems in all; the first {len(result.problems)}:", err=True)
        for problem in result.problems:
            click.echo(f"  - {problem}", err=True)
    click.echo(f"({result.checked} entries verified)", err=True)
    sys.exit(1)


@audit_trail_group.command("seal")
@click.option(
    "--accept-current",
    is_flag=True,
    help="Also baseline rows that differ from the trail as they are now (after a migration that rewrote them).",
)
@click.option("--reason", default="", help="Why (required with --accept-current; recorded in the trail).")
@with_appcontext
def audit_trail_seal(accept_current: bool, reason: str) -> None:
    """Seal legacy (unkeyed) entries and the rows no keyed entry covers yet under the audit key."""
    from ..services.audit_checks import SealRefused, seal

    try:
        result = seal(accept_current=accept_current, reason=reason, actor_name="command line")
    except SealRefused as exc:
        raise click.ClickException(f"Not sealed: {exc}") from None
    click.echo(result.message)


@audit_trail_group.command("checkpoint")
@with_appcontext
def audit_trail_checkpoint() -> None:
    """Write the chain's head (sequence, MAC) outside the database: the checkpoint folder, the log, e-mail."""
    from ..services.audit_checks import CheckpointError, checkpoint

    try:
        record = checkpoint("cli")
    except (CheckpointError, OSError) as exc:
        raise click.ClickException(f"No checkpoint written: {exc}") from None
    mailed = f", mailed to {record['mailed_to']}" if record["mailed_to"] else ""
    click.echo(f"Checkpoint: entry {record['seq']}, MAC {record['mac']} written to {record['file']}{mailed}.")


@click.group("keys")
def keys_group() -> None:
    """The audit-trail and backup keys (kept outside the database)."""


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """Show where each keyring comes from and its key ids (never the keys)."""
    for kind in ("audit", "backup"):
        ring = current_app.config[f"QMS_{kind.upper()}_KEYRING"]
        click.echo(f"{kind:<7} from {ring.source}: {', '.join(ring.keys)} (current: {ring.current})")


@keys_group.command("rotate")
@click.argument("kind", type=click.Choice(["audit", "backup"]))
@with_appcontext
def keys_rotate(kind: str) -> None:
    """Add a new key to the key file; new MACs use it, the old keys keep verifying what they made."""
    from ..keys import KeyringError, rotate

    ring = current_app.config[f"QMS_{kind.upper()}_KEYRING"]
    try:
        key_id = rotate(ring)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"New {kind} key '{key_id}' added to {ring.path}. Restart the application and the workers to use it, "
        "and copy the key file to where you keep it safe."
    )


def register(app: Flask) -> None:
    for command in (
        init_command,
        create_user_command,
        create_token_command,
        seed_demo_command,
        serve_command,
        lifecycle_group,
        audit_trail_group,
        documents_group,
        certifications_group,
        dashboard_group,
    ):
        app.cli.add_command(command)
    app.cli.add_command(standards_group)
    register_backup_commands(app)  # qms backup / qms restore
    register_jobs_commands(app)  # qms jobs run / list
    app.cli.add_command(keys_group)


def _create_app() -> Flask:
    from .. import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """qmsflow: quality management workflows."""
