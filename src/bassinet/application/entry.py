"""Entry forms: create a patient, add and correct each record, under the import's own rules.

A form's values are checked by writing the patient's records in the import format with
the form's row in its place and running the import as a dry run
(:func:`bassinet.registry.import_files`), so every cell rule (:mod:`bassinet.registry.sheets`)
and every rule across records (:mod:`bassinet.registry.rules`, identity, allocation) applies
in the import's words; no rule is written twice. A problem of the form's row is shown beside
its field; a problem it causes in another record (a relapse now before the first remission)
is shown above the form. Only then is the change written, through the corrections of
:mod:`bassinet.application.records` (a correction needs a reason; both are audited as the
signed-in user).

Dates are read and shown in the user's date format and numbers with the user's decimal mark
(:class:`EntryFormat`); the registry stores them canonically (ISO dates, numbers).

Optimistic locking: a form carries the version it was read at, the id of the record's
latest audit entry (0 for none). A save is refused with :class:`RecordChanged` when the
record has a later entry, checked again inside the write's transaction while the import
lock is held, so two saves cannot both pass. Never a silent overwrite.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise
from bassinet.errors import DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from bassinet.registry.problems import Problem
    from bassinet.registry.sheets import Column

#: Date formats a user may choose for the forms: strftime pattern -> how it is shown.
DATE_FORMATS: dict[str, str] = {
    "%Y-%m-%d": "YYYY-MM-DD",
    "%d.%m.%Y": "DD.MM.YYYY",
    "%d/%m/%Y": "DD/MM/YYYY",
    "%m/%d/%Y": "MM/DD/YYYY",
}
ISO = "%Y-%m-%d"
DECIMAL_MARKS = (".", ",")

#: Each record kind (the import's sheet name) in words.
KINDS: dict[str, str] = {
    "patients": "patient",
    "remissions": "remission assessment",
    "mrd": "MRD measurement",
    "courses": "treatment course",
    "transplants": "transplant",
    "events": "event",
}
#: Patient fields that a form does not set: they belong to the centre and its study group.
FROM_CENTRE = ("study_group", "original_country")
#: Fields no form offers: an arm is recorded by randomisation (the Randomise button of the
#: protocol panel, which stores its stratum and decision with it), never typed; a historical
#: arm comes with the import of the trial's own records.
BY_RANDOMISATION = ("randomisation_arm", "randomisation_date")
#: The reason stored with a first entry (a new patient or a new record) when none is given.
FIRST_ENTRY = "entered with the web form"


@dataclass(frozen=True)
class EntryFormat:
    """How one user's forms show and read dates and numbers."""

    date_format: str = ISO
    decimal_mark: str = "."

    @property
    def date_pattern(self) -> str:
        """The date format in words, as a form's hint: ``DD.MM.YYYY``."""
        return DATE_FORMATS[self.date_format]

    def show(self, column: Column, text: str) -> str:
        """An import cell (ISO date, point decimals) in this format."""
        if not text:
            return text
        if column.kind == "date":
            return dt.date.fromisoformat(text).strftime(self.date_format)
        if column.kind in ("number", "mrd") and self.decimal_mark != ".":
            return text.replace(".", self.decimal_mark)
        return text


@dataclass(frozen=True)
class FieldError:
    """A rule broken by a form's field, in the import's words."""

    field: str
    rule: str


@dataclass(frozen=True)
class OtherProblem:
    """A rule that the form's values break in another record of the patient (or its own row)."""

    kind: str
    field: str
    value: str
    rule: str

    def __str__(self) -> str:
        return f"{KINDS.get(self.kind, self.kind)} {self.field} ({self.value}) {self.rule}"


