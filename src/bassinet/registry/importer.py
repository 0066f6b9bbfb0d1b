"""Validated import of CSV files and XLSX workbooks into the registry.

An import runs in phases: read every file (:mod:`.reading`), map the centre's
columns and codes onto the registry's (:mod:`.mapping`), parse every cell
(:mod:`.sheets`), check the rules that span rows (:mod:`.rules`), then write.

- All or nothing by default: with any problem, nothing is written and
  :class:`~.problems.ImportRejected` lists every problem found.
- With a quarantine file, the patients without problems are committed and every row
  of a rejected patient is written to the quarantine file with its reasons.
- The write is one transaction. Patients are matched by study_id, their identity
  across the registry: a new one is inserted, a known one has only its changed fields
  updated, and for each long
  sheet present in the import its rows for that patient are made to equal the file's
  (matched by the sheet's key). Every change is audited (:mod:`.audit`); re-importing
  the same file changes nothing. Source files are only read, never written. The
  registry is compared and written :data:`CHUNK_PATIENTS` patients at a time: new
  patients and their records with one executemany per table (their audit rows alike,
  ``COPY`` on PostgreSQL), so that memory does not grow with the registry.
- A known study ID under another centre is a move: refused unless a ``reason`` is
  given (then the patient moves, audited with the reason), never a second patient.
- An allocated arm and its date belong to the allocation: a file that would change
  them (another arm, a blank cell, or no ``randomisation_arm`` column at all) is
  refused, naming the patient, both values and the allocation date. An arm on a file
  for a patient without an allocation becomes an allocation of source "recorded".
- Every audit row carries the reason: the one given, or the import run and its files.
- ``dry_run`` checks and writes in a transaction that is rolled back, and reports
  what would be added, changed (old -> new), deleted and refused.
- The mapping's ``decimal`` and ``thousands`` marks are applied to number cells.
- Each import is recorded in ``import_run`` with the files' SHA-256, the rows read
  and what was done, and who ran it.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, selectinload

from bassinet.errors import DataError
from bassinet.registry import models as m
from bassinet.registry.audit import audit_text, insert_audit_rows, mark_audited
from bassinet.registry.escaping import check_output_file, spreadsheet_cell
from bassinet.registry.mapping import Mapping
from bassinet.registry.problems import ImportRejected, Problem, cell_text, show
from bassinet.registry.reading import RawSheet, read_any, sha256
from bassinet.registry.rules import PatientRecords, Record, check_patient
from bassinet.registry.sheets import MRD, SHEETS, CellError, HLAMatch, SheetSpec, parse_cell
from bassinet.registry.store import registry_session, require_current, serialise_imports

#: Called as progress(phase, done, total) while an import runs.
Progress = Callable[[str, int, int], None]

CHILD_MODELS: dict[str, tuple[type[m.Base], str]] = {
    "remissions": (m.RemissionAssessment, "remissions"),
    "mrd": (m.MRDMeasurement, "mrd"),
    "courses": (m.TreatmentCourse, "courses"),
    "transplants": (m.Transplant, "transplants"),
    "events": (m.Event, "events"),
}
#: Columns of the patients sheet that are not fields of the patient table.
PLACEMENT = ("study_id", "centre", "study_group", "original_country")
#: Patients read from the registry, compared and written at once during an import.
CHUNK_PATIENTS = 2_000
#: New patients and their records are inserted with one executemany per table and chunk
#: (:func:`_insert_new`); False inserts them one by one through the ORM (tests compare both).
BULK_INSERT = True


@dataclass
class SheetCount:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class Change:
    """One field of one record that an import adds, changes or deletes."""

    action: str  # "insert", "update" or "delete"
    study_id: str | None
    table: str
    field: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        who = self.study_id or "-"
        if self.action == "update":
            return f"changed {who} {self.table}.{self.field}: {self.old or 'empty'} -> {self.new or 'empty'}"
        if self.action == "insert":
            return f"added {who} {self.table}.{self.field} = {self.new}"
        return f"deleted {who} {self.table}.{self.field} (was {self.old})"


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with ``dry_run``, would do: then ``changes`` lists it)."""

    import_run_id: int
    counts: dict[str, SheetCount]
    rejected: tuple[Problem, ...] = ()
    quarantine: Path | None = None
    dry_run: bool = False
    changes: tuple[Change, ...] = ()

    @property
    def changed(self) -> bool:
        return any(c.inserted or c.updated or c.deleted for c in self.counts.values())


@dataclass
class _Sheet:
    spec: SheetSpec
    raw: RawSheet
    fields: list[str | None]  # registry field of each header column, None if ignored


@dataclass
class _Parsed:
    patients: dict[str, PatientRecords] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: study_id of every row, to find the patient a problem belongs to.
    owner: dict[tuple[str, str, int], str] = field(default_factory=dict)


