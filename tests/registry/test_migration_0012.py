"""Migration 0012 adds the sign-off tables and the investigator role; it can be taken back and
forward again."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bassinet.registry.store import _alembic_config, current_revision


def _grant(engine: Engine, role: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO app_user (username, password_hash, failed_logins, disabled, created_at) "
                "VALUES (:u, 'x', 0, false, :at)"
            ),
            {"u": f"user_{role}", "at": dt.datetime.now(dt.UTC)},
        )
        user_id = connection.execute(
            text("SELECT id FROM app_user WHERE username = :u"), {"u": f"user_{role}"}
        )
        connection.execute(
            text("INSERT INTO access_grant (user_id, role, scope_kind) VALUES (:id, :role, 'study')"),
            {"id": user_id.scalar_one(), "role": role},
        )


def test_0012_widens_the_role_check_and_downgrades_without_its_tables_then_upgrades_again(
    engine: Engine,
) -> None:
    tables = {"sdv_mark", "patient_lock", "casebook_signature"}
    assert tables <= set(inspect(engine).get_table_names())
    _grant(engine, "investigator")
    with pytest.raises(IntegrityError):
        _grant(engine, "chief")
    head = current_revision(engine)
    command.downgrade(_alembic_config(engine), "0012-1")
    assert current_revision(engine) == "0011"
    assert not tables & set(inspect(engine).get_table_names())
    assert "full_name" not in {c["name"] for c in inspect(engine).get_columns("app_user")}
    with pytest.raises(IntegrityError):  # the old CHECK is back: no investigator
        _grant(engine, "investigator")
    _grant(engine, "monitor")
    command.upgrade(_alembic_config(engine), "head")
    assert current_revision(engine) == head
    assert tables <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        roles = connection.execute(text("SELECT role FROM access_grant ORDER BY id")).scalars().all()
    assert roles == ["monitor"]  # the downgrade took the investigator's grant away, kept the rest


def test_a_lock_written_in_sql_by_hand_is_audited_by_the_triggers(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO centre (name) VALUES ('C')"))
        centre = connection.execute(text("SELECT id FROM centre WHERE name = 'C'")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO patient (centre_id, study_id, sex, date_of_birth, diagnosis_date, "
                "leukemia_type, kmt2a_status, last_contact_date, vital_status) VALUES "
                "(:c, 'P1', 'F', '2020-01-01', '2020-03-01', 'ALL', 'rearranged', '2021-01-01', 'alive')"
            ),
            {"c": centre},
        )
        patient = connection.execute(text("SELECT id FROM patient WHERE study_id = 'P1'")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO patient_lock (patient_id, locked_by, locked_at, lock_reason) "
                "VALUES (:p, 'someone', :at, 'by hand')"
            ),
            {"p": patient, "at": dt.datetime.now(dt.UTC)},
        )
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT action, field, new_value, patient_id FROM audit_log "
                "WHERE table_name = 'patient_lock' ORDER BY field"
            )
        ).all()
    assert ("insert", "lock_reason", "by hand", patient) in [tuple(r) for r in rows]
    assert {r[1] for r in rows} == {"patient_id", "locked_by", "locked_at", "lock_reason"}
