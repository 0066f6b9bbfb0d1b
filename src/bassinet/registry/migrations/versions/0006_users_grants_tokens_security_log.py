"""users, grants, personal access tokens and the security log

Local accounts (Argon2id hash, TOTP secret, lockout state), grants of a role over a
centre, a study group or the whole study, personal access tokens stored as SHA-256
hashes, and ``security_log``, made append-only by triggers on both engines exactly as
migration 0001 does for ``audit_log``.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLES = ("administrator", "trial_statistician", "data_manager", "clinician", "monitor")
SCOPE_KINDS = ("centre", "study_group", "study")
APPEND_ONLY_MESSAGE = "security_log is append-only"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_counter", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failed_logins >= 0", name=op.f("ck_app_user_failed_logins_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*ROLES, name="role", native_enum=False, create_constraint=True, length=18),
            nullable=False,
        ),
        sa.Column(
            "scope_kind",
            sa.Enum(*SCOPE_KINDS, name="scope_kind", native_enum=False, create_constraint=True, length=11),
            nullable=False,
        ),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("study_group_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(scope_kind = 'centre' AND centre_id IS NOT NULL AND study_group_id IS NULL)"
            " OR (scope_kind = 'study_group' AND study_group_id IS NOT NULL AND centre_id IS NULL)"
            " OR (scope_kind = 'study' AND centre_id IS NULL AND study_group_id IS NULL)",
            name=op.f("ck_access_grant_scope_names_its_target"),
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centre.id"], name=op.f("fk_access_grant_centre_id_centre"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["study_group_id"],
            ["study_group.id"],
            name=op.f("fk_access_grant_study_group_id_study_group"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_access_grant_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grant")),
    )
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_grant_user_id"), ["user_id"], unique=False)
    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=True),
        sa.Column("centre_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_access_token_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_token_token_hash")),
    )
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_token_user_id"), ["user_id"], unique=False)
    op.create_table(
        "security_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_log")),
    )
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER security_log_no_{verb.lower()} BEFORE {verb} ON security_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION security_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER security_log_no_change BEFORE UPDATE OR DELETE ON security_log "
            "FOR EACH ROW EXECUTE FUNCTION security_log_refuse()"
        )
        op.execute(
            "CREATE TRIGGER security_log_no_truncate BEFORE TRUNCATE ON security_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION security_log_refuse()"
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise RuntimeError(f"the registry supports SQLite and PostgreSQL, not {dialect}")


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS security_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS security_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS security_log_no_change ON security_log")
        op.execute("DROP TRIGGER IF EXISTS security_log_no_truncate ON security_log")
        op.execute("DROP FUNCTION IF EXISTS security_log_refuse()")


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("security_log")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_token_user_id"))
    op.drop_table("access_token")
    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_grant_user_id"))
    op.drop_table("access_grant")
    op.drop_table("app_user")
