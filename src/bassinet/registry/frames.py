"""The registry's edge: every table as a pandas DataFrame, and export to CSV or Parquet.

This is what the rest of Bassinet reads. Dates are ``datetime64`` columns, codes are
plain strings, and the patients frame carries its centre's and study group's names,
so that downstream code never opens a database session.

The audit trail is not among the analysis frames: it grows with every change (some
30 rows a patient on import) and no analysis reads it, so :func:`read_frames` leaves
it out and :func:`read_audit_log` reads it on request. ``bassinet export`` writes both,
streamed a chunk at a time (:func:`export_tables`, :func:`write_audit_log`), so that its
memory does not grow with the registry.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import JSON, Boolean, Date, DateTime, Engine, Float, Integer, Select, Table, func, select

from bassinet.errors import ConfigurationError
from bassinet.registry import models as m
from bassinet.registry.escaping import FORMULA_START, check_output_folder, neutralise_frame, spreadsheet_cell
from bassinet.registry.store import make_engine, require_current

#: Frame name -> table, in the order they are exported.
TABLES: dict[str, Table] = {
    "study_groups": m.Base.metadata.tables[m.StudyGroup.__tablename__],
    "centres": m.Base.metadata.tables[m.Centre.__tablename__],
    "patients": m.Base.metadata.tables[m.Patient.__tablename__],
    "remissions": m.Base.metadata.tables[m.RemissionAssessment.__tablename__],
    "mrd": m.Base.metadata.tables[m.MRDMeasurement.__tablename__],
    "courses": m.Base.metadata.tables[m.TreatmentCourse.__tablename__],
    "transplants": m.Base.metadata.tables[m.Transplant.__tablename__],
    "events": m.Base.metadata.tables[m.Event.__tablename__],
    "import_runs": m.Base.metadata.tables[m.ImportRun.__tablename__],
}
AUDIT_LOG = m.Base.metadata.tables[m.AuditEntry.__tablename__]


def _frame(engine: Engine, table: Table) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(select(table).order_by(*table.primary_key.columns))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return _typed(frame, table)


def _typed(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    for column in table.columns:
        if isinstance(column.type, DateTime):
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        elif isinstance(column.type, Date):
            frame[column.name] = pd.to_datetime(frame[column.name])
        elif isinstance(column.type, Integer) and column.nullable:
            frame[column.name] = frame[column.name].astype("Int64")
        elif frame[column.name].dtype == object and len(frame):
            first = frame[column.name].dropna()
            if len(first) and hasattr(first.iloc[0], "value") and isinstance(first.iloc[0], str):
                frame[column.name] = frame[column.name].map(
                    lambda x: None if x is None else str(x.value), na_action="ignore"
                )
    return frame


@dataclass(frozen=True)
class RegistryFrames(Mapping[str, pd.DataFrame]):
    """One DataFrame per registry table; ``frames.patients`` or ``frames["patients"]``."""

    study_groups: pd.DataFrame
    centres: pd.DataFrame
    patients: pd.DataFrame
    remissions: pd.DataFrame
    mrd: pd.DataFrame
    courses: pd.DataFrame
    transplants: pd.DataFrame
    events: pd.DataFrame
    import_runs: pd.DataFrame

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise KeyError(f"no registry frame {name!r}; frames: {', '.join(TABLES)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)


def read_frames(engine: Engine) -> RegistryFrames:
    """Every table of the registry at ``engine`` as a DataFrame."""
    require_current(engine)
    frames = {name: _frame(engine, table) for name, table in TABLES.items()}
    centres = (
        frames["centres"]
        .merge(
            frames["study_groups"].rename(columns={"id": "study_group_id", "name": "study_group"}),
            on="study_group_id",
            how="left",
        )
        .rename(columns={"id": "centre_id", "name": "centre"})
    )
    patients = frames["patients"].merge(
        centres[["centre_id", "centre", "study_group", "original_country"]],
        on="centre_id",
        how="left",
    )
    ordered = ["id", "study_id", "centre", "study_group", "original_country"]
    frames["patients"] = patients[ordered + [c for c in patients.columns if c not in ordered]]
    return RegistryFrames(**frames)


#: Rows of the audit trail held in memory at once while it is exported.
AUDIT_CHUNK_ROWS = 50_000


def write_audit_log(
    engine: Engine, path: Path, *, fmt: Literal["csv", "parquet"] = "csv", chunk_rows: int = AUDIT_CHUNK_ROWS
) -> Path:
    """Write the audit trail to ``path`` in chunks of ``chunk_rows``, oldest entry first.

    The audit trail grows to millions of rows (some 30 a patient on import); it is
    streamed from the database (a server-side cursor on PostgreSQL) so that memory
    stays flat however long it is.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    require_current(engine)
    if fmt == "csv":
        return _write_audit_csv(engine, path, chunk_rows)
    arrow_types = {"at": pa.timestamp("us", tz="UTC")}
    schema = pa.schema(
        [
            (c.name, arrow_types.get(c.name, pa.int64() if isinstance(c.type, Integer) else pa.string()))
            for c in AUDIT_LOG.columns
        ]
    )
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else None
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)
            )
            columns = list(result.keys())
            first = True
            for part in result.partitions(chunk_rows):
                frame = _typed(pd.DataFrame(part, columns=columns), AUDIT_LOG)
                if writer is not None:
                    writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
                else:
                    csv_frame(frame).to_csv(path, mode="w" if first else "a", header=first, index=False)
                first = False
            if first and writer is None:
                pd.DataFrame(columns=columns).to_csv(path, index=False)
    finally:
        if writer is not None:
            writer.close()
    return path


