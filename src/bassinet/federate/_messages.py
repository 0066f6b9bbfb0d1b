"""Messages between sites and the coordinator: canonical JSON with a content hash inside.

Every message is a JSON object with ``kind``, ``plan_sha256``, ``version`` and
``content_sha256``: the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
the object without ``content_sha256``. A changed number, label or site name changes the
hash; :func:`read_message` refuses a file whose hash does not match. The hash shows
tampering or damage in transit, not who wrote the file: sign the file (or send it over an
authenticated channel) for that.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bassinet.errors import DataError

Message = dict[str, Any]


def canonical(message: Message) -> bytes:
    """The canonical JSON of ``message`` without its ``content_sha256``."""
    body = {k: v for k, v in message.items() if k != "content_sha256"}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def seal(message: Message) -> Message:
    """``message`` with its ``content_sha256`` set."""
    return {**message, "content_sha256": hashlib.sha256(canonical(message)).hexdigest()}


def dumps(message: Message) -> str:
    """The sealed message as indented JSON text (what is written and what ``--show`` prints)."""
    return json.dumps(seal(message), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def check(message: Any, source: str, kind: str) -> Message:
    """``message`` if it is a sealed message of ``kind`` with an intact hash, else a :class:`DataError`."""
    if not isinstance(message, dict):
        raise DataError(f"{source}: not a Bassinet federation message (a JSON object)")
    if message.get("kind") != kind:
        raise DataError(f"{source}: is a {message.get('kind')!r} message, not {kind!r}")
    stated = message.get("content_sha256")
    try:
        actual = hashlib.sha256(canonical(message)).hexdigest()
    except ValueError:  # Python's json reads NaN and Infinity, which JSON (and Bassinet) never writes
        raise DataError(
            f"{source}: holds NaN or Infinity, which JSON does not allow and Bassinet never writes: "
            "the file was changed after it was written"
        ) from None
    if stated != actual:
        raise DataError(
            f"{source}: content hash mismatch (file says {stated}, content is {actual}): "
            "the file was changed after it was written"
        )
    return message


def loads(text: str, source: str, kind: str) -> Message:
    """Parse and check a message from its text."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return check(message, source, kind)


def read_message(path: Path, kind: str) -> Message:
    """Read and check the message in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    return loads(text, str(path), kind)


def write_message(message: Message, path: Path) -> str:
    """Seal and write ``message`` to ``path``; returns the text written."""
    text = dumps(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text
