"""Use cases of export: the registry written out, every time logged.

An export of identified data needs ``export_identified``, a de-identified one
``export_deidentified``; both write the whole registry, so the grant must cover the
whole study. Every export is recorded in the export log (``bassinet exports``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from bassinet.access.policy import Action, Actor
from bassinet.application._guard import whole_study

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.exchange import ExportEntry

#: The formats an export writes (see docs/exchange.md).
FORMATS = ("csv", "parquet", "fhir", "odm", "dataset-json")


@dataclass(frozen=True)
class Export:
    """The files an export wrote, in order."""

    files: tuple[Path, ...]


def export(
    actor: Actor,
    engine: Engine,
    fmt: str,
    out_dir: Path,
    *,
    key_file: Path | None = None,
    coarsen_centres: bool = False,
    days_from_diagnosis: bool = False,
    study: str = "BASSINET",
    cutoff: dt.date | None = None,
    with_audit_trail: bool = False,
) -> Export:
    """Write the registry in ``fmt`` (one of :data:`FORMATS`) to ``out_dir``; logged.

    With ``key_file`` the export is de-identified (hashed ids, shifted dates). With
    ``with_audit_trail`` (``bassinet export``), CSV is the re-importable import format and
    Parquet every table, each with the audit log beside it; otherwise (and for the other
    formats) the exchange package writes it, as ``bassinet export-as`` does.
    """
    from bassinet.errors import ConfigurationError

    if fmt not in FORMATS:
        raise ConfigurationError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    whole_study(actor, Action.EXPORT_IDENTIFIED if key_file is None else Action.EXPORT_DEIDENTIFIED)
    if not with_audit_trail or fmt not in ("csv", "parquet") or key_file is not None:
        from bassinet.exchange import export_registry

        release = export_registry(
            engine,
            cast(Any, fmt),
            out_dir,
            actor=actor.username,
            key_file=key_file,
            coarsen_centres=coarsen_centres,
            dates="days_from_diagnosis" if days_from_diagnosis else "shifted",
            study=study,
            cutoff=cutoff,
        )
        return Export(tuple(release.files))
    return Export(tuple(_export_with_audit(actor, engine, fmt, out_dir)))


def _export_with_audit(actor: Actor, engine: Engine, fmt: str, out_dir: Path) -> list[Path]:
    """The registry and its audit log, streamed a chunk at a time (flat memory, issue 16)."""
    from bassinet.exchange import record_export
    from bassinet.registry import registry_session
    from bassinet.registry.escaping import check_output_folder
    from bassinet.registry.frames import export_tables, patient_ids, write_audit_log
    from bassinet.registry.store import require_current

    require_current(engine)
    chosen: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    if chosen == "csv":  # the re-importable import format, a chunk of patients at a time
        from bassinet.registry.import_format import export_chunks, write_rows

        check_output_folder(out_dir, option="--out")
        with registry_session(engine, actor="bassinet export") as session:
            written = list(write_rows(export_chunks(session), out_dir).values())
    else:
        written = export_tables(engine, out_dir, fmt=chosen)
    paths = [*written, write_audit_log(engine, out_dir / f"audit_log.{chosen}", fmt=chosen)]
    record_export(
        engine,
        actor=actor.username,
        fmt=chosen,
        files=paths,
        patient_ids=patient_ids(engine),
        scope={"patients": "all", "audit_trail": True},
    )
    return paths


def export_log(actor: Actor, engine: Engine) -> list[ExportEntry]:
    """Every export of registry data: who, when, format, scope, patients, file hash."""
    whole_study(actor, Action.VIEW_AUDIT)
    from bassinet.exchange import list_exports

    return list_exports(engine)