QUARANTINE_COLUMNS = ("source", "sheet", "registry_sheet", "row", "reasons")


def _split_quarantine(raw_sheets: list[RawSheet], mapping: Mapping) -> list[RawSheet]:
    """A quarantine file (corrected or not) as the sheets it holds; any other file as it is.

    Each group of rows of one registry sheet keeps the columns that belong to that sheet
    (by name or by the mapping) and any other column that has a value in the group (so
    that a stray value is reported, not dropped).
    """
    if len(raw_sheets) != 1 or raw_sheets[0].header[: len(QUARANTINE_COLUMNS)] != QUARANTINE_COLUMNS:
        return raw_sheets
    raw = raw_sheets[0]
    width = len(QUARANTINE_COLUMNS)
    groups: dict[str, list[tuple[int, tuple[Any, ...]]]] = defaultdict(list)
    for number, cells in raw.rows:
        name = str(cells[2]).strip() if len(cells) > 2 and cells[2] is not None else ""
        if name not in SHEETS:
            raise DataError(
                f"{raw.source} row {number}: registry_sheet {name!r} is not one of {', '.join(SHEETS)}"
            )
        groups[name].append((number, cells[width:]))
    header = raw.header[width:]
    sheets = []
    for name, rows in groups.items():
        sheet_mapping = mapping.sheets.get(name)
        known = {c.casefold() for c in SHEETS[name].by_name}
        if sheet_mapping is not None:
            known |= {c.casefold() for c in (*sheet_mapping.columns, *sheet_mapping.ignore)}
        keep = [
            i
            for i, h in enumerate(header)
            if h.casefold() in known
            or any(i < len(cells) and cells[i] is not None and str(cells[i]).strip() for _, cells in rows)
        ]
        sheets.append(
            RawSheet(
                raw.source,
                name,
                tuple(header[i] for i in keep),
                tuple((n, tuple(cells[i] if i < len(cells) else None for i in keep)) for n, cells in rows),
            )
        )
    order = list(SHEETS)
    return sorted(sheets, key=lambda r: order.index(r.title))


def _assign_sheets(
    patients_file: Path, long_files: AbcMapping[str, Path], mapping: Mapping
) -> tuple[dict[str, RawSheet], list[dict[str, Any]]]:
    """Read the files and decide which registry sheet each sheet of them is."""
    assigned: dict[str, RawSheet] = {}
    sources = []
    titles = {(mapped.sheet or name).casefold(): name for name, mapped in mapping.sheets.items()}
    titles.update({name.casefold(): name for name in SHEETS if name.casefold() not in titles})
    ignored = {t.casefold() for t in mapping.ignore_sheets}
    problems: list[Problem] = []
    inputs = [("patients", patients_file), *long_files.items()]
    for default_sheet, path in inputs:
        if default_sheet not in SHEETS:
            raise DataError(f"'{default_sheet}' is not a registry sheet ({', '.join(SHEETS)})")
        raw_sheets = _split_quarantine(
            read_any(path, encoding=mapping.encoding, delimiter=mapping.delimiter), mapping
        )
        sources.append(
            {
                "path": str(path),
                "sha256": sha256(path),
                "sheets": {r.title: len(r.rows) for r in raw_sheets},
            }
        )
        for raw in raw_sheets:
            is_workbook = len(raw_sheets) > 1 or path.suffix.lower() in (".xlsx", ".xlsm")
            if is_workbook:
                if raw.title.casefold() in ignored:
                    continue
                name = titles.get(raw.title.casefold())
                if name is None:
                    problems.append(
                        Problem(
                            str(path),
                            raw.title,
                            None,
                            None,
                            None,
                            f"sheet '{raw.title}' is not a registry sheet ({', '.join(SHEETS)}): "
                            "name it under `sheets:` in the mapping file or list it in `ignore_sheets:`",
                        )
                    )
                    continue
            else:
                name = default_sheet
            if name in assigned:
                raise DataError(
                    f"the {name} sheet is given twice: {assigned[name].source} "
                    f"[{assigned[name].title}] and {raw.source} [{raw.title}]"
                )
            assigned[name] = raw
    if problems:
        raise ImportRejected(problems)
    if "patients" not in assigned:
        raise DataError(f"{patients_file}: no patients sheet: a workbook needs a sheet named 'patients'")
    return assigned, sources


