"""Passwords: Argon2id hashes (RFC 9106) and the rule a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bassinet.errors import DataError

#: argon2-cffi's defaults are RFC 9106's second recommended option: Argon2id, t=3, m=64 MiB, p=4.
HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_DISTINCT = 5
_COMMON = frozenset(
    {"password1234", "123456789012", "qwertyuiopas", "passwordpassword", "letmeinletmein", "bassinetbassinet"}
)
#: A hash of a random string, verified against when the username is unknown, so that a
#: failed sign-in takes the same time whether or not the account exists.
_DUMMY_HASH = HASHER.hash("no such account: dummy password for constant-time refusals")


def check_strength(password: str, *, username: str) -> None:
    """Raise :class:`~bassinet.errors.DataError` unless ``password`` is acceptable for ``username``.

    The rule (after NIST SP 800-63B, section 5.1.1.2): at least 12 characters, no more than
    1024, at least 5 different characters, not containing the username, not a known common one.
    """
    who = f"password for {username!r} is too weak"
    if len(password) < MIN_LENGTH:
        raise DataError(f"{who}: it has {len(password)} characters, at least {MIN_LENGTH} are needed")
    if len(password) > MAX_LENGTH:
        raise DataError(f"password for {username!r} has {len(password)} characters, at most {MAX_LENGTH}")
    if len(set(password)) < MIN_DISTINCT:
        raise DataError(f"{who}: it uses {len(set(password))} different characters, at least {MIN_DISTINCT}")
    if len(username) >= 3 and username.lower() in password.lower():
        raise DataError(f"{who}: it contains the username")
    if password.lower() in _COMMON:
        raise DataError(f"{who}: it is a well-known password")


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` in PHC string format (``$argon2id$v=19$...``)."""
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (``None``: compare with a dummy, say no)."""
    try:
        return HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's and should be replaced."""
    return HASHER.check_needs_rehash(stored)
