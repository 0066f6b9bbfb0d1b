"""source-data verification, casebook locks and investigator signatures; the investigator role

- ``sdv_mark``: a monitor's mark that one field of one record (``patient`` or ``KIND:ID``)
  of a patient was checked against the source documents, with the value verified (so that
  a later change, even one made in SQL by hand, is seen).
- ``patient_lock``: a lock of a patient's casebook (reason, who, when) and its unlocking
  (reason, who, when); rows are kept as history, at most one open lock per patient.
- ``casebook_signature``: the investigator's signature of a patient's casebook: username
  and full name, time, the meaning shown, the SHA-256 of the casebook's values at signing,
  and its voiding (who, when, the change's reason); at most one valid signature per patient.
- ``app_user.full_name``: the name a signature shows beside the username.
- ``access_grant.role``: the CHECK constraint of migration 0006 widened to ``investigator``.

The three new tables are registry data, audited like ``data_query`` (migration 0011).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_ROLES = ("administrator", "trial_statistician", "data_manager", "clinician", "monitor")
ROLES = (*OLD_ROLES, "investigator")

#: The audited columns of each new table as of this revision (frozen: a later migration that
#: adds a column recreates that table's triggers).
AUDITED: dict[str, tuple[str, ...]] = {
    "sdv_mark": ("patient_id", "record", "field", "verified_value", "verified_by", "verified_at"),
    "patient_lock": (
        "patient_id",
        "locked_by",
        "locked_at",
        "lock_reason",
        "unlocked_by",
        "unlocked_at",
        "unlock_reason",
    ),
    "casebook_signature": (
        "patient_id",
        "signed_by",
        "signer_name",
        "signed_at",
        "meaning",
        "casebook_sha256",
        "voided_by",
        "voided_at",
        "void_reason",
    ),
}
SQLITE_ACTOR = "sql (SQLite has no database users)"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _patient_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["patient_id"], ["patient.id"], name=op.f(f"fk_{table}_patient_id_patient"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "sdv_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("verified_value", sa.Text(), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        _patient_fk("sdv_mark"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdv_mark")),
        sa.UniqueConstraint(
            "patient_id", "record", "field", name=op.f("uq_sdv_mark_patient_id_record_field")
        ),
    )
    op.create_table(
        "patient_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock_reason", sa.Text(), nullable=False),
        sa.Column("unlocked_by", sa.String(length=100), nullable=True),
        sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(unlocked_at IS NULL) = (unlocked_by IS NULL)"
            " AND (unlocked_at IS NULL) = (unlock_reason IS NULL)",
            name=op.f("ck_patient_lock_unlock_complete"),
        ),
        _patient_fk("patient_lock"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_lock")),
    )
    op.create_table(
        "casebook_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(length=100), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.Column("casebook_sha256", sa.String(length=64), nullable=False),
        sa.Column("voided_by", sa.String(length=100), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(voided_at IS NULL) = (voided_by IS NULL)", name=op.f("ck_casebook_signature_void_complete")
        ),
        _patient_fk("casebook_signature"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casebook_signature")),
    )
    for table, where in (
        ("patient_lock", "unlocked_at IS NULL"),
        ("casebook_signature", "voided_at IS NULL"),
    ):
        op.create_index(
            f"uq_{table}_one_current",
            table,
            ["patient_id"],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=200), nullable=True))
    _set_roles(ROLES)
    dialect = op.get_bind().dialect.name
    for table in AUDITED:
        _create_audit_triggers(dialect, table)


def _set_roles(roles: tuple[str, ...]) -> None:
    """Replace the CHECK constraint of ``access_grant.role`` (a non-native enum, 0006)."""
    with op.batch_alter_table("access_grant", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_access_grant_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_access_grant_role"), sa.text(_in("role", roles)))


def _create_audit_triggers(dialect: str, table: str) -> None:
    if dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER audit_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION bassinet_audit_row()"
        )
        return
    now = "strftime('%Y-%m-%d %H:%M:%S.', 'now') || substr(strftime('%f', 'now'), 4) || '000'"
    for action, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
        statements = []
        for column in AUDITED[table]:
            old = f"CAST(OLD.{column} AS TEXT)" if action != "insert" else "NULL"
            new = f"CAST(NEW.{column} AS TEXT)" if action != "delete" else "NULL"
            condition = (
                f"OLD.{column} IS NOT NEW.{column}" if action == "update" else f"{row}.{column} IS NOT NULL"
            )
            statements.append(
                "INSERT INTO audit_log (at, actor, action, table_name, record_id, patient_id, "
                "field, old_value, new_value) "
                f"SELECT {now}, '{SQLITE_ACTOR}', '{action}', '{table}', {row}.id, {row}.patient_id, "
                f"'{column}', {old}, {new} WHERE {condition};"
            )
        op.execute(
            f"CREATE TRIGGER audit_{table}_{action} AFTER {action.upper()} ON {table} "
            "WHEN NOT EXISTS (SELECT 1 FROM audit_context) BEGIN " + " ".join(statements) + " END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in AUDITED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS audit_{table} ON {table}")
        else:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS audit_{table}_{action}")
    op.execute("DELETE FROM access_grant WHERE role = 'investigator'")
    _set_roles(OLD_ROLES)
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("full_name")
    op.drop_index("uq_casebook_signature_one_current", table_name="casebook_signature")
    op.drop_index("uq_patient_lock_one_current", table_name="patient_lock")
    op.drop_table("casebook_signature")
    op.drop_table("patient_lock")
    op.drop_table("sdv_mark")