def _map_columns(name: str, raw: RawSheet, mapping: Mapping) -> tuple[_Sheet, list[Problem]]:
    spec = SHEETS[name]
    sheet_mapping = mapping.sheets.get(name)
    theirs = {k.casefold(): val for k, val in (sheet_mapping.columns if sheet_mapping else {}).items()}
    ignore = {c.casefold() for c in (sheet_mapping.ignore if sheet_mapping else [])}
    ours = {c.casefold(): c for c in spec.by_name}
    fields: list[str | None] = []
    problems = []
    seen: dict[str, str] = {}
    for header in raw.header:
        key = header.casefold()
        target = theirs.get(key) or ours.get(key)
        if target is None:
            fields.append(None)
            if key not in ignore:
                problems.append(
                    Problem(
                        raw.source,
                        raw.title,
                        1,
                        header,
                        header,
                        f"is not a column of the registry's {name} sheet: map it under "
                        f"`sheets: {name}: columns:` in the mapping file or list it under `ignore:`",
                    )
                )
            continue
        if target in seen:
            problems.append(
                Problem(
                    raw.source,
                    raw.title,
                    1,
                    header,
                    header,
                    f"maps to '{target}', as does column '{seen[target]}'",
                )
            )
        seen[target] = header
        fields.append(target)
    for column in spec.columns:
        if column.required and column.name not in seen:
            problems.append(
                Problem(
                    raw.source,
                    raw.title,
                    1,
                    None,
                    None,
                    f"the required column '{column.name}' is missing",
                )
            )
    return _Sheet(spec, raw, fields), problems


def _parse(sheets: dict[str, _Sheet], mapping: Mapping, progress: Progress | None) -> _Parsed:
    parsed = _Parsed()
    codes = {c.name: mapping.centre_codes(c.name) for s in SHEETS.values() for c in s.columns}
    records: dict[str, list[Record]] = {}
    total = sum(len(s.raw.rows) for s in sheets.values())
    done = 0
    for name, sheet in sheets.items():
        columns = {f: h for f, h in zip(sheet.fields, sheet.raw.header, strict=True) if f}
        rows = []
        for number, cells in sheet.raw.rows:
            values: dict[str, object] = {}
            record = Record(sheet.raw.source, sheet.raw.title, number, values, columns)
            for index, cell in enumerate(cells):
                target = sheet.fields[index] if index < len(sheet.fields) else None
                if index >= len(sheet.fields):
                    if cell is not None and str(cell).strip():
                        parsed.problems.append(
                            Problem(
                                sheet.raw.source,
                                sheet.raw.title,
                                number,
                                f"#{index + 1}",
                                cell,
                                f"is beyond the last named column ({len(sheet.fields)} columns)",
                            )
                        )
                    continue
                if target is None:
                    continue
                column = sheet.spec.by_name[target]
                if column.kind in ("number", "mrd") and isinstance(cell, str):
                    cell = mapping.number_text(cell)
                try:
                    values[target] = parse_cell(
                        column, cell, date_format=mapping.date_format, centre_codes=codes[target]
                    )
                except CellError as exc:
                    values[target] = None
                    parsed.problems.append(
                        Problem(
                            sheet.raw.source,
                            sheet.raw.title,
                            number,
                            columns[target],
                            cell,
                            str(exc),
                            field=target,
                        )
                    )
            for column in sheet.spec.columns:
                if column.required and column.name in columns and column.name not in values:
                    values[column.name] = None
                    parsed.problems.append(record.problem(column.name, "is required"))
            rows.append(record)
            study_id = values.get("study_id")
            if isinstance(study_id, str):
                parsed.owner[(record.source, record.sheet, number)] = study_id
            done += 1
            if progress and done % 1000 == 0:
                progress("checking", done, total)
        records[name] = rows
    if progress:
        progress("checking", total, total)

    for record in records["patients"]:
        study_id = record.values.get("study_id")
        if not isinstance(study_id, str):
            continue
        if study_id in parsed.patients:
            first = parsed.patients[study_id].patient
            parsed.problems.append(
                record.problem("study_id", f"appears twice in the patients sheet (also {first.where()})")
            )
            parsed.problems.append(
                first.problem("study_id", f"appears twice in the patients sheet (also {record.where()})")
            )
            continue
        parsed.patients[study_id] = PatientRecords(record, {n: [] for n in sheets if n != "patients"})
    for name, rows in records.items():
        if name == "patients":
            continue
        keys: dict[tuple[str, tuple[object, ...]], Record] = {}
        for record in rows:
            study_id = record.values.get("study_id")
            if not isinstance(study_id, str):
                continue
            if study_id not in parsed.patients:
                parsed.problems.append(record.problem("study_id", "names no patient of the patients sheet"))
                continue
            key = tuple(record.values.get(k) for k in SHEETS[name].key)
            if all(k is not None for k in key) and (study_id, key) in keys:
                shown = ", ".join(f"{k}={show(x)}" for k, x in zip(SHEETS[name].key, key, strict=True))
                parsed.problems.append(
                    record.problem(
                        "study_id",
                        f"has a second {name} row with {shown} (first: {keys[(study_id, key)].where()})",
                    )
                )
                continue
            keys[(study_id, key)] = record
            parsed.patients[study_id].children[name].append(record)
    for bundle in parsed.patients.values():
        parsed.problems.extend(check_patient(bundle))
    return parsed


