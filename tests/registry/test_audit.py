"""The audit trail: every change appended, attributed, and impossible to rewrite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from bassinet.errors import ConfigurationError, RegistryError
from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.registry.audit import history
from bassinet.registry.lookup import find_patient
from bassinet.registry.store import registry_session
from tests.registry.builders import patient, write_files


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    path, _ = write_files(tmp_path, [patient("P001"), patient("P002")])
    import_files(engine, path, actor="importer")
    return engine


def test_an_insert_is_audited_field_by_field(imported: Engine) -> None:
    with registry_session(imported, actor="reader") as session:
        found = find_patient(session, "P001")
        entries = history(session, found.id)
    fields = {e.field: e.new_value for e in entries if e.table_name == "patient"}
    assert fields["study_id"] == "P001"
    assert fields["wbc"] == "412.0"
    assert fields["date_of_birth"] == "2019-01-10"
    assert {e.action for e in entries} == {"insert"}
    assert {e.actor for e in entries} == {"importer"}
    assert all(e.old_value is None for e in entries)


def test_a_change_through_the_orm_is_audited_with_old_and_new_value(imported: Engine) -> None:
    with registry_session(imported, actor="clinician") as session:
        found = find_patient(session, "P002")
        found.last_contact_date = dt.date(2023, 1, 5)
        patient_id = found.id
    with registry_session(imported, actor="reader") as session:
        [entry] = [e for e in history(session, patient_id) if e.action == "update"]
    assert (entry.field, entry.old_value, entry.new_value, entry.actor) == (
        "last_contact_date",
        "2022-06-30",
        "2023-01-05",
        "clinician",
    )


def test_a_deleted_patient_leaves_its_history(imported: Engine) -> None:
    with registry_session(imported, actor="data manager") as session:
        found = find_patient(session, "P002")
        patient_id = found.id
        session.delete(found)
    with registry_session(imported, actor="reader") as session:
        deleted = [e for e in history(session, patient_id) if e.action == "delete"]
    assert {(e.field, e.old_value) for e in deleted} >= {("study_id", "P002"), ("wbc", "412.0")}
    assert {e.actor for e in deleted} == {"data manager"}


def test_a_session_without_an_actor_cannot_change_registry_data(imported: Engine) -> None:
    with Session(imported) as session:
        found = session.scalars(select(m.Patient).where(m.Patient.study_id == "P001")).one()
        found.wbc = 1.0
        with pytest.raises(RegistryError, match="refusing an unaudited change"):
            session.flush()


def test_a_blank_actor_is_refused(imported: Engine) -> None:
    with (
        pytest.raises(ConfigurationError, match="needs a named actor"),
        registry_session(imported, actor="  "),
    ):
        pass


@pytest.mark.parametrize(
    "statement",
    [
        update(m.AuditEntry).values(new_value="forged"),
        delete(m.AuditEntry),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_update_or_delete_audit_rows(imported: Engine, statement: object) -> None:
    with imported.connect() as connection:
        before = connection.execute(select(m.AuditEntry.new_value).order_by(m.AuditEntry.id)).all()
    with (
        pytest.raises(DatabaseError, match="audit_log is append-only"),
        imported.begin() as connection,
    ):
        connection.execute(statement)  # type: ignore[call-overload]
    with imported.connect() as connection:
        after = connection.execute(select(m.AuditEntry.new_value).order_by(m.AuditEntry.id)).all()
    assert after == before


@pytest.mark.parametrize(
    "registry_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_refuses_to_truncate_the_audit_log(imported: Engine) -> None:
    with pytest.raises(DatabaseError, match="audit_log is append-only"), imported.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))


def test_a_failed_import_leaves_no_audit_rows(imported: Engine, tmp_path: Path) -> None:
    with imported.connect() as connection:
        before = connection.execute(select(m.AuditEntry.id)).all()
    path, _ = write_files(tmp_path / "bad", [patient("P003"), patient("P004", wbc="-1")])
    with pytest.raises(Exception, match="must be >= 0"):
        import_files(imported, path, actor="importer")
    with imported.connect() as connection:
        assert connection.execute(select(m.AuditEntry.id)).all() == before
