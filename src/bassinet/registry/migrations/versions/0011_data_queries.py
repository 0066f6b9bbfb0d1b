"""data queries: a monitor's query on a field of a record, answered and closed, audited

- ``data_query``: the patient, the record (``patient`` or ``KIND:ID``) and field, the
  question, the status (open, answered, closed) and who did each step when. Registry
  data: Bassinet's sessions audit each step field by field (with actor and reason), and
  audit triggers like those of 0003 record a change made in SQL by hand, on PostgreSQL
  with the function ``bassinet_audit_row()`` that 0003 created, on SQLite with triggers
  whose column list is frozen here.

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 00:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The audited columns as of this revision (frozen: a later migration that adds a column
#: recreates these triggers).
COLUMNS: tuple[str, ...] = (
    "patient_id",
    "record",
    "field",
    "question",
    "status",
    "raised_by",
    "raised_at",
    "answer",
    "answered_by",
    "answered_at",
    "closed_by",
    "closed_at",
)
SQLITE_ACTOR = "sql (SQLite has no database users)"


def upgrade() -> None:
    op.create_table(
        "data_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name=op.f("ck_data_query_status")),
        sa.CheckConstraint(
            "(status = 'open') OR (answered_at IS NOT NULL)",
            name=op.f("ck_data_query_answered_before_closed"),
        ),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name=op.f("ck_data_query_closed_iff_closed_at")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_data_query_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_query")),
    )
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_query_patient_id"), ["patient_id"], unique=False)
    _create_audit_triggers(op.get_bind().dialect.name)


def _create_audit_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_data_query AFTER INSERT OR UPDATE OR DELETE ON data_query "
            "FOR EACH ROW EXECUTE FUNCTION bassinet_audit_row()"
        )
        return
    now = "strftime('%Y-%m-%d %H:%M:%S.', 'now') || substr(strftime('%f', 'now'), 4) || '000'"
    for action, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
        statements = []
        for column in COLUMNS:
            old = f"CAST(OLD.{column} AS TEXT)" if action != "insert" else "NULL"
            new = f"CAST(NEW.{column} AS TEXT)" if action != "delete" else "NULL"
            condition = (
                f"OLD.{column} IS NOT NEW.{column}" if action == "update" else f"{row}.{column} IS NOT NULL"
            )
            statements.append(
                "INSERT INTO audit_log (at, actor, action, table_name, record_id, patient_id, "
                "field, old_value, new_value) "
                f"SELECT {now}, '{SQLITE_ACTOR}', '{action}', 'data_query', {row}.id, {row}.patient_id, "
                f"'{column}', {old}, {new} WHERE {condition};"
            )
        op.execute(
            f"CREATE TRIGGER audit_data_query_{action} AFTER {action.upper()} ON data_query "
            "WHEN NOT EXISTS (SELECT 1 FROM audit_context) BEGIN " + " ".join(statements) + " END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_data_query ON data_query")
    else:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_data_query_{action}")
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_query_patient_id"))
    op.drop_table("data_query")