def _one_group_per_centre(parsed: _Parsed) -> list[Problem]:
    """Within a file, a centre belongs to one study group, and a group is original or not."""
    problems = []
    first: dict[tuple[str, object], tuple[object, Record]] = {}
    for bundle in parsed.patients.values():
        values = bundle.patient.values
        for owner, name in (("centre", "study_group"), ("study_group", "original_country")):
            key, value = values.get(owner), values.get(name)
            if key is None or value is None:
                continue
            seen = first.setdefault((owner, key), (value, bundle.patient))
            if seen[0] != value:
                problems.append(
                    bundle.patient.problem(
                        name,
                        f"differs from {seen[1].where()}, where {owner} '{key}' has {name} {show(seen[0])}",
                    )
                )
    return problems


def _check_identity_and_arms(session: Session, parsed: _Parsed, reason: str | None) -> list[Problem]:
    """A known study ID keeps its centre unless moved with a reason; an allocated arm is not changed."""
    problems: list[Problem] = []
    study_ids = list(parsed.patients)
    known: dict[str, tuple[int, str]] = {}  # study_id -> (patient id, centre name)
    allocations: dict[int, m.Allocation] = {}
    for start in range(0, len(study_ids), CHUNK_PATIENTS):  # the registry is read a chunk at a time
        part = study_ids[start : start + CHUNK_PATIENTS]
        rows = session.execute(
            select(m.Patient.study_id, m.Patient.id, m.Centre.name)
            .join(m.Centre, m.Patient.centre_id == m.Centre.id)
            .where(m.Patient.study_id.in_(part))
        )
        found = {sid: (pid, name) for sid, pid, name in rows}
        known.update(found)
        if found:
            allocations.update(
                (a.patient_id, a)
                for a in session.scalars(
                    select(m.Allocation).where(m.Allocation.patient_id.in_([p for p, _ in found.values()]))
                )
            )
    for study_id, bundle in parsed.patients.items():
        if study_id not in known:
            continue
        patient_id, centre_name = known[study_id]
        record = bundle.patient
        centre = record.values.get("centre")
        if isinstance(centre, str) and centre != centre_name and reason is None:
            problems.append(
                record.problem(
                    "centre",
                    f"differs from the registry, where patient '{study_id}' is in centre "
                    f"'{centre_name}': a study ID is one patient, so this is a move from "
                    f"'{centre_name}' to '{centre}'; give --reason to move it "
                    "(or use `bassinet move`)",
                )
            )
        allocation = allocations.get(patient_id)
        if allocation is None:
            continue
        when = allocation.allocated_on or allocation.allocated_at.date()
        for name, owned in (("randomisation_arm", allocation.arm), ("randomisation_date", when)):
            if name not in record.columns:
                given = "has no column"
            else:
                value = record.values.get(name)
                value = getattr(value, "value", value)
                if value == owned:
                    continue
                given = f"says {show(value)}"
            problems.append(
                record.problem(
                    name,
                    f"conflicts with the allocation of patient '{study_id}' ({allocation.source}, "
                    f"allocated {when}): the registry holds {name} {show(owned)}, the file {given}; "
                    "an allocated arm and its date are not changed by import",
                )
            )
    return problems


def _locked_casebooks(session: Session, parsed: _Parsed, sheets: Sequence[str]) -> list[Problem]:
    """A row that would change a locked patient's casebook (migration 0012) is a problem.

    The same rule, in the same words, as :mod:`.signoff` applies to every flush: here it is
    found before anything is written, so that a quarantined import keeps the other patients.
    A re-import of a locked patient's unchanged rows passes.
    """
    from bassinet.registry.signoff import locked_rule

    if session.scalar(select(m.PatientLock.id).where(m.PatientLock.unlocked_at.is_(None)).limit(1)) is None:
        return []
    problems: list[Problem] = []
    study_ids = list(parsed.patients)
    loaders = [selectinload(getattr(m.Patient, attr)) for _, attr in CHILD_MODELS.values()]
    for start in range(0, len(study_ids), CHUNK_PATIENTS):
        rows = session.execute(
            select(m.Patient, m.PatientLock)
            .join(m.PatientLock, m.PatientLock.patient_id == m.Patient.id)
            .where(m.Patient.study_id.in_(study_ids[start : start + CHUNK_PATIENTS]))
            .where(m.PatientLock.unlocked_at.is_(None))
            .options(*loaders, selectinload(m.Patient.centre))
        ).all()
        for patient, lock in rows:
            bundle = parsed.patients[patient.study_id]
            record = bundle.patient
            sid = patient.study_id
            if record.values.get("centre") != patient.centre.name:
                problems.append(record.problem("centre", locked_rule(sid, "patient", "centre", lock)))
            for name, value in _model_values("patients", record).items():
                if getattr(patient, name) != value:
                    problems.append(record.problem(name, locked_rule(sid, "patient", name, lock)))
            for sheet in sheets:
                if sheet == "patients":
                    continue
                key_fields = SHEETS[sheet].key
                current = {
                    tuple(getattr(c, k) for k in key_fields): c
                    for c in getattr(patient, CHILD_MODELS[sheet][1])
                }
                wanted = set()
                for child in bundle.rows(sheet):
                    values = _model_values(sheet, child)
                    key = tuple(values[k] for k in key_fields)
                    wanted.add(key)
                    stored = current.get(key)
                    if stored is None:
                        problems.append(
                            child.problem(
                                key_fields[0], locked_rule(sid, f"{sheet}:new", key_fields[0], lock)
                            )
                        )
                        continue
                    for name, value in values.items():
                        if getattr(stored, name) != value:
                            name_of = f"{sheet}:{stored.id}"
                            problems.append(child.problem(name, locked_rule(sid, name_of, name, lock)))
                for key, stored in current.items():
                    if key not in wanted:
                        rule = locked_rule(sid, f"{sheet}:{stored.id}", key_fields[0], lock)
                        problems.append(record.problem("study_id", f"would delete a record: {rule}"))
    return problems


