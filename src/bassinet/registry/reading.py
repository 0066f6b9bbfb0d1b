"""Reading CSV files and XLSX workbooks into sheets of raw cells, losing nothing.

Cells are kept as the file has them (text from CSV; text, numbers, dates from XLSX):
interpretation is :mod:`.sheets`' job. Row numbers are the ones a spreadsheet shows,
the header being row 1. Blank rows are skipped; everything else is kept, including
cells beyond the header, which are reported rather than dropped.

Nothing in a workbook is lost without a word: a hidden sheet, a merged range, a formula
whose result was never saved, and an error value such as ``#N/A`` are each refused with
their cell. Before anything is parsed, a file is checked against :class:`Limits`
(its size, a workbook's uncompressed size, rows and cells), so that a small hostile
file (a zip bomb, a sheet claiming a million rows) is refused at once.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from bassinet.errors import ConfigurationError, DataError
from bassinet.registry.problems import ImportRejected, Problem

Cell = str | int | float | bool | dt.date | dt.datetime | None

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}


@dataclass(frozen=True)
class Limits:
    """How large an input may be; each limit can be set by an environment variable.

    The defaults hold a registry of 200,000 patients in one file with room to spare
    and keep a reader's memory to a few gigabytes at most.
    """

    #: Size of one input file, in bytes (``BASSINET_MAX_INPUT_BYTES``).
    input_bytes: int = field(default=1 << 30, metadata={"env": "BASSINET_MAX_INPUT_BYTES"})
    #: Uncompressed size of a workbook's parts, in bytes (``BASSINET_MAX_XLSX_BYTES``).
    xlsx_bytes: int = field(default=2 << 30, metadata={"env": "BASSINET_MAX_XLSX_BYTES"})
    #: Rows of one sheet, header included (``BASSINET_MAX_ROWS``); Excel's own limit.
    rows: int = field(default=1_048_576, metadata={"env": "BASSINET_MAX_ROWS"})
    #: Columns of one sheet (``BASSINET_MAX_COLUMNS``).
    columns: int = field(default=1_000, metadata={"env": "BASSINET_MAX_COLUMNS"})
    #: Cells of one sheet (``BASSINET_MAX_CELLS``).
    cells: int = field(default=50_000_000, metadata={"env": "BASSINET_MAX_CELLS"})

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, overridden by any of the environment variables above."""
        values: dict[str, int] = {}
        for item in fields(cls):
            text = os.environ.get(item.metadata["env"])
            if text is None:
                continue
            try:
                values[item.name] = int(text)
            except ValueError:
                raise ConfigurationError(f"{item.metadata['env']} is {text!r}: give a whole number") from None
            if values[item.name] <= 0:
                raise ConfigurationError(f"{item.metadata['env']} is {text!r}: give a positive number")
        return cls(**values)


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


