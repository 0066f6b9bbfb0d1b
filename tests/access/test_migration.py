"""Migration 0006 adds the access tables and can be taken back one step and forward again."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from bassinet.registry.store import MIGRATIONS, _alembic_config, current_revision

ACCESS_TABLES = {"app_user", "access_grant", "access_token", "security_log"}


def test_0006_downgrades_one_step_without_its_tables_and_triggers_then_upgrades_again(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= ACCESS_TABLES
    before = ScriptDirectory(str(MIGRATIONS)).get_revision("0006").down_revision
    command.downgrade(_alembic_config(engine), "0006-1")
    assert current_revision(engine) == before
    assert ACCESS_TABLES.isdisjoint(inspect(engine).get_table_names())
    command.upgrade(_alembic_config(engine), "head")
    assert set(inspect(engine).get_table_names()) >= ACCESS_TABLES
