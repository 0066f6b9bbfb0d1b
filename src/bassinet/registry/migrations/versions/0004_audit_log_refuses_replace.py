"""audit_log refuses INSERT OR REPLACE on SQLite

SQLite's REPLACE conflict resolution deletes the row it conflicts with without firing
DELETE triggers (unless ``recursive_triggers`` is on), so ``INSERT OR REPLACE INTO
audit_log`` with an existing id rewrote an audit row past the append-only triggers of
0001. A BEFORE INSERT trigger now refuses any insert whose id is already taken, which
covers REPLACE, ``INSERT ... ON CONFLICT DO UPDATE`` and ``REPLACE INTO``. PostgreSQL
has no REPLACE; its row triggers of 0001 already fire for every update and delete.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29 17:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY_MESSAGE = "audit_log is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