def _read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; a DataError for anything else."""
    _read_bounded_size(path, limit)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: the file grew past the limit of {limit:,} bytes while being read")
    return data


def _bom_hint(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return " (it starts with a UTF-16 byte-order mark: try --encoding utf-16)"
    return ""


def read_csv(
    path: Path,
    *,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    limits: Limits | None = None,
) -> RawSheet:
    """Read a CSV file; the delimiter (comma, semicolon or tab) is detected from the header."""
    limits = limits or Limits.from_environment()
    source = str(path)
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise DataError(
            f"{source}: delimiter {delimiter!r} is not one character other than a quote or newline"
        )
    data = _read_bounded(path, limits.input_bytes)
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError as exc:
        raise DataError(f"{source}: unknown encoding {encoding!r}") from exc
    if not data.strip():
        raise DataError(f"{source}: the file is empty: expected a header row and data rows")
    nul = -1 if wide else data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{source}: not a spreadsheet: it holds binary data (a NUL byte at offset "
            f"{nul}){_bom_hint(data)}; expected a CSV text file or an .xlsx workbook"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not valid {encoding}; "
            "the file is in another encoding: name it with --encoding (for example latin-1) "
            f"or `encoding:` in the mapping file{_bom_hint(data)}"
        ) from exc
    del data
    if not text.strip() or "\x00" in text:
        raise DataError(
            f"{source}: the file is empty or holds binary data: expected a header row and data rows"
        )
    first_line = text.splitlines()[0] if text else ""
    if delimiter is None:
        counts = {d: first_line.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    header: tuple[str, ...] = ()
    cells_read = 0
    try:
        for number, record in enumerate(reader, start=1):
            cells_read += len(record)
            if cells_read > limits.cells:
                raise DataError(
                    f"{source}: more than {limits.cells:,} cells (BASSINET_MAX_CELLS): split the file"
                )
            if number > limits.rows:
                raise DataError(
                    f"{source}: more than {limits.rows:,} rows (BASSINET_MAX_ROWS): split the file"
                )
            if number == 1:
                header = _header(source, path.stem, tuple(record))
                continue
            cells = tuple(record)
            if all(_blank(c) for c in cells):
                continue
            rows.append((number, cells))
    except csv.Error as exc:
        raise DataError(f"{source}: line {reader.line_num}: not valid CSV: {exc}") from exc
    return RawSheet(source, path.stem, header, tuple(rows))


#: The error values a spreadsheet cell can hold instead of a value.
ERROR_VALUES = frozenset(
    {"#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d+)"')
_CELL_WHOLE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3}\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_CACHED = re.compile(rb"<(?:\w+:)?v\b[^>/]*>[^<]")  # a saved result; <v></v> is none
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([^"]+)"')


@dataclass
class _SheetScan:
    """What a worksheet's XML holds, found by scanning it before it is parsed."""

    max_row: int = 0
    max_column: int = 0
    cells: int = 0
    merged: list[str] = field(default_factory=list)
    uncached_formulas: list[str] = field(default_factory=list)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _scan_part(chunk: bytes, scan: _SheetScan) -> None:
    rows = [int(r) for r in _ROW.findall(chunk)]
    refs = _CELL_REF.findall(chunk)
    if rows:
        scan.max_row = max(scan.max_row, *rows)
    if refs:
        scan.max_row = max(scan.max_row, *(int(r) for _, r in refs))
        scan.max_column = max(scan.max_column, *(_column_number(c) for c, _ in refs))
    scan.cells += len(_CELL.findall(chunk))
    scan.merged += [m.decode("ascii", "replace") for m in _MERGE.findall(chunk)]
    if b"<f" in chunk or b":f" in chunk:
        for attributes, body in _CELL_WHOLE.findall(chunk):
            if body and _FORMULA.search(body) and not _CACHED.search(body):
                ref = _REF.search(attributes)
                scan.uncached_formulas.append(ref.group(1).decode() if ref else "?")


def _scan_sheet(archive: zipfile.ZipFile, part: str, where: str, limits: Limits) -> _SheetScan:
    """Scan one worksheet part in pieces, refusing it as soon as it passes a limit."""
    scan = _SheetScan()
    carry = b""
    with archive.open(part) as handle:
        while True:
            block = handle.read(1 << 20)
            buffer = carry + block
            cut = len(buffer) if not block else buffer.rfind(b"row>") + 4
            if cut < 4:
                carry = buffer
                continue
            _scan_part(buffer[:cut], scan)
            carry = buffer[cut:]
            if scan.max_row > limits.rows:
                raise DataError(
                    f"{where}: the sheet reaches row {scan.max_row:,}, over the limit of "
                    f"{limits.rows:,} rows (BASSINET_MAX_ROWS)"
                )
            if scan.max_column > limits.columns:
                raise DataError(
                    f"{where}: the sheet reaches column {_column_letters(scan.max_column)} "
                    f"({scan.max_column:,}), over the limit of {limits.columns:,} columns "
                    "(BASSINET_MAX_COLUMNS)"
                )
            if scan.cells > limits.cells or scan.max_row * max(scan.max_column, 1) > limits.cells:
                raise DataError(
                    f"{where}: the sheet spans more than {limits.cells:,} cells (BASSINET_MAX_CELLS)"
                )
            if not block:
                return scan


def _open_workbook(path: Path, limits: Limits) -> zipfile.ZipFile:
    """The workbook's zip archive, once its size and declared uncompressed size are within limits."""
    _ = _read_bounded_size(path, limits.input_bytes)
    try:
        archive = zipfile.ZipFile(path)
        declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook: {exc}") from exc
    if declared > limits.xlsx_bytes:
        archive.close()
        raise DataError(
            f"{path}: the workbook unpacks to {declared:,} bytes, over the limit of "
            f"{limits.xlsx_bytes:,} (BASSINET_MAX_XLSX_BYTES): a compressed file this large is refused"
        )
    return archive


