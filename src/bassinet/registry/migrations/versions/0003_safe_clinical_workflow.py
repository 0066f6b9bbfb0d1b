"""safe clinical workflow: one identity per study ID, allocations with their source, key outside

- ``patient``: a unique index on ``study_id`` (one identity across centres). A registry
  that holds one study ID in two centres is refused, with the IDs, until merged.
- ``allocation``: ``source`` ("bassinet" or "recorded"), ``allocated_on``, the decision
  relied on (``decision_id``, ``protocol_version``); ``position`` is empty for a recorded
  arm. Every arm already on a patient record becomes a recorded allocation.
- ``randomisation_key``: only the key's fingerprint. A secret stored by 0002 is moved
  to the file named by ``BASSINET_RANDOMISATION_KEY`` (created with mode 0600); without
  that variable the migration refuses, so that no sequence is lost.
- ``audit_log.reason``; ``balance_view`` records who was shown the balance.
- Triggers on every registry table write an audit row for each changed field of a
  change made outside Bassinet (in SQL by hand), with the database user as actor and
  no reason. Bassinet's own sessions audit their changes themselves (with actor and
  reason) and mark their transaction so that the triggers leave those rows alone: on
  PostgreSQL a transaction-local setting ``bassinet.audited``, on SQLite an uncommitted
  row of ``audit_context``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:00:00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from bassinet.errors import RegistryError

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Columns of each audited table as of this revision (frozen here: a later migration that
#: adds a column recreates the triggers of its table).
AUDITED: dict[str, tuple[str, ...]] = {
    "study_group": ("name", "original_country"),
    "centre": ("name", "study_group_id"),
    "patient": (
        "centre_id",
        "study_id",
        "sex",
        "date_of_birth",
        "diagnosis_date",
        "leukemia_type",
        "immunophenotype",
        "cd10",
        "kmt2a_status",
        "kmt2a_partner",
        "wbc",
        "cns_status",
        "day8_blasts",
        "protocol",
        "protocol_version",
        "randomisation_arm",
        "randomisation_date",
        "last_contact_date",
        "vital_status",
    ),
    "remission_assessment": ("patient_id", "time_point", "assessment_date", "status"),
    "mrd_measurement": ("patient_id", "time_point", "measured_on", "method", "result", "value"),
    "treatment_course": ("patient_id", "course", "start_date"),
    "transplant": (
        "patient_id",
        "transplant_date",
        "donor_type",
        "stem_cell_source",
        "remission_status",
        "mrd_result",
        "mrd_value",
        "mrd_method",
        "engraftment_date",
    ),
    "event": ("patient_id", "event_type", "event_date", "relapse_site", "death_cause"),
    "risk_assignment": ("patient_id", "protocol", "version", "risk_group", "decision", "decided_at"),
    "allocation": (
        "protocol",
        "stratum",
        "position",
        "arm",
        "patient_id",
        "allocated_at",
        "allocated_by",
        "source",
        "allocated_on",
        "decision_id",
        "protocol_version",
    ),
    "unblinding": ("protocol", "stratum", "positions", "reason", "actor", "at"),
    "balance_view": ("protocol", "role", "detail", "actor", "at"),
}
SQLITE_ACTOR = "sql (SQLite has no database users)"
KEY_VARIABLE = "BASSINET_RANDOMISATION_KEY"
FINGERPRINT_LABEL = b"bassinet randomisation key v1\x1f"


def _fingerprint(secret_hex: str) -> str:
    return hashlib.sha256(FINGERPRINT_LABEL + bytes.fromhex(secret_hex)).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    stored_secrets = bind.execute(sa.text("SELECT COUNT(*) FROM randomisation_key")).scalar_one()
    if stored_secrets and not os.environ.get(KEY_VARIABLE):
        raise RegistryError(
            "this registry keeps its randomisation secret in the database; set "
            f"{KEY_VARIABLE}=PATH (a file that does not exist yet, outside the registry) and run "
            "`bassinet init` again: the secret is moved to that file (mode 0600)"
        )

    duplicates = (
        bind.execute(
            sa.text("SELECT study_id FROM patient GROUP BY study_id HAVING COUNT(*) > 1 ORDER BY study_id")
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise RegistryError(
            "study IDs held by more than one centre: "
            + ", ".join(map(repr, duplicates[:20]))
            + ": a patient has one identity; merge or renumber them with the previous Bassinet first"
        )
    op.create_index("uq_patient_study_id", "patient", ["study_id"], unique=True)

    op.add_column("audit_log", sa.Column("reason", sa.Text(), nullable=True))
    op.create_table(
        "audit_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_context")),
    )
    op.create_table(
        "balance_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_view")),
    )

    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="bassinet")
        )
        batch_op.add_column(sa.Column("allocated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("decision_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("protocol_version", sa.String(length=100), nullable=True))
        batch_op.alter_column("position", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint("source", "source IN ('bassinet', 'recorded')")
        batch_op.create_check_constraint("position_iff_drawn", "(source = 'recorded') = (position IS NULL)")
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=sa.String(length=16), server_default=None)
    bind.execute(
        sa.text(
            "UPDATE allocation SET allocated_on = (SELECT randomisation_date FROM patient "
            "WHERE patient.id = allocation.patient_id)"
        )
    )
    _record_historical_arms(bind)
    _move_secret_out(bind)
    _create_audit_triggers(dialect)


def _record_historical_arms(bind: sa.Connection) -> None:
    """Every arm on a patient record without an allocation becomes a recorded allocation."""
    rows = bind.execute(
        sa.text(
            "SELECT p.id, p.randomisation_arm, p.randomisation_date, r.risk_group, g.name "
            "FROM patient p JOIN centre c ON c.id = p.centre_id "
            "LEFT JOIN study_group g ON g.id = c.study_group_id "
            "LEFT JOIN risk_assignment r ON r.patient_id = p.id AND r.protocol = 'interfant-06' "
            "WHERE p.randomisation_arm IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM allocation a WHERE a.patient_id = p.id AND a.protocol = 'interfant-06')"
        )
    ).all()
    now = dt.datetime.now(dt.UTC)
    for patient_id, arm, on, group, study_group in rows:
        bind.execute(
            sa.text(
                "INSERT INTO allocation (protocol, stratum, position, arm, patient_id, allocated_at, "
                "allocated_by, source, allocated_on) VALUES ('interfant-06', :stratum, NULL, :arm, :pid, "
                ":at, 'migration 0003', 'recorded', :on)"
            ),
            {
                "stratum": f"{group or 'no group'} / {study_group or 'no study group'}",
                "arm": arm,
                "pid": patient_id,
                "at": now,
                "on": on,
            },
        )


def _move_secret_out(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT protocol, secret FROM randomisation_key")).all()
    target = os.environ.get(KEY_VARIABLE)
    if rows and not target:
        raise RegistryError(
            "this registry keeps its randomisation secret in the database; set "
            f"{KEY_VARIABLE}=PATH (a file that does not exist yet, outside the registry) and run "
            "`bassinet init` again: the secret is moved to that file (mode 0600)"
        )
    if len(rows) > 1:
        raise RegistryError("more than one randomisation secret: move them out one protocol at a time")
    with op.batch_alter_table("randomisation_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    for _protocol, secret in rows:
        assert target is not None
        descriptor = os.open(Path(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(str(secret) + "\n")
        bind.execute(
            sa.text("UPDATE randomisation_key SET fingerprint = :f"), {"f": _fingerprint(str(secret))}
        )
    with op.batch_alter_table("randomisation_key", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("secret")


def _sqlite_value(row: str, column: str) -> str:
    return f"CAST({row}.{column} AS TEXT)"


def _create_audit_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
CREATE FUNCTION bassinet_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
    any_row jsonb := coalesce(new_row, old_row);
    k text;
BEGIN
    IF coalesce(current_setting('bassinet.audited', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    FOR k IN SELECT jsonb_object_keys(any_row) LOOP
        CONTINUE WHEN k = 'id';
        CONTINUE WHEN TG_OP = 'UPDATE' AND (old_row -> k) IS NOT DISTINCT FROM (new_row -> k);
        CONTINUE WHEN TG_OP <> 'UPDATE' AND jsonb_typeof(any_row -> k) = 'null';
        INSERT INTO audit_log (at, actor, action, table_name, record_id, patient_id, field,
                               old_value, new_value, reason)
        VALUES (now(), 'sql:' || current_user, lower(TG_OP), TG_TABLE_NAME, (any_row ->> 'id')::int,
                CASE WHEN TG_TABLE_NAME = 'patient' THEN (any_row ->> 'id')::int
                     ELSE (any_row ->> 'patient_id')::int END,
                k, old_row ->> k, new_row ->> k, NULL);
    END LOOP;
    RETURN NULL;
END $$
"""
        )
        for table in AUDITED:
            op.execute(
                f"CREATE TRIGGER audit_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION bassinet_audit_row()"
            )
        return
    now = "strftime('%Y-%m-%d %H:%M:%S.', 'now') || substr(strftime('%f', 'now'), 4) || '000'"
    for table, columns in AUDITED.items():
        for action, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            patient = (
                f"{row}.id"
                if table == "patient"
                else (f"{row}.patient_id" if "patient_id" in columns else "NULL")
            )
            statements = []
            for column in columns:
                old = _sqlite_value("OLD", column) if action != "insert" else "NULL"
                new = _sqlite_value("NEW", column) if action != "delete" else "NULL"
                if action == "update":
                    condition = f"OLD.{column} IS NOT NEW.{column}"
                else:
                    condition = f"{row}.{column} IS NOT NULL"
                statements.append(
                    "INSERT INTO audit_log (at, actor, action, table_name, record_id, patient_id, "
                    "field, old_value, new_value) "
                    f"SELECT {now}, '{SQLITE_ACTOR}', '{action}', '{table}', {row}.id, {patient}, "
                    f"'{column}', {old}, {new} WHERE {condition};"
                )
            op.execute(
                f"CREATE TRIGGER audit_{table}_{action} AFTER {action.upper()} ON {table} "
                "WHEN NOT EXISTS (SELECT 1 FROM audit_context) BEGIN " + " ".join(statements) + " END"
            )


def _drop_audit_triggers(dialect: str) -> None:
    for table in AUDITED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS audit_{table} ON {table}")
        else:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS audit_{table}_{action}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bassinet_audit_row()")


def downgrade() -> None:
    bind = op.get_bind()
    _drop_audit_triggers(bind.dialect.name)
    with op.batch_alter_table("randomisation_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sa.String(length=64), nullable=True))
        batch_op.drop_column("fingerprint")
    bind.execute(sa.text("DELETE FROM allocation WHERE source = 'recorded'"))
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_constraint("ck_allocation_position_iff_drawn", type_="check")
        batch_op.drop_constraint("ck_allocation_source", type_="check")
        batch_op.alter_column("position", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("protocol_version")
        batch_op.drop_column("decision_id")
        batch_op.drop_column("allocated_on")
        batch_op.drop_column("source")
    op.drop_table("balance_view")
    op.drop_table("audit_context")
    op.drop_column("audit_log", "reason")
    op.drop_index("uq_patient_study_id", table_name="patient")