def _check_against_registry(session: Session, parsed: _Parsed, reason: str | None = None) -> list[Problem]:
    """Rules that need the registry: a centre belongs to one study group; identity; allocated arms."""
    problems = _one_group_per_centre(parsed) + _check_identity_and_arms(session, parsed, reason)
    centres = {
        c.name: c for c in session.scalars(select(m.Centre).options(selectinload(m.Centre.study_group)))
    }
    groups = {g.name: g for g in session.scalars(select(m.StudyGroup))}
    for bundle in parsed.patients.values():
        values = bundle.patient.values
        centre, group = values.get("centre"), values.get("study_group")
        known = centres.get(centre) if isinstance(centre, str) else None
        if known and group is not None and known.study_group and known.study_group.name != group:
            problems.append(
                bundle.patient.problem(
                    "study_group",
                    f"differs from the registry, where centre '{centre}' "
                    f"belongs to '{known.study_group.name}'",
                )
            )
        original = values.get("original_country")
        known_group = groups.get(group) if isinstance(group, str) else None
        if known_group and original is not None and known_group.original_country not in (None, original):
            problems.append(
                bundle.patient.problem(
                    "original_country",
                    f"differs from the registry, where study group '{group}' "
                    f"has original_country={show(known_group.original_country)}",
                )
            )
    return problems


def _outside(parsed: _Parsed, centres: Collection[str] | None) -> list[Problem]:
    """A problem for each patient row naming a centre outside ``centres`` (``None``: none)."""
    if centres is None:
        return []
    allowed = ", ".join(sorted(centres)) or "none"
    return [
        bundle.patient.problem("centre", f"is not a centre you may import for (yours: {allowed})")
        for bundle in parsed.patients.values()
        if bundle.patient.values.get("centre") not in centres
    ]


def _model_values(sheet: str, record: Record) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, value in record.values.items():
        if name in PLACEMENT:
            continue
        if isinstance(value, MRD):
            prefix = "mrd_" if sheet == "transplants" else ""
            values[f"{prefix}result" if prefix else "result"] = value.result
            values[f"{prefix}value" if prefix else "value"] = value.value
        elif name == "hla_match":
            values["hla_matched"] = value.matched if isinstance(value, HLAMatch) else None
            values["hla_typed"] = value.typed if isinstance(value, HLAMatch) else None
        elif name == "mrd_value" and value is None:
            values["mrd_result"] = None
            values["mrd_value"] = None
        else:
            values[name] = value
    return values