def _read_bounded_size(path: Path, limit: int) -> int:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a device, pipe or socket): give a CSV or .xlsx file")
    size = path.stat().st_size
    if size > limit:
        raise DataError(
            f"{path}: the file is {size:,} bytes, over the limit of {limit:,} (BASSINET_MAX_INPUT_BYTES)"
        )
    return size


def read_xlsx(path: Path, *, limits: Limits | None = None) -> list[RawSheet]:
    """Read every sheet of an .xlsx workbook, refusing what cannot be read without loss."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    limits = limits or Limits.from_environment()
    source = str(path)
    archive = _open_workbook(path, limits)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        archive.close()
        raise DataError(f"{source}: not a readable .xlsx workbook: {exc}") from exc
    sheets = []
    problems: list[Problem] = []
    try:
        for worksheet in workbook.worksheets:
            title = worksheet.title
            where = f"{source} [{title}]"
            if worksheet.sheet_state != "visible":
                problems.append(
                    Problem(
                        source,
                        title,
                        None,
                        None,
                        None,
                        f"the sheet is {worksheet.sheet_state}: a hidden sheet is never imported "
                        "unseen; unhide it, or delete it from the workbook",
                    )
                )
                continue
            part = str(getattr(worksheet, "_worksheet_path", "")).lstrip("/")
            try:
                scan = _scan_sheet(archive, part, where, limits)
            except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{where}: the sheet cannot be read: {exc}") from exc
            for ref in scan.merged:
                problems.append(
                    Problem(
                        source,
                        title,
                        None,
                        None,
                        None,
                        f"cells {ref} are merged: unmerge them and give each cell its value",
                    )
                )
            for ref in scan.uncached_formulas:
                problems.append(
                    Problem(
                        source,
                        title,
                        None,
                        None,
                        None,
                        f"cell {ref} holds a formula whose result was never saved: open the "
                        "workbook in a spreadsheet program and save it, or paste the values",
                    )
                )
            if scan.max_row == 0:
                continue
            iterator = worksheet.iter_rows(
                values_only=True, max_row=scan.max_row, max_col=max(scan.max_column, 1)
            )
            first = next(iterator, None)
            if first is None or all(_blank(c) for c in first):
                continue  # an empty sheet holds nothing to lose
            header = _header(source, title, tuple(first))
            rows = []
            for number, values in enumerate(iterator, start=2):
                cells = tuple(values)
                for index, cell in enumerate(cells):
                    if isinstance(cell, str) and cell in ERROR_VALUES:
                        column = header[index] if index < len(header) else f"#{index + 1}"
                        problems.append(
                            Problem(
                                source,
                                title,
                                number,
                                column,
                                cell,
                                f"(cell {_column_letters(index + 1)}{number}) is a spreadsheet "
                                "error, not a value: correct the formula or clear the cell",
                            )
                        )
                if all(_blank(c) for c in cells):
                    continue
                rows.append((number, cells))
            sheets.append(RawSheet(source, title, header, tuple(rows)))
    finally:
        workbook.close()
        archive.close()
    if problems:
        raise ImportRejected(problems)
    if not sheets:
        raise DataError(f"{source}: the workbook is empty: no sheet has a header row")
    return sheets


def read_any(
    path: Path,
    *,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    limits: Limits | None = None,
) -> list[RawSheet]:
    """Read a CSV file or an XLSX workbook, telling them apart by content as well as suffix."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    limits = limits or Limits.from_environment()
    _read_bounded_size(path, limits.input_bytes)
    with path.open("rb") as handle:
        magic = handle.read(4)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"{path}: the old .xls format is not read; save it as .xlsx or CSV")
    if magic == b"PK\x03\x04":
        return read_xlsx(path, limits=limits)
    if suffix in XLSX_SUFFIXES:
        raise DataError(f"{path}: not a spreadsheet: an .xlsx workbook is a zip archive, this is not")
    return [read_csv(path, encoding=encoding, delimiter=delimiter, limits=limits)]
