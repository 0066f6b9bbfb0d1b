"""Accounts: Argon2id hashes, password rule, second factor, lockout, grants, security log."""

from __future__ import annotations

import datetime as dt
import threading

import pyotp
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from bassinet.access import (
    AuthenticationFailed,
    SecurityEvent,
    add_user,
    authenticate,
    disable_user,
    grant_role,
    list_users,
    read_security_log,
    revoke_role,
)
from bassinet.access.accounts import LOCKOUT, MAX_FAILURES
from bassinet.access.passwords import check_strength
from bassinet.errors import DataError
from bassinet.registry.models import SecurityEntry, User
from tests.access.conftest import PASSWORD, World

T0 = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)


def _add(world: World, username: str, *grants: tuple[str, str | None, str | None]) -> str | None:
    """Add ``username`` with grants (role, centre, study group); returns the TOTP secret, if any."""
    with Session(world.engine) as session, session.begin():
        add_user(session, username, PASSWORD, actor="admin")
        for role, centre, group in grants:
            grant_role(session, username, role, actor="admin", centre=centre, study_group=group)
        return session.scalars(select(User.totp_secret).where(User.username == username)).one()


def _events(world: World, username: str) -> list[str]:
    with Session(world.engine) as session:
        return [e.event for e in read_security_log(session, subject=username)]


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("elevenchars", "it has 11 characters, at least 12 are needed"),
        ("aaaabbbbcccc", "it uses 3 different characters, at least 5"),
        ("my-alice-is-here", "it contains the username"),
        ("password1234", "it is a well-known password"),
    ],
)
def test_a_weak_password_is_refused_with_the_rule_it_breaks(password: str, rule: str) -> None:
    with pytest.raises(DataError, match=f"password for 'alice' is too weak: {rule}"):
        check_strength(password, username="alice")


def test_twelve_different_characters_are_enough() -> None:
    check_strength("abcdefghijkl", username="alice")  # no exception: exactly at the boundary


def test_the_stored_hash_is_argon2id_and_never_the_password(world: World) -> None:
    _add(world, "alice")
    with Session(world.engine) as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored


def test_a_duplicate_user_is_refused_and_nothing_is_written(world: World) -> None:
    _add(world, "alice")
    with (
        pytest.raises(DataError, match="user 'alice' already exists"),
        Session(world.engine) as session,
        session.begin(),
    ):
        add_user(session, "alice", PASSWORD, actor="admin")
    assert _events(world, "alice") == ["user_added"]


def test_a_centre_clinician_signs_in_with_the_password_alone(world: World) -> None:
    assert _add(world, "cli", ("clinician", "Monza", None)) is None
    actor = authenticate(world.engine, "cli", PASSWORD, now=T0)
    assert actor.username == "cli" and not actor.needs_second_factor
    assert _events(world, "cli")[-1] == "login"


@pytest.mark.parametrize(
    ("grants", "needs"),
    [
        ([("clinician", "Monza", None)], False),
        ([("clinician", "Monza", None), ("monitor", "Monza", None)], False),
        ([("clinician", "Monza", None), ("monitor", "Utrecht", None)], True),
        ([("data_manager", None, "AIEOP")], True),  # a study group may gain centres
        ([("trial_statistician", None, None)], True),
        ([("administrator", None, None)], True),
    ],
    ids=["one-centre", "two-roles-one-centre", "two-centres", "study-group", "study", "administrator"],
)
def test_a_second_factor_is_enrolled_exactly_when_the_grants_need_it(
    world: World, grants: list[tuple[str, str | None, str | None]], needs: bool
) -> None:
    secret = _add(world, "u1", *grants)
    assert (secret is not None) is needs


def test_a_study_wide_user_needs_the_current_totp_code(world: World) -> None:
    secret = _add(world, "stat", ("trial_statistician", None, None))
    assert secret is not None
    with pytest.raises(AuthenticationFailed, match="sign-in refused"):
        authenticate(world.engine, "stat", PASSWORD, now=T0)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "stat", PASSWORD, "000000", now=T0)
    code = pyotp.TOTP(secret).at(T0)
    actor = authenticate(world.engine, "stat", PASSWORD, code, now=T0 + dt.timedelta(seconds=5))
    assert actor.needs_second_factor
    assert _events(world, "stat")[-3:] == ["login_failed", "login_failed", "login"]


def test_a_totp_code_is_accepted_only_once(world: World) -> None:
    secret = _add(world, "stat", ("trial_statistician", None, None))
    assert secret is not None
    code = pyotp.TOTP(secret).at(T0)
    authenticate(world.engine, "stat", PASSWORD, code, now=T0)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "stat", PASSWORD, code, now=T0 + dt.timedelta(seconds=2))
    with Session(world.engine) as session:
        assert read_security_log(session, subject="stat")[-1].detail == "wrong or reused TOTP code"


def test_a_code_from_the_next_or_previous_step_is_accepted_but_not_two_steps_away(world: World) -> None:
    secret = _add(world, "stat", ("trial_statistician", None, None))
    assert secret is not None
    totp = pyotp.TOTP(secret)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "stat", PASSWORD, totp.at(T0 - dt.timedelta(seconds=60)), now=T0)
    authenticate(world.engine, "stat", PASSWORD, totp.at(T0 - dt.timedelta(seconds=30)), now=T0)


