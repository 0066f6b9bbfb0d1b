"""Accounts and grants: adding, disabling, granting, revoking, signing in.

Functions that change accounts take an open :class:`~sqlalchemy.orm.Session` and the
name of who does it (for the security log); the caller commits. Signing in takes an
engine and commits by itself, so that a refused attempt is counted and logged even
though the call raises.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from bassinet.access import passwords, totp
from bassinet.access.policy import (
    POLICY,
    STUDY_ONLY_ROLES,
    Actor,
    Permission,
    parse_role,
)
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.errors import AuthenticationFailed, DataError
from bassinet.registry.models import Centre, Grant, Role, ScopeKind, StudyGroup, User

#: Consecutive failed sign-ins that lock an account, and for how long.
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,99}")
REFUSED = "sign-in refused: wrong username, password or code, or the account is locked or disabled"


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime (SQLite returns naive datetimes)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return utc(now) if now is not None else dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class UserSummary:
    """One account as ``bassinet users list`` shows it (never the hash or the secret)."""

    username: str
    disabled: bool
    totp_enrolled: bool
    locked: bool
    grants: tuple[str, ...]


@dataclass(frozen=True)
class Enrolment:
    """The result of a change that may have enrolled a second factor: its URI, shown once."""

    username: str
    totp_uri: str | None


def _user(session: Session, username: str) -> User:
    user = session.scalars(
        select(User).where(User.username == username).options(selectinload(User.grants))
    ).first()
    if user is None:
        raise DataError(f"unknown user {username!r}")
    return user


def _permissions(session: Session, user: User) -> tuple[Permission, ...]:
    permissions = []
    for grant in user.grants:
        role = Role(grant.role)
        scope = ScopeKind(grant.scope_kind)
        centres: frozenset[int] | None
        if scope is ScopeKind.STUDY:
            centres, name = None, "study"
        elif scope is ScopeKind.STUDY_GROUP:
            group = session.get(StudyGroup, grant.study_group_id)
            assert group is not None
            name = group.name
            centres = frozenset(session.scalars(select(Centre.id).where(Centre.study_group_id == group.id)))
        else:
            centre = session.get(Centre, grant.centre_id)
            assert centre is not None
            centres, name = frozenset({centre.id}), centre.name
        permissions.append(Permission(role, scope, name, centres, POLICY[role]))
    return tuple(sorted(permissions, key=lambda p: (p.role.value, p.scope.value, p.scope_name)))


def load_actor(session: Session, username: str) -> Actor:
    """The actor ``username`` with the permissions of their grants (a DataError if unknown)."""
    user = _user(session, username)
    return Actor(user.id, user.username, _permissions(session, user))


def _full_name(full_name: str | None, username: str) -> str | None:
    """``full_name`` stripped (None when empty); over 200 characters is a DataError naming the user."""
    name = (full_name or "").strip()
    if len(name) > 200:
        raise DataError(f"user {username!r}: the full name has {len(name)} characters, at most 200")
    return name or None


def add_user(
    session: Session,
    username: str,
    password: str,
    *,
    actor: str,
    enrol_totp: bool = False,
    full_name: str | None = None,
) -> Enrolment:
    """Create a local account; with ``enrol_totp``, also its TOTP secret (URI returned once).

    ``full_name`` is the name a signature shows beside the username (empty: none).
    """
    if not USERNAME.fullmatch(username):
        raise DataError(
            f"username {username!r} is not allowed: use 2 to 100 letters, digits, '.', '_', '@' or '-'"
        )
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise DataError(f"user {username!r} already exists")
    passwords.check_strength(password, username=username)
    now = dt.datetime.now(dt.UTC)
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        failed_logins=0,
        disabled=False,
        created_at=now,
        full_name=_full_name(full_name, username),
    )
    session.add(user)
    log_security_event(session, SecurityEvent.USER_ADDED, actor=actor, subject=username)
    uri = _enrol(session, user, actor=actor) if enrol_totp else None
    session.flush()
    return Enrolment(username, uri)


def _enrol(session: Session, user: User, *, actor: str) -> str:
    user.totp_secret = totp.new_secret()
    user.totp_last_counter = None
    log_security_event(session, SecurityEvent.TOTP_ENROLLED, actor=actor, subject=user.username)
    return totp.provisioning_uri(user.totp_secret, user.username)


def enrol_totp(session: Session, username: str, *, actor: str) -> str:
    """Give ``username`` a new TOTP secret, replacing any old one; returns the otpauth URI."""
    return _enrol(session, _user(session, username), actor=actor)


def set_full_name(session: Session, username: str, full_name: str | None, *, actor: str) -> None:
    """Give ``username`` the full name a signature shows (empty: none); logged as ``full_name_set``.

    A signature already made keeps the name it was made with.
    """
    user = _user(session, username)
    user.full_name = _full_name(full_name, username)
    log_security_event(
        session, SecurityEvent.FULL_NAME_SET, actor=actor, subject=username, detail=user.full_name or "(none)"
    )
    session.flush()


def disable_user(session: Session, username: str, *, actor: str) -> None:
    """Disable an account: it can no longer sign in, and its tokens stop working."""
    user = _user(session, username)
    if user.disabled:
        raise DataError(f"user {username!r} is already disabled")
    user.disabled = True
    log_security_event(session, SecurityEvent.USER_DISABLED, actor=actor, subject=username)


def enable_user(session: Session, username: str, *, actor: str) -> None:
    """Enable a disabled account again: it may sign in with its password (and code) once more.

    Its grants were kept while it was disabled; its tokens work again until they expire.
    """
    user = _user(session, username)
    if not user.disabled:
        raise DataError(f"user {username!r} is not disabled")
    user.disabled = False
    log_security_event(session, SecurityEvent.USER_ENABLED, actor=actor, subject=username)


def unlock_user(session: Session, username: str, *, actor: str, now: dt.datetime | None = None) -> None:
    """Lift a lock-out after failed sign-ins, and start the count of failures afresh."""
    user = _user(session, username)
    moment = _now(now)
    if user.locked_until is None or utc(user.locked_until) <= moment:
        raise DataError(f"user {username!r} is not locked")
    detail = f"lock until {utc(user.locked_until).isoformat()} lifted"
    user.locked_until = None
    user.failed_logins = 0
    log_security_event(
        session, SecurityEvent.USER_UNLOCKED, actor=actor, subject=username, detail=detail, at=moment
    )


def _scope(
    session: Session, role: Role, centre: str | None, study_group: str | None
) -> tuple[ScopeKind, int | None, int | None, str]:
    if centre is not None and study_group is not None:
        raise DataError("a grant has one scope: name a centre or a study group, not both")
    if role in STUDY_ONLY_ROLES and (centre is not None or study_group is not None):
        raise DataError(f"the {role.value} role is granted over the whole study only")
    if centre is not None:
        centre_id = session.scalars(select(Centre.id).where(Centre.name == centre)).first()
        if centre_id is None:
            raise DataError(f"unknown centre {centre!r}")
        return ScopeKind.CENTRE, centre_id, None, f"centre {centre!r}"
    if study_group is not None:
        group_id = session.scalars(select(StudyGroup.id).where(StudyGroup.name == study_group)).first()
        if group_id is None:
            raise DataError(f"unknown study group {study_group!r}")
        return ScopeKind.STUDY_GROUP, None, group_id, f"study group {study_group!r}"
    return ScopeKind.STUDY, None, None, "the whole study"


def _find_grant(
    user: User, role: Role, kind: ScopeKind, centre_id: int | None, group_id: int | None
) -> Grant | None:
    for grant in user.grants:
        if (Role(grant.role), ScopeKind(grant.scope_kind), grant.centre_id, grant.study_group_id) == (
            role,
            kind,
            centre_id,
            group_id,
        ):
            return grant
    return None


def grant_role(
    session: Session,
    username: str,
    role: str | Role,
    *,
    actor: str,
    centre: str | None = None,
    study_group: str | None = None,
) -> Enrolment:
    """Give ``username`` the ``role`` over a centre, a study group, or (neither named) the whole study.

    If the account now needs a second factor (see :attr:`Actor.needs_second_factor`) and has
    none, a TOTP secret is enrolled and its URI returned, to be handed to the user once.
    """
    chosen = role if isinstance(role, Role) else parse_role(role)
    user = _user(session, username)
    if user.disabled:
        raise DataError(f"user {username!r} is disabled: no grant can be added")
    kind, centre_id, group_id, where = _scope(session, chosen, centre, study_group)
    if _find_grant(user, chosen, kind, centre_id, group_id) is not None:
        raise DataError(f"user {username!r} already has the {chosen.value} role over {where}")
    user.grants.append(Grant(role=chosen, scope_kind=kind, centre_id=centre_id, study_group_id=group_id))
    session.flush()
    log_security_event(
        session,
        SecurityEvent.ROLE_GRANTED,
        actor=actor,
        subject=username,
        detail=f"{chosen.value} over {where}",
    )
    uri = None
    if user.totp_secret is None and load_actor(session, username).needs_second_factor:
        uri = _enrol(session, user, actor=actor)
    return Enrolment(username, uri)


def revoke_role(
    session: Session,
    username: str,
    role: str | Role,
    *,
    actor: str,
    centre: str | None = None,
    study_group: str | None = None,
) -> None:
    """Take away a grant that exists (a DataError naming it if it does not)."""
    chosen = role if isinstance(role, Role) else parse_role(role)
    user = _user(session, username)
    kind, centre_id, group_id, where = _scope(session, chosen, centre, study_group)
    grant = _find_grant(user, chosen, kind, centre_id, group_id)
    if grant is None:
        raise DataError(f"user {username!r} has no {chosen.value} role over {where} to revoke")
    user.grants.remove(grant)
    log_security_event(
        session,
        SecurityEvent.ROLE_REVOKED,
        actor=actor,
        subject=username,
        detail=f"{chosen.value} over {where}",
    )


def list_users(session: Session, *, now: dt.datetime | None = None) -> list[UserSummary]:
    """Every account, by username, with its grants described in words."""
    moment = _now(now)
    summaries = []
    for user in session.scalars(select(User).order_by(User.username).options(selectinload(User.grants))):
        grants = tuple(p.describe() for p in _permissions(session, user))
        locked = user.locked_until is not None and utc(user.locked_until) > moment
        summaries.append(
            UserSummary(user.username, user.disabled, user.totp_secret is not None, locked, grants)
        )
    return summaries


def authenticate(
    engine: Engine, username: str, password: str, code: str | None = None, *, now: dt.datetime | None = None
) -> Actor:
    """Sign ``username`` in with a password and, where enrolled or required, a TOTP ``code``.

    Every refusal raises :class:`~bassinet.errors.AuthenticationFailed` with the same message,
    counts as a failure and is logged; :data:`MAX_FAILURES` in a row lock the account for
    :data:`LOCKOUT`, during which even the right password is refused. Success resets the count
    and, if the hash was made with older parameters, rehashes the password.
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        user = session.scalars(
            select(User)
            .where(User.username == username)
            .options(selectinload(User.grants))
            .with_for_update()  # parallel guesses are counted one after another
        ).first()
        reason = _refusal(session, user, password, code, moment)
        if reason is not None:
            _count_failure(session, user, username, reason, moment)
        else:
            assert user is not None
            user.failed_logins = 0
            user.locked_until = None
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_password(password)
            log_security_event(session, SecurityEvent.LOGIN, actor=username, subject=username, at=moment)
            return Actor(user.id, user.username, _permissions(session, user))
    raise AuthenticationFailed(REFUSED)