@dataclass(frozen=True)
class Verdict:
    """What a form's values break: beside a field (``errors``) or elsewhere in the patient's records."""

    errors: tuple[FieldError, ...]
    elsewhere: tuple[OtherProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.elsewhere

    def by_field(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for error in self.errors:
            found.setdefault(error.field, []).append(error.rule)
        return found


class EntryRefused(DataError):
    """A form's values break rules; nothing was written. ``verdict`` says which."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        parts = [f"{e.field} {e.rule}" for e in verdict.errors] + [str(o) for o in verdict.elsewhere]
        super().__init__("refused, nothing written: " + "; ".join(parts))


@dataclass(frozen=True)
class Conflict:
    """A field changed by someone else since the form was opened."""

    field: str
    opened: str | None
    theirs: str | None
    yours: str | None


class RecordChanged(DataError):
    """The record changed after the form was read: nothing was written."""

    def __init__(self, who: str, at: dt.datetime, conflicts: tuple[Conflict, ...]) -> None:
        self.who, self.at, self.conflicts = who, at, conflicts
        shown = "; ".join(
            f"{c.field}: yours {c.yours or 'empty'}, theirs {c.theirs or 'empty'}" for c in conflicts
        )
        super().__init__(
            f"this record was changed by {who} at {at:%Y-%m-%d %H:%M:%S} UTC after you opened it; "
            f"nothing was saved{': ' + shown if shown else ''}"
        )


@dataclass(frozen=True)
class RecordForm:
    """A form as opened: the values in the user's format and the version they were read at."""

    kind: str
    patient_id: int | None
    study_id: str | None
    record_id: int | None
    values: Mapping[str, str]
    version: int
    centres: tuple[str, ...]


@dataclass(frozen=True)
class Saved:
    """What a save wrote: the patient (database id and study ID) and whether anything changed."""

    patient_id: int
    study_id: str
    changed: bool


# -- the user's format -----------------------------------------------------------------


def entry_format(actor: Actor, engine: Engine) -> EntryFormat:
    """The actor's date format and decimal mark (ISO and a point unless they chose others)."""
    from sqlalchemy.orm import Session

    from bassinet.registry.models import User

    with Session(engine) as session:
        user = session.get(User, actor.user_id)
        if user is None:
            return EntryFormat()
        chosen = user.date_format if user.date_format in DATE_FORMATS else ISO
        return EntryFormat(chosen or ISO, user.decimal_mark if user.decimal_mark in DECIMAL_MARKS else ".")


def set_entry_format(actor: Actor, engine: Engine, *, date_format: str, decimal_mark: str) -> EntryFormat:
    """Store the actor's own date format (a key of :data:`DATE_FORMATS`) and decimal mark."""
    if date_format not in DATE_FORMATS:
        raise DataError(f"date format {date_format!r} is not one of {', '.join(DATE_FORMATS.values())}")
    if decimal_mark not in DECIMAL_MARKS:
        raise DataError(f"decimal mark {decimal_mark!r} is not '.' or ','")
    from sqlalchemy.orm import Session

    from bassinet.registry.models import User

    with Session(engine) as session, session.begin():
        user = session.get(User, actor.user_id)
        if user is None:
            raise DataError(f"{actor.username} has no account whose settings could be stored")
        user.date_format, user.decimal_mark = date_format, decimal_mark
    return EntryFormat(date_format, decimal_mark)


# -- the fields of each form -----------------------------------------------------------


def form_fields(kind: str, *, new: bool = False) -> tuple[Column, ...]:
    """The import columns a form of ``kind`` shows: a new patient's include its ID and centre."""
    from bassinet.registry.corrections import NOT_CORRECTED
    from bassinet.registry.sheets import SHEETS

    if kind not in KINDS:
        raise DataError(f"no record kind '{kind}'; kinds: {', '.join(KINDS)}")
    columns = tuple(c for c in SHEETS[kind].columns if c.name not in BY_RANDOMISATION)
    if kind != "patients":
        return tuple(c for c in columns if c.name != "study_id")
    if new:
        return tuple(c for c in columns if c.name not in FROM_CENTRE)
    return tuple(c for c in columns if c.name not in NOT_CORRECTED)


def entry_centres(actor: Actor, engine: Engine) -> tuple[str, ...]:
    """The centres where ``actor`` may enter patients, by name."""
    authorise(actor, Action.EDIT_PATIENTS)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Centre

    allowed = actor.centres_for(Action.EDIT_PATIENTS)
    query = select(Centre.name).order_by(Centre.name)
    if allowed is not None:
        query = query.where(Centre.id.in_(sorted(allowed)))
    with Session(engine) as session:
        return tuple(session.scalars(query))


# -- reading a record ------------------------------------------------------------------


def _patient(actor: Actor, engine: Engine, patient_id: int) -> str:
    """The study ID of ``patient_id`` if the actor may edit it ("no patient with id" otherwise)."""
    authorise(actor, Action.EDIT_PATIENTS)
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient

    with Session(engine) as session:
        return get_patient(session, actor, patient_id, Action.EDIT_PATIENTS).study_id


def _table(kind: str) -> str:
    from bassinet.registry import models as m
    from bassinet.registry.corrections import RECORD_KINDS

    model = m.Patient if kind == "patients" else RECORD_KINDS[kind]
    return str(model.__tablename__)


def _version(session: Session, kind: str, record_id: int) -> int:
    from sqlalchemy import func, select

    from bassinet.registry import models as m
    from bassinet.registry.corrections import RECORD_KINDS

    # The record's patient too (every entry of a patient's record carries the patient's id): the
    # audit log's index on patient_id finds the patient's few entries, where table and record
    # alone made PostgreSQL scan the whole log back from its newest id (80 ms at 10,000 patients).
    if kind == "patients":
        patient = m.AuditEntry.patient_id == record_id
    else:
        table = RECORD_KINDS[kind].__table__
        owner = select(table.c.patient_id).where(table.c.id == record_id).scalar_subquery()
        patient = m.AuditEntry.patient_id == owner
    latest = session.scalar(
        select(func.max(m.AuditEntry.id)).where(
            patient,
            m.AuditEntry.table_name == _table(kind),
            m.AuditEntry.record_id == record_id,
        )
    )
    return int(latest or 0)


def _row(
    engine: Engine, study_id: str, kind: str, record_id: int | None
) -> tuple[dict[str, list[dict[str, str]]], int]:
    """The patient's import rows and the index of the form's row in ``rows[kind]``."""
    from bassinet.registry.corrections import record_key, rows_of
    from bassinet.registry.sheets import SHEETS

    rows = rows_of(engine, [study_id])
    if kind == "patients":
        return rows, 0
    if record_id is None:
        return rows, len(rows[kind])
    key = record_key(engine, study_id, kind, record_id)
    for index, row in enumerate(rows[kind]):
        if tuple(row[k] for k in SHEETS[kind].key) == key:
            return rows, index
    raise DataError(f"{study_id} has no {kind} record {record_id}")


def open_form(
    actor: Actor,
    engine: Engine,
    kind: str,
    *,
    patient_id: int | None = None,
    record_id: int | None = None,
    fmt: EntryFormat | None = None,
) -> RecordForm:
    """A form of ``kind``: empty for a new patient or record, else the stored values and version.

    ``patient_id`` None is a new patient; with ``kind`` "patients" it is that patient's
    own fields; otherwise ``record_id`` None is a new record of ``kind``.
    """
    fmt = fmt or EntryFormat()
    new = patient_id is None
    columns = form_fields(kind, new=new)
    if patient_id is None:
        if kind != "patients":
            raise DataError("a new record belongs to a patient: name the patient")
        return RecordForm(kind, None, None, None, {}, 0, entry_centres(actor, engine))
    study_id = _patient(actor, engine, patient_id)
    target = patient_id if kind == "patients" else record_id
    if target is None:
        return RecordForm(kind, patient_id, study_id, None, {}, 0, ())
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        version = _version(session, kind, target)  # read first: a later change is then a conflict
    rows, index = _row(engine, study_id, kind, record_id)
    row = rows[kind][index]
    values = {c.name: fmt.show(c, row.get(c.name, "")) for c in columns}
    return RecordForm(kind, patient_id, study_id, record_id, values, version, ())


# -- checking a form -------------------------------------------------------------------


def _canonical(
    columns: tuple[Column, ...], values: Mapping[str, str], fmt: EntryFormat
) -> tuple[dict[str, str], list[FieldError]]:
    """The form's values as import cells (ISO dates, point decimals), and the dates not understood."""
    from bassinet.registry.mapping import Mapping as ImportMapping
    from bassinet.registry.sheets import CellError, parse_date

    marks = ImportMapping(decimal=fmt.decimal_mark)
    cells: dict[str, str] = {}
    errors: list[FieldError] = []
    for column in columns:
        text = (values.get(column.name) or "").strip()
        if text and column.kind == "date" and fmt.date_format != ISO:
            try:
                text = parse_date(text, fmt.date_format).isoformat()
            except CellError as exc:
                errors.append(FieldError(column.name, str(exc).replace(fmt.date_format, fmt.date_pattern)))
        elif text and column.kind in ("number", "mrd"):
            text = marks.number_text(text)
        cells[column.name] = text
    return cells, errors


def _dry_run(engine: Engine, rows: dict[str, list[dict[str, str]]], actor: str) -> tuple[Problem, ...]:
    """What the import says of ``rows``, written nowhere (the import's dry run)."""
    from bassinet.registry import import_files
    from bassinet.registry.import_format import write_rows

    with tempfile.TemporaryDirectory(prefix="bassinet-form-") as folder:
        paths = write_rows(rows, Path(folder))
        patients = paths.pop("patients")
        present = {name: path for name, path in paths.items() if name in rows}
        report = import_files(engine, patients, long_sheets=present, actor=actor, dry_run=True)
    return report.rejected


#: The import's words that speak of its file or its command line, and a form user's words
#: for them (a cold review found "the file says empty" and "give --reason" beside a field).
#: Only the words change: the rules are the import's, checked once (see the module docstring).
FORM_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"give --reason to move it \(or use `bassinet move`\)"),
        "a move to another centre is not made with this form: ask the registry's administrator",
    ),
    (re.compile(r"\bthe file says empty\b"), "the form leaves it empty"),
    (re.compile(r"\bthe file says\b"), "the form says"),
    (re.compile(r"\bthe file has no column\b"), "the form has no field for it"),
    (re.compile(r"\bare not changed by import\b"), "are not changed with this form"),
)


