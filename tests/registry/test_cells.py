"""Reading one cell: every kind of column, with the values at and beyond its rule."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from bassinet.registry import vocabulary as v
from bassinet.registry.sheets import MRD, SHEETS, CellError, parse_cell


def cell(
    sheet: str,
    column: str,
    raw: object,
    *,
    date_format: str | None = None,
    codes: dict[str, str] | None = None,
) -> object:
    return parse_cell(
        SHEETS[sheet].by_name[column],
        raw,  # type: ignore[arg-type]
        date_format=date_format,
        centre_codes=codes or {},
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-02-28", dt.date(2019, 2, 28)),
        (" 2020-02-29 ", dt.date(2020, 2, 29)),  # a leap day, spaces around it
        (dt.datetime(2019, 3, 1, 0, 0), dt.date(2019, 3, 1)),  # an Excel date cell
        (dt.date(2019, 3, 1), dt.date(2019, 3, 1)),
    ],
)
def test_dates_in_iso_form_or_as_spreadsheet_dates_are_read(raw: object, expected: dt.date) -> None:
    assert cell("patients", "diagnosis_date", raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("2019-02-30", "is not a calendar date"),
        ("2019-02-29", "is not a calendar date"),  # 2019 is not a leap year
        ("2019-13-01", "is not a calendar date"),
        ("30/02/2019", "is not a date in the form YYYY-MM-DD"),
        ("yesterday", "is not a date in the form YYYY-MM-DD"),
        (43525, "is a number, not a date"),  # an Excel serial number in a number-formatted cell
    ],
)
def test_unparseable_and_impossible_dates_are_refused(raw: object, rule: str) -> None:
    with pytest.raises(CellError, match=rule):
        cell("patients", "diagnosis_date", raw)


def test_a_mapped_date_format_reads_day_first_dates() -> None:
    assert cell("patients", "diagnosis_date", "02.05.2019", date_format="%d.%m.%Y") == dt.date(2019, 5, 2)


def test_a_mapped_date_format_still_refuses_impossible_dates() -> None:
    with pytest.raises(CellError, match=r"is not a date in the form %d.%m.%Y"):
        cell("patients", "diagnosis_date", "30.02.2019", date_format="%d.%m.%Y")


def test_a_required_blank_cell_is_refused() -> None:
    with pytest.raises(CellError, match="is required"):
        cell("patients", "diagnosis_date", "  ")


def test_an_optional_blank_cell_is_none() -> None:
    assert cell("patients", "wbc", "") is None


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("300", 300.0), ("299.9", 299.9), (412, 412.0)])
def test_wbc_of_zero_or_more_is_read(raw: object, expected: float) -> None:
    assert cell("patients", "wbc", raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("-0.1", "must be >= 0"),
        ("-5", "must be >= 0"),
        ("nan", "must be a finite number"),
        ("inf", "must be a finite number"),
        (math.inf, "must be a finite number"),
        ("1,5", "is not a number"),
        ("many", "is not a number"),
        (True, "is not a number"),
    ],
)
def test_bad_wbc_is_refused(raw: object, rule: str) -> None:
    with pytest.raises(CellError, match=rule):
        cell("patients", "wbc", raw)


def test_negative_day8_blasts_are_refused() -> None:
    with pytest.raises(CellError, match="must be >= 0"):
        cell("patients", "day8_blasts", "-1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", MRD(v.MRDResult.QUANTIFIED, 0.0)),
        ("1", MRD(v.MRDResult.QUANTIFIED, 1.0)),
        ("1e-4", MRD(v.MRDResult.QUANTIFIED, 1e-4)),
        ("9.99e-5", MRD(v.MRDResult.QUANTIFIED, 9.99e-5)),
        ("negative", MRD(v.MRDResult.NEGATIVE, None)),
        ("NEG", MRD(v.MRDResult.NEGATIVE, None)),
        ("PNQ", MRD(v.MRDResult.POSITIVE_NQ, None)),
        ("positive-not-quantifiable", MRD(v.MRDResult.POSITIVE_NQ, None)),
    ],
)
def test_mrd_is_a_fraction_negative_or_positive_not_quantifiable(raw: str, expected: MRD) -> None:
    assert cell("mrd", "value", raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("1.5", r"is not an MRD fraction from 0 to 1"),
        ("1.0001", r"is not an MRD fraction from 0 to 1"),
        ("-0.001", r"is not an MRD fraction from 0 to 1"),
        ("5%", "is not an MRD result"),
        ("positive", "is not an MRD result"),
    ],
)
def test_mrd_outside_zero_to_one_or_unknown_words_are_refused(raw: str, rule: str) -> None:
    with pytest.raises(CellError, match=rule):
        cell("mrd", "value", raw)


@pytest.mark.parametrize("raw", ["haploidentical", "Haploidentical", "HAPLOIDENTICAL", " haploidentical "])
def test_registry_codes_are_matched_without_regard_to_case(raw: str) -> None:
    assert cell("transplants", "donor_type", raw) is v.DonorType.HAPLOIDENTICAL


@pytest.mark.parametrize("raw", ["haplo", "Haplo-HSCT", "HID"])
def test_a_centre_code_without_a_mapping_is_refused(raw: str) -> None:
    with pytest.raises(CellError, match="is not a known code: use one of matched_sibling"):
        cell("transplants", "donor_type", raw)


@pytest.mark.parametrize("raw", ["haplo", "Haplo-HSCT", "HID", "hid", "haplo hsct"])
def test_mapped_centre_codes_become_registry_codes(raw: str) -> None:
    codes = {"haplo": "haploidentical", "haplo hsct": "haploidentical", "hid": "haploidentical"}
    assert cell("transplants", "donor_type", raw, codes=codes) is v.DonorType.HAPLOIDENTICAL


@pytest.mark.parametrize(
    ("raw", "expected"), [("yes", True), ("Y", True), ("1", True), ("no", False), ("FALSE", False)]
)
def test_yes_no_cells(raw: str, expected: bool) -> None:
    assert cell("patients", "original_country", raw) is expected


def test_a_yes_no_cell_with_another_word_is_refused() -> None:
    with pytest.raises(CellError, match="is not yes or no"):
        cell("patients", "original_country", "maybe")


def test_a_numeric_study_id_from_a_workbook_keeps_its_digits() -> None:
    assert cell("patients", "study_id", 1024.0) == "1024"