def _audit_stamp(value: dt.datetime | None) -> str | None:
    """A timestamp as :func:`csv_frame` writes it: ISO 8601 in UTC with its offset."""
    if value is None:
        return None
    return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)).isoformat()


def _write_audit_csv(engine: Engine, path: Path, chunk_rows: int) -> Path:
    """The audit trail as CSV with the csv module: what :func:`csv_frame` writes (timestamps in
    ISO 8601, text neutralised), without a DataFrame per chunk (some 30 rows a patient)."""
    names = [c.name for c in AUDIT_LOG.columns]
    stamp = names.index("at")
    texts = [i for i, c in enumerate(AUDIT_LOG.columns) if not isinstance(c.type, Integer | DateTime)]
    with engine.connect() as connection, path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)
        )
        writer.writerow(result.keys())
        for part in result.partitions(chunk_rows):
            rows = []
            for row in part:
                cells = list(row)
                cells[stamp] = _audit_stamp(cells[stamp])
                for i in texts:
                    if cells[i] is not None and cells[i].startswith(FORMULA_START):
                        cells[i] = spreadsheet_cell(cells[i])
                rows.append(cells)
            writer.writerows(rows)
    return path


#: Rows of a registry table held in memory at once while it is exported.
EXPORT_CHUNK_ROWS = 50_000


def _export_query(name: str, table: Table) -> Select[Any]:
    """The rows of frame ``name`` in :func:`read_frames` order; patients with their centre's names."""
    if name != "patients":
        return select(table).order_by(*table.primary_key.columns)
    centres, groups = TABLES["centres"], TABLES["study_groups"]
    named = [
        table.c.id,
        table.c.study_id,
        centres.c.name.label("centre"),
        groups.c.name.label("study_group"),
        groups.c.original_country,
    ]
    rest = [c for c in table.columns if c.name not in ("id", "study_id")]
    return (
        select(*named, *rest)
        .select_from(table.join(centres, table.c.centre_id == centres.c.id))
        .outerjoin(groups, centres.c.study_group_id == groups.c.id)
        .order_by(table.c.id)
    )


def _arrow_type(column: Any) -> Any:
    import pyarrow as pa

    kind = column.type
    if isinstance(kind, DateTime):
        return pa.timestamp("ns", tz="UTC")
    if isinstance(kind, Date):
        return pa.timestamp("ns")
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    return pa.string()


def _stream_table(engine: Engine, name: str, table: Table, path: Path, fmt: str, chunk_rows: int) -> Path:
    """Write one frame to ``path`` ``chunk_rows`` rows at a time (a server-side cursor on PostgreSQL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    query = _export_query(name, table)
    columns = list(query.selected_columns)
    schema = pa.schema([(c.name, _arrow_type(c)) for c in columns])
    json_columns = [c.name for c in columns if isinstance(c.type, JSON)]
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else None
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
            keys = list(result.keys())
            first = True
            for part in result.partitions(chunk_rows):
                frame = _typed(pd.DataFrame(part, columns=keys), table)
                for column in json_columns:
                    frame[column] = frame[column].map(_parquet_text, na_action="ignore")
                if writer is not None:
                    for column in frame.columns:
                        if frame[column].dtype == object:
                            frame[column] = frame[column].map(
                                lambda x: x if isinstance(x, bool) else _parquet_text(x), na_action="ignore"
                            )
                    writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
                else:
                    csv_frame(frame).to_csv(path, mode="w" if first else "a", header=first, index=False)
                first = False
            if first and writer is None:
                pd.DataFrame(columns=keys).to_csv(path, index=False)
    finally:
        if writer is not None:
            writer.close()
    return path


def export_tables(
    engine: Engine,
    folder: Path,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    chunk_rows: int = EXPORT_CHUNK_ROWS,
) -> list[Path]:
    """Write every frame of :func:`read_frames` to ``folder`` as ``NAME.csv`` or ``NAME.parquet``, streamed.

    The same content as ``export_frames(read_frames(engine), folder)``, read from the
    database and written ``chunk_rows`` rows at a time, so that memory stays flat
    however large the registry (the audit log: :func:`write_audit_log`). Parquet
    columns take their type from the table's column: dates and timestamps, 64-bit
    integers and floats, booleans, and text (JSON as JSON text).
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigurationError(f"export format {fmt!r} is not csv or parquet")
    require_current(engine)
    check_output_folder(folder, option="--out")
    folder.mkdir(parents=True, exist_ok=True)
    return [
        _stream_table(engine, name, table, folder / f"{name}.{fmt}", fmt, chunk_rows)
        for name, table in TABLES.items()
    ]


