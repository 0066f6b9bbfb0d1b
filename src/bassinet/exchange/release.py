"""One export of the registry in any format, optionally de-identified, always logged.

The use case behind ``bassinet export-as`` (and, for the web app's statistician role,
the same function): read the frames, de-identify them if a key is given, write the
chosen format, and append the release to the export log (:mod:`.log`) with the hash of
every file. A failed write logs nothing; a logged release names every file it wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, select

from bassinet.errors import ConfigurationError
from bassinet.exchange.deidentify import DateMode, deidentify, load_key
from bassinet.exchange.log import ExportEntry, record_export
from bassinet.registry import models as m
from bassinet.registry.frames import export_frames, read_audit_log, read_frames

Format = Literal["csv", "parquet", "fhir", "odm", "dataset-json"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "fhir", "odm", "dataset-json")


@dataclass(frozen=True)
class Release:
    """What an export wrote, and its entry in the export log."""

    files: list[Path]
    entry: ExportEntry


def _risk_groups(engine: Engine) -> pd.DataFrame:
    """The stored risk decisions (patient, protocol, rules version, group, when)."""
    table = m.RiskAssignment.__table__
    query = select(table.c.patient_id, table.c.protocol, table.c.version, table.c.risk_group,
                   table.c.decided_at)  # fmt: skip
    with engine.connect() as connection:
        result = connection.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def export_registry(
    engine: Engine,
    fmt: Format,
    folder: Path,
    *,
    actor: str,
    key_file: Path | None = None,
    coarsen_centres: bool = False,
    dates: DateMode = "shifted",
    study: str = "BASSINET",
    cutoff: dt.date | None = None,
) -> Release:
    """Export every patient of the registry at ``engine`` to ``folder`` and log the release.

    Parameters
    ----------
    fmt
        ``csv`` or ``parquet`` (every table), ``fhir`` (one R4 Bundle per patient),
        ``odm`` (CDISC ODM 1.3.2 XML), ``dataset-json`` (ADSL and ADTTE with define.json).
    key_file
        De-identify with this key (:func:`~.deidentify.load_key`); the audit trail is then
        left out of every format.
    coarsen_centres, dates
        De-identification options (:func:`~.deidentify.deidentify`).
    cutoff
        Data cut-off for ADTTE (``dataset-json``); default: the day of the export.
    """
    if fmt not in FORMATS:
        raise ConfigurationError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    if key_file is None and (coarsen_centres or dates != "shifted"):
        raise ConfigurationError("coarsening centres and days from diagnosis need a de-identification key")
    if dates != "shifted" and fmt not in ("csv", "parquet"):
        raise ConfigurationError(f"days from diagnosis are written as csv or parquet only, not {fmt}")
    frames = read_frames(engine)
    patient_ids = [int(i) for i in frames.patients["id"]]
    audit = None
    risks = _risk_groups(engine)
    if key_file is not None:
        released = deidentify(frames, key=load_key(key_file), coarsen_centres=coarsen_centres, dates=dates)
        frames = released.frames
        renumber = {old: new for new, old in enumerate(released.patient_ids, start=1)}
        risks = risks.assign(patient_id=risks["patient_id"].map(renumber), decided_at=None)
    else:
        audit = read_audit_log(engine)
    if fmt in ("csv", "parquet"):
        files = export_frames(frames, folder, fmt="csv" if fmt == "csv" else "parquet", audit_log=audit)
    elif fmt == "fhir":
        from bassinet.exchange.fhir import write_bundles

        files = write_bundles(frames, folder, risk_groups=risks)
    elif fmt == "odm":
        from bassinet.exchange.odm import write_odm

        folder.mkdir(parents=True, exist_ok=True)
        files = [write_odm(frames, folder / f"{study.lower()}-odm.xml", study=study, audit_log=audit)]
    else:
        from bassinet.exchange.dataset_json import write_dataset_json

        files = write_dataset_json(frames, folder, study=study, cutoff=cutoff or dt.date.today())
    scope = {
        "patients": "all",
        "audit_trail": audit is not None,
        **({"dates": dates, "coarsen_centres": coarsen_centres} if key_file is not None else {}),
        **({"study": study} if fmt in ("odm", "dataset-json") else {}),
        **({"cutoff": (cutoff or dt.date.today()).isoformat()} if fmt == "dataset-json" else {}),
    }
    entry = record_export(
        engine,
        actor=actor,
        fmt=fmt,
        files=files,
        patient_ids=patient_ids,
        deidentified=key_file is not None,
        scope=scope,
    )
    return Release(files, entry)
