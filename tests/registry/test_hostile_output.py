"""Values from files and the registry are shown as text, never interpreted (issue 16, item 1).

Rich markup, terminal control characters, Markdown and HTML, spreadsheet formulas and
matplotlib's TeX all turn data into instructions; every output Bassinet writes data to
is tried here with such values, on both stores where a registry is involved.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import DataError
from bassinet.registry import init_registry, make_engine, read_frames
from bassinet.registry.escaping import (
    check_sas_transport,
    console_markup,
    markdown_text,
    printable,
    spreadsheet_cell,
)
from bassinet.registry.frames import export_frames
from tests.registry.builders import patient, write_files

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250", "BASSINET_USER": "cli-test"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(registry_url: str) -> str:
    init_registry(registry_url)
    return registry_url


# -- the helpers, at their boundaries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[31mred", "\\x1b[31mred"),  # an ANSI colour escape is shown, not obeyed
        ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),  # one line stays one line
        ("\x7f\x9b", "\\x7f\\x9b"),  # DEL and a C1 control
        ("abc\u202edcba", "abc\\u202edcba"),  # a right-to-left override cannot reorder text
        ("Zürich", "Zürich"),  # letters are letters
    ],
)
def test_printable_shows_control_characters_as_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_shortens_a_long_value_and_says_how_long_it_was() -> None:
    assert printable("x" * 500, limit=10) == "xxxxxxxxxx... (500 characters)"


def test_console_markup_escapes_rich_tags() -> None:
    from rich.text import Text

    assert Text.from_markup(console_markup("[/] [red]hidden[/red]")).plain == "[/] [red]hidden[/red]"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-0.5", "-0.5"),  # a plain number is read as the number it is
        ("+12", "+12"),
        ("1e-4", "1e-4"),
        ("a=b", "a=b"),  # only the first character matters
        ("", ""),
        (-3.0, -3.0),  # numbers are not text
    ],
)
def test_spreadsheet_cells_that_start_a_formula_are_neutralised(cell: object, written: object) -> None:
    assert spreadsheet_cell(cell) == written


def test_markdown_text_escapes_html_and_markdown() -> None:
    escaped = markdown_text("<script>alert(1)</script> [x](http://e) *b*")
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped
    assert "\\[x\\](http://e)" in escaped and "\\*b\\*" in escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("P7: Interfant-06", "P7: Interfant-06"),  # inside a line a hyphen is text
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
    ],
)
def test_markdown_text_escapes_what_would_start_a_block_or_format(text: str, escaped: str) -> None:
    assert markdown_text(text) == escaped


def test_figures_draw_labels_as_text_not_tex() -> None:
    import bassinet.report._figures  # noqa: F401  (sets the figure defaults)

    assert matplotlib.rcParams["text.parse_math"] is False


def test_sas_transport_refuses_text_it_cannot_hold() -> None:
    with pytest.raises(DataError, match=r"ADSL: row 2, column SITEID \(Zürich\).*ASCII text of up to 200"):
        check_sas_transport(pd.DataFrame({"SITEID": ["Rome", "Zürich"]}), dataset="ADSL", label="x")
    with pytest.raises(DataError, match="ASCII text of up to 200"):
        check_sas_transport(pd.DataFrame({"SITEID": ["x" * 201]}), dataset="ADSL", label="x")
    with pytest.raises(DataError, match="column 'LONGNAME1' is not a SAS transport name"):
        check_sas_transport(pd.DataFrame({"LONGNAME1": [1]}), dataset="ADSL", label="x")
    check_sas_transport(pd.DataFrame({"SITEID": ["x" * 200]}), dataset="ADSL", label="x")


# -- the command line -----------------------------------------------------------------------------


def test_an_import_error_keeps_its_sheet_and_shows_markup_in_a_cell(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1", sex="[/] [/]")])
    code, _, error = run("import", str(path), "--registry", url)
    assert code == 1
    assert "[patients] row 2: column 'sex' ([/] [/]) is not a known code" in error
    assert "Traceback" not in error


def test_an_import_error_shows_control_characters_as_escapes(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1", sex="\x1b[2J\x07M")])
    code, _, error = run("import", str(path), "--registry", url)
    assert code == 1
    assert "\x1b" not in error and "\x07" not in error
    assert "(\\x1b[2J\\x07M) is not a known code" in error


@pytest.mark.parametrize("study_id", ["[/]", "[red]hidden[/red]", "[bold"])
def test_a_study_id_with_markup_is_shown_as_typed(url: str, tmp_path: Path, study_id: str) -> None:
    path, _ = write_files(tmp_path, [patient(study_id, centre="=cmd|' /C calc'!A0")])
    assert run("import", str(path), "--registry", url)[0] == 0
    for command in (["patients", "list"], ["patients", "show", study_id], ["audit", study_id]):
        code, output, error = run(*command, "--registry", url)
        assert code == 0, (command, error)
        assert study_id in output, command


def test_a_centre_with_control_characters_reaches_no_terminal_raw(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1", centre="Rome\x1b]0;owned\x07")])
    assert run("import", str(path), "--registry", url)[0] == 0
    for command in (["patients", "list"], ["patients", "show", "P1"], ["audit", "P1"]):
        code, output, _ = run(*command, "--registry", url)
        assert code == 0
        assert "\x1b" not in output and "\x07" not in output
        assert "Rome\\x1b]0;owned\\x07" in output


def test_export_neutralises_formulas_and_keeps_timestamps_and_json(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("=1+1", centre="@SUM(1)", study_group="-2+3")])
    assert run("import", str(path), "--registry", url)[0] == 0
    folder = tmp_path / "export"
    code, _, error = run("export", "--out", str(folder), "--registry", url)
    assert code == 0, error
    with (folder / "patients.csv").open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert (row["study_id"], row["centre"], row["study_group"]) == ("'=1+1", "'@SUM(1)", "'-2+3")
    assert row["diagnosis_date"] == "2019-05-02"
    with (folder / "audit_log.csv").open(encoding="utf-8") as handle:
        audit = next(csv.DictReader(handle))
    stamp = pd.Timestamp(audit["at"])
    assert stamp.tzinfo is not None and "T" in audit["at"]  # time and offset kept, not cut to the date
    # The import format has no import runs: every table, as export_frames writes it, does.
    engine = make_engine(url)
    try:
        written = export_frames(read_frames(engine), tmp_path / "tables")
        [runs] = [p for p in written if p.stem == "import_runs"]
    finally:
        engine.dispose()
    with runs.open(encoding="utf-8") as handle:
        run_row = next(csv.DictReader(handle))
    assert json.loads(run_row["counts"])["patients"]["inserted"] == 1
    assert json.loads(run_row["sources"])[0]["path"] == str(path)


def test_the_quarantine_file_neutralises_formulas(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", sex="=HYPERLINK(\"x\")")])
    quarantine = tmp_path / "rejected.csv"
    code, _, error = run("import", str(path), "--quarantine", str(quarantine), "--registry", url)
    assert code == 0, error
    with quarantine.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["sex"] for r in rows] == ["'=HYPERLINK(\"x\")"]


def test_explain_in_markdown_escapes_html_from_the_study_id(url: str, tmp_path: Path) -> None:
    study_id = "<img src=x onerror=alert(1)>"
    path, _ = write_files(tmp_path, [patient(study_id)])
    assert run("import", str(path), "--registry", url)[0] == 0
    for extra in ([], ["--html"]):
        code, output, error = run("explain", study_id, *extra, "--registry", url)
        assert code == 0, error
        assert "<img" not in output and "&lt;img" in output
