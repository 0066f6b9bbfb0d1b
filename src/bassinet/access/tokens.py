"""Personal access tokens for scripts: random, stored hashed, expiring, revocable, never wider
than their owner.

A token is ``bsn_`` followed by 43 URL-safe characters (256 random bits) and is shown once;
only its SHA-256 is stored (a fast hash suffices for a secret this long, unlike a password).
A token may be cut down to some actions and some centres. Its permissions are worked out
when it is used, from the owner's grants at that moment intersected with the token's own
limits, so a token never exceeds its owner, even after the owner loses a grant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from bassinet.access.accounts import _now, _permissions, _user, utc
from bassinet.access.policy import Action, Actor, narrow, parse_action
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.errors import AuthenticationFailed, DataError
from bassinet.registry.models import AccessToken, Centre, User

PREFIX = "bsn_"
DEFAULT_DAYS = 90
MAX_DAYS = 365


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is the only copy and is shown once."""

    id: int
    name: str
    username: str
    secret: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class TokenSummary:
    """A token as listed (never its secret or hash)."""

    id: int
    username: str
    name: str
    actions: tuple[str, ...] | None
    centres: tuple[str, ...] | None
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool


def token_hash(secret: str) -> str:
    """The SHA-256 hex digest stored for ``secret``."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    username: str,
    *,
    name: str,
    actor: str,
    days: int = DEFAULT_DAYS,
    actions: Sequence[str] | None = None,
    centres: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> NewToken:
    """Create a token for ``username``, limited to ``actions`` and ``centres`` if given.

    Refused (DataError) if the owner is disabled, if ``days`` is not 1 to 365, or if an asked
    action or centre is beyond what the owner may do or see now.
    """
    user = _user(session, username)
    if user.disabled:
        raise DataError(f"user {username!r} is disabled: no token can be created")
    if not name.strip() or len(name) > 100:
        raise DataError(f"token name {name!r} must be 1 to 100 characters")
    if not 1 <= days <= MAX_DAYS:
        raise DataError(f"a token lives 1 to {MAX_DAYS} days, not {days}")
    owner = Actor(user.id, user.username, _permissions(session, user))
    wanted = None if actions is None else sorted({parse_action(a) for a in actions})
    for action in wanted or []:
        if owner.centres_for(action) == frozenset():
            raise DataError(f"a token cannot exceed its owner: {username!r} may not {action.value}")
    centre_ids = None
    if centres is not None:
        centre_ids = []
        for centre in centres:
            found = session.scalars(select(Centre.id).where(Centre.name == centre)).first()
            if found is None:
                raise DataError(f"unknown centre {centre!r}")
            if not any(p.covers(found) for p in owner.permissions if p.centre_ids is None or p.centre_ids):
                raise DataError(
                    f"a token cannot exceed its owner: {username!r} has no grant at centre {centre!r}"
                )
            centre_ids.append(found)
    moment = _now(now)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        user_id=user.id,
        name=name.strip(),
        token_hash=token_hash(secret),
        actions=None if wanted is None else [a.value for a in wanted],
        centre_ids=None if centre_ids is None else sorted(centre_ids),
        created_at=moment,
        expires_at=moment + dt.timedelta(days=days),
    )
    session.add(token)
    session.flush()
    limits = f"actions={token.actions or 'all'}, centres={centres or 'all'}"
    log_security_event(
        session,
        SecurityEvent.TOKEN_CREATED,
        actor=actor,
        subject=username,
        detail=f"token {token.id} {token.name!r}, expires {token.expires_at.date()}, {limits}",
    )
    return NewToken(token.id, token.name, username, secret, token.expires_at)


def revoke_token(session: Session, token_id: int, *, actor: str, now: dt.datetime | None = None) -> None:
    """Revoke the token with ``token_id`` (a DataError if there is none or it is already revoked)."""
    token = session.get(AccessToken, token_id)
    if token is None:
        raise DataError(f"no token with id {token_id}")
    if token.revoked_at is not None:
        raise DataError(f"token {token_id} is already revoked")
    token.revoked_at = _now(now)
    log_security_event(
        session,
        SecurityEvent.TOKEN_REVOKED,
        actor=actor,
        subject=token.user.username,
        detail=f"token {token_id}",
    )


def list_tokens(session: Session, username: str | None = None) -> list[TokenSummary]:
    """Tokens, of one user or of all, oldest first."""
    query = select(AccessToken).options(selectinload(AccessToken.user)).order_by(AccessToken.id)
    if username is not None:
        query = query.where(AccessToken.user_id == _user(session, username).id)
    names: dict[int, str] = {cid: name for cid, name in session.execute(select(Centre.id, Centre.name))}
    return [
        TokenSummary(
            t.id,
            t.user.username,
            t.name,
            None if t.actions is None else tuple(t.actions),
            None if t.centre_ids is None else tuple(names.get(c, str(c)) for c in t.centre_ids),
            utc(t.created_at),
            utc(t.expires_at),
            t.revoked_at is not None,
        )
        for t in session.scalars(query)
    ]


def authenticate_token(engine: Engine, secret: str, *, now: dt.datetime | None = None) -> Actor:
    """The actor a token stands for: its owner's current permissions cut to the token's limits.

    An unknown, revoked or expired token, or one whose owner is disabled, raises
    :class:`~bassinet.errors.AuthenticationFailed` (one message for all) and is logged.
    """
    moment = _now(now)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        token = session.scalars(
            select(AccessToken)
            .where(AccessToken.token_hash == token_hash(secret))
            .options(selectinload(AccessToken.user).selectinload(User.grants))
        ).first()
        reason = None
        if token is None:
            reason = "unknown token"
        elif token.revoked_at is not None:
            reason = f"token {token.id} is revoked"
        elif utc(token.expires_at) <= moment:
            reason = f"token {token.id} expired"
        elif token.user.disabled:
            reason = f"token {token.id}: owner disabled"
        if reason is None:
            assert token is not None
            user = token.user
            actions = None if token.actions is None else [Action(a) for a in token.actions]
            permissions = narrow(_permissions(session, user), actions=actions, centre_ids=token.centre_ids)
            return Actor(user.id, user.username, permissions, token_id=token.id)
        subject = None if token is None else token.user.username
        log_security_event(
            session, SecurityEvent.TOKEN_REFUSED, actor="token", subject=subject, detail=reason, at=moment
        )
    raise AuthenticationFailed("token refused: unknown, expired or revoked")
