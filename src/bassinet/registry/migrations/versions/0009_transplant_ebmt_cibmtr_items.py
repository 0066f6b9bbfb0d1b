"""transplant: the items centres report to EBMT and CIBMTR

New nullable columns of ``transplant`` (historical rows have none of them):

- HLA match as matched alleles of alleles typed (``hla_matched`` of ``hla_typed``: 8, 10
  or 12), both or neither;
- conditioning: ``conditioning_intensity`` (myeloablative, reduced intensity), ``tbi``,
  ``serotherapy`` (none, ATG, alemtuzumab); ``gvhd_prophylaxis`` from a vocabulary;
- ``platelet_engraftment_date`` (``engraftment_date`` is the neutrophil engraftment),
  on or after the transplant;
- acute GVHD: maximum MAGIC grade ``agvhd_grade`` and ``agvhd_date``; chronic GVHD:
  maximum NIH severity ``cgvhd_severity``, ``cgvhd_date`` and
  ``cgvhd_systemic_treatment``; GVHD dates strictly after the transplant;
- ``cmv_donor`` and ``cmv_recipient`` serostatus.

``transplant`` is audited. Migration 0003 froze the audited columns of each table into
the SQLite triggers, so the three ``audit_transplant_*`` triggers are dropped and
recreated with the new columns (SQLite also drops a table's triggers when batch mode
rebuilds it to add the CHECK constraints). The PostgreSQL trigger calls
``bassinet_audit_row()``, which reads every column of the row through ``to_jsonb``, so it
covers the new columns as it is; it is recreated all the same so that both stores are
set up by this revision alike.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Audited columns of ``transplant`` as of 0003 and as of this revision (frozen here).
BEFORE: tuple[str, ...] = (
    "patient_id",
    "transplant_date",
    "donor_type",
    "stem_cell_source",
    "remission_status",
    "mrd_result",
    "mrd_value",
    "mrd_method",
    "engraftment_date",
)
ADDED: tuple[str, ...] = (
    "hla_matched",
    "hla_typed",
    "conditioning_intensity",
    "tbi",
    "serotherapy",
    "gvhd_prophylaxis",
    "platelet_engraftment_date",
    "agvhd_grade",
    "agvhd_date",
    "cgvhd_severity",
    "cgvhd_date",
    "cgvhd_systemic_treatment",
    "cmv_donor",
    "cmv_recipient",
)
SQLITE_ACTOR = "sql (SQLite has no database users)"
CHECKS: tuple[tuple[str, str], ...] = (
    ("hla_matched_with_typed", "(hla_matched IS NULL) = (hla_typed IS NULL)"),
    ("hla_typed_resolution", "hla_typed IS NULL OR hla_typed IN (8, 10, 12)"),
    ("hla_matched_in_range", "hla_matched IS NULL OR (hla_matched >= 0 AND hla_matched <= hla_typed)"),
    (
        "platelet_engraftment_after_transplant",
        "platelet_engraftment_date IS NULL OR platelet_engraftment_date >= transplant_date",
    ),
    ("agvhd_after_transplant", "agvhd_date IS NULL OR agvhd_date > transplant_date"),
    ("cgvhd_after_transplant", "cgvhd_date IS NULL OR cgvhd_date > transplant_date"),
)


def _code(name: str, *codes: str) -> sa.Enum:
    return sa.Enum(*codes, name=name, native_enum=False, create_constraint=True)


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("hla_matched", sa.Integer(), nullable=True),
        sa.Column("hla_typed", sa.Integer(), nullable=True),
        sa.Column(
            "conditioning_intensity",
            _code("conditioning_intensity", "myeloablative", "reduced_intensity"),
            nullable=True,
        ),
        sa.Column("tbi", sa.Boolean(), nullable=True),
        sa.Column("serotherapy", _code("serotherapy", "none", "ATG", "alemtuzumab"), nullable=True),
        sa.Column(
            "gvhd_prophylaxis",
            _code(
                "gvhd_prophylaxis",
                "CsA",
                "CsA_MTX",
                "CsA_MMF",
                "CsA_MTX_MMF",
                "CsA_prednisone",
                "Tac_MTX",
                "Tac_MMF",
                "PTCy",
                "ex_vivo_TCD",
                "other",
                "none",
            ),
            nullable=True,
        ),
        sa.Column("platelet_engraftment_date", sa.Date(), nullable=True),
        sa.Column("agvhd_grade", _code("agvhd_grade", "0", "I", "II", "III", "IV"), nullable=True),
        sa.Column("agvhd_date", sa.Date(), nullable=True),
        sa.Column(
            "cgvhd_severity", _code("cgvhd_severity", "none", "mild", "moderate", "severe"), nullable=True
        ),
        sa.Column("cgvhd_date", sa.Date(), nullable=True),
        sa.Column("cgvhd_systemic_treatment", sa.Boolean(), nullable=True),
        sa.Column("cmv_donor", _code("cmv_donor", "positive", "negative"), nullable=True),
        sa.Column("cmv_recipient", _code("cmv_recipient", "positive", "negative"), nullable=True),
    ]


def _sqlite_triggers(columns: tuple[str, ...]) -> None:
    """The SQLite audit triggers of ``transplant`` over ``columns``, as 0003 writes them."""
    now = "strftime('%Y-%m-%d %H:%M:%S.', 'now') || substr(strftime('%f', 'now'), 4) || '000'"
    for action, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
        statements = []
        for column in columns:
            old = f"CAST(OLD.{column} AS TEXT)" if action != "insert" else "NULL"
            new = f"CAST(NEW.{column} AS TEXT)" if action != "delete" else "NULL"
            if action == "update":
                condition = f"OLD.{column} IS NOT NEW.{column}"
            else:
                condition = f"{row}.{column} IS NOT NULL"
            statements.append(
                "INSERT INTO audit_log (at, actor, action, table_name, record_id, patient_id, "
                "field, old_value, new_value) "
                f"SELECT {now}, '{SQLITE_ACTOR}', '{action}', 'transplant', {row}.id, {row}.patient_id, "
                f"'{column}', {old}, {new} WHERE {condition};"
            )
        op.execute(
            f"CREATE TRIGGER audit_transplant_{action} AFTER {action.upper()} ON transplant "
            "WHEN NOT EXISTS (SELECT 1 FROM audit_context) BEGIN " + " ".join(statements) + " END"
        )


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_transplant ON transplant")
    else:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_transplant_{action}")


def _create_triggers(dialect: str, columns: tuple[str, ...]) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_transplant AFTER INSERT OR UPDATE OR DELETE ON transplant "
            "FOR EACH ROW EXECUTE FUNCTION bassinet_audit_row()"
        )
    else:
        _sqlite_triggers(columns)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    with op.batch_alter_table("transplant", schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
        for name, condition in CHECKS:
            batch_op.create_check_constraint(name, condition)
    _create_triggers(dialect, BEFORE + ADDED)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    with op.batch_alter_table("transplant", schema=None) as batch_op:
        coded = [c.name for c in _columns() if isinstance(c.type, sa.Enum)]
        for name in [n for n, _condition in CHECKS] + coded:
            batch_op.drop_constraint(op.f(f"ck_transplant_{name}"), type_="check")
        for column in reversed(ADDED):
            batch_op.drop_column(column)
    _create_triggers(dialect, BEFORE)
