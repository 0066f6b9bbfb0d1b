"""The audit trail cannot be rewritten, readers do not fail during an import, imports do not collide.

Issue 16, items 3 and 5: on SQLite ``INSERT OR REPLACE`` rewrote an audit row past the
append-only triggers; on PostgreSQL the deployment gives Bassinet a role that can neither
disable triggers nor change audit rows; SQLite readers failed after 30 s during an import;
two PostgreSQL imports bringing the same new centre ended in a raw IntegrityError.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DatabaseError

from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.registry.store import application_role_grants, grant_application_role, make_engine
from tests.registry.builders import patient, write_files


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    path, _ = write_files(tmp_path, [patient("P1")])
    import_files(engine, path, actor="importer")
    return engine


def first_audit_row(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT * FROM audit_log WHERE id = 1")).mappings().one())


def forged(row: dict[str, object]) -> dict[str, object]:
    return {**row, "actor": "mallory", "new_value": "forged"}


def test_insert_or_replace_cannot_rewrite_an_audit_row_on_sqlite(imported: Engine) -> None:
    if imported.dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL has no REPLACE")
    row = first_audit_row(imported)
    columns = ", ".join(row)
    values = ", ".join(f":{c}" for c in row)
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(DatabaseError, match="audit_log is append-only"), imported.begin() as connection:
            connection.execute(text(f"{verb} INTO audit_log ({columns}) VALUES ({values})"), forged(row))
    assert first_audit_row(imported) == row


def test_an_upsert_cannot_rewrite_an_audit_row(imported: Engine) -> None:
    row = first_audit_row(imported)
    columns = ", ".join(row)
    values = ", ".join(f":{c}" for c in row)
    statement = (
        f"INSERT INTO audit_log ({columns}) VALUES ({values}) "
        "ON CONFLICT (id) DO UPDATE SET actor = excluded.actor, new_value = excluded.new_value"
    )
    with pytest.raises(DatabaseError, match="audit_log is append-only"), imported.begin() as connection:
        connection.execute(text(statement), forged(row))
    assert first_audit_row(imported) == row


def test_a_new_audit_row_can_still_be_appended(imported: Engine) -> None:
    row = first_audit_row(imported)
    with imported.begin() as connection:
        top = connection.execute(select(func.max(m.AuditEntry.id))).scalar_one()
        columns = ", ".join(row)
        values = ", ".join(f":{c}" for c in row)
        connection.execute(
            text(f"INSERT INTO audit_log ({columns}) VALUES ({values})"), {**row, "id": top + 1}
        )
    with imported.connect() as connection:
        assert connection.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one() == top + 1


# -- PostgreSQL: the least-privilege application role ---------------------------------------------


@pytest.fixture
def app_engine(imported: Engine) -> Engine:
    """An engine on the same registry acting as the application role (created here if missing)."""
    if imported.dialect.name != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    url = imported.url
    role = f"{url.database}_app"
    with imported.begin() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if exists is None:
            connection.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    grant_application_role(url.render_as_string(hide_password=False), role)
    # The test connects as the owner and switches role for the whole session, as a login would.
    return create_engine(url, connect_args={"options": f"-c role={role}"})


def test_the_application_role_imports_and_is_audited(app_engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path / "second", [patient("P2")])
    report = import_files(app_engine, path, actor="server")
    assert report.counts["patients"].inserted == 1
    with app_engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar_one().endswith("_app")
        actors = connection.execute(text("SELECT DISTINCT actor FROM audit_log")).scalars().all()
    assert set(actors) == {"importer", "server"}
    app_engine.dispose()


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("ALTER TABLE audit_log DISABLE TRIGGER ALL", "must be owner of table audit_log"),
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change", "must be owner of table audit_log"),
        ("SET session_replication_role = replica", "permission denied to set parameter"),
        ("UPDATE audit_log SET actor = 'mallory'", "permission denied for table audit_log"),
        ("DELETE FROM audit_log", "permission denied for table audit_log"),
        ("TRUNCATE audit_log", "permission denied for table audit_log"),
        ("DROP TRIGGER audit_log_no_change ON audit_log", "must be owner of"),
        ("UPDATE alembic_version SET version_num = '0001'", "permission denied for table alembic_version"),
    ],
)
def test_the_application_role_cannot_touch_the_audit_trail(
    app_engine: Engine, statement: str, refusal: str
) -> None:
    with pytest.raises(DatabaseError, match=refusal), app_engine.begin() as connection:
        connection.execute(text(statement))
    app_engine.dispose()


def test_a_role_name_is_checked_before_it_reaches_sql() -> None:
    from bassinet.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="use letters, digits and underscores"):
        application_role_grants("app; DROP TABLE patient")
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON public.audit_log FROM bassinet_app" in application_role_grants(
        "bassinet_app"
    )


# -- SQLite readers during an import; concurrent imports on both stores ----------------------------


def test_a_sqlite_reader_reads_the_last_commit_while_a_write_is_open(imported: Engine) -> None:
    if imported.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers")
    writer = imported.raw_connection()
    try:
        cursor = writer.cursor()
        cursor.execute("BEGIN EXCLUSIVE")
        cursor.execute("DELETE FROM treatment_course")  # any write; held open, uncommitted
        reader = make_engine(imported.url.render_as_string(hide_password=False))
        with reader.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout = 100")
            count = connection.execute(select(func.count()).select_from(m.Patient)).scalar_one()
        reader.dispose()
        assert count == 1
    finally:
        writer.rollback()
        writer.close()


def test_two_imports_bringing_the_same_new_centre_do_not_collide(engine: Engine, tmp_path: Path) -> None:
    # Each import, once it has checked the registry and is about to write, waits (up to a
    # moment) for the other to get that far too. Unserialised, both then find the centre
    # missing and the second fails on its unique name; serialised, the second waits.
    files = {
        name: write_files(
            tmp_path / name, [patient(name, centre="New centre", study_group="NEWG"), patient("P0")]
        )[0]
        for name in ("A", "B")
    }
    ready = {name: threading.Event() for name in files}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        def progress(phase: str, done: int, _total: int) -> None:
            if phase == "writing" and done == 0:
                ready[name].set()
                other = "B" if name == "A" else "A"
                ready[other].wait(timeout=2)

        try:
            import_files(engine, files[name], actor=f"import {name}", progress=progress)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with engine.connect() as connection:
        centres = connection.execute(select(m.Centre.name).order_by(m.Centre.name)).scalars().all()
        patients = connection.execute(select(m.Patient.study_id).order_by(m.Patient.study_id)).scalars().all()
    assert centres == ["New centre", "Rotterdam"]
    assert patients == ["A", "B", "P0"]