def form_words(rule: str) -> str:
    """An import problem's rule in a form user's words: no file, no command-line option.

    ``"..., the file says empty; ... are not changed by import"`` becomes
    ``"..., the form leaves it empty; ... are not changed with this form"``.
    """
    for pattern, words in FORM_WORDS:
        rule = pattern.sub(words, rule)
    return rule


def _verdict(
    problems: tuple[Problem, ...], kind: str, row: int, fields: set[str], known: list[FieldError]
) -> Verdict:
    from bassinet.registry.problems import show

    errors = list(known)
    taken = {e.field for e in known}
    elsewhere: list[OtherProblem] = []
    for p in problems:
        sheet = Path(p.source).stem
        if sheet == kind and p.row == row + 2 and p.field in fields:
            if p.field not in taken:
                errors.append(FieldError(p.field, form_words(p.rule)))
            continue
        elsewhere.append(OtherProblem(sheet, p.field or p.column or "", show(p.value), form_words(p.rule)))
    return Verdict(tuple(errors), tuple(dict.fromkeys(elsewhere)))


@dataclass(frozen=True)
class _Entry:
    rows: dict[str, list[dict[str, str]]]
    index: int
    cells: dict[str, str]
    study_id: str
    early: list[FieldError]
    taken: bool = False  # a new patient's study ID is already in the registry


