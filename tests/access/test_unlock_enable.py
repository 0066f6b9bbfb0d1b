"""Lifting a lock-out and enabling a disabled account: in the access layer and `bassinet users`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import (
    AuthenticationFailed,
    add_user,
    authenticate,
    disable_user,
    enable_user,
    list_users,
    read_security_log,
    unlock_user,
)
from bassinet.access.accounts import LOCKOUT, MAX_FAILURES
from bassinet.errors import DataError
from bassinet.registry import make_engine
from bassinet.registry.models import SecurityEntry, User
from tests.access.conftest import PASSWORD, World, build_world
from tests.access.test_cli_access import _add as cli_add
from tests.access.test_cli_access import run

T0 = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)


def _lock(world: World, username: str) -> None:
    with Session(world.engine) as session, session.begin():
        add_user(session, username, PASSWORD, actor="admin")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            authenticate(world.engine, username, "wrong password!", now=T0)


def test_an_unlocked_account_signs_in_at_once_and_the_unlock_is_logged(world: World) -> None:
    _lock(world, "cli")
    soon = T0 + dt.timedelta(minutes=1)
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", PASSWORD, now=soon)
    with Session(world.engine) as session, session.begin():
        unlock_user(session, "cli", actor="admin", now=soon)
    with Session(world.engine) as session:
        assert [u.locked for u in list_users(session, now=soon)] == [False]
        user = session.scalars(select(User).where(User.username == "cli")).one()
        assert (user.locked_until, user.failed_logins) == (None, 0)
        last = read_security_log(session, subject="cli")[-1]
        assert (last.event, last.actor) == ("user_unlocked", "admin")
        assert last.detail is not None and "lifted" in last.detail
    assert authenticate(world.engine, "cli", PASSWORD, now=soon).username == "cli"


@pytest.mark.parametrize(
    ("at", "locked"),
    [
        (T0 + LOCKOUT - dt.timedelta(seconds=1), True),  # the last second of the lock
        (T0 + LOCKOUT, False),  # the lock has run out: nothing to lift
    ],
)
def test_unlock_at_the_boundary_of_the_lock(world: World, at: dt.datetime, locked: bool) -> None:
    _lock(world, "cli")
    with Session(world.engine) as session, session.begin():
        if locked:
            unlock_user(session, "cli", actor="admin", now=at)
        else:
            with pytest.raises(DataError, match="user 'cli' is not locked"):
                unlock_user(session, "cli", actor="admin", now=at)


def test_enable_brings_a_disabled_account_back_and_is_logged(world: World) -> None:
    with Session(world.engine) as session, session.begin():
        add_user(session, "cli", PASSWORD, actor="admin")
        disable_user(session, "cli", actor="admin")
    with pytest.raises(AuthenticationFailed):
        authenticate(world.engine, "cli", PASSWORD, now=T0)
    with Session(world.engine) as session, session.begin():
        enable_user(session, "cli", actor="admin")
    assert authenticate(world.engine, "cli", PASSWORD, now=T0).username == "cli"
    with Session(world.engine) as session:
        events = [(e.event, e.actor) for e in read_security_log(session, subject="cli")]
    assert ("user_enabled", "admin") in events
    with (
        Session(world.engine) as session,
        session.begin(),
        pytest.raises(DataError, match="user 'cli' is not disabled"),
    ):
        enable_user(session, "cli", actor="admin")


@pytest.fixture
def url(tmp_path: Path) -> str:
    registry = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("init", "--registry", registry)[0] == 0
    engine = make_engine(registry)
    build_world(engine)
    engine.dispose()
    return registry


def _last(url: str) -> SecurityEntry:
    engine = make_engine(url)
    with Session(engine) as session:
        entry = session.scalars(select(SecurityEntry).order_by(SecurityEntry.id.desc())).first()
    engine.dispose()
    assert entry is not None
    return entry


def test_cli_enable_and_unlock(url: str) -> None:
    cli_add(url)
    assert run("users", "disable", "alice", "-r", url)[0] == 0
    code, output, _ = run("users", "enable", "alice", "-r", url)
    assert code == 0 and "enabled user alice" in output
    assert "active" in run("users", "list", "-r", url)[1]
    last = _last(url)
    assert (last.event, last.actor, last.subject) == ("user_enabled", "cli-admin", "alice")
    code, _, errors = run("users", "enable", "alice", "-r", url)
    assert code == 1 and "user 'alice' is not disabled" in errors and len(errors.strip().splitlines()) == 1
    code, _, errors = run("users", "unlock", "alice", "-r", url)
    assert code == 1 and "user 'alice' is not locked" in errors
    engine = make_engine(url)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            authenticate(engine, "alice", "wrong password!")
    engine.dispose()
    assert "locked" in run("users", "list", "-r", url)[1]
    code, output, _ = run("users", "unlock", "alice", "-r", url)
    assert code == 0 and "unlocked user alice" in output
    assert (_last(url).event, _last(url).subject) == ("user_unlocked", "alice")
    assert "active" in run("users", "list", "-r", url)[1]
