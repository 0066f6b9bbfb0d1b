"""initial registry schema

The registry tables with their constraints, and triggers that make ``audit_log``
append-only on both engines: an UPDATE or DELETE of an audit row (and, on
PostgreSQL, a TRUNCATE) is refused by the database itself.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 14:28:32.698186
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=6), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("import_run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("action IN ('insert', 'update', 'delete')", name=op.f("ck_audit_log_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("quarantine_file", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_table(
        "study_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("original_country", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_group")),
        sa.UniqueConstraint("name", name=op.f("uq_study_group_name")),
    )
    op.create_table(
        "centre",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("study_group_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_group_id"],
            ["study_group.id"],
            name=op.f("fk_centre_study_group_id_study_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centre")),
        sa.UniqueConstraint("name", name=op.f("uq_centre_name")),
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column(
            "sex",
            sa.Enum("M", "F", name="sex", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("diagnosis_date", sa.Date(), nullable=False),
        sa.Column(
            "leukemia_type",
            sa.Enum("ALL", "AML", name="leukemia_type", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "immunophenotype",
            sa.Enum(
                "pro_B",
                "common_B",
                "pre_B",
                "mature_B",
                "T",
                "myeloid",
                "mixed",
                "other",
                name="immunophenotype",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "cd10",
            sa.Enum("positive", "negative", name="cd10", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column(
            "kmt2a_status",
            sa.Enum(
                "germline",
                "rearranged",
                "unknown",
                name="kmt2a_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "kmt2a_partner",
            sa.Enum(
                "AFF1",
                "MLLT1",
                "MLLT3",
                "MLLT10",
                "other",
                name="kmt2a_partner",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("wbc", sa.Float(), nullable=True),
        sa.Column(
            "cns_status",
            sa.Enum("CNS1", "CNS2", "CNS3", name="cns_status", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column("day8_blasts", sa.Float(), nullable=True),
        sa.Column("protocol", sa.String(length=64), nullable=True),
        sa.Column("protocol_version", sa.String(length=32), nullable=True),
        sa.Column(
            "randomisation_arm",
            sa.Enum("IB", "ADE_MAE", name="randomisation_arm", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column("randomisation_date", sa.Date(), nullable=True),
        sa.Column("last_contact_date", sa.Date(), nullable=False),
        sa.Column(
            "vital_status",
            sa.Enum("alive", "dead", name="vital_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kmt2a_partner IS NULL OR kmt2a_status = 'rearranged'",
            name=op.f("ck_patient_partner_only_if_rearranged"),
        ),
        sa.CheckConstraint(
            "(randomisation_arm IS NULL) = (randomisation_date IS NULL)",
            name=op.f("ck_patient_arm_with_date"),
        ),
        sa.CheckConstraint("date_of_birth <= diagnosis_date", name=op.f("ck_patient_born_before_diagnosis")),
        sa.CheckConstraint(
            "day8_blasts IS NULL OR day8_blasts >= 0", name=op.f("ck_patient_blasts_not_negative")
        ),
        sa.CheckConstraint(
            "last_contact_date >= diagnosis_date", name=op.f("ck_patient_follow_up_after_diagnosis")
        ),
        sa.CheckConstraint("wbc IS NULL OR wbc >= 0", name=op.f("ck_patient_wbc_not_negative")),
        sa.ForeignKeyConstraint(["centre_id"], ["centre.id"], name=op.f("fk_patient_centre_id_centre")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("centre_id", "study_id", name=op.f("uq_patient_centre_id_study_id")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_centre_id"), ["centre_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "event_type",
            sa.Enum(
                "resistant_disease",
                "relapse",
                "death",
                "second_malignancy",
                name="event_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column(
            "relapse_site",
            sa.Enum(
                "bone_marrow",
                "CNS",
                "testis",
                "combined",
                "other",
                name="relapse_site",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "death_cause",
            sa.Enum(
                "leukemia",
                "infection",
                "toxicity",
                "transplant_related",
                "other",
                "unknown",
                name="death_cause",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "death_cause IS NULL OR event_type = 'death'",
            name=op.f("ck_event_cause_only_for_death"),
        ),
        sa.CheckConstraint(
            "relapse_site IS NULL OR event_type = 'relapse'",
            name=op.f("ck_event_site_only_for_relapse"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_event_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint(
            "patient_id",
            "event_type",
            "event_date",
            name=op.f("uq_event_patient_id_event_type_event_date"),
        ),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            "uq_event_one_death",
            ["patient_id"],
            unique=True,
            sqlite_where=sa.text("event_type = 'death'"),
            postgresql_where=sa.text("event_type = 'death'"),
        )

    op.create_table(
        "mrd_measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "time_point",
            sa.Enum(
                "day_15",
                "end_of_induction",
                "end_of_consolidation",
                "start_of_octadad",
                "pre_transplant",
                "other",
                name="mrd_time_point",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column(
            "method",
            sa.Enum("FCM", "PCR", name="mrd_method", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.Enum(
                "quantified",
                "negative",
                "positive_nq",
                name="mrd_result",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "(result = 'quantified') = (value IS NOT NULL)",
            name=op.f("ck_mrd_measurement_value_iff_quantified"),
        ),
        sa.CheckConstraint(
            "value IS NULL OR (value >= 0 AND value <= 1)",
            name=op.f("ck_mrd_measurement_value_is_fraction"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_mrd_measurement_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mrd_measurement")),
        sa.UniqueConstraint(
            "patient_id",
            "time_point",
            "method",
            name=op.f("uq_mrd_measurement_patient_id_time_point_method"),
        ),
    )
    op.create_table(
        "remission_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "time_point",
            sa.Enum(
                "day_15",
                "end_of_induction",
                "end_of_consolidation",
                "start_of_octadad",
                "pre_transplant",
                "other",
                name="remission_time_point",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("CR", "no_CR", name="remission_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_remission_assessment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remission_assessment")),
        sa.UniqueConstraint(
            "patient_id", "time_point", name=op.f("uq_remission_assessment_patient_id_time_point")
        ),
    )
    op.create_table(
        "transplant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("transplant_date", sa.Date(), nullable=False),
        sa.Column(
            "donor_type",
            sa.Enum(
                "matched_sibling",
                "matched_unrelated",
                "haploidentical",
                "cord",
                name="donor_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "stem_cell_source",
            sa.Enum(
                "bone_marrow",
                "peripheral_blood",
                "cord_blood",
                name="stem_cell_source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "remission_status",
            sa.Enum(
                "CR1",
                "CR2+",
                "NR",
                name="pre_transplant_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "mrd_result",
            sa.Enum(
                "quantified",
                "negative",
                "positive_nq",
                name="pre_transplant_mrd",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("mrd_value", sa.Float(), nullable=True),
        sa.Column(
            "mrd_method",
            sa.Enum(
                "FCM",
                "PCR",
                name="pre_transplant_mrd_method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("engraftment_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "(mrd_result = 'quantified') = (mrd_value IS NOT NULL)",
            name=op.f("ck_transplant_mrd_value_iff_quantified"),
        ),
        sa.CheckConstraint(
            "engraftment_date IS NULL OR engraftment_date >= transplant_date",
            name=op.f("ck_transplant_engraftment_after_transplant"),
        ),
        sa.CheckConstraint(
            "mrd_value IS NULL OR (mrd_value >= 0 AND mrd_value <= 1)",
            name=op.f("ck_transplant_mrd_is_fraction"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_transplant_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transplant")),
        sa.UniqueConstraint(
            "patient_id", "transplant_date", name=op.f("uq_transplant_patient_id_transplant_date")
        ),
    )
    op.create_table(
        "treatment_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "course",
            sa.Enum(
                "induction",
                "IB",
                "ADE",
                "MAE",
                "MARMA",
                "OCTADAD",
                "maintenance",
                "other",
                name="course",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_treatment_course_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_course")),
        sa.UniqueConstraint("patient_id", "course", name=op.f("uq_treatment_course_patient_id_course")),
    )

    _create_append_only_triggers()


APPEND_ONLY_MESSAGE = "audit_log is append-only"


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()"
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise RuntimeError(f"the registry supports SQLite and PostgreSQL, not {dialect}")


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("treatment_course")
    op.drop_table("transplant")
    op.drop_table("remission_assessment")
    op.drop_table("mrd_measurement")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_event_one_death",
            sqlite_where=sa.text("event_type = 'death'"),
            postgresql_where=sa.text("event_type = 'death'"),
        )

    op.drop_table("event")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_centre_id"))

    op.drop_table("patient")
    op.drop_table("centre")
    op.drop_table("study_group")
    op.drop_table("import_run")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_patient_id"))

    op.drop_table("audit_log")