def _update(obj: object, values: dict[str, object]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _write(
    session: Session,
    parsed: _Parsed,
    good: Sequence[str],
    sheets: Sequence[str],
    counts: dict[str, SheetCount],
    progress: Progress | None,
) -> None:
    groups = {g.name: g for g in session.scalars(select(m.StudyGroup))}
    centres = {c.name: c for c in session.scalars(select(m.Centre))}
    wanted_centres = {parsed.patients[s].patient.values["centre"] for s in good}
    for study_id in good:
        values = parsed.patients[study_id].patient.values
        group_name = values.get("study_group")
        group = None
        if isinstance(group_name, str):
            group = groups.get(group_name)
            if group is None:
                group = groups[group_name] = m.StudyGroup(name=group_name)
                session.add(group)
            original = values.get("original_country")
            if isinstance(original, bool) and group.original_country is None:
                group.original_country = original
        centre_name = values["centre"]
        assert isinstance(centre_name, str)
        if centre_name not in centres:
            centres[centre_name] = m.Centre(name=centre_name, study_group=group)
            session.add(centres[centre_name])
        elif centres[centre_name].study_group is None and group is not None:
            centres[centre_name].study_group = group
    session.flush()

    del wanted_centres
    centre_ids = {name: c.id for name, c in centres.items()}
    loaders = [selectinload(getattr(m.Patient, attr)) for _, attr in CHILD_MODELS.values()]
    allocated = set(
        session.scalars(select(m.Allocation.patient_id).where(m.Allocation.protocol == "interfant-06"))
    )
    for start in range(0, len(good), CHUNK_PATIENTS):
        chunk = good[start : start + CHUNK_PATIENTS]
        # Known patients are compared and updated through the ORM a chunk at a time (the
        # session holds them weakly, so each chunk is let go); new ones are bulk-inserted.
        existing = {
            p.study_id: p
            for p in session.scalars(
                select(m.Patient)
                .where(m.Patient.study_id.in_(chunk))
                .options(*loaders, selectinload(m.Patient.centre).selectinload(m.Centre.study_group))
            )
        }
        recorded: list[m.Patient] = []
        new: list[str] = []
        for study_id in chunk:
            bundle = parsed.patients[study_id]
            patient = existing.get(study_id)
            if patient is None and BULK_INSERT:
                new.append(study_id)
                continue
            centre = centres[str(bundle.patient.values["centre"])]
            fields = _model_values("patients", bundle.patient)
            if patient is None:  # row by row through the ORM: the reference for the bulk insert
                patient = m.Patient(study_id=study_id, centre=centre, **fields)
                session.add(patient)
                counts["patients"].inserted += 1
            elif _update(patient, {**fields, "centre": centre}):
                counts["patients"].updated += 1
            else:
                counts["patients"].unchanged += 1
            if patient.randomisation_arm is not None and patient.id not in allocated:
                recorded.append(patient)
            for sheet in sheets:
                if sheet != "patients":
                    _sync_children(session, patient, sheet, bundle.rows(sheet), counts[sheet])
        session.flush()
        del existing
        if new:
            armed = _insert_new(session, parsed, new, sheets, centre_ids, counts)
            if armed:
                recorded.extend(
                    session.scalars(
                        select(m.Patient)
                        .where(m.Patient.id.in_(armed))
                        .order_by(m.Patient.id)
                        .options(*loaders, selectinload(m.Patient.centre).selectinload(m.Centre.study_group))
                    )
                )
        if recorded:
            from bassinet.protocols.randomise import (
                record_arm,
            )  # the protocols package builds on the registry

            for patient in recorded:
                record_arm(session, patient, actor=str(session.info["actor"]))
            session.flush()
        if progress:
            progress("writing", start + len(chunk), len(good))
    if progress:
        progress("writing", len(good), len(good))


def _insert_new(
    session: Session,
    parsed: _Parsed,
    study_ids: Sequence[str],
    sheets: Sequence[str],
    centre_ids: dict[str, int],
    counts: dict[str, SheetCount],
) -> list[int]:
    """Insert new patients and their records with one ``executemany`` per table, audited alike.

    The audit rows are those the ORM's flush would write (:mod:`.audit`): one per
    non-empty field of each inserted row, in the same transaction (``COPY`` on
    PostgreSQL). Returns the ids of the new patients that bring a randomisation arm.
    """
    mark_audited(session)
    connection = session.connection()
    base = {
        "at": dt.datetime.now(dt.UTC),
        "actor": session.info.get("actor"),
        "action": "insert",
        "old_value": None,
        "import_run_id": session.info.get("import_run_id"),
        "reason": session.info.get("reason"),
    }
    audit: list[dict[str, Any]] = []

    def insert_rows(model: type[m.Base], rows: list[dict[str, object]]) -> list[int]:
        table = model.__table__
        assert isinstance(table, Table)
        fields = [a.key for a in sa_inspect(model).column_attrs if a.key != "id"]
        full = [{f: row.get(f) for f in fields} for row in rows]
        ids = list(
            connection.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), full
            ).scalars()
        )
        for record_id, row in zip(ids, full, strict=True):
            patient_id = record_id if model is m.Patient else row["patient_id"]
            for name in fields:
                value = row[name]
                if value is not None:
                    audit.append(
                        {
                            **base,
                            "table_name": table.name,
                            "record_id": record_id,
                            "patient_id": patient_id,
                            "field": name,
                            "new_value": audit_text(value),
                        }
                    )
        return ids

    patients = []
    for study_id in study_ids:
        record = parsed.patients[study_id].patient
        centre_id = centre_ids[str(record.values["centre"])]
        patients.append({"centre_id": centre_id, "study_id": study_id, **_model_values("patients", record)})
    ids = insert_rows(m.Patient, patients)
    counts["patients"].inserted += len(ids)
    for sheet in sheets:
        if sheet == "patients":
            continue
        model, _ = CHILD_MODELS[sheet]
        rows = [
            {**_model_values(sheet, record), "patient_id": patient_id}
            for study_id, patient_id in zip(study_ids, ids, strict=True)
            for record in parsed.patients[study_id].rows(sheet)
        ]
        if rows:
            insert_rows(model, rows)
            counts[sheet].inserted += len(rows)
    insert_audit_rows(session, audit)
    return [pid for pid, row in zip(ids, patients, strict=True) if row.get("randomisation_arm") is not None]


