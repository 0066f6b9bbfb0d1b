"""Migration 0011 adds the audited ``data_query`` table and can be taken back and forward again."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from bassinet.registry.store import MIGRATIONS, _alembic_config, current_revision


def test_0011_downgrades_without_the_query_table_and_its_triggers_then_upgrades_again(engine: Engine) -> None:
    assert "data_query" in inspect(engine).get_table_names()
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = current_revision(engine)
    command.downgrade(_alembic_config(engine), "0011-1")
    assert current_revision(engine) == scripts.get_revision("0011").down_revision
    assert "data_query" not in inspect(engine).get_table_names()
    command.upgrade(_alembic_config(engine), "head")
    assert current_revision(engine) == head
    columns = {c["name"] for c in inspect(engine).get_columns("data_query")}
    assert {"patient_id", "record", "field", "question", "status", "raised_by", "closed_at"} <= columns
