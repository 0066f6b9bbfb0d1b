"""The export log: every release of registry data, identified or not, is recorded.

Under the GDPR pseudonymised data are still personal data, so a study group must be
able to say what left the registry, when, for whom and in which form. Each export
appends one :class:`~bassinet.registry.models.ExportRecord`: who ran it, when, the
format, the scope (options, de-identification settings, never the key), the registry
ids of the patients whose records left, and the SHA-256 of every file written, plus
one SHA-256 over that list, so that a file handed on later can be matched to its
release. The table is append-only in the database (migration 0005).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.errors import ConfigurationError
from bassinet.registry import models as m
from bassinet.registry.reading import sha256
from bassinet.registry.store import require_current


@dataclass(frozen=True)
class ExportEntry:
    """One row of the export log."""

    id: int
    at: dt.datetime
    actor: str
    format: str
    deidentified: bool
    scope: dict[str, Any]
    patients: int
    patient_ids: tuple[int, ...]
    files: tuple[dict[str, Any], ...]
    sha256: str


def _entry(row: m.ExportRecord) -> ExportEntry:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return ExportEntry(
        row.id,
        at,
        row.actor,
        row.format,
        row.deidentified,
        dict(row.scope),
        row.patients,
        tuple(row.patient_ids),
        tuple(row.files),
        row.sha256,
    )


def _file_entries(files: Iterable[Path]) -> list[dict[str, Any]]:
    entries = []
    for path in files:
        if not path.is_file():
            raise ConfigurationError(f"export log: {path} was not written, so it cannot be recorded")
        entries.append({"path": str(path), "sha256": sha256(path), "bytes": path.stat().st_size})
    return entries


def record_export(
    engine: Engine,
    *,
    actor: str,
    fmt: str,
    files: Sequence[Path],
    patient_ids: Iterable[int],
    deidentified: bool = False,
    scope: dict[str, Any] | None = None,
) -> ExportEntry:
    """Append one release to the export log and return it.

    Parameters
    ----------
    engine
        The registry the data came from.
    actor
        Who exported, as for the audit trail.
    fmt
        The format written (``csv``, ``parquet``, ``fhir``, ``odm``, ``dataset-json``).
    files
        Every file written; each is hashed (SHA-256) now.
    patient_ids
        The registry ids (``patient.id``) of the patients whose records are in the files.
    deidentified
        Whether the files are de-identified (:mod:`.deidentify`).
    scope
        What was exported and how (options), as JSON-able values. Never a key.
    """
    if not actor or not actor.strip():
        raise ConfigurationError("every export needs a named actor (--user)")
    require_current(engine)
    entries = _file_entries(files)
    manifest = json.dumps([[e["path"], e["sha256"]] for e in entries], separators=(",", ":"))
    ids = sorted({int(i) for i in patient_ids})
    row = m.ExportRecord(
        at=dt.datetime.now(dt.UTC),
        actor=actor.strip(),
        format=fmt,
        deidentified=deidentified,
        scope=scope or {},
        patients=len(ids),
        patient_ids=ids,
        files=entries,
        sha256=hashlib.sha256(manifest.encode()).hexdigest(),
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        return _entry(row)


def list_exports(engine: Engine) -> list[ExportEntry]:
    """Every release in the export log, oldest first."""
    require_current(engine)
    with Session(engine) as session:
        return [_entry(r) for r in session.scalars(select(m.ExportRecord).order_by(m.ExportRecord.id))]