def first_factor_refusal(user: User | None, password: str, moment: dt.datetime) -> str | None:
    """Why the password step refuses ``user`` (unknown, locked, wrong password, disabled), or None.

    Shared by :func:`authenticate` and the web's two-step sign-in, so both refuse alike.
    """
    if user is None:
        passwords.verify_password(None, password)  # same time as for a real account
        return "unknown user"
    if user.locked_until is not None and utc(user.locked_until) > moment:
        return "account locked"
    if not passwords.verify_password(user.password_hash, password):
        return "wrong password"
    if user.disabled:
        return "account disabled"
    return None


def _refusal(
    session: Session, user: User | None, password: str, code: str | None, moment: dt.datetime
) -> str | None:
    first = first_factor_refusal(user, password, moment)
    if first is not None or user is None:
        return first
    if user.totp_secret is None:
        if Actor(user.id, user.username, _permissions(session, user)).needs_second_factor:
            return "second factor required but not enrolled"
        return None
    if code is None:
        return "no TOTP code"
    step = totp.accepted_counter(user.totp_secret, code, now=moment, last_counter=user.totp_last_counter)
    if step is None:
        return "wrong or reused TOTP code"
    user.totp_last_counter = step
    return None


def _count_failure(
    session: Session, user: User | None, username: str, reason: str, moment: dt.datetime
) -> None:
    log_security_event(
        session, SecurityEvent.LOGIN_FAILED, actor=username, subject=username, detail=reason, at=moment
    )
    if user is None or reason == "account locked":
        return
    if user.locked_until is not None:  # an expired lock starts a fresh count
        user.locked_until = None
        user.failed_logins = 0
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = moment + LOCKOUT
        user.failed_logins = 0
        log_security_event(
            session,
            SecurityEvent.LOCKOUT,
            actor=username,
            subject=username,
            detail=f"{MAX_FAILURES} failures in a row: locked until {user.locked_until.isoformat()}",
            at=moment,
        )
