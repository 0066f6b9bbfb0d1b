"""Broken, hostile and oversized inputs end in one clear line, never a traceback or a silent loss.

Issue 16, items 2 to 4: workbook values that would be lost (hidden sheets, merged cells,
formulas without a saved result, error values), files that would exhaust the machine
(a device, a zip bomb, a sheet claiming a million rows), and inputs that used to crash.
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import ConfigurationError, DataError
from bassinet.registry import ImportRejected, init_registry, load_mapping
from bassinet.registry.reading import Limits, read_any
from tests.registry.builders import patient, write_files, write_sheet

runner = CliRunner()
HEADER = list(patient())


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250", "BASSINET_USER": "cli-test"})
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, error: str, expected_code: int = 1) -> str:
    assert code == expected_code, error
    assert "Traceback" not in error
    lines = [line for line in error.splitlines() if line.strip()]
    assert len(lines) == 1, error
    return lines[0]


def workbook(path: Path, build: object = None) -> Path:
    """A workbook with a valid patients sheet; ``build(workbook, sheet)`` changes it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "patients"
    sheet.append(HEADER)
    sheet.append(list(patient("P1").values()))
    if callable(build):
        build(book, sheet)
    book.save(path)
    return path


def rewrite_sheet(path: Path, edit: object) -> Path:
    """Replace the first worksheet's XML with ``edit(xml)``."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    name = "xl/worksheets/sheet1.xml"
    assert callable(edit)
    parts[name] = edit(parts[name].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for part, data in parts.items():
            target.writestr(part, data)
    return path


# -- workbooks: nothing lost without a word -------------------------------------------------------


def test_a_hidden_sheet_is_refused_even_if_named_like_a_registry_sheet(tmp_path: Path) -> None:
    def hide(book: openpyxl.Workbook, _sheet: object) -> None:
        events = book.create_sheet("events")
        events.append(["study_id", "event_type", "event_date"])
        events.append(["P1", "death", "2020-01-01"])
        events.sheet_state = "hidden"

    with pytest.raises(ImportRejected, match=r"\[events\]: the sheet is hidden"):
        read_any(workbook(tmp_path / "hidden.xlsx", hide))


def test_merged_cells_are_refused_with_their_range(tmp_path: Path) -> None:
    def merge(_book: object, sheet: openpyxl.worksheet.worksheet.Worksheet) -> None:
        sheet.append(list(patient("P2").values()))
        sheet.merge_cells("B2:B3")

    with pytest.raises(ImportRejected, match=r"\[patients\]: cells B2:B3 are merged"):
        read_any(workbook(tmp_path / "merged.xlsx", merge))


def test_a_formula_without_a_saved_result_is_refused_with_its_cell(tmp_path: Path) -> None:
    def formula(_book: object, sheet: openpyxl.worksheet.worksheet.Worksheet) -> None:
        sheet["M2"] = "=400+12"  # openpyxl saves the formula but no result

    with pytest.raises(ImportRejected, match="cell M2 holds a formula whose result was never saved"):
        read_any(workbook(tmp_path / "formula.xlsx", formula))


@pytest.mark.parametrize("error_value", ["#N/A", "#REF!", "#DIV/0!"])
def test_an_error_value_is_refused_with_its_cell(tmp_path: Path, error_value: str) -> None:
    def broken(_book: object, sheet: openpyxl.worksheet.worksheet.Worksheet) -> None:
        sheet["M2"] = error_value

    message = rf"row 2: column 'wbc' \({re.escape(error_value)}\) \(cell M2\) is a spreadsheet error"
    with pytest.raises(ImportRejected, match=message):
        read_any(workbook(tmp_path / "error.xlsx", broken))


def test_cells_beyond_a_too_small_dimension_are_still_read(tmp_path: Path) -> None:
    path = rewrite_sheet(
        workbook(tmp_path / "dim.xlsx"), lambda xml: re.sub(r'ref="[^"]+"', 'ref="A1:B1"', xml)
    )
    [sheet] = read_any(path)
    assert sheet.header == tuple(HEADER)
    assert sheet.rows[0][1][0] == "P1"


# -- limits: refused before parsing ---------------------------------------------------------------


def test_a_sheet_claiming_a_million_rows_is_refused_before_parsing(tmp_path: Path) -> None:
    # 5 KB on disk; openpyxl would walk 1,048,576 rows of 16,384 empty cells (issue 16).
    def bomb(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', xml)
        return xml.replace(
            "</sheetData>", '<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
        )

    path = rewrite_sheet(workbook(tmp_path / "bomb.xlsx"), bomb)
    assert path.stat().st_size < 10_000
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"reaches column XFD .* over the limit of 1,000 columns"):
        read_any(path)
    elapsed = time.perf_counter() - started
    print(f"refused in {elapsed:.3f} s")


def test_a_sheet_past_the_row_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_MAX_ROWS", "100")
    path = rewrite_sheet(
        workbook(tmp_path / "rows.xlsx"),
        lambda xml: xml.replace(
            "</sheetData>", '<row r="500"><c r="A500" t="n"><v>1</v></c></row></sheetData>'
        ),
    )
    with pytest.raises(DataError, match="reaches row 500, over the limit of 100 rows"):
        read_any(path)


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_MAX_XLSX_BYTES", str(1 << 20))
    path = rewrite_sheet(
        workbook(tmp_path / "zip.xlsx"),
        lambda xml: xml.replace("</worksheet>", "<!--" + " " * (4 << 20) + "--></worksheet>"),
    )
    assert path.stat().st_size < 100_000
    with pytest.raises(DataError, match=r"unpacks to .* bytes, over the limit of 1,048,576"):
        read_any(path)


def test_a_csv_over_the_cell_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_MAX_CELLS", "50")
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2"), patient("P3")])
    with pytest.raises(DataError, match="more than 50 cells"):
        read_any(path)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_MAX_INPUT_BYTES", "100")
    path, _ = write_files(tmp_path, [patient("P1")])
    with pytest.raises(DataError, match=r"bytes, over the limit of 100 \(BASSINET_MAX_INPUT_BYTES\)"):
        read_any(path)


def test_a_limit_that_is_not_a_number_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_MAX_ROWS", "many")
    with pytest.raises(ConfigurationError, match="BASSINET_MAX_ROWS is 'many': give a whole number"):
        Limits.from_environment()


# -- the command line: one line, exit 1, nothing written ------------------------------------------


@pytest.fixture
def url(registry_url: str) -> str:
    init_registry(registry_url)
    return registry_url


def test_dev_zero_is_refused_at_once(url: str) -> None:
    line = one_line_error(*run("import", "/dev/zero", "--registry", url)[::2])
    assert line == "error: /dev/zero: not a regular file (a device, pipe or socket): give a CSV or .xlsx file"


def test_a_missing_file_is_named_as_missing_not_as_a_device(url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    line = one_line_error(*run("import", str(missing), "--registry", url)[::2])
    assert line == f"error: {missing}: no such file"


def test_utf16_csv_is_read_with_its_encoding_named(url: str, tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "patients.csv", [patient("P1")], encoding="utf-16")
    hint = one_line_error(*run("import", str(path), "--registry", url)[::2])
    assert "try --encoding utf-16" in hint
    code, output, error = run("import", str(path), "--encoding", "utf-16", "--registry", url)
    assert code == 0, error
    assert "patients" in output


def test_a_mapping_file_not_in_utf8_is_a_clear_error(url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_bytes("encoding: latin-1  # Zürich\n".encode("utf-16"))
    path, _ = write_files(tmp_path, [patient("P1")])
    line = one_line_error(*run("import", str(path), "--mapping", str(mapping), "--registry", url)[::2], 3)
    assert "is not UTF-8: save the mapping file as UTF-8" in line


def test_deeply_nested_yaml_is_a_clear_error(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("[" * 50_000, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="nested too deeply"):
        load_mapping(mapping)


def test_a_bad_delimiter_is_a_clear_error(url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('delimiter: ";;"\n', encoding="utf-8")
    path, _ = write_files(tmp_path, [patient("P1")])
    line = one_line_error(*run("import", str(path), "--mapping", str(mapping), "--registry", url)[::2])
    assert "delimiter ';;' is not one character" in line


def test_a_quarantine_file_in_a_missing_folder_is_refused_before_anything(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", sex="X")])
    target = tmp_path / "no-such-folder" / "q.csv"
    line = one_line_error(*run("import", str(path), "--quarantine", str(target), "--registry", url)[::2])
    assert "does not exist" in line
    assert "0 patient(s)" in run("patients", "list", "--registry", url)[1]


def test_export_to_a_file_instead_of_a_folder_is_a_clear_error(url: str, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep me", encoding="utf-8")
    line = one_line_error(*run("export", "--out", str(target), "--registry", url)[::2])
    assert "is a file, not a folder" in line
    assert target.read_text(encoding="utf-8") == "keep me"


def test_demo_never_deletes_an_existing_registry(tmp_path: Path) -> None:
    (tmp_path / "registry.db").write_bytes(b"precious")
    line = one_line_error(*run("demo", "--out", str(tmp_path))[::2], 3)
    assert "exists: the demo never overwrites a registry" in line
    assert (tmp_path / "registry.db").read_bytes() == b"precious"


def test_the_quarantine_file_appears_only_after_the_commit(
    engine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kill between writing the quarantine file and the commit used to leave a file
    # of rejected rows next to a registry that holds none of the import.
    from sqlalchemy.orm import Session

    from bassinet.registry import import_files

    quarantine = tmp_path / "rejected.csv"
    seen_at_commit: list[bool] = []
    commit = Session.commit

    def watching_commit(self: Session) -> None:
        seen_at_commit.append(quarantine.exists())
        commit(self)

    monkeypatch.setattr(Session, "commit", watching_commit)
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", sex="X")])
    import_files(engine, path, actor="tester", quarantine=quarantine)  # type: ignore[arg-type]
    assert seen_at_commit[0] is False  # the import commits once; the session closes with a no-op commit
    assert "is not a known code" in quarantine.read_text(encoding="utf-8")
    assert not quarantine.with_name("rejected.csv.part").exists()