def _sync_children(
    session: Session, patient: m.Patient, sheet: str, rows: list[Record], count: SheetCount
) -> None:
    model, attribute = CHILD_MODELS[sheet]
    key_fields = SHEETS[sheet].key
    collection = getattr(patient, attribute)
    current = {tuple(getattr(c, k) for k in key_fields): c for c in collection}
    incoming = [_model_values(sheet, record) for record in rows]
    wanted = {tuple(values[k] for k in key_fields) for values in incoming}
    stale = [child for key, child in current.items() if key not in wanted]
    for child in stale:
        collection.remove(child)
        session.delete(child)
        count.deleted += 1
    if stale:
        # The unit of work inserts before it deletes; a replaced row (a death moved to
        # another date) would break a unique index unless the deletion goes first.
        session.flush()
    for values in incoming:
        child = current.get(tuple(values[k] for k in key_fields))
        if child is None:
            collection.append(model(**values))
            count.inserted += 1
        elif _update(child, values):
            count.updated += 1
        else:
            count.unchanged += 1


def _write_quarantine(
    path: Path,
    sheets: dict[str, _Sheet],
    problems: Sequence[Problem],
    rejected_rows: dict[tuple[str, str, int], list[str]],
) -> Path:
    """Write the rejected rows next to ``path``; returns the part file, put in place after the commit."""
    headers: list[str] = []
    for sheet in sheets.values():
        headers.extend(h for h in sheet.raw.header if h not in headers)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(map(spreadsheet_cell, [*QUARANTINE_COLUMNS, *headers]))
        for name, sheet in sheets.items():
            for number, cells in sheet.raw.rows:
                reasons = rejected_rows.get((sheet.raw.source, sheet.raw.title, number))
                if reasons is None:
                    continue
                by_header = dict(zip(sheet.raw.header, cells, strict=False))
                row = [sheet.raw.source, sheet.raw.title, name, number, "; ".join(reasons)]
                writer.writerow(map(spreadsheet_cell, row + [cell_text(by_header.get(h)) for h in headers]))
    return tmp


def _changes_of_run(session: Session, run_id: int, after: int = 0) -> tuple[Change, ...]:
    """The changes the run wrote: its audit entries, all with ids above ``after`` (the log's newest
    id before the run wrote), so that the search is a range of the primary key and not a scan of
    the whole log (some 50 ms a form's check at 10,000 patients on PostgreSQL)."""
    entries = list(
        session.scalars(
            select(m.AuditEntry)
            .where(m.AuditEntry.id > after, m.AuditEntry.import_run_id == run_id)
            .order_by(m.AuditEntry.id)
        )
    )
    named = {e.patient_id for e in entries if e.patient_id is not None}
    patients = select(m.Patient.id, m.Patient.study_id)
    if len(named) <= 1000:  # a form's or a small upload's few patients; a large run reads them all
        patients = patients.where(m.Patient.id.in_(sorted(named)))
    study_ids = {pid: sid for pid, sid in session.execute(patients)}
    centres = {str(cid): name for cid, name in session.execute(select(m.Centre.id, m.Centre.name))}

    def change(e: m.AuditEntry) -> Change:
        study_id = study_ids.get(e.patient_id) if e.patient_id is not None else None
        if e.field == "centre_id" and e.table_name == "patient":
            # A move: shown by the centres' names, not their row ids ('centre_id: 21 -> 22').
            old = centres.get(e.old_value or "", e.old_value)
            new = centres.get(e.new_value or "", e.new_value)
            return Change(e.action, study_id, e.table_name, "centre", old, new)
        return Change(e.action, study_id, e.table_name, e.field, e.old_value, e.new_value)

    return tuple(
        change(e) for e in entries if e.field not in ("patient_id", "centre_id") or e.action == "update"
    )


