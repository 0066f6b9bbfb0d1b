"""The security log: sign-ins, failures, lockouts, role changes and tokens, append-only.

Rows are only ever inserted; migration 0006 installs triggers that refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) of ``security_log``, as 0001 does for the audit log.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.registry.models import SecurityEntry


class SecurityEvent(StrEnum):
    """The kinds of entry in the security log."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    LOGOUT = "logout"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    USER_UNLOCKED = "user_unlocked"
    FULL_NAME_SET = "full_name_set"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    TOTP_ENROLLED = "totp_enrolled"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    TOKEN_REFUSED = "token_refused"
    EXPORT = "export"


def log_security_event(
    session: Session,
    event: SecurityEvent,
    *,
    actor: str,
    subject: str | None = None,
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> SecurityEntry:
    """Append one entry (flushed with ``session``; committed with it)."""
    entry = SecurityEntry(
        at=at or dt.datetime.now(dt.UTC),
        event=event.value,
        actor=actor[:100],
        subject=None if subject is None else subject[:100],
        detail=detail,
    )
    session.add(entry)
    return entry


def read_security_log(
    session: Session, *, subject: str | None = None, event: SecurityEvent | None = None
) -> list[SecurityEntry]:
    """The security log, oldest first, optionally for one account or one kind of event."""
    query = select(SecurityEntry).order_by(SecurityEntry.id)
    if subject is not None:
        query = query.where(SecurityEntry.subject == subject)
    if event is not None:
        query = query.where(SecurityEntry.event == event.value)
    return list(session.scalars(query))
