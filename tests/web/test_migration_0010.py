"""Migration 0010 adds each user's date format and decimal mark, and can be taken back and forward."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from bassinet.registry.store import MIGRATIONS, _alembic_config, current_revision


def test_0010_downgrades_one_step_without_the_format_columns_then_upgrades_again(engine: Engine) -> None:
    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("app_user")}

    assert {"date_format", "decimal_mark"} <= columns()
    before = ScriptDirectory(str(MIGRATIONS)).get_revision("0010").down_revision
    command.downgrade(_alembic_config(engine), "0010-1")
    assert current_revision(engine) == before
    assert not {"date_format", "decimal_mark"} & columns()
    assert "password_hash" in columns()
    command.upgrade(_alembic_config(engine), "head")
    assert {"date_format", "decimal_mark"} <= columns()
