"""Migration 0008 adds ``report_job`` and can be taken back one step and forward again."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from bassinet.registry.store import MIGRATIONS, _alembic_config, current_revision


def test_0008_downgrades_one_step_without_the_report_job_table_then_upgrades_again(engine: Engine) -> None:
    assert "report_job" in inspect(engine).get_table_names()
    before = ScriptDirectory(str(MIGRATIONS)).get_revision("0008").down_revision
    command.downgrade(_alembic_config(engine), "0008-1")
    assert current_revision(engine) == before
    assert "report_job" not in inspect(engine).get_table_names()
    assert "security_log" in inspect(engine).get_table_names()
    command.upgrade(_alembic_config(engine), "head")
    columns = {c["name"] for c in inspect(engine).get_columns("report_job")}
    assert {
        "plan_sha256",
        "data_sha256",
        "actor",
        "created_at",
        "status",
        "progress",
        "output_dir",
    } <= columns