def read_audit_log(engine: Engine) -> pd.DataFrame:
    """The whole audit trail as a DataFrame, oldest entry first."""
    require_current(engine)
    return _frame(engine, AUDIT_LOG)


#: The columns ``bassinet patients list`` shows.
PATIENT_LIST_COLUMNS = (
    "study_id",
    "centre",
    "leukemia_type",
    "kmt2a_status",
    "diagnosis_date",
    "last_contact_date",
    "vital_status",
)


def patient_page(
    engine: Engine, *, centre: str | None = None, limit: int = 50
) -> tuple[list[tuple[object, ...]], int]:
    """The first ``limit`` patients (all if ``limit`` <= 0) in registry order, and how many there are.

    Reads only the rows shown (paged in SQL), not the registry: ``patients list --limit 20``
    takes the same time at 100 and at 200,000 patients.
    """
    require_current(engine)
    patient, centres = TABLES["patients"], TABLES["centres"]
    columns = [
        centres.c.name.label("centre") if n == "centre" else patient.c[n] for n in PATIENT_LIST_COLUMNS
    ]
    query = select(*columns).join(centres, patient.c.centre_id == centres.c.id)
    if centre is not None:
        query = query.where(centres.c.name == centre)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        query = query.order_by(patient.c.id)
        if limit > 0:
            query = query.limit(limit)
        rows = [tuple(row) for row in connection.execute(query)]
    return rows, total


def patient_ids(engine: Engine) -> list[int]:
    """The row id of every patient, in registry order (read in SQL, not as frames)."""
    with engine.connect() as connection:
        return list(connection.scalars(select(TABLES["patients"].c.id).order_by(TABLES["patients"].c.id)))


def open_registry(url: str | None = None) -> RegistryFrames:
    """Open the registry at ``url`` (default: ``$BASSINET_DATABASE_URL`` or ``bassinet.db``) as frames.

    Examples
    --------
    >>> frames = open_registry("sqlite:///bassinet.db")   # doctest: +SKIP
    >>> frames.patients.groupby("leukemia_type").size()   # doctest: +SKIP
    """
    engine = make_engine(url)
    try:
        return read_frames(engine)
    finally:
        engine.dispose()


def _parquet_text(value: object) -> object:
    """A text cell of a Parquet export: JSON (a list or dict) as JSON, anything else as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the text a CSV for spreadsheets holds, losing nothing a reader needs.

    Dates are written YYYY-MM-DD; timestamps (timezone-aware, as the registry stores
    them) in full ISO 8601 with their offset; JSON columns (lists and dicts) as JSON
    text; every text cell neutralised against formula injection
    (:func:`~bassinet.registry.escaping.neutralise_frame`).
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.map(lambda x: x.isoformat(), na_action="ignore")
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[column] = series.dt.strftime("%Y-%m-%d")
        elif series.dtype == object and series.map(lambda x: isinstance(x, dict | list)).any():
            out[column] = series.map(
                lambda x: json.dumps(x, sort_keys=True) if isinstance(x, dict | list) else x,
                na_action="ignore",
            )
    return neutralise_frame(out)


def export_frames(
    frames: RegistryFrames,
    folder: Path,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    audit_log: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every frame (and the audit log, if given) to ``folder`` as ``NAME.csv`` or ``NAME.parquet``."""
    if fmt not in ("csv", "parquet"):
        raise ConfigurationError(f"export format {fmt!r} is not csv or parquet")
    check_output_folder(folder, option="--out")
    written = []
    tables = dict(frames)
    if audit_log is not None:
        tables["audit_log"] = audit_log
    for name, original in tables.items():
        frame = original.copy()
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            csv_frame(frame).to_csv(path, index=False)
        else:
            for column in frame.columns:
                if frame[column].dtype == object:
                    frame[column] = frame[column].map(
                        _parquet_text,
                        na_action="ignore",
                    )
            frame.to_parquet(path, index=False)
        written.append(path)
    return written
