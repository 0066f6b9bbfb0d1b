"""Reading CSV files and XLSX workbooks into sheets of raw cells, losing nothing.

Cells are kept as the file has them (text from CSV; text, numbers, dates from XLSX):
interpretation is :mod:`.sheets`' job. Row numbers are the ones a spreadsheet shows,
the header being row 1. Blank rows are skipped; everything else is kept, including
cells beyond the header, which are reported rather than dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bassinet.errors import DataError

Cell = str | int | float | bool | dt.date | dt.datetime | None

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}


@dataclass(frozen=True)
class RawSheet:
    """The header and rows of one sheet as read from a file."""

    source: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header(source: str, title: str, cells: tuple[Cell, ...]) -> tuple[str, ...]:
    names = [("" if c is None else str(c)).strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise DataError(f"{source} [{title}]: row 1 is empty: the first row must name the columns")
    for index, name in enumerate(names, start=1):
        if not name:
            raise DataError(f"{source} [{title}]: row 1, column {index} has no name")
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise DataError(f"{source} [{title}]: row 1 names the column '{name}' twice")
        seen.add(name.casefold())
    return tuple(names)


def read_csv(path: Path, *, encoding: str = "utf-8-sig", delimiter: str | None = None) -> RawSheet:
    """Read a CSV file; the delimiter (comma, semicolon or tab) is detected from the header."""
    source = str(path)
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{source}: the file is empty: expected a header row and data rows")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{source}: not a spreadsheet: it holds binary data (a NUL byte at offset "
            f"{nul}); expected a CSV text file or an .xlsx workbook"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not valid {encoding}; "
            "the file is in another encoding: name it with --encoding (for example latin-1) "
            "or `encoding:` in the mapping file"
        ) from exc
    except LookupError as exc:
        raise DataError(f"{source}: unknown encoding {encoding!r}") from exc
    first_line = text.splitlines()[0] if text else ""
    if delimiter is None:
        counts = {d: first_line.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise DataError(f"{source}: line {reader.line_num}: not valid CSV: {exc}") from exc
    header = _header(source, path.stem, tuple(records[0]))
    rows = []
    for number, record in enumerate(records[1:], start=2):
        cells = tuple(record)
        if all(_blank(c) for c in cells):
            continue
        rows.append((number, cells))
    return RawSheet(source, path.stem, header, tuple(rows))


def read_xlsx(path: Path) -> list[RawSheet]:
    """Read every sheet of an .xlsx workbook."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    source = str(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise DataError(f"{source}: not a readable .xlsx workbook: {exc}") from exc
    sheets = []
    try:
        for worksheet in workbook.worksheets:
            iterator = worksheet.iter_rows(values_only=True)
            first = next(iterator, None)
            if first is None or all(_blank(c) for c in first):
                continue  # an empty sheet holds nothing to lose
            header = _header(source, worksheet.title, tuple(first))
            rows = []
            for number, values in enumerate(iterator, start=2):
                cells = tuple(values)
                if all(_blank(c) for c in cells):
                    continue
                rows.append((number, cells))
            sheets.append(RawSheet(source, worksheet.title, header, tuple(rows)))
    finally:
        workbook.close()
    if not sheets:
        raise DataError(f"{source}: the workbook is empty: no sheet has a header row")
    return sheets


def read_any(path: Path, *, encoding: str = "utf-8-sig", delimiter: str | None = None) -> list[RawSheet]:
    """Read a CSV file or an XLSX workbook, telling them apart by content as well as suffix."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"{path}: the old .xls format is not read; save it as .xlsx or CSV")
    if magic == b"PK\x03\x04":
        return read_xlsx(path)
    if suffix in XLSX_SUFFIXES:
        raise DataError(f"{path}: not a spreadsheet: an .xlsx workbook is a zip archive, this is not")
    return [read_csv(path, encoding=encoding, delimiter=delimiter)]
