"""The randomisation key: a secret in a file outside the registry, of which the registry keeps a fingerprint.

Whoever can read the registry (a database backup, an export, a reporting account)
must not be able to reproduce the allocation sequence, so the secret from which it
derives is not stored there. ``bassinet randomise --init-key PATH`` writes 32 random
bytes (hex) to a new file readable by its owner only (mode 0600) and stores the
key's fingerprint (SHA-256 of a label and the key) in ``randomisation_key``. Each
allocation or unblinding reads the file (``--key PATH`` or
``$BASSINET_RANDOMISATION_KEY``), refuses one that others may read and one whose
fingerprint is not the registry's. The fingerprint cannot give the key back: finding
a 256-bit preimage of SHA-256 is not feasible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from bassinet.errors import DataError
from bassinet.registry import models as m
from bassinet.registry.store import registry_session, require_current

KEY_VARIABLE = "BASSINET_RANDOMISATION_KEY"
FINGERPRINT_LABEL = b"bassinet randomisation key v1\x1f"


class KeyFileError(DataError):
    """The key file is missing, unsafe or not this registry's."""


def fingerprint(secret: str) -> str:
    """The registry's record of a key: SHA-256 of a fixed label and the key's bytes."""
    return hashlib.sha256(FINGERPRINT_LABEL + bytes.fromhex(secret)).hexdigest()


def _stored(engine: Engine, protocol: str) -> str | None:
    with engine.connect() as connection:
        found = connection.execute(
            select(m.RandomisationKey.fingerprint).where(m.RandomisationKey.protocol == protocol)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def init_key(engine: Engine, path: Path, *, protocol: str, actor: str) -> str:
    """Create the key file at ``path`` (mode 0600) and store its fingerprint; returns the fingerprint."""
    require_current(engine)
    existing = _stored(engine, protocol)
    if existing is not None:
        raise KeyFileError(
            f"the registry already has a randomisation key for {protocol} (fingerprint {existing[:12]}...): "
            "a second key would change every sequence"
        )
    secret = secrets.token_hex(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists: choose a new path") from None
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be created: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)  # whatever the umask
    printed = fingerprint(secret)
    try:
        with registry_session(engine, actor=actor) as session:
            session.add(
                m.RandomisationKey(protocol=protocol, fingerprint=printed, created_at=dt.datetime.now(dt.UTC))
            )
    except IntegrityError:
        path.unlink(missing_ok=True)
        raise KeyFileError(f"another process created the randomisation key for {protocol} first") from None
    return printed


def key_path(given: Path | None) -> Path:
    """The key file named by ``--key`` or ``$BASSINET_RANDOMISATION_KEY``."""
    if given is not None:
        return given
    named = os.environ.get(KEY_VARIABLE)
    if not named:
        raise KeyFileError(
            f"no randomisation key: give --key PATH or set {KEY_VARIABLE} "
            "(a registry's first key is made with `bassinet randomise --init-key PATH`)"
        )
    return Path(named)


def read_key(engine: Engine, given: Path | None, *, protocol: str) -> str:
    """The secret in the key file, after checking its mode and its fingerprint against the registry's."""
    path = key_path(given)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be read: {exc.strerror}") from None
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {mode:04o}: others can read it; it must be 0600 (chmod 600 {path})"
        )
    try:
        secret = path.read_text(encoding="ascii").strip()
        bytes.fromhex(secret)
    except (OSError, UnicodeDecodeError, ValueError):
        raise KeyFileError(
            f"key file {path} does not hold a randomisation key (64 hexadecimal digits)"
        ) from None
    if len(secret) != 64:
        raise KeyFileError(f"key file {path} does not hold a randomisation key (64 hexadecimal digits)")
    stored = _stored(engine, protocol)
    if stored is None:
        raise KeyFileError(
            f"the registry has no randomisation key for {protocol}: create one with "
            "`bassinet randomise --init-key PATH`"
        )
    if fingerprint(secret) != stored:
        raise KeyFileError(
            f"key file {path} has fingerprint {fingerprint(secret)[:12]}..., the registry's key is "
            f"{stored[:12]}...: this is not the key of this registry"
        )
    return secret