def _new_patient_row(engine: Engine, cells: dict[str, str]) -> dict[str, str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload

    from bassinet.registry.import_format import cell
    from bassinet.registry.models import Centre

    row = dict(cells)
    with Session(engine) as session:
        centre = session.scalars(
            select(Centre)
            .where(Centre.name == cells.get("centre", ""))
            .options(selectinload(Centre.study_group))
        ).first()
        group = centre.study_group if centre is not None else None
    row["study_group"] = group.name if group else ""
    row["original_country"] = cell(group.original_country) if group else ""
    return row


def _entry(
    actor: Actor,
    engine: Engine,
    kind: str,
    values: Mapping[str, str],
    fmt: EntryFormat,
    patient_id: int | None,
    record_id: int | None,
) -> _Entry:
    columns = form_fields(kind, new=patient_id is None)
    cells, early = _canonical(columns, values, fmt)
    if patient_id is None:
        if kind != "patients":
            raise DataError("a new record belongs to a patient: name the patient")
        centre = cells.get("centre", "")
        if centre and centre not in entry_centres(actor, engine):
            early.append(FieldError("centre", "is not a centre where you may enter patients"))
        study_id = cells.get("study_id", "")
        taken = bool(study_id) and _known(engine, study_id)
        if taken:
            early.append(
                FieldError("study_id", "is already in the registry: a study ID is one patient; open it there")
            )
        return _Entry({"patients": [_new_patient_row(engine, cells)]}, 0, cells, study_id, early, taken)
    study_id = _patient(actor, engine, patient_id)
    rows, index = _row(engine, study_id, kind, record_id)
    if kind == "patients":
        rows["patients"][0].update(cells)
    elif record_id is None:
        rows[kind].append({"study_id": study_id, **cells})
    else:
        rows[kind][index].update(cells)
    return _Entry(rows, index, cells, study_id, early)


def _rule_problems(engine: Engine, entry: _Entry, actor: str) -> tuple[Problem, ...]:
    """The import rules' problems with the form's rows (a dry run), none for a study ID in use.

    A new patient whose study ID is already in the registry is refused by that alone: its
    rows are not compared with the stored patient, whose centre, arm and dates a user of
    another centre must not learn (an out-of-scope patient is "not found", never described).
    """
    from bassinet.registry.signoff import CasebookLocked

    if entry.taken:
        return ()
    try:
        return _dry_run(engine, entry.rows, actor)
    except CasebookLocked as exc:  # the write path's rule, shown beside the field it refuses
        entry.early.append(FieldError(exc.field, str(exc)))
        return ()


def _known(engine: Engine, study_id: str) -> bool:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Patient

    with Session(engine) as session:
        return session.scalar(select(Patient.id).where(Patient.study_id == study_id)) is not None


def check_entry(
    actor: Actor,
    engine: Engine,
    kind: str,
    values: Mapping[str, str],
    *,
    patient_id: int | None = None,
    record_id: int | None = None,
    fmt: EntryFormat | None = None,
) -> Verdict:
    """Every rule of the import that the form's ``values`` (text as typed) break; writes nothing.

    ``patient_id`` and ``record_id`` as for :func:`open_form`.
    """
    authorise(actor, Action.EDIT_PATIENTS)  # first, as in save_entry
    fmt = fmt or EntryFormat()
    entry = _entry(actor, engine, kind, values, fmt, patient_id, record_id)
    problems = _rule_problems(engine, entry, actor.username)
    fields = {c.name for c in form_fields(kind, new=patient_id is None)}
    return _verdict(problems, kind, entry.index, fields, entry.early)


# -- saving a form ---------------------------------------------------------------------


def _lock(kind: str, record_id: int, version: int, cells: Mapping[str, str]) -> Callable[[Session], None]:
    """A check, run in the write's transaction, that the record is still at ``version``."""

    def check(session: Session) -> None:
        from sqlalchemy import select

        from bassinet.registry.models import AuditEntry

        if _version(session, kind, record_id) == version:
            return
        later = list(
            session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.table_name == _table(kind),
                    AuditEntry.record_id == record_id,
                    AuditEntry.id > version,
                )
                .order_by(AuditEntry.id)
            )
        )
        opened: dict[str, str | None] = {}
        theirs: dict[str, str | None] = {}
        for entry in later:
            opened.setdefault(entry.field, entry.old_value)
            theirs[entry.field] = entry.new_value
        conflicts = tuple(
            Conflict(name, opened[name], theirs[name], cells.get(name) or None)
            for name in theirs
            if name in cells
        )
        last = later[-1]
        raise RecordChanged(last.actor, last.at, conflicts)

    return check


