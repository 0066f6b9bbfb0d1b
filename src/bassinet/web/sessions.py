"""Server-side sessions: the browser holds a random id, the registry holds its SHA-256.

A session is created for the sign-in form (stage ``anonymous``, to carry the form's CSRF
token), replaced by a new one (new id, new CSRF token) at each step of the sign-in, and
deleted at sign-out. A session unused for :attr:`WebSettings.idle_timeout` is gone; a
half-finished sign-in lasts :attr:`WebSettings.sign_in_timeout`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bassinet.access.accounts import utc
from bassinet.access.policy import Actor
from bassinet.registry.models import User, WebSession
from bassinet.web.settings import WebSettings

STAGES = ("anonymous", "password", "enrol", "signed_in")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WebState:
    """What a request's session says: its stage, CSRF token, user and pending enrolment secret."""

    session_id: str
    stage: str
    csrf_token: str
    user_id: int | None
    pending_totp_secret: str | None
    oidc_state: str | None = None
    oidc_nonce: str | None = None
    username: str | None = None  #: the user's, when read with the session (:func:`load`)


def create(
    engine: Engine,
    *,
    stage: str = "anonymous",
    user_id: int | None = None,
    pending_totp_secret: str | None = None,
    now: dt.datetime | None = None,
) -> WebState:
    """A new session with a fresh id (256 random bits) and a fresh CSRF token."""
    assert stage in STAGES
    moment = now or dt.datetime.now(dt.UTC)
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        session.add(
            WebSession(
                session_hash=_hash(session_id),
                user_id=user_id,
                stage=stage,
                csrf_token=csrf,
                pending_totp_secret=pending_totp_secret,
                created_at=moment,
                last_seen=moment,
            )
        )
    return WebState(session_id, stage, csrf, user_id, pending_totp_secret)


#: A session's last use is written when it is at least this old (or a tenth of its timeout,
#: if that is shorter), not at every request: a page view then reads its session with one
#: query and writes nothing. The session may so end up to this much before its timeout.
TOUCH_EVERY = dt.timedelta(seconds=60)


def load(
    engine: Engine, session_id: str | None, settings: WebSettings, *, now: dt.datetime | None = None
) -> WebState | None:
    """The live session with this id, its last use updated; ``None`` if unknown, expired or its
    user disabled (an expired one is deleted).

    One query reads the session with its user; the last use is written only when older than
    :data:`TOUCH_EVERY` (or a tenth of the timeout).
    """
    if not session_id or len(session_id) > 100:
        return None
    moment = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        found = session.execute(
            select(WebSession, User.username, User.disabled)
            .outerjoin(User, User.id == WebSession.user_id)
            .where(WebSession.session_hash == _hash(session_id))
        ).first()
        if found is None:
            return None
        row, username, disabled = found
        limit = settings.idle_timeout
        if row.stage in ("password", "enrol"):
            limit = min(limit, settings.sign_in_timeout)
        last_seen = utc(row.last_seen)
        expired = last_seen + limit < moment
        if not expired and row.user_id is not None:
            expired = username is None or bool(disabled)
        if expired:
            session.delete(row)
            return None
        if moment - last_seen >= min(TOUCH_EVERY, limit / 10):
            row.last_seen = moment
        return WebState(
            session_id,
            row.stage,
            row.csrf_token,
            row.user_id,
            row.pending_totp_secret,
            row.oidc_state,
            row.oidc_nonce,
            username,
        )


def destroy(engine: Engine, session_id: str | None) -> None:
    """Delete the session (sign-out, or replaced by a new one)."""
    if not session_id:
        return
    with Session(engine) as session, session.begin():
        session.execute(delete(WebSession).where(WebSession.session_hash == _hash(session_id)))


def purge(engine: Engine, settings: WebSettings, *, now: dt.datetime | None = None) -> int:
    """Delete every session idle for longer than the idle timeout; returns how many."""
    moment = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        result = session.execute(
            delete(WebSession).where(WebSession.last_seen < moment - settings.idle_timeout)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def signed_in(engine: Engine, state: WebState, actor: Actor) -> WebState:
    """Replace ``state`` by a new signed-in session of ``actor`` (the id rotates at sign-in)."""
    destroy(engine, state.session_id)
    return create(engine, stage="signed_in", user_id=actor.user_id)


def remember_oidc(engine: Engine, state: WebState, oidc_state: str, nonce: str) -> None:
    """Keep an OpenID Connect sign-in's state and nonce in the (anonymous) session until it returns."""
    with Session(engine) as session, session.begin():
        row = session.scalars(
            select(WebSession).where(WebSession.session_hash == _hash(state.session_id))
        ).one()
        row.oidc_state, row.oidc_nonce = oidc_state, nonce
