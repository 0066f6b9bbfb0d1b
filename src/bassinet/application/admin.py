"""Use cases of administration: accounts, grants of roles over scopes, personal access tokens.

Each needs ``manage_users`` over the whole study (:data:`bassinet.access.STUDY_ACTIONS`);
the work, the password and TOTP rules and the security log are :mod:`bassinet.access`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from bassinet.access.policy import Action, Actor, authorise

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from bassinet.access import Enrolment, NewToken, TokenSummary, UserSummary

T = TypeVar("T")


@contextmanager
def _session(engine: Engine, *, write: bool) -> Iterator[Session]:
    from sqlalchemy.orm import Session

    from bassinet.registry import require_current

    require_current(engine)
    with Session(engine) as session:
        if write:
            with session.begin():
                yield session
        else:
            yield session


def _admin(actor: Actor, engine: Engine, work: Callable[[Session], T], *, write: bool = True) -> T:
    authorise(actor, Action.MANAGE_USERS)
    with _session(engine, write=write) as session:
        return work(session)


def add_user(
    actor: Actor,
    engine: Engine,
    username: str,
    password: str,
    *,
    totp: bool = False,
    full_name: str | None = None,
) -> Enrolment:
    """Add a local account; with ``totp`` also its second factor (the URI is returned once).

    ``full_name`` is the name its signatures show beside the username.
    """
    from bassinet.access import add_user as run

    return _admin(
        actor,
        engine,
        lambda s: run(s, username, password, actor=actor.username, enrol_totp=totp, full_name=full_name),
    )


def set_full_name(actor: Actor, engine: Engine, username: str, full_name: str | None) -> None:
    """Set the full name a user's signatures show (empty: none; logged as ``full_name_set``)."""
    from bassinet.access import set_full_name as run

    _admin(actor, engine, lambda s: run(s, username, full_name, actor=actor.username))


def list_users(actor: Actor, engine: Engine) -> list[UserSummary]:
    """The accounts and their grants (never a hash or a secret)."""
    from bassinet.access import list_users as run

    return _admin(actor, engine, run, write=False)


def disable_user(actor: Actor, engine: Engine, username: str) -> None:
    """Disable an account: no sign-in, and its tokens stop working."""
    from bassinet.access import disable_user as run

    _admin(actor, engine, lambda s: run(s, username, actor=actor.username))


def enable_user(actor: Actor, engine: Engine, username: str) -> None:
    """Enable a disabled account again (logged as ``user_enabled``)."""
    from bassinet.access import enable_user as run

    _admin(actor, engine, lambda s: run(s, username, actor=actor.username))


def unlock_user(actor: Actor, engine: Engine, username: str) -> None:
    """Lift the lock-out of an account after failed sign-ins (logged as ``user_unlocked``)."""
    from bassinet.access import unlock_user as run

    _admin(actor, engine, lambda s: run(s, username, actor=actor.username))


def grant_role(
    actor: Actor,
    engine: Engine,
    username: str,
    role: str,
    *,
    centre: str | None = None,
    study_group: str | None = None,
) -> Enrolment:
    """Grant ``role`` over a centre, a study group, or (neither named) the whole study."""
    from bassinet.access import grant_role as run

    return _admin(
        actor,
        engine,
        lambda s: run(s, username, role, actor=actor.username, centre=centre, study_group=study_group),
    )


def revoke_role(
    actor: Actor,
    engine: Engine,
    username: str,
    role: str,
    *,
    centre: str | None = None,
    study_group: str | None = None,
) -> None:
    """Revoke a grant that exists."""
    from bassinet.access import revoke_role as run

    _admin(
        actor,
        engine,
        lambda s: run(s, username, role, actor=actor.username, centre=centre, study_group=study_group),
    )


def create_token(
    actor: Actor,
    engine: Engine,
    username: str,
    *,
    name: str,
    days: int = 90,
    actions: Sequence[str] | None = None,
    centres: Sequence[str] | None = None,
) -> NewToken:
    """A personal access token for ``username``'s scripts, never wider than its owner; the
    secret is in the result once and stored only as a hash."""
    from bassinet.access import create_token as run

    return _admin(
        actor,
        engine,
        lambda s: run(
            s,
            username,
            name=name,
            actor=actor.username,
            days=days,
            actions=list(actions) if actions is not None else None,
            centres=list(centres) if centres is not None else None,
        ),
    )


def revoke_token(actor: Actor, engine: Engine, token_id: int) -> None:
    """Revoke a token."""
    from bassinet.access import revoke_token as run

    _admin(actor, engine, lambda s: run(s, token_id, actor=actor.username))


def list_tokens(actor: Actor, engine: Engine, username: str | None = None) -> list[TokenSummary]:
    """The tokens (of ``username``, if named), never their secrets."""
    from bassinet.access import list_tokens as run

    return _admin(actor, engine, lambda s: run(s, username), write=False)
