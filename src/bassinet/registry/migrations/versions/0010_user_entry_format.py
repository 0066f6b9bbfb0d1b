"""each user's format for dates and numbers in the entry forms

Two nullable columns of ``app_user``: ``date_format`` (a strftime pattern from a short
list, e.g. ``%d.%m.%Y``; empty means ISO 8601) and ``decimal_mark`` (``.`` or ``,``;
empty means ``.``). Only how the forms show and read values: the registry stores dates
and numbers canonically. ``app_user`` is not an audited table (no trigger to recreate).

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_format", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("decimal_mark", sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("decimal_mark")
        batch_op.drop_column("date_format")