def save_entry(
    actor: Actor,
    engine: Engine,
    kind: str,
    values: Mapping[str, str],
    *,
    patient_id: int | None = None,
    record_id: int | None = None,
    version: int = 0,
    reason: str | None = None,
    fmt: EntryFormat | None = None,
) -> Saved:
    """Check the form under every import rule, then write it; :class:`EntryRefused` if it breaks one.

    A new patient or record may come without a reason (stored as "entered with the web
    form"); a change of stored values needs one. An edit is refused with
    :class:`RecordChanged` if the record changed after ``version`` was read.
    """
    from sqlalchemy.orm import Session

    from bassinet.application import records

    authorise(
        actor, Action.EDIT_PATIENTS
    )  # first: no rule runs, and no rule's words, for a user who may not edit
    fmt = fmt or EntryFormat()
    editing = patient_id is not None and (kind == "patients" or record_id is not None)
    why = (reason or "").strip()
    target = patient_id if kind == "patients" else record_id
    entry = _entry(actor, engine, kind, values, fmt, patient_id, record_id)
    if editing:
        assert target is not None
        with Session(engine) as session:  # early, before the checks; again inside the write
            _lock(kind, target, version, entry.cells)(session)
    if editing and not why:
        entry.early.append(FieldError("reason", "is required: say why a stored value changes"))
    problems = _rule_problems(engine, entry, actor.username)
    fields = {c.name for c in form_fields(kind, new=patient_id is None)}
    verdict = _verdict(problems, kind, entry.index, fields, entry.early)
    if not verdict.ok:
        raise EntryRefused(verdict)
    if patient_id is None:
        created = _create_patient(actor, engine, entry)
        return Saved(created, entry.study_id, True)
    if not editing:
        done = records.add_record(actor, engine, entry.study_id, kind, entry.cells, reason=why or FIRST_ENTRY)
        return Saved(patient_id, entry.study_id, done.changed)
    assert target is not None
    guard = _lock(kind, target, version, entry.cells)
    if kind == "patients":
        current, _ = _row(engine, entry.study_id, kind, None)
        changes = {k: v for k, v in entry.cells.items() if current["patients"][0].get(k, "") != v}
        if not changes:
            return Saved(patient_id, entry.study_id, False)
        done = records.correct(actor, engine, entry.study_id, changes, reason=why, before_write=guard)
    else:
        assert record_id is not None
        done = records.correct_record(
            actor, engine, entry.study_id, kind, record_id, entry.cells, reason=why, before_write=guard
        )
    return Saved(patient_id, entry.study_id, done.changed)