def import_files(
    engine: Engine,
    patients: Path,
    *,
    long_sheets: AbcMapping[str, Path] | None = None,
    mapping: Mapping | None = None,
    actor: str,
    quarantine: Path | None = None,
    progress: Progress | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    before_write: Callable[[Session], None] | None = None,
    centres: Collection[str] | None = None,
) -> ImportReport:
    """Import a patients file (CSV, or a workbook with all sheets) and optional long-sheet files.

    Parameters
    ----------
    engine
        The registry (see :func:`bassinet.registry.store.make_engine`).
    patients
        A CSV file of one row per patient, or an XLSX workbook holding the patients
        sheet and any long sheets.
    long_sheets
        Further CSV files by sheet name: ``remissions``, ``mrd``, ``courses``,
        ``transplants``, ``events``.
    mapping
        The centre's column names and codes (:func:`bassinet.registry.mapping.load_mapping`).
    actor
        Who runs the import, for the audit trail.
    quarantine
        If given, commit the valid patients and write every row of the rejected ones,
        with its reasons, to this CSV file. If not, any problem rejects the whole import.
    reason
        Why the records change, stored in every audit row; needed to move a known
        patient to another centre.
    dry_run
        Write nothing: report what would be added, changed and refused.
    before_write
        Called with the session after every check passed and before the rows are
        written, in the same transaction (a merge deletes the duplicate there).
    centres
        The names of the centres whose patients this import may add or change (the
        importing user's scope); ``None``: every centre. A patient row naming another
        centre is a problem like any broken rule (refused, or quarantined).

    Raises
    ------
    ImportRejected
        If any row breaks a rule and no quarantine file was given; nothing is written.
    """
    mapping = mapping or Mapping()
    check_output_file(quarantine, option="--quarantine")
    require_current(engine)
    raw, sources = _assign_sheets(patients, long_sheets or {}, mapping)
    sheets: dict[str, _Sheet] = {}
    header_problems: list[Problem] = []
    for name in SHEETS:
        if name in raw:
            sheets[name], found = _map_columns(name, raw[name], mapping)
            header_problems.extend(found)
    if header_problems:
        raise ImportRejected(header_problems)
    parsed = _parse(sheets, mapping, progress)
    counts = {name: SheetCount(read=len(s.raw.rows)) for name, s in sheets.items()}
    started = dt.datetime.now(dt.UTC)
    with registry_session(engine, actor=actor) as session:
        if reason is not None and not reason.strip():
            raise DataError("--reason is empty: say why the records change")
        serialise_imports(session)  # a concurrent import of the same new centre waits, then sees it
        problems = parsed.problems + _check_against_registry(session, parsed, reason)
        problems += _outside(parsed, centres)
        problems += _locked_casebooks(session, parsed, list(sheets))
        rejected_rows: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        rejected_patients = set()
        for problem in problems:
            where = (problem.source, problem.sheet, problem.row or 0)
            rejected_rows[where].append(str(problem).split(": ", 1)[1])
            owner = parsed.owner.get(where)
            if owner is not None:
                rejected_patients.add(owner)
        if problems and quarantine is None and not dry_run:
            raise ImportRejected(problems)
        for study_id in rejected_patients:
            bundle = parsed.patients.get(study_id)
            if bundle is None:
                continue
            for record in [bundle.patient, *(r for rows in bundle.children.values() for r in rows)]:
                where = (record.source, record.sheet, record.row)
                if where not in rejected_rows:
                    rejected_rows[where].append(
                        f"not imported because other rows of patient '{study_id}' were rejected"
                    )
        for source, sheet_title, _row in rejected_rows:
            for name, sheet in sheets.items():
                if (sheet.raw.source, sheet.raw.title) == (source, sheet_title):
                    counts[name].rejected += 1
        good = [s for s in parsed.patients if s not in rejected_patients]
        run = m.ImportRun(
            started_at=started,
            actor=actor,
            sources=sources,
            counts={},
            quarantine_file=str(quarantine) if quarantine and problems else None,
        )
        session.add(run)
        session.flush()
        session.info["import_run_id"] = run.id
        files = ", ".join(Path(str(source["path"])).name for source in sources)
        session.info["reason"] = reason.strip() if reason else f"import run {run.id} ({files})"
        if before_write is not None:
            before_write(session)
        if progress:
            progress("writing", 0, len(good))
        newest = None
        if dry_run:
            with session.no_autoflush:  # anything pending is written (and audited) after it
                newest = session.scalar(select(func.max(m.AuditEntry.id)))
        _write(session, parsed, good, list(sheets), counts, progress)
        run.counts = {name: vars(c) for name, c in counts.items()}
        if dry_run:
            session.flush()
            changes = _changes_of_run(session, run.id, after=newest or 0)
            session.rollback()
            return ImportReport(run.id, counts, tuple(problems), None, dry_run=True, changes=changes)
        part = (
            _write_quarantine(quarantine, sheets, problems, rejected_rows)
            if quarantine and problems
            else None
        )
        try:
            session.commit()
        except BaseException:
            if part is not None:
                part.unlink(missing_ok=True)
            raise
        if part is not None and quarantine is not None:
            os.replace(part, quarantine)  # only once the valid rows are committed
        run_id = run.id
    return ImportReport(
        run_id, counts, tuple(problems), quarantine if quarantine is not None and problems else None
    )
