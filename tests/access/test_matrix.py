"""The access matrix, generated from the policy table: every role x scope kind x action x centre.

For each cell the expected answer is worked out here from :data:`POLICY` and the scope's
meaning (a centre; every centre of a study group; every centre), and compared with what
:func:`authorise` says and with which patients :func:`scope_patients` returns, on both
stores. The policy table itself is pinned by :data:`EXPECTED_POLICY`, written out by hand.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import (
    POLICY,
    AccessDenied,
    Action,
    Actor,
    Role,
    ScopeKind,
    authorise,
    find_patient,
    get_patient,
    grant_role,
    load_actor,
    permits,
    scope_patients,
)
from bassinet.access.accounts import add_user
from bassinet.access.policy import STUDY_ACTIONS
from bassinet.errors import DataError, RegistryError
from bassinet.registry.models import Patient, User
from tests.access.conftest import PASSWORD, World

R, A = Role, Action

# The policy in words (issue 18, "Roles and scopes"), written out so that a change to
# POLICY is a deliberate change to this table too.
EXPECTED_POLICY = {
    R.ADMINISTRATOR: {A.MANAGE_USERS},
    R.TRIAL_STATISTICIAN: {A.READ_PATIENTS, A.VIEW_BALANCE, A.RUN_REPORT, A.EXPORT_DEIDENTIFIED},
    R.DATA_MANAGER: {
        A.READ_PATIENTS, A.EDIT_PATIENTS, A.IMPORT, A.VIEW_AUDIT, A.EXPORT_IDENTIFIED, A.ANSWER_QUERY
    },
    R.CLINICIAN: {A.READ_PATIENTS, A.STRATIFY, A.RANDOMISE, A.EXPLAIN},
    R.MONITOR: {A.READ_PATIENTS, A.VIEW_AUDIT, A.RAISE_QUERY, A.VERIFY_SOURCE, A.LOCK_RECORD},
    R.INVESTIGATOR: {A.READ_PATIENTS, A.SIGN_RECORD},
}

# The scope of each grant in the matrix: (kind, centre, study group).
SCOPES = {
    ScopeKind.CENTRE: ("Rotterdam", None),
    ScopeKind.STUDY_GROUP: (None, "DCOG"),
    ScopeKind.STUDY: (None, None),
}
CELLS = [
    (role, kind)
    for role, kind in itertools.product(Role, ScopeKind)
    if role is not Role.ADMINISTRATOR or kind is ScopeKind.STUDY
]


def test_the_policy_table_is_the_documented_one() -> None:
    assert {role: set(actions) for role, actions in POLICY.items()} == EXPECTED_POLICY


def test_the_administrator_sees_no_patient_data_by_default() -> None:
    assert POLICY[Role.ADMINISTRATOR] == {Action.MANAGE_USERS}


def _centres_in_scope(world: World, kind: ScopeKind) -> set[int]:
    centre, group = SCOPES[kind]
    if kind is ScopeKind.CENTRE:
        return {world.centre_ids[str(centre)]}
    if kind is ScopeKind.STUDY_GROUP:
        return {cid for name, cid in world.centre_ids.items() if world.group_of[name] == group}
    return set(world.centre_ids.values())


def _actor(world: World, role: Role, kind: ScopeKind) -> Actor:
    username = f"{role.value}-{kind.value}".replace("_", "-")
    centre, group = SCOPES[kind]
    with Session(world.engine) as session, session.begin():
        if session.scalars(select(User.id).where(User.username == username)).first() is None:
            add_user(session, username, PASSWORD, actor="matrix")
            grant_role(session, username, role, actor="matrix", centre=centre, study_group=group)
    with Session(world.engine) as session:
        return load_actor(session, username)


@pytest.mark.parametrize(("role", "kind"), CELLS, ids=[f"{r.value}-{k.value}" for r, k in CELLS])
def test_every_action_at_every_centre_is_allowed_exactly_as_the_policy_says(
    shared_world: World, role: Role, kind: ScopeKind
) -> None:
    actor = _actor(shared_world, role, kind)
    in_scope = _centres_in_scope(shared_world, kind)
    wrong = []
    for action in Action:
        allowed_somewhere = action in POLICY[role] and (
            action not in STUDY_ACTIONS or kind is ScopeKind.STUDY
        )
        if permits(actor, action) != allowed_somewhere:
            wrong.append((action.value, "anywhere", not allowed_somewhere))
        for name, centre_id in shared_world.centre_ids.items():
            expected = allowed_somewhere and (action in STUDY_ACTIONS or centre_id in in_scope)
            if permits(actor, action, centre_id) != expected:
                wrong.append((action.value, name, expected))
            if not expected:
                with pytest.raises(AccessDenied, match=f"may not {action.value}"):
                    authorise(actor, action, centre_id)
            else:
                authorise(actor, action, centre_id)
    assert wrong == []


@pytest.mark.parametrize(("role", "kind"), CELLS, ids=[f"{r.value}-{k.value}" for r, k in CELLS])
def test_patient_queries_return_exactly_the_patients_of_the_centres_in_scope(
    shared_world: World, role: Role, kind: ScopeKind
) -> None:
    actor = _actor(shared_world, role, kind)
    in_scope = _centres_in_scope(shared_world, kind)
    with Session(shared_world.engine) as session:
        for action in Action:
            if action in STUDY_ACTIONS:
                continue
            seen = set(session.scalars(scope_patients(select(Patient.id), actor, action)))
            expected = (
                {pid for pid, cid in shared_world.patients.items() if cid in in_scope}
                if action in POLICY[role]
                else set()
            )
            assert seen == expected, action.value
            cross_centre = {pid for pid in seen if shared_world.patients[pid] not in in_scope}
            assert cross_centre == set()


@pytest.mark.parametrize(("role", "kind"), CELLS, ids=[f"{r.value}-{k.value}" for r, k in CELLS])
def test_a_patient_out_of_scope_is_not_found_exactly_like_one_that_does_not_exist(
    shared_world: World, role: Role, kind: ScopeKind
) -> None:
    actor = _actor(shared_world, role, kind)
    in_scope = _centres_in_scope(shared_world, kind)
    readable = Action.READ_PATIENTS in POLICY[role]
    with Session(shared_world.engine) as session:
        for pid, cid in shared_world.patients.items():
            if readable and cid in in_scope:
                assert get_patient(session, actor, pid).id == pid
            else:
                with pytest.raises(RegistryError, match=rf"^no patient with id {pid}$"):
                    get_patient(session, actor, pid)
        with pytest.raises(RegistryError, match=r"^no patient with id 999999$"):
            get_patient(session, actor, 999_999)


def test_another_centres_study_id_is_not_found_exactly_as_an_unknown_one(shared_world: World) -> None:
    actor = _actor(shared_world, Role.CLINICIAN, ScopeKind.CENTRE)
    with Session(shared_world.engine) as session:
        assert find_patient(session, actor, "ROT-2").centre.name == "Rotterdam"
        with pytest.raises(RegistryError, match=r"^no patient with study ID 'ROT-2' in centre 'Monza'$"):
            find_patient(session, actor, "ROT-2", centre="Monza")
        with pytest.raises(RegistryError, match=r"^no patient with study ID 'MON-1'$"):
            find_patient(session, actor, "MON-1")
        with pytest.raises(RegistryError, match=r"^no patient with study ID 'NOPE-1'$"):
            find_patient(session, actor, "NOPE-1")


def test_a_study_wide_reader_finds_a_study_id_in_any_centre(shared_world: World) -> None:
    actor = _actor(shared_world, Role.MONITOR, ScopeKind.STUDY)
    with Session(shared_world.engine) as session:
        assert find_patient(session, actor, "MON-1").centre.name == "Monza"
        assert find_patient(session, actor, "UTR-2").centre.name == "Utrecht"


def test_a_user_without_grants_may_do_nothing_and_sees_no_patient(shared_world: World) -> None:
    with Session(shared_world.engine) as session, session.begin():
        add_user(session, "nobody", PASSWORD, actor="matrix")
        actor = load_actor(session, "nobody")
        assert [a for a in Action if permits(actor, a)] == []
        assert list(session.scalars(scope_patients(select(Patient.id), actor))) == []


def test_the_administrator_role_cannot_be_granted_over_one_centre(shared_world: World) -> None:
    with Session(shared_world.engine) as session, session.begin():
        add_user(session, "local-admin", PASSWORD, actor="matrix")
        with pytest.raises(DataError, match="administrator role is granted over the whole study only"):
            grant_role(session, "local-admin", "administrator", actor="matrix", centre="Monza")
