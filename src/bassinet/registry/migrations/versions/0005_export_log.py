"""export log

One row per release of registry data (identified or de-identified): who, when, format,
scope, which patients, and the SHA-256 of every file written. Append-only, as the audit
trail is: the database refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE).

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-29 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MESSAGE = "export_log is append-only"


def upgrade() -> None:
    op.create_table(
        "export_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("deidentified", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("patient_ids", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_log")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER export_log_no_{verb.lower()} BEFORE {verb} ON export_log "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION export_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER export_log_no_change BEFORE UPDATE OR DELETE ON export_log "
            "FOR EACH ROW EXECUTE FUNCTION export_log_refuse()"
        )
        op.execute(
            "CREATE TRIGGER export_log_no_truncate BEFORE TRUNCATE ON export_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION export_log_refuse()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS export_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS export_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS export_log_no_change ON export_log")
        op.execute("DROP TRIGGER IF EXISTS export_log_no_truncate ON export_log")
        op.execute("DROP FUNCTION IF EXISTS export_log_refuse()")
    op.drop_table("export_log")
