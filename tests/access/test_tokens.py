"""Personal access tokens: hashed at rest, expiring, revocable, never wider than their owner."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import (
    Action,
    Actor,
    AuthenticationFailed,
    authenticate_token,
    create_token,
    disable_user,
    list_tokens,
    load_actor,
    permits,
    read_security_log,
    revoke_role,
    revoke_token,
    scope_patients,
)
from bassinet.access.accounts import add_user, grant_role
from bassinet.errors import DataError
from bassinet.registry.models import AccessToken, Patient
from tests.access.conftest import PASSWORD, World

T0 = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)


def _owner(world: World, username: str, *grants: tuple[str, str | None, str | None]) -> None:
    with Session(world.engine) as session, session.begin():
        add_user(session, username, PASSWORD, actor="admin")
        for role, centre, group in grants:
            grant_role(session, username, role, actor="admin", centre=centre, study_group=group)


def _token(world: World, username: str, **limits: object) -> str:
    with Session(world.engine) as session, session.begin():
        return create_token(session, username, name="script", actor="admin", now=T0, **limits).secret  # type: ignore[arg-type]


def _owner_actor(world: World, username: str) -> Actor:
    with Session(world.engine) as session:
        return load_actor(session, username)


def test_a_token_is_random_shown_once_and_stored_only_as_its_sha256(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    first, second = _token(world, "dm"), _token(world, "dm")
    assert first.startswith("bsn_") and len(first) == 4 + 43 and first != second
    with Session(world.engine) as session:
        stored = list(session.scalars(select(AccessToken.token_hash).order_by(AccessToken.id)))
    assert stored == [hashlib.sha256(t.encode()).hexdigest() for t in (first, second)]
    with world.engine.connect() as connection:
        dumped = str(connection.execute(select(AccessToken.__table__)).all())
    assert first[4:] not in dumped and second[4:] not in dumped


def test_a_token_acts_with_its_owners_permissions(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    actor = authenticate_token(world.engine, _token(world, "dm"), now=T0)
    owner = _owner_actor(world, "dm")
    assert actor.username == "dm" and actor.token_id is not None
    assert actor.permissions == owner.permissions


def test_a_token_limited_to_reading_may_not_edit(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    actor = authenticate_token(world.engine, _token(world, "dm", actions=["read_patients"]), now=T0)
    monza = world.centre_ids["Monza"]
    assert permits(actor, Action.READ_PATIENTS, monza)
    assert not permits(actor, Action.EDIT_PATIENTS, monza)


def test_a_token_limited_to_one_centre_of_a_group_sees_only_its_patients(world: World) -> None:
    _owner(world, "mon", ("monitor", None, "DCOG"))
    actor = authenticate_token(world.engine, _token(world, "mon", centres=["Utrecht"]), now=T0)
    with Session(world.engine) as session:
        seen = set(session.scalars(scope_patients(select(Patient.id), actor)))
    assert seen == {p for p, c in world.patients.items() if c == world.centre_ids["Utrecht"]}


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"actions": ["edit_patients"]}, "a token cannot exceed its owner: 'mon' may not edit_patients"),
        ({"centres": ["Monza"]}, "a token cannot exceed its owner: 'mon' has no grant at centre 'Monza'"),
        ({"centres": ["Atlantis"]}, "unknown centre 'Atlantis'"),
        ({"actions": ["fly"]}, "unknown action 'fly'"),
        ({"days": 0}, "a token lives 1 to 365 days, not 0"),
        ({"days": 366}, "a token lives 1 to 365 days, not 366"),
    ],
)
def test_a_token_wider_than_its_owner_or_malformed_is_refused_and_nothing_is_written(
    world: World, limits: dict[str, object], message: str
) -> None:
    _owner(world, "mon", ("monitor", None, "DCOG"))
    with pytest.raises(DataError, match=message):
        _token(world, "mon", **limits)
    with Session(world.engine) as session:
        assert list_tokens(session) == []


def test_a_token_loses_what_its_owner_loses(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    secret = _token(world, "dm")
    with Session(world.engine) as session, session.begin():
        revoke_role(session, "dm", "data_manager", actor="admin", centre="Monza")
    actor = authenticate_token(world.engine, secret, now=T0)
    assert [a for a in Action if permits(actor, a)] == []


OWNERS = {
    "clinician-centre": ("clinician", "Rotterdam", None),
    "dm-group": ("data_manager", None, "DCOG"),
    "stat-study": ("trial_statistician", None, None),
    "admin-study": ("administrator", None, None),
}
LIMITS: list[dict[str, object]] = [
    {},
    {"actions": ["read_patients"]},
    {"centres": ["Rotterdam"]},
    {"actions": ["read_patients"], "centres": ["Rotterdam"]},
]


def test_no_token_ever_permits_what_its_owner_does_not(world: World) -> None:
    wider = []
    for name, grant in OWNERS.items():
        _owner(world, name, grant)
        owner = _owner_actor(world, name)
        for limits in LIMITS:
            try:
                secret = _token(world, name, **limits)
            except DataError:
                continue  # refused at creation: cannot exceed the owner either
            actor = authenticate_token(world.engine, secret, now=T0)
            for action, centre in itertools.product(Action, [None, *world.centre_ids.values()]):
                if permits(actor, action, centre) and not permits(owner, action, centre):
                    wider.append((name, limits, action.value, centre))
            for action in Action:
                token_centres, owner_centres = actor.centres_for(action), owner.centres_for(action)
                if owner_centres is not None and (token_centres is None or token_centres - owner_centres):
                    wider.append((name, limits, action.value, "centres"))
    assert wider == []


@pytest.mark.parametrize("case", ["unknown", "revoked", "expired", "owner disabled"])
def test_a_dead_token_is_refused_with_one_message_and_logged(world: World, case: str) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    secret = _token(world, "dm", days=30)
    now = T0
    with Session(world.engine) as session, session.begin():
        if case == "unknown":
            secret = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
        elif case == "revoked":
            revoke_token(session, 1, actor="dm")
        elif case == "owner disabled":
            disable_user(session, "dm", actor="admin")
    if case == "expired":
        now = T0 + dt.timedelta(days=30)
    with pytest.raises(AuthenticationFailed, match=r"^token refused: unknown, expired or revoked$"):
        authenticate_token(world.engine, secret, now=now)
    with Session(world.engine) as session:
        assert read_security_log(session)[-1].event == "token_refused"


def test_a_token_works_until_the_second_before_it_expires(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    secret = _token(world, "dm", days=30)
    at_edge = T0 + dt.timedelta(days=30) - dt.timedelta(seconds=1)
    assert authenticate_token(world.engine, secret, now=at_edge).username == "dm"


def test_revoking_twice_or_an_unknown_token_is_refused(world: World) -> None:
    _owner(world, "dm", ("data_manager", "Monza", None))
    _token(world, "dm")
    with Session(world.engine) as session, session.begin():
        revoke_token(session, 1, actor="dm")
    with Session(world.engine) as session:
        with pytest.raises(DataError, match="token 1 is already revoked"):
            revoke_token(session, 1, actor="dm")
        with pytest.raises(DataError, match="no token with id 7"):
            revoke_token(session, 7, actor="dm")
        listed = list_tokens(session, "dm")
        events = [e.event for e in read_security_log(session, subject="dm")]
    assert [(t.id, t.revoked) for t in listed] == [(1, True)]
    assert events[-2:] == ["token_created", "token_revoked"]
