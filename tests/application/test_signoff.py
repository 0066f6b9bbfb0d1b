"""Monitoring sign-off: SDV marks, casebook locks and signatures, and the one write path that
refuses a locked casebook's change and voids signatures and marks, on each store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.access.accounts import add_user
from bassinet.access.policy import POLICY, Action, Actor, Permission
from bassinet.application import records
from bassinet.application.queries_workflow import answer_query, close_query, raise_query
from bassinet.application.signoff import (
    MEANING,
    casebook_status,
    lock_casebook,
    sign_casebook,
    unlock_casebook,
    verify_fields,
)
from bassinet.errors import AccessDenied, AuthenticationFailed, DataError, RegistryError
from bassinet.registry import models as m
from bassinet.registry.signoff import CasebookLocked
from tests.access.conftest import PASSWORD, World, build_world

ROLES_WITH = {
    Action.VERIFY_SOURCE: {m.Role.MONITOR},
    Action.LOCK_RECORD: {m.Role.MONITOR},
    Action.SIGN_RECORD: {m.Role.INVESTIGATOR},
}


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


def actor(world: World, role: m.Role, centre: str, name: str, user_id: int = 0) -> Actor:
    grant = Permission(role, m.ScopeKind.CENTRE, centre, frozenset({world.centre_ids[centre]}), POLICY[role])
    return Actor(user_id=user_id, username=name, permissions=(grant,))


def investigator(world: World, centre: str = "Rotterdam", name: str = "inv_rot") -> Actor:
    from bassinet.registry import registry_session

    with registry_session(world.engine, actor="test setup") as session:
        add_user(session, name, PASSWORD, actor="test setup")
        user = session.scalars(select(m.User).where(m.User.username == name)).one()
        user.full_name = "Dr A. Investigator"
        session.flush()
        user_id = user.id
    return actor(world, m.Role.INVESTIGATOR, centre, name, user_id)


def monitor(world: World) -> Actor:
    return actor(world, m.Role.MONITOR, "Rotterdam", "mon_rot")


def manager(world: World) -> Actor:
    return actor(world, m.Role.DATA_MANAGER, "Rotterdam", "dm_rot")


def test_the_policy_gives_verifying_and_locking_to_monitors_and_signing_to_investigators() -> None:
    for action, roles in ROLES_WITH.items():
        assert {role for role in m.Role if action in POLICY[role]} == roles
    assert POLICY[m.Role.INVESTIGATOR] == {Action.READ_PATIENTS, Action.SIGN_RECORD}


def test_a_monitor_verifies_fields_and_a_change_through_bassinet_deletes_the_mark_of_that_field(
    world: World,
) -> None:
    status = verify_fields(monitor(world), world.engine, "ROT-1", [("patient", "sex"), ("patient", "wbc")])
    verified = {(f.record, f.field): f for f in status.fields if f.verified}
    assert set(verified) == {("patient", "sex"), ("patient", "wbc")}
    assert verified[("patient", "sex")].verified_by == "mon_rot"
    records.correct(manager(world), world.engine, "ROT-1", {"wbc": "120"}, reason="lab sheet re-read")
    after = {
        (f.record, f.field)
        for f in casebook_status(monitor(world), world.engine, "ROT-1").fields
        if f.verified
    }
    assert after == {("patient", "sex")}


def test_a_field_changed_in_sql_by_hand_shows_as_changed_since_verified(world: World) -> None:
    verify_fields(monitor(world), world.engine, "ROT-1", [("patient", "sex")])
    with world.engine.begin() as connection:
        connection.execute(m.Patient.__table__.update().where(m.Patient.study_id == "ROT-1").values(sex="M"))
    field = next(f for f in casebook_status(monitor(world), world.engine, "ROT-1").fields if f.field == "sex")
    assert (field.verified_by, field.changed_since_verified, field.verified) == ("mon_rot", True, False)


@pytest.mark.parametrize(
    ("who", "pairs", "error", "words"),
    [
        ("manager", [("patient", "sex")], AccessDenied, "may not verify_source"),
        ("monitor", [("patient", "no_such")], DataError, "patient has no field 'no_such'"),
        ("monitor", [("events:1", "event_type")], DataError, "events:1 has no field"),
        ("utrecht", [("patient", "sex")], RegistryError, "no patient with study ID 'ROT-1'"),
    ],
)
def test_verification_is_refused_by_role_field_and_scope(
    world: World, who: str, pairs: list[tuple[str, str]], error: type[Exception], words: str
) -> None:
    acting = {
        "manager": manager(world),
        "monitor": monitor(world),
        "utrecht": actor(world, m.Role.MONITOR, "Utrecht", "mon_utr"),
    }[who]
    with pytest.raises(error, match=words):
        verify_fields(acting, world.engine, "ROT-1", pairs)


def _remission(world: World) -> str:
    records.add_record(
        manager(world),
        world.engine,
        "ROT-1",
        "remissions",
        {"time_point": "end_of_induction", "assessment_date": "2020-04-01", "status": "CR"},
        reason="entered",
    )
    with Session(world.engine) as session:
        return f"remissions:{session.scalars(select(m.RemissionAssessment.id)).one()}"


def _import(world: World, tmp_path: Path, wbc: str) -> None:
    from bassinet.registry import import_files

    rows = records_rows(world)
    rows[0]["wbc"] = wbc
    path = tmp_path / "patients.csv"
    header = list(rows[0])
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(r[h] for h in header) for r in rows) + "\n")
    import_files(world.engine, path, actor="dm_rot", reason="re-import of the centre's file")


def records_rows(world: World) -> list[dict[str, str]]:
    from bassinet.registry.corrections import rows_of

    rows = rows_of(world.engine, ["ROT-1"])
    return [dict(r) for r in rows["patients"]]


#: Every path that writes a patient's records: (name, the change, the record and field it touches).
PATHS: list[tuple[str, Callable[[World, Path, str], object], str, str]] = [
    (
        "correct",
        lambda w, _t, _r: records.correct(manager(w), w.engine, "ROT-1", {"wbc": "77"}, reason="typo"),
        "patient",
        "wbc",
    ),
    (
        "correct_record",
        lambda w, _t, r: records.correct_record(
            manager(w),
            w.engine,
            "ROT-1",
            "remissions",
            int(r.split(":")[1]),
            {"status": "no_CR"},
            reason="typo",
        ),
        "remissions",
        "status",
    ),
    (
        "add_record",
        lambda w, _t, _r: records.add_record(
            manager(w),
            w.engine,
            "ROT-1",
            "remissions",
            {"time_point": "day_15", "assessment_date": "2020-03-15", "status": "no_CR"},
            reason="typo",
        ),
        "remissions",
        "time_point",
    ),
    (
        "delete_record",
        lambda w, _t, r: records.delete(manager(w), w.engine, "ROT-1", record=r, reason="typo"),
        "remissions",
        "status",
    ),
    ("re-import", lambda w, t, _r: _import(w, t, "88"), "patient", "wbc"),
    (
        "query answer with correction",
        lambda w, _t, _r: answer_query(
            manager(w),
            w.engine,
            raise_query(monitor(w), w.engine, "ROT-1", field="wbc", question="check").id,
            answer="corrected",
            corrections={"wbc": "99"},
            reason="typo",
        ),
        "patient",
        "wbc",
    ),
]


@pytest.mark.parametrize(("name", "change", "record", "field"), PATHS, ids=[p[0] for p in PATHS])
def test_every_write_path_is_refused_while_locked_and_voids_the_signature_once_unlocked(
    world: World,
    tmp_path: Path,
    name: str,
    change: Callable[[World, Path, str], object],
    record: str,
    field: str,
) -> None:
    remission = _remission(world)
    signer = investigator(world)
    verify_fields(monitor(world), world.engine, "ROT-1", [("patient", "wbc"), (remission, "status")])
    lock_casebook(monitor(world), world.engine, "ROT-1", reason="monitoring visit")
    with Session(world.engine) as session:
        audited = session.scalars(
            select(m.AuditEntry.id).where(m.AuditEntry.table_name != "data_query")
        ).all()
    with pytest.raises(
        DataError,  # CasebookLocked from the write, or the import rule before it (one line)
        match=rf"patient ROT-1, record {record}\S*, field \w+: .*locked by mon_rot on .*"
        r"unlock with a reason first",
    ):
        change(world, tmp_path, remission)
    with Session(world.engine) as session:  # nothing written, not even an audit row
        assert (
            session.scalars(select(m.AuditEntry.id).where(m.AuditEntry.table_name != "data_query")).all()
            == audited
        )
    unlock_casebook(monitor(world), world.engine, "ROT-1", reason="data manager's correction")
    if name == "query answer with correction":  # the refused answer left its query open: close it
        with Session(world.engine) as session:
            query_id = session.scalars(select(m.DataQuery.id)).one()
        answer_query(manager(world), world.engine, query_id, answer="see the next query")
        close_query(monitor(world), world.engine, query_id)
    sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)
    change(world, tmp_path, remission)
    status = casebook_status(monitor(world), world.engine, "ROT-1")
    assert status.signature is None
    voided = status.signatures[0]
    assert (voided.signer_name, voided.voided_by) == ("Dr A. Investigator", "dm_rot")
    assert voided.void_reason and ("typo" in voided.void_reason or "re-import" in voided.void_reason)
    verified = {(f.record, f.field) for f in status.fields if f.verified}
    touched = ("patient", "wbc") if record == "patient" else (remission, "status")
    if name == "add_record":
        assert verified == {("patient", "wbc"), (remission, "status")}  # a new record touches no mark
    else:
        assert touched not in verified
    assert status.locks[0].unlock_reason == "data manager's correction"


def test_a_locked_casebook_refuses_deleting_the_patient(world: World) -> None:
    lock_casebook(monitor(world), world.engine, "ROT-2", reason="visit")
    with pytest.raises(CasebookLocked, match=r"patient ROT-2, record patient, field .*locked by mon_rot"):
        records.delete(manager(world), world.engine, "ROT-2", reason="consent withdrawn")


def test_lock_and_unlock_need_reasons_and_keep_their_history(world: World) -> None:
    with pytest.raises(DataError, match="locking the casebook of ROT-1 needs its reason"):
        lock_casebook(monitor(world), world.engine, "ROT-1", reason="  ")
    with pytest.raises(DataError, match="is not locked"):
        unlock_casebook(monitor(world), world.engine, "ROT-1", reason="x")
    lock_casebook(monitor(world), world.engine, "ROT-1", reason="first visit")
    with pytest.raises(DataError, match="already locked by mon_rot"):
        lock_casebook(monitor(world), world.engine, "ROT-1", reason="again")
    with pytest.raises(DataError, match="unlocking the casebook of ROT-1 needs its reason"):
        unlock_casebook(monitor(world), world.engine, "ROT-1", reason=None)
    unlock_casebook(monitor(world), world.engine, "ROT-1", reason="correction needed")
    lock_casebook(monitor(world), world.engine, "ROT-1", reason="second visit")
    status = casebook_status(manager(world), world.engine, "ROT-1")
    assert [(x.lock_reason, x.unlock_reason) for x in status.locks] == [
        ("second visit", None),
        ("first visit", "correction needed"),
    ]
    assert status.lock is not None and status.lock.lock_reason == "second visit"
    with pytest.raises(AccessDenied, match="may not lock_record"):
        unlock_casebook(manager(world), world.engine, "ROT-1", reason="I want to edit")


def test_signing_checks_the_password_and_logs_a_wrong_one(world: World) -> None:
    signer = investigator(world)
    with pytest.raises(AuthenticationFailed, match="the password is not correct"):
        sign_casebook(signer, world.engine, "ROT-1", password="not my password")
    with Session(world.engine) as session:
        logged = session.scalars(select(m.SecurityEntry).where(m.SecurityEntry.event == "login_failed")).all()
        assert [(e.actor, e.detail) for e in logged] == [
            ("inv_rot", "wrong password when signing the casebook of patient ROT-1")
        ]
        assert session.scalars(select(m.CasebookSignature)).all() == []
    status = sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)
    assert status.signature is not None and status.signature_matches
    assert (status.signature.signed_by, status.signature.signer_name, status.signature.meaning) == (
        "inv_rot",
        "Dr A. Investigator",
        MEANING,
    )
    assert len(status.casebook_sha256) == 64 and status.signature.casebook_sha256 == status.casebook_sha256
    with pytest.raises(DataError, match=r"already signed by Dr A\. Investigator"):
        sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)


def test_signing_is_refused_while_a_query_is_open_or_answered_and_allowed_once_closed(world: World) -> None:
    signer = investigator(world)
    query = raise_query(monitor(world), world.engine, "ROT-1", field="wbc", question="check the lab sheet")
    with pytest.raises(
        DataError,
        match=rf"cannot be signed while a query is not closed: query {query.id} on "
        r"patient wbc \(open\)",
    ):
        sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)
    answer_query(manager(world), world.engine, query.id, answer="it is right")
    with pytest.raises(DataError, match=r"\(answered\)"):
        sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)
    close_query(monitor(world), world.engine, query.id)
    assert sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD).signature is not None


@pytest.mark.parametrize(
    ("role", "centre", "error", "words"),
    [
        (m.Role.INVESTIGATOR, "Utrecht", RegistryError, "no patient with study ID 'ROT-1'"),
        (m.Role.MONITOR, "Rotterdam", AccessDenied, "may not sign_record"),
        (m.Role.DATA_MANAGER, "Rotterdam", AccessDenied, "may not sign_record"),
    ],
)
def test_only_an_investigator_of_the_patients_centre_signs(
    world: World, role: m.Role, centre: str, error: type[Exception], words: str
) -> None:
    user_id = investigator(world, centre, "someone").user_id
    with pytest.raises(error, match=words):
        sign_casebook(
            actor(world, role, centre, "someone", user_id), world.engine, "ROT-1", password=PASSWORD
        )


def test_sign_off_rows_are_audited_with_their_reasons(world: World) -> None:
    lock_casebook(monitor(world), world.engine, "ROT-1", reason="visit")
    unlock_casebook(monitor(world), world.engine, "ROT-1", reason="fix")
    with Session(world.engine) as session:
        rows = session.execute(
            select(m.AuditEntry.action, m.AuditEntry.field, m.AuditEntry.reason)
            .where(m.AuditEntry.table_name == "patient_lock")
            .order_by(m.AuditEntry.id)
        ).all()
    assert ("insert", "lock_reason", "casebook locked: visit") in rows
    assert ("update", "unlock_reason", "casebook unlocked: fix") in rows


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    header = list(rows[0])
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(r[h] for h in header) for r in rows) + "\n")
    return path


def test_an_import_quarantines_a_locked_patients_changed_row_and_keeps_the_others(
    world: World, tmp_path: Path
) -> None:
    from bassinet.registry import import_files
    from bassinet.registry.corrections import rows_of

    lock_casebook(monitor(world), world.engine, "ROT-1", reason="visit")
    rows = [dict(r) for r in rows_of(world.engine, ["ROT-1", "ROT-2"])["patients"]]
    unchanged = _write_csv(tmp_path / "same.csv", rows)
    assert import_files(world.engine, unchanged, actor="dm_rot").rejected == ()  # nothing changes: allowed
    for row in rows:
        row["wbc"] = "55"
    changed = _write_csv(tmp_path / "changed.csv", rows)
    report = import_files(world.engine, changed, actor="dm_rot", quarantine=tmp_path / "quarantine.csv")
    assert [(p.row, p.field) for p in report.rejected] == [(2, "wbc")]
    assert report.rejected[0].rule.startswith(
        "patient ROT-1, record patient, field wbc: the casebook is locked by"
    )
    assert "ROT-1" in (tmp_path / "quarantine.csv").read_text()
    with Session(world.engine) as session:
        wbc = dict(session.execute(select(m.Patient.study_id, m.Patient.wbc)).all())
    assert (wbc["ROT-1"], wbc["ROT-2"]) == (None, 55.0)


def test_wrong_passwords_when_signing_count_towards_the_lockout(world: World) -> None:
    from bassinet.access.accounts import MAX_FAILURES

    signer = investigator(world)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed, match="the password is not correct"):
            sign_casebook(signer, world.engine, "ROT-1", password="wrong")
    with pytest.raises(AuthenticationFailed, match="the account is locked after failed passwords"):
        sign_casebook(signer, world.engine, "ROT-1", password=PASSWORD)
    with Session(world.engine) as session:
        events = session.scalars(select(m.SecurityEntry.event).order_by(m.SecurityEntry.id)).all()
        assert session.scalars(select(m.CasebookSignature)).all() == []
    assert events[-(MAX_FAILURES + 1) :] == ["login_failed"] * MAX_FAILURES + ["lockout"]
