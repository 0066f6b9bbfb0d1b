"""Corrections after first entry, on SQLite and PostgreSQL: each needs a reason and obeys the import rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.registry.store import registry_session
from tests.registry.builders import patient, write_files
from tests.test_cli import run

RELAPSE = {"study_id": "P1", "event_type": "relapse", "event_date": "2020-02-01", "relapse_site": "CNS"}


@pytest.fixture
def url(engine: Engine, tmp_path: Path) -> str:
    rows = [
        patient("P1"),
        patient("P2", centre="Kiel", study_group="COALL"),
        patient("DUP", wbc="", cns_status=""),
    ]
    path, others = write_files(tmp_path / "in", rows, events=[RELAPSE])
    import_files(engine, path, long_sheets=others, actor="first entry")
    return engine.url.render_as_string(hide_password=False)


def snapshot(engine: Engine) -> tuple[list[tuple[object, ...]], int]:
    with registry_session(engine, actor="reader") as session:
        patients = [
            (p.study_id, p.centre.name, p.wbc, p.cns_status, len(p.events))
            for p in session.scalars(select(m.Patient).order_by(m.Patient.study_id))
        ]
        audit = session.scalar(select(func.count()).select_from(m.AuditEntry)) or 0
    return patients, audit


def audit_rows(engine: Engine, field: str) -> list[tuple[str | None, str | None, str, str | None]]:
    with registry_session(engine, actor="reader") as session:
        entries = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.field == field, m.AuditEntry.action == "update")
        ).all()
    return [(e.old_value, e.new_value, e.actor, e.reason) for e in entries]


def test_a_correction_changes_the_field_and_audits_the_reason(engine: Engine, url: str) -> None:
    code, output, _ = run("correct", "P1", "wbc=350", "--reason", "lab sheet misread", "--registry", url)
    assert code == 0 and "corrected P1: wbc" in output
    assert audit_rows(engine, "wbc") == [("412.0", "350.0", "cli-test", "lab sheet misread")]
    code, output, _ = run("audit", "P1", "--registry", url)
    assert "lab sheet misread" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["correct", "P1", "colour=red", "--reason", "x"],
            "no field 'colour' in a patient record; fields: sex,",
        ),
        (
            ["correct", "P1", "diagnosis_date=2021-01-01", "--reason", "x"],
            "correction of P1 refused, nothing written: diagnosis_date (2021-01-01)",
        ),
        (
            ["correct", "P1", "wbc=-3", "--reason", "x"],
            "correction of P1 refused, nothing written: wbc (-3) must be >= 0",
        ),
        (["correct", "P1", "wbc=350"], "every change after first entry needs a reason: give --reason TEXT"),
        (["merge", "P1", "P1", "--reason", "x"], "cannot merge P1 with itself"),
        (
            ["move", "P1", "--centre", "Atlantis", "--reason", "x"],
            "no centre 'Atlantis' in the registry (centres: Kiel, Rotterdam)",
        ),
        (["move", "P1", "--centre", "Kiel"], "needs a reason"),
        (["delete", "P1", "--record", "events:999", "--reason", "x"], "P1 has no events record 999"),
        (
            ["correct", "P1", "centre=Kiel", "--reason", "x"],
            "field 'centre' is not corrected: use `bassinet move`",
        ),
    ],
)
def test_bad_corrections_are_one_line_errors_and_write_nothing(
    engine: Engine, url: str, args: list[str], message: str
) -> None:
    before = snapshot(engine)
    code, _, errors = run(*args, "--registry", url)
    assert code == 1
    assert message in errors and errors.count("\n") == 1, errors
    assert snapshot(engine) == before


def test_a_move_keeps_one_patient_and_audits_the_reason(engine: Engine, url: str) -> None:
    code, _, _ = run("move", "P1", "--centre", "Kiel", "--reason", "family moved to Kiel", "--registry", url)
    assert code == 0
    patients, _ = snapshot(engine)
    assert [p[:2] for p in patients] == [("DUP", "Rotterdam"), ("P1", "Kiel"), ("P2", "Kiel")]
    [(old, new, _, reason)] = audit_rows(engine, "centre_id")
    assert old != new and reason == "family moved to Kiel"


def test_a_merge_fills_blanks_joins_records_and_removes_the_duplicate(
    engine: Engine, url: str, tmp_path: Path
) -> None:
    code, _, errors = run("merge", "DUP", "P1", "--reason", "same child entered twice", "--registry", url)
    assert code == 0, errors
    patients, _ = snapshot(engine)
    assert [p for p in patients if p[0] in ("DUP", "P1")] == [("DUP", "Rotterdam", 412.0, "CNS1", 1)]
    with registry_session(engine, actor="reader") as session:
        deleted = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "delete", m.AuditEntry.table_name == "patient")
        ).all()
    assert {e.reason for e in deleted} == {"same child entered twice"}
    assert {e.old_value for e in deleted if e.field == "study_id"} == {"P1"}


def test_deleting_a_record_keeps_its_old_values_in_the_audit(engine: Engine, url: str) -> None:
    with registry_session(engine, actor="reader") as session:
        event_id = session.scalars(select(m.Event.id)).one()
    code, _, errors = run(
        "delete",
        "P1",
        "--record",
        f"events:{event_id}",
        "--reason",
        "entered for the wrong child",
        "--registry",
        url,
    )
    assert code == 0, errors
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Event)).all() == []
        old = {
            e.field: e.old_value
            for e in session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "delete"))
        }
    assert old["event_type"] == "relapse" and old["event_date"] == "2020-02-01"


def test_deleting_a_patient_removes_it_with_its_records(engine: Engine, url: str) -> None:
    code, _, _ = run("delete", "P1", "--reason", "consent withdrawn", "--registry", url)
    assert code == 0
    assert [p[0] for p in snapshot(engine)[0]] == ["DUP", "P2"]


def test_a_raw_sql_update_shows_in_the_audit_with_the_database_user_and_no_reason(
    engine: Engine, url: str
) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE patient SET wbc = 999 WHERE study_id = 'P1'"))
    [(old, new, actor, reason)] = audit_rows(engine, "wbc")
    assert (old in ("412.0", "412"), new in ("999.0", "999"), reason) == (True, True, None)
    expected = "sql:postgres" if engine.dialect.name == "postgresql" else "sql (SQLite has no database users)"
    assert actor == expected
    code, output, _ = run("audit", "P1", "--registry", url)
    assert code == 0 and "no reason given" in output and expected.split()[0] in output


def test_raw_sql_inserts_and_deletes_are_audited_too(engine: Engine, url: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM event"))
        connection.execute(text("INSERT INTO study_group (name) VALUES ('NOPHO')"))
    with registry_session(engine, actor="reader") as session:
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.actor.like("sql%"))).all()
    assert {(e.action, e.table_name) for e in entries} == {("delete", "event"), ("insert", "study_group")}
    assert {e.old_value for e in entries if e.field == "event_type"} == {"relapse"}


def test_a_bassinet_change_is_audited_once_not_again_by_the_triggers(engine: Engine, url: str) -> None:
    run("correct", "P1", "wbc=350", "--reason", "typo", "--registry", url)
    assert len(audit_rows(engine, "wbc")) == 1


def test_a_death_entered_in_error_is_deleted_with_the_status_set_together(
    engine: Engine, url: str, tmp_path: Path
) -> None:
    death = {"study_id": "P2", "event_type": "death", "event_date": "2020-03-01", "death_cause": "infection"}
    rows = [
        patient("P2", centre="Kiel", study_group="COALL", vital_status="dead", last_contact_date="2020-03-01")
    ]
    path, others = write_files(tmp_path / "death", rows, events=[death])
    import_files(engine, path, long_sheets=others, actor="first entry")
    with registry_session(engine, actor="reader") as session:
        event_id = session.scalars(select(m.Event.id).where(m.Event.event_type == "death")).one()
    before = snapshot(engine)
    record = f"events:{event_id}"
    # Alone, each step contradicts the other: both refused, nothing written, and the way out named.
    code, _, errors = run("delete", "P2", "--record", record, "--reason", "wrong child", "--registry", url)
    assert code == 1
    assert f"--record {record} --set vital_status=alive" in errors
    code, _, errors = run("correct", "P2", "vital_status=alive", "--reason", "wrong child", "--registry", url)
    assert code == 1 and "a death is recorded" in errors
    assert snapshot(engine) == before
    code, _, errors = run(
        "delete",
        "P2",
        "--record",
        record,
        "--set",
        "vital_status=alive",
        "--reason",
        "wrong child",
        "--registry",
        url,
    )
    assert code == 0, errors
    with registry_session(engine, actor="reader") as session:
        p2 = session.scalars(select(m.Patient).where(m.Patient.study_id == "P2")).one()
        assert (p2.vital_status.value, len(p2.events)) == ("alive", 0)
    assert audit_rows(engine, "vital_status")[-1] == ("dead", "alive", "cli-test", "wrong child")


def test_set_without_record_is_refused(url: str) -> None:
    code, _, errors = run("delete", "P1", "--set", "wbc=1", "--reason", "r", "--registry", url)
    assert code == 1 and "--set goes with --record" in errors
