"""Signing in in two steps, as a web page asks: the password first, then the TOTP code.

:func:`~bassinet.access.authenticate` checks both factors at once (the command line and
the API). A browser asks for the code on a second page, after the password: the first
step here says what comes next (signed in, a code, or the enrolment of a second factor
that the account's grants require), the second checks the code. Both count failures
and lock the account exactly as :func:`~bassinet.access.authenticate` does, and log to
the security log; a code is never accepted without the password step before it (the
caller keeps that state server-side, in its session).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from bassinet.access import passwords, totp
from bassinet.access.accounts import REFUSED, _count_failure, _now, _permissions, first_factor_refusal, utc
from bassinet.access.policy import Actor
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.errors import AuthenticationFailed
from bassinet.registry.models import User


class Next(StrEnum):
    """What the sign-in needs after an accepted password."""

    DONE = "done"
    CODE = "code"
    ENROL = "enrol"


@dataclass(frozen=True)
class PasswordStep:
    """The answer to an accepted password: the user, and what comes next (with the actor if done)."""

    user_id: int
    username: str
    next: Next
    actor: Actor | None


def _locked_user(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(User.username == username).options(selectinload(User.grants)).with_for_update()
    ).first()


def _login(session: Session, user: User, moment: dt.datetime) -> Actor:
    user.failed_logins = 0
    user.locked_until = None
    log_security_event(session, SecurityEvent.LOGIN, actor=user.username, subject=user.username, at=moment)
    return Actor(user.id, user.username, _permissions(session, user))


def check_password(
    engine: Engine, username: str, password: str, *, now: dt.datetime | None = None
) -> PasswordStep:
    """The first step: the password (a refusal counts and may lock the account).

    Returns what comes next: :attr:`Next.DONE` (no second factor enrolled or needed: the
    user is signed in and logged so), :attr:`Next.CODE` (a TOTP code is asked) or
    :attr:`Next.ENROL` (the grants require a second factor that is not enrolled yet).
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = _locked_user(session, username)
        reason = first_factor_refusal(user, password, moment)
        if reason is None:
            assert user is not None
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_password(password)
            if user.totp_secret is not None:
                return PasswordStep(user.id, user.username, Next.CODE, None)
            if Actor(user.id, user.username, _permissions(session, user)).needs_second_factor:
                return PasswordStep(user.id, user.username, Next.ENROL, None)
            return PasswordStep(user.id, user.username, Next.DONE, _login(session, user, moment))
        _count_failure(session, user, username, reason, moment)
    raise AuthenticationFailed(REFUSED)


def _still_allowed(user: User | None, moment: dt.datetime) -> str | None:
    if user is None:
        return "unknown user"
    if user.disabled:
        return "account disabled"
    if user.locked_until is not None and utc(user.locked_until) > moment:
        return "account locked"
    return None


def check_code(engine: Engine, user_id: int, code: str, *, now: dt.datetime | None = None) -> Actor:
    """The second step: the TOTP code of the user whose password was accepted.

    A wrong or reused code counts as a failed sign-in (and may lock the account); a locked
    or disabled account is refused even with the right code.
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = session.scalars(
            select(User).where(User.id == user_id).options(selectinload(User.grants)).with_for_update()
        ).first()
        reason = _still_allowed(user, moment)
        if reason is None:
            assert user is not None
            if user.totp_secret is None:
                reason = "no second factor enrolled"
            else:
                step = totp.accepted_counter(
                    user.totp_secret, code, now=moment, last_counter=user.totp_last_counter
                )
                if step is None:
                    reason = "wrong or reused TOTP code"
                else:
                    user.totp_last_counter = step
                    return _login(session, user, moment)
        name = user.username if user is not None else f"user {user_id}"
        _count_failure(session, user, name, reason, moment)
    raise AuthenticationFailed(REFUSED)


def confirm_enrolment(
    engine: Engine, user_id: int, secret: str, code: str, *, now: dt.datetime | None = None
) -> Actor:
    """Enrol ``secret`` as the user's second factor once ``code`` proves the app holds it; sign in.

    Used at sign-in when the grants require a second factor and none is enrolled, after
    the password. A wrong code counts as a failed sign-in.
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = session.scalars(
            select(User).where(User.id == user_id).options(selectinload(User.grants)).with_for_update()
        ).first()
        reason = _still_allowed(user, moment)
        if reason is None:
            assert user is not None
            if user.totp_secret is not None:
                reason = "second factor already enrolled"
            else:
                step = totp.accepted_counter(secret, code, now=moment, last_counter=None)
                if step is None:
                    reason = "wrong TOTP code at enrolment"
                else:
                    user.totp_secret = secret
                    user.totp_last_counter = step
                    log_security_event(
                        session, SecurityEvent.TOTP_ENROLLED, actor=user.username, subject=user.username
                    )
                    return _login(session, user, moment)
        name = user.username if user is not None else f"user {user_id}"
        _count_failure(session, user, name, reason, moment)
    raise AuthenticationFailed(REFUSED)


def check_external(
    engine: Engine, username: str, *, provider: str, now: dt.datetime | None = None
) -> PasswordStep:
    """The first step, done by a single sign-on provider that vouched for ``username``.

    The account must exist locally (single sign-on creates no account and gives no role),
    be enabled and not locked. What follows is as after a password: a TOTP code where one
    is enrolled, its enrolment where the grants require one, else signed in. A refusal is
    logged (and counted towards the lockout, as a password's is).
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = _locked_user(session, username)
        reason = _still_allowed(user, moment)
        if reason is None:
            assert user is not None
            if user.totp_secret is not None:
                return PasswordStep(user.id, user.username, Next.CODE, None)
            if Actor(user.id, user.username, _permissions(session, user)).needs_second_factor:
                return PasswordStep(user.id, user.username, Next.ENROL, None)
            user.failed_logins = 0
            user.locked_until = None
            log_security_event(
                session,
                SecurityEvent.LOGIN,
                actor=username,
                subject=username,
                detail=f"single sign-on by {provider}",
                at=moment,
            )
            actor = Actor(user.id, user.username, _permissions(session, user))
            return PasswordStep(user.id, user.username, Next.DONE, actor)
        _count_failure(session, user, username, f"{reason} (single sign-on by {provider})", moment)
    raise AuthenticationFailed(REFUSED)
