"""Data queries: raise (monitor), answer or correct (data manager), close (monitor); who may do
what, another centre's query or patient not found, every step in the audit trail, on each store."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bassinet.access.policy import POLICY, Action, Actor, Permission
from bassinet.application.queries_workflow import answer_query, close_query, open_queries, raise_query
from bassinet.errors import AccessDenied, DataError, RegistryError
from bassinet.registry import models as m
from tests.access.conftest import World, build_world


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


def actor(world: World, role: m.Role, centre: str, name: str) -> Actor:
    grant = Permission(role, m.ScopeKind.CENTRE, centre, frozenset({world.centre_ids[centre]}), POLICY[role])
    return Actor(user_id=9, username=name, permissions=(grant,))


def people(world: World) -> tuple[Actor, Actor, Actor, Actor]:
    return (
        actor(world, m.Role.MONITOR, "Rotterdam", "mon_rot"),
        actor(world, m.Role.DATA_MANAGER, "Rotterdam", "dm_rot"),
        actor(world, m.Role.MONITOR, "Utrecht", "mon_utr"),
        actor(world, m.Role.CLINICIAN, "Rotterdam", "cli_rot"),
    )


def audit(engine: Engine, table: str) -> list[tuple[str, str, str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                m.AuditEntry.actor,
                m.AuditEntry.action,
                m.AuditEntry.field,
                m.AuditEntry.new_value,
                m.AuditEntry.reason,
            )
            .where(m.AuditEntry.table_name == table)
            .order_by(m.AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_policy_gives_raising_to_monitors_and_answering_to_data_managers() -> None:
    assert Action.RAISE_QUERY in POLICY[m.Role.MONITOR] and Action.ANSWER_QUERY not in POLICY[m.Role.MONITOR]
    assert Action.ANSWER_QUERY in POLICY[m.Role.DATA_MANAGER]
    assert Action.RAISE_QUERY not in POLICY[m.Role.DATA_MANAGER]
    for role in (m.Role.CLINICIAN, m.Role.TRIAL_STATISTICIAN, m.Role.ADMINISTRATOR):
        assert not {Action.RAISE_QUERY, Action.ANSWER_QUERY} & POLICY[role]


def test_raise_correct_and_close_with_every_step_audited(world: World) -> None:
    monitor, manager, _, _ = people(world)
    raised = raise_query(
        monitor, world.engine, "ROT-1", field="wbc", question="WBC missing: see the lab sheet"
    )
    assert (raised.status, raised.study_id, raised.centre, raised.record) == (
        "open",
        "ROT-1",
        "Rotterdam",
        "patient",
    )
    answered = answer_query(
        manager,
        world.engine,
        raised.id,
        answer="entered from the lab sheet",
        corrections={"wbc": "350"},
        reason="query: value from the lab sheet of 2020-03-01",
    )
    assert (answered.status, answered.answered_by) == ("answered", "dm_rot")
    closed = close_query(monitor, world.engine, raised.id, note="checked against source")
    assert (closed.status, closed.closed_by) == ("closed", "mon_rot")
    with Session(world.engine) as session:
        wbc = session.scalars(select(m.Patient.wbc).where(m.Patient.study_id == "ROT-1")).one()
    assert wbc == 350.0
    steps = audit(world.engine, "data_query")
    assert ("mon_rot", "insert", "question", "WBC missing: see the lab sheet", "query raised") in steps
    assert (
        "dm_rot",
        "update",
        "status",
        "answered",
        "query answered with a correction: query: value from the lab sheet of 2020-03-01",
    ) in steps
    assert ("mon_rot", "update", "status", "closed", "query closed: checked against source") in steps
    assert ("dm_rot", "update", "wbc", "350.0", "query: value from the lab sheet of 2020-03-01") in [
        s for s in audit(world.engine, "patient")
    ]


def test_a_monitor_of_another_centre_finds_neither_patient_nor_query(world: World) -> None:
    monitor, manager, other, _ = people(world)
    with pytest.raises(RegistryError, match=r"^no patient with study ID 'ROT-1'$"):
        raise_query(other, world.engine, "ROT-1", field="wbc", question="?")
    raised = raise_query(monitor, world.engine, "ROT-1", field="wbc", question="WBC?")
    answer_query(manager, world.engine, raised.id, answer="pending lab")
    with pytest.raises(RegistryError, match=rf"^no query with id {raised.id}$"):
        close_query(other, world.engine, raised.id)
    with pytest.raises(RegistryError, match=r"^no query with id 9999$"):
        close_query(other, world.engine, 9999)
    assert open_queries(other, world.engine).queries == ()


def test_roles_without_the_step_are_refused(world: World) -> None:
    monitor, manager, _, clinician = people(world)
    with pytest.raises(AccessDenied, match="dm_rot may not raise_query"):
        raise_query(manager, world.engine, "ROT-1", field="wbc", question="?")
    with pytest.raises(AccessDenied, match="cli_rot may not raise_query"):
        raise_query(clinician, world.engine, "ROT-1", field="wbc", question="?")
    raised = raise_query(monitor, world.engine, "ROT-1", field="wbc", question="WBC?")
    with pytest.raises(AccessDenied, match="mon_rot may not answer_query"):
        answer_query(monitor, world.engine, raised.id, answer="mine")
    with pytest.raises(AccessDenied, match="cli_rot may not answer_query"):
        answer_query(clinician, world.engine, raised.id, answer="mine")
    with pytest.raises(AccessDenied, match="dm_rot may not raise_query"):
        close_query(manager, world.engine, raised.id)


def test_the_steps_go_in_order(world: World) -> None:
    monitor, manager, _, _ = people(world)
    raised = raise_query(monitor, world.engine, "ROT-2", field="cns_status", question="CNS status?")
    with pytest.raises(DataError, match=rf"query {raised.id} is open: only an answered query can be closed"):
        close_query(monitor, world.engine, raised.id)
    answer_query(manager, world.engine, raised.id, answer="CNS1 per lumbar puncture")
    with pytest.raises(
        DataError, match=rf"query {raised.id} is answered: only an open query can be answered"
    ):
        answer_query(manager, world.engine, raised.id, answer="again")


def test_a_correction_needs_its_reason_and_a_query_its_field(world: World) -> None:
    monitor, manager, _, _ = people(world)
    with pytest.raises(DataError, match=r"field 'wcb' is not a field of patient: choose one of"):
        raise_query(monitor, world.engine, "ROT-1", field="wcb", question="?")
    with pytest.raises(DataError, match=r"record 'events:1' is not a record of patient ROT-1"):
        raise_query(monitor, world.engine, "ROT-1", record="events:1", field="event_date", question="?")
    with pytest.raises(DataError, match="a query needs its question"):
        raise_query(monitor, world.engine, "ROT-1", field="wbc", question="  ")
    raised = raise_query(monitor, world.engine, "ROT-1", field="wbc", question="WBC?")
    with pytest.raises(DataError, match=rf"query {raised.id}: a correction needs its reason"):
        answer_query(manager, world.engine, raised.id, answer="fixed", corrections={"wbc": "12"})


def test_open_queries_per_centre_with_their_age(world: World) -> None:
    monitor, manager, _, _ = people(world)
    first = raise_query(monitor, world.engine, "ROT-1", field="wbc", question="WBC?")
    raise_query(monitor, world.engine, "ROT-2", field="wbc", question="WBC?")
    answer_query(manager, world.engine, first.id, answer="pending")
    later = first.raised_at + dt.timedelta(days=3, hours=1)
    listed = open_queries(manager, world.engine, now=later)
    assert listed.per_centre == (("Rotterdam", 2),)
    assert [(q.study_id, q.status, q.age_days(later)) for q in listed.queries] == [
        ("ROT-1", "answered", 3),
        ("ROT-2", "open", 3),
    ]


def test_a_change_made_in_sql_is_audited_by_the_trigger(world: World) -> None:
    monitor, _, _, _ = people(world)
    raised = raise_query(monitor, world.engine, "ROT-1", field="wbc", question="WBC?")
    with world.engine.begin() as connection:
        connection.execute(
            text("UPDATE data_query SET question = 'edited by hand' WHERE id = :i"), {"i": raised.id}
        )
    (entry,) = [s for s in audit(world.engine, "data_query") if s[2] == "question" and s[1] == "update"]
    assert entry[0].startswith("sql") and entry[3] == "edited by hand" and entry[4] is None


def _remission(engine: Engine, study_id: str, day: dt.date) -> int:
    from bassinet.registry import registry_session

    with registry_session(engine, actor="test setup") as session:
        patient = session.scalars(select(m.Patient).where(m.Patient.study_id == study_id)).one()
        record = m.RemissionAssessment(
            patient=patient, time_point="end_of_induction", assessment_date=day, status="CR"
        )
        session.add(record)
        session.flush()
        return record.id


def test_a_query_on_a_record_names_it_in_words_and_its_correction_changes_that_record(world: World) -> None:
    from bassinet.application.queries_workflow import patient_queries, query_targets

    monitor, manager, other, _ = people(world)
    rid = _remission(world.engine, "ROT-1", dt.date(2020, 4, 3))
    with Session(world.engine) as session:
        pid = session.scalars(select(m.Patient.id).where(m.Patient.study_id == "ROT-1")).one()
    targets = {t.record: t for t in query_targets(monitor, world.engine, pid)}
    assert targets[f"remissions:{rid}"].words == "remission assessment of 3 Apr 2020"
    assert targets[f"remissions:{rid}"].fields == ("time_point", "assessment_date", "status")
    assert "study_id" not in targets["patient"].fields and "wbc" in targets["patient"].fields
    raised = raise_query(
        monitor, world.engine, "ROT-1", record=f"remissions:{rid}", field="assessment_date", question="4 Apr?"
    )
    answer_query(
        manager,
        world.engine,
        raised.id,
        answer="yes",
        corrections={"assessment_date": "2020-04-04"},
        reason="source document",
    )
    close_query(monitor, world.engine, raised.id, note="agreed")
    with Session(world.engine) as session:
        assert session.get(m.RemissionAssessment, rid).assessment_date == dt.date(2020, 4, 4)  # type: ignore[union-attr]
    (shown,) = patient_queries(manager, world.engine, pid)
    assert (shown.record_words, shown.answer, shown.closing_note, shown.status) == (
        "remission assessment of 4 Apr 2020",
        "yes",
        "agreed",
        "closed",
    )
    with pytest.raises(RegistryError, match=f"no patient with id {pid}"):
        patient_queries(other, world.engine, pid)
    with pytest.raises(AccessDenied):
        query_targets(manager, world.engine, pid)
