"""identity, sessions and Part 11 signing: security stamps, signing lock, TOTP, token expiry and scope

Revision ID: d2a0c0de0001
Revises: f1a0c0de0001
Create Date: 2026-12-06 01:00:00.000000

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d2a0c0de0001"
down_revision = "f1a0c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "kind IN ('password_change', 'reauthentication', 'second_factor', 'sign_in', 'signature')",
            name=op.f("ck_auth_failures_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_failures_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
    )
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.create_index("ix_auth_failures_at", ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_failures_user_id"), ["user_id"], unique=False)

    op.create_table(
        "security_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("signing_lock_minutes", sa.Integer(), nullable=False),
        sa.Column("mfa_roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "signing_lock_minutes BETWEEN 1 AND 10080", name=op.f("ck_security_policy_signing_lock_minutes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_policy")),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mfa_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_codes")),
    )
    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mfa_recovery_codes_user_id"), ["user_id"], unique=False)

    # users: a security stamp each (existing sessions, which carry none, end), the signing lock, TOTP
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_stamp", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("signing_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("signing_locked_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("security_stamp", sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(security_stamp=secrets.token_hex(16)))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("security_stamp", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("signing_failures", server_default=None)

    # API tokens: every token expires (existing ones 90 days from now) and has a scope
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(length=10), nullable=False, server_default="read-write"))
    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime))
    import datetime as dt

    in_90_days = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=90)
    conn.execute(tokens.update().values(expires_at=in_90_days))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("scope", server_default=None)
        batch_op.create_check_constraint("scope", "scope IN ('read', 'read-write')")

    with op.batch_alter_table("transition_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_by_email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("transition_history", schema=None) as batch_op:
        batch_op.drop_column("signed_by_email")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_tokens_scope"), type_="check")
        batch_op.drop_column("scope")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("signing_locked_until")
        batch_op.drop_column("signing_failures")
        batch_op.drop_column("security_stamp")
    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfa_recovery_codes_user_id"))
    op.drop_table("mfa_recovery_codes")
    op.drop_table("security_policy")
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_failures_user_id"))
        batch_op.drop_index("ix_auth_failures_at")
    op.drop_table("auth_failures")
