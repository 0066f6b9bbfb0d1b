"""The second factor: time-based one-time passwords (RFC 6238, 30 s, 6 digits, SHA-1)."""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

ISSUER = "Bassinet"
#: Codes from one step before or after now are accepted, for clocks a little apart.
WINDOW = 1


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def accepted_counter(secret: str, code: str, *, now: dt.datetime, last_counter: int | None) -> int | None:
    """The time step whose code equals ``code``, within :data:`WINDOW` of ``now`` and later than
    ``last_counter`` (so that no code is accepted twice); ``None`` if there is none."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last_counter is not None and step <= last_counter:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
