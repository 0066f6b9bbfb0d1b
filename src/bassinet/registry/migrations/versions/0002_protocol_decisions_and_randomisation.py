"""protocol decisions and randomisation

Stored risk assignments, the randomisation secret, allocations (one per patient and
protocol, one per position of a stratum's sequence), and the record of unblindings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 15:15:47.085324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "randomisation_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomisation_key")),
        sa.UniqueConstraint("protocol", name=op.f("uq_randomisation_key_protocol")),
    )
    op.create_table(
        "unblinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unblinding")),
    )
    op.create_table(
        "allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allocated_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_allocation_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_allocation_patient_id_patient"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation")),
        sa.UniqueConstraint("protocol", "patient_id", name=op.f("uq_allocation_protocol_patient_id")),
        sa.UniqueConstraint(
            "protocol", "stratum", "position", name=op.f("uq_allocation_protocol_stratum_position")
        ),
    )
    op.create_table(
        "risk_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("risk_group", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_risk_assignment_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assignment")),
        sa.UniqueConstraint("patient_id", "protocol", name=op.f("uq_risk_assignment_patient_id_protocol")),
    )


def downgrade() -> None:
    op.drop_table("risk_assignment")
    op.drop_table("allocation")
    op.drop_table("unblinding")
    op.drop_table("randomisation_key")