def _create_patient(actor: Actor, engine: Engine, entry: _Entry) -> int:
    """Import the new patient's row (audited as the actor, "entered with the web form")."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry import import_files
    from bassinet.registry.import_format import write_rows
    from bassinet.registry.models import Centre, Patient

    centre = entry.cells.get("centre", "")
    with Session(engine) as session:
        centre_id = session.scalar(select(Centre.id).where(Centre.name == centre))
    authorise(actor, Action.EDIT_PATIENTS, centre_id if centre_id is not None else -1)

    def still_new(session: Session) -> None:
        found = session.scalar(select(Patient.id).where(Patient.study_id == entry.study_id))
        if found is not None:
            raise EntryRefused(Verdict((FieldError("study_id", "is already in the registry"),), ()))

    with tempfile.TemporaryDirectory(prefix="bassinet-form-") as folder:
        paths = write_rows(entry.rows, Path(folder))
        import_files(
            engine, paths["patients"], actor=actor.username, reason=FIRST_ENTRY, before_write=still_new
        )
    with Session(engine) as session:
        created = session.scalar(select(Patient.id).where(Patient.study_id == entry.study_id))
    assert created is not None
    return int(created)


# -- a patient's records, to choose one to correct -------------------------------------


@dataclass(frozen=True)
class RecordTable:
    """The records of one kind: their ids and their form fields, in the user's format."""

    kind: str
    label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


@dataclass(frozen=True)
class PatientEntries:
    """A patient's records, each with the id its correction form needs."""

    patient_id: int
    study_id: str
    centre: str
    tables: tuple[RecordTable, ...]


def patient_entries(
    actor: Actor, engine: Engine, patient_id: int, *, fmt: EntryFormat | None = None
) -> PatientEntries:
    """Every record of a patient the actor may edit, by kind, for the page that opens their forms."""
    fmt = fmt or EntryFormat()
    authorise(actor, Action.EDIT_PATIENTS)
    from sqlalchemy.orm import Session

    from bassinet.access.scope import get_patient
    from bassinet.registry.import_format import patient_rows
    from bassinet.registry.sheets import SHEETS

    with Session(engine) as session:
        found = get_patient(session, actor, patient_id, Action.EDIT_PATIENTS)
        rows = patient_rows(found)
        tables = []
        for kind in KINDS:
            if kind == "patients":
                continue
            columns = form_fields(kind)
            spec = SHEETS[kind]
            ids = {
                tuple(cell_of(getattr(r, k)) for k in spec.key): r.id
                for r in getattr(found, _ATTRIBUTE[kind])
            }
            shown = tuple(
                (
                    ids[tuple(row[k] for k in spec.key)],
                    tuple(fmt.show(c, row.get(c.name, "")) for c in columns),
                )
                for row in rows[kind]
            )
            tables.append(RecordTable(kind, KINDS[kind], tuple(c.name for c in columns), shown))
        return PatientEntries(found.id, found.study_id, found.centre.name, tuple(tables))


_ATTRIBUTE = {
    "remissions": "remissions",
    "mrd": "mrd",
    "courses": "courses",
    "transplants": "transplants",
    "events": "events",
}


def cell_of(value: object) -> str:
    """A stored value as an import cell (:func:`bassinet.registry.import_format.cell`)."""
    from bassinet.registry.import_format import cell

    return cell(value)
