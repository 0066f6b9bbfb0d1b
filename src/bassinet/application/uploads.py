"""Import by upload (the web page for data managers): a dry run, then the same file imported.

Unlike ``bassinet import``, which needs the ``import`` permission over the whole study, an
upload may come from a data manager of some centres: every patient row must then name one
of those centres, and a row naming another is refused like any broken rule (it shows in
the dry run's refusals and goes to the quarantine file), so nothing outside the actor's
scope is added or changed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor, authorise
from bassinet.errors import DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.registry import ImportReport
    from bassinet.registry.sheets import Column


@dataclass(frozen=True)
class ImportScope:
    """The centres an actor may import for: ``names`` (``None``: every centre) and their ids."""

    names: tuple[str, ...] | None
    ids: tuple[int, ...] | None


def import_scope(actor: Actor, engine: Engine) -> ImportScope:
    """Where ``actor`` may import; an AccessDenied if nowhere."""
    authorise(actor, Action.IMPORT)
    ids = actor.centres_for(Action.IMPORT)
    if ids is None:
        return ImportScope(None, None)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Centre

    with Session(engine) as session:
        rows = session.execute(select(Centre.id, Centre.name).where(Centre.id.in_(ids)).order_by(Centre.name))
        pairs = list(rows)
    return ImportScope(tuple(name for _id, name in pairs), tuple(i for i, _name in pairs))


def upload_import(
    actor: Actor,
    engine: Engine,
    patients: Path,
    *,
    mapping: Path | None,
    dry_run: bool,
    quarantine: Path | None = None,
) -> ImportReport:
    """Check (``dry_run``) or import an uploaded patients file or workbook as ``actor``.

    The importer's rules and size limits apply unchanged (:func:`bassinet.registry.import_files`);
    rows of centres outside the actor's import scope are refused. With ``quarantine`` the
    valid patients are committed and the refused rows written there.
    """
    scope = import_scope(actor, engine)
    from bassinet.registry import import_files, load_mapping

    return import_files(
        engine,
        patients,
        mapping=load_mapping(mapping),
        actor=actor.username,
        quarantine=None if dry_run else quarantine,
        dry_run=dry_run,
        centres=scope.names,
    )


# -- what each file kind holds (from the import's own column definitions) ----------------------


@dataclass(frozen=True)
class ColumnGuide:
    """One column of an import file as the upload page explains it."""

    name: str
    required: bool
    meaning: str
    allowed: str


@dataclass(frozen=True)
class FileKind:
    """One kind of import file (a sheet of the workbook, or a CSV file): what it is and its columns."""

    name: str
    doc: str
    columns: tuple[ColumnGuide, ...]


def _allowed(column: Column) -> str:
    from bassinet.registry.vocabulary import label

    if column.kind == "code" and column.codes is not None:
        codes = [str(member.value) for member in column.codes]
        return "one of " + ", ".join(c if label(c) == c else f"{c} ({label(c)})" for c in codes)
    if column.kind == "yes_no":
        return "yes or no"
    if column.kind == "date":
        return "a date, YYYY-MM-DD"
    if column.kind == "number":
        if column.minimum is not None and column.maximum is not None:
            return f"a number from {column.minimum:,.10g} to {column.maximum:,.10g}"
        return "a number"
    if column.kind == "mrd":
        return "a fraction from 0 to 1 (1% is 0.01), 'negative', or 'PNQ' (positive, not quantifiable)"
    if column.kind == "hla":
        return "alleles matched/typed: 8/8, 9/10, 12/12 (typed: 8, 10 or 12)"
    return f"text, up to {column.max_length} characters" if column.max_length else "text"


def file_kinds() -> tuple[FileKind, ...]:
    """Every kind of import file with its columns, their meaning and the values allowed.

    Read from the import's column definitions (:data:`bassinet.registry.sheets.SHEETS`): one
    source, so the page cannot disagree with the rules that check the file.
    """
    from bassinet.registry.sheets import SHEETS

    return tuple(
        FileKind(
            sheet.name,
            sheet.doc,
            tuple(
                ColumnGuide(
                    c.name, c.required, c.doc or c.name.replace("_", " ").capitalize() + ".", _allowed(c)
                )
                for c in sheet.columns
            ),
        )
        for sheet in SHEETS.values()
    )


def _example(column: Column, centre: str) -> str:
    """A value of ``column`` for the template's example row (empty for an optional column)."""
    if column.name == "study_id":
        return "EXAMPLE-001"
    if column.name == "centre":
        return centre
    if not column.required:
        return ""
    if column.kind == "code" and column.codes is not None:
        return str(next(iter(column.codes)).value)
    if column.kind == "date":
        return "2024-01-15" if column.name == "date_of_birth" else "2024-06-03"
    if column.kind == "yes_no":
        return "no"
    if column.kind == "number":
        return "10"
    if column.kind == "mrd":
        return "0.001"
    if column.kind == "hla":
        return "10/10"
    return "text"


def template_csv(actor: Actor, engine: Engine, kind: str) -> str:
    """A CSV template of the file ``kind``: its header row and one example row.

    The columns are the import's (:func:`file_kinds`); the example fills the required ones
    (the centre is the first where ``actor`` may import) and leaves the optional ones empty.
    """
    scope = import_scope(actor, engine)
    from bassinet.registry.escaping import spreadsheet_cell
    from bassinet.registry.sheets import SHEETS

    if kind not in SHEETS:
        raise DataError(f"no file kind '{kind}'; kinds: {', '.join(SHEETS)}")
    centre = scope.names[0] if scope.names else "Your centre"
    columns = SHEETS[kind].columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([spreadsheet_cell(_example(c, centre)) for c in columns])  # a centre "=..." is text
    return out.getvalue()