def test_five_failures_lock_the_account_even_against_the_right_password(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            authenticate(world.engine, "cli", "wrong password!", now=T0)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", PASSWORD, now=T0 + LOCKOUT - dt.timedelta(seconds=1))
    events = _events(world, "cli")
    assert events.count("login_failed") == MAX_FAILURES + 1 and events.count("lockout") == 1
    with Session(world.engine) as session:
        assert [u.locked for u in list_users(session, now=T0)] == [True]
    # When the lock has run out, the right password opens it again.
    assert authenticate(world.engine, "cli", PASSWORD, now=T0 + LOCKOUT).username == "cli"


def test_four_failures_then_a_success_reset_the_count(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            authenticate(world.engine, "cli", "wrong password!", now=T0)
    authenticate(world.engine, "cli", PASSWORD, now=T0)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", "wrong password!", now=T0)
    assert "lockout" not in _events(world, "cli")


def test_an_unknown_user_gets_the_same_refusal_and_is_logged(world: World) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(world.engine, "ghost", PASSWORD, now=T0)
    _add(world, "cli", ("clinician", "Monza", None))
    with pytest.raises(AuthenticationFailed) as wrong:
        authenticate(world.engine, "cli", "wrong password!", now=T0)
    assert str(refused.value) == str(wrong.value)
    with Session(world.engine) as session:
        assert read_security_log(session, subject="ghost")[0].detail == "unknown user"


def test_a_disabled_user_cannot_sign_in(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    with Session(world.engine) as session, session.begin():
        disable_user(session, "cli", actor="admin")
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", PASSWORD, now=T0)
    assert _events(world, "cli")[-2:] == ["user_disabled", "login_failed"]


@pytest.mark.parametrize(
    ("role", "centre", "message"),
    [
        ("wizard", "Monza", "unknown role 'wizard': choose one of administrator, trial_statistician"),
        ("clinician", "Atlantis", "unknown centre 'Atlantis'"),
        ("clinician", "Monza", "user 'cli' already has the clinician role over centre 'Monza'"),
    ],
)
def test_a_bad_grant_is_refused_and_nothing_is_written(
    world: World, role: str, centre: str, message: str
) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    with pytest.raises(DataError, match=message), Session(world.engine) as session, session.begin():
        grant_role(session, "cli", role, actor="admin", centre=centre)
    with Session(world.engine) as session:
        assert list_users(session)[0].grants == ("clinician over centre 'Monza'",)
    assert _events(world, "cli") == ["user_added", "role_granted"]


def test_revoking_a_grant_that_does_not_exist_is_refused(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    with (
        pytest.raises(DataError, match="user 'cli' has no monitor role over centre 'Monza' to revoke"),
        Session(world.engine) as session,
        session.begin(),
    ):
        revoke_role(session, "cli", "monitor", actor="admin", centre="Monza")


def test_a_revoked_grant_is_gone_and_logged_with_who_did_it(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    with Session(world.engine) as session, session.begin():
        revoke_role(session, "cli", "clinician", actor="admin", centre="Monza")
    with Session(world.engine) as session:
        assert list_users(session)[0].grants == ()
        last = read_security_log(session, subject="cli")[-1]
    assert (last.event, last.actor, last.detail) == ("role_revoked", "admin", "clinician over centre 'Monza'")


@pytest.mark.parametrize(
    "statement",
    [update(SecurityEntry).values(detail="forged"), delete(SecurityEntry)],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_update_or_delete_security_log_rows(world: World, statement: object) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    with world.engine.connect() as connection:
        before = connection.execute(select(SecurityEntry.detail).order_by(SecurityEntry.id)).all()
    with (
        pytest.raises(DatabaseError, match="security_log is append-only"),
        world.engine.begin() as connection,
    ):
        connection.execute(statement)  # type: ignore[call-overload]
    with world.engine.connect() as connection:
        assert connection.execute(select(SecurityEntry.detail).order_by(SecurityEntry.id)).all() == before


@pytest.mark.parametrize(
    "registry_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_refuses_to_truncate_the_security_log(world: World) -> None:
    with (
        pytest.raises(DatabaseError, match="security_log is append-only"),
        world.engine.begin() as connection,
    ):
        connection.execute(text("TRUNCATE security_log"))


def test_every_kind_of_security_event_is_a_short_name() -> None:
    assert all(len(e.value) <= 32 for e in SecurityEvent)


@pytest.mark.parametrize(
    "registry_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_parallel_wrong_guesses_are_all_counted_and_lock_the_account(world: World) -> None:
    _add(world, "cli", ("clinician", "Monza", None))
    barrier = threading.Barrier(MAX_FAILURES)

    def guess() -> None:
        barrier.wait()
        with pytest.raises(AuthenticationFailed):
            authenticate(world.engine, "cli", "wrong password!", now=T0)

    threads = [threading.Thread(target=guess) for _ in range(MAX_FAILURES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _events(world, "cli").count("lockout") == 1
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", PASSWORD, now=T0)
