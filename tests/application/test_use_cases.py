"""The application layer: every use case checks the actor at its start and sees only its scope.

The registry has two patients in each of Rotterdam, Utrecht (DCOG) and Monza (AIEOP)
(``ROT-1``, ``UTR-2``, ``MON-1``, ...). A patient outside the actor's scope must be "not
found" exactly like an unknown one; an action the actor's role does not have is refused
before anything is read or written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bassinet.access import POLICY, Action, Actor, Permission, permits
from bassinet.application import admin, exports, local_operator, protocol, records, reports
from bassinet.errors import AccessDenied, RegistryError
from bassinet.registry import models as m
from bassinet.registry.models import Role, ScopeKind
from tests.application.conftest import World


def centre_actor(world: World, role: Role, centre: str) -> Actor:
    """A user holding ``role`` over one centre."""
    permission = Permission(
        role, ScopeKind.CENTRE, centre, frozenset({world.centre_ids[centre]}), POLICY[role]
    )
    return Actor(user_id=7, username=f"{role.value}@{centre}", permissions=(permission,))


def audit_rows(world: World) -> int:
    with Session(world.engine) as session:
        return int(session.scalar(select(func.count()).select_from(m.AuditEntry)) or 0)


def test_the_local_operator_may_do_every_action_over_the_whole_study() -> None:
    operator = local_operator("alice")
    assert operator.username == "alice"
    for action in Action:
        assert permits(operator, action), action
        assert operator.centres_for(action) is None, action


def test_a_patient_of_another_centre_is_not_found_exactly_like_an_unknown_one(world: World) -> None:
    clinician = centre_actor(world, Role.CLINICIAN, "Rotterdam")
    seen = records.patient_records(clinician, world.engine, "ROT-1")
    assert seen.centre == "Rotterdam"
    assert dict(seen.fields)["study_id"] == "ROT-1"
    messages = []
    for study_id in ("MON-1", "NOBODY"):
        with pytest.raises(RegistryError) as caught:
            records.patient_records(clinician, world.engine, study_id)
        messages.append(str(caught.value).replace(study_id, "X"))
    assert messages[0] == messages[1] == "no patient with study ID 'X'"


def test_a_role_without_the_action_is_refused_before_anything_is_written(world: World) -> None:
    clinician = centre_actor(world, Role.CLINICIAN, "Rotterdam")
    before = audit_rows(world)
    with pytest.raises(AccessDenied, match="may not edit_patients"):
        records.correct(clinician, world.engine, "ROT-1", {"sex": "M"}, reason="typo")
    with pytest.raises(AccessDenied, match="may not manage_users"):
        admin.list_users(clinician, world.engine)
    assert audit_rows(world) == before


def test_a_data_manager_corrects_in_their_centre_only_and_is_the_audited_actor(world: World) -> None:
    manager = centre_actor(world, Role.DATA_MANAGER, "Rotterdam")
    with pytest.raises(RegistryError, match="no patient with study ID 'MON-1'"):
        records.correct(manager, world.engine, "MON-1", {"sex": "M"}, reason="typo")
    done = records.correct(manager, world.engine, "ROT-1", {"sex": "M"}, reason="typo")
    assert done == records.Correction("ROT-1", ("sex",), True)
    with Session(world.engine) as session:
        who = set(session.scalars(select(m.AuditEntry.actor).where(m.AuditEntry.reason == "typo")))
        sex = session.scalar(select(m.Patient.sex).where(m.Patient.study_id == "ROT-1"))
    assert who == {"data_manager@Rotterdam"}
    assert getattr(sex, "value", sex) == "M"


def test_a_monitor_reads_the_audit_trail_of_their_centre_only(world: World) -> None:
    monitor = centre_actor(world, Role.MONITOR, "Utrecht")
    trail = records.audit_trail(monitor, world.engine, "UTR-2")
    assert (trail.study_id, trail.centre) == ("UTR-2", "Utrecht")
    assert {e.action for e in trail.entries} == {"insert"}
    with pytest.raises(RegistryError, match="no patient with study ID 'ROT-2'"):
        records.audit_trail(monitor, world.engine, "ROT-2")


def test_stratify_without_names_reaches_only_the_patients_in_scope(world: World) -> None:
    clinician = centre_actor(world, Role.CLINICIAN, "Monza")
    results = protocol.stratify(clinician, world.engine)
    assert sorted(r.study_id for r in results) == ["MON-1", "MON-2"]
    operator = protocol.stratify(local_operator("office"), world.engine)
    assert sorted(r.study_id for r in operator) == ["MON-1", "MON-2", "ROT-1", "ROT-2", "UTR-1", "UTR-2"]


def test_a_whole_registry_export_needs_a_grant_over_the_whole_study(world: World, tmp_path: Path) -> None:
    manager = centre_actor(world, Role.DATA_MANAGER, "Rotterdam")
    with pytest.raises(AccessDenied, match="may not export_identified for the whole study"):
        exports.export(manager, world.engine, "csv", tmp_path / "out", with_audit_trail=True)
    assert not (tmp_path / "out").exists()
    done = exports.export(
        local_operator("office"), world.engine, "csv", tmp_path / "out", with_audit_trail=True
    )
    assert {p.name for p in done.files} >= {"patients.csv", "audit_log.csv"}


def test_a_report_reads_only_the_patients_in_the_actors_scope(world: World) -> None:
    url = world.engine.url.render_as_string(hide_password=False)
    group = Permission(
        Role.TRIAL_STATISTICIAN,
        ScopeKind.STUDY_GROUP,
        "DCOG",
        frozenset({world.centre_ids["Rotterdam"], world.centre_ids["Utrecht"]}),
        POLICY[Role.TRIAL_STATISTICIAN],
    )
    statistician = Actor(user_id=8, username="stats@DCOG", permissions=(group,))
    seen = reports.read_records(statistician, url, Action.RUN_REPORT)
    assert sorted(seen.patients["study_id"]) == ["ROT-1", "ROT-2", "UTR-1", "UTR-2"]
    everyone = reports.read_records(local_operator("office"), url, Action.RUN_REPORT)
    assert len(everyone.patients) == 6


def test_a_report_is_refused_to_a_role_without_it_before_anything_is_written(
    world: World, tmp_path: Path
) -> None:
    url = world.engine.url.render_as_string(hide_password=False)
    clinician = centre_actor(world, Role.CLINICIAN, "Rotterdam")
    with pytest.raises(AccessDenied, match="may not run_report"):
        reports.run_report(clinician, url, "interfant06", tmp_path / "report")
    assert not (tmp_path / "report").exists()
