"""TOTP codes for the web tests' accounts: each code a step the server has not accepted yet."""

from __future__ import annotations

import datetime as dt

import pyotp
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bassinet.registry import models as m


def fresh_code(engine: Engine, username: str, secret: str, used: dict[str, int]) -> str:
    """A code of ``secret`` for a time step after the last one handed out for ``username``.

    ``used`` remembers, per user, the last step given (the server accepts each step once).
    """
    totp = pyotp.TOTP(secret)
    now = totp.timecode(dt.datetime.now(dt.UTC))
    step = max(now - 1, used.get(username, now - 2) + 1)
    if step > now + 1:
        # Every code of this 30-s window was used: forget the last accepted one, as the
        # passing of time would (that a code is accepted once is tested in tests/access).
        with Session(engine) as session, session.begin():
            session.execute(update(m.User).where(m.User.username == username).values(totp_last_counter=None))
        step = now - 1
    used[username] = step
    return totp.generate_otp(step)
