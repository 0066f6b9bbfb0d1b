"""Bassinet's SAS transport writer against pyreadstat's: the same bytes but for the time stamps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bassinet.endpoints._adam import LABELS, to_adsl, to_adtte, write_xpt
from bassinet.endpoints._xport import ibm_doubles, write_xport
from bassinet.errors import DataError

pyreadstat = pytest.importorskip("pyreadstat")

#: Offsets of the four 16-byte creation and modification stamps in the headers.
STAMPS = (0x90, 0xA0, 0x1D0, 0x1E0)


def without_stamps(data: bytes) -> bytes:
    out = bytearray(data)
    for offset in STAMPS:
        assert out[offset + 2 : offset + 3].isalpha()  # ddMMMyy:hh:mm:ss
        out[offset : offset + 16] = b"X" * 16
    return bytes(out)


def both(
    frame: pd.DataFrame, tmp_path: Path, *, name: str = "T", label: str = "A label"
) -> tuple[bytes, bytes]:
    """(pyreadstat's file, Bassinet's file) of ``frame``, stamps blanked."""
    formats = {c: "DATE9." for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    labels = [LABELS.get(c, c)[:40] for c in frame.columns]
    theirs = frame.copy()
    for column in formats:
        theirs[column] = theirs[column].dt.date
    pyreadstat.write_xport(
        theirs,
        str(tmp_path / "theirs.xpt"),
        file_format_version=5,
        table_name=name,
        file_label=label,
        variable_format=formats,
        column_labels=labels,
    )
    write_xport(
        frame,
        tmp_path / "ours.xpt",
        table_name=name,
        file_label=label,
        column_labels=labels,
        variable_format=formats,
    )
    return (
        without_stamps((tmp_path / "theirs.xpt").read_bytes()),
        without_stamps((tmp_path / "ours.xpt").read_bytes()),
    )


def test_awkward_columns_give_pyreadstat_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": ["A-1", "", None, "B-22222"],
            "GAPS": [None, None, None, None],
            "AVAL": [1.5, np.nan, -3.0, 0.0],
            "TINY": [1e-70, -2.5e-5, 123456789.125, 1e70],
            "N": [1, -2, 0, 2**40],
            "ADT": pd.to_datetime(pd.Series(["2020-01-02", None, "1959-12-31", "1960-01-01"])),
        }
    )
    theirs, ours = both(frame, tmp_path)
    assert ours == theirs
    back, meta = pyreadstat.read_xport(str(tmp_path / "ours.xpt"))
    assert back["USUBJID"].tolist() == ["A-1", "", "", "B-22222"]
    assert back["AVAL"].tolist()[0] == 1.5 and np.isnan(back["AVAL"].tolist()[1])
    assert back["TINY"].tolist()[2] == 123456789.125
    assert back["N"].tolist() == [1, -2, 0, 2**40]
    assert back["ADT"].tolist()[0] == dt.date(2020, 1, 2)
    assert back["ADT"].tolist()[2] == dt.date(1959, 12, 31)
    assert meta.table_name == "T" and meta.file_label == "A label"
    assert meta.original_variable_types["ADT"] == "DATE9"


def test_no_rows_and_many_variables(tmp_path: Path) -> None:
    empty = pd.DataFrame({"A": pd.Series([], dtype=object), "B": pd.Series([], dtype=float)})
    theirs, ours = both(empty, tmp_path)
    assert ours == theirs
    wide = pd.DataFrame({f"V{i}": [float(i)] for i in range(13)})  # 13 namestrs: padding
    theirs, ours = both(wide, tmp_path, label="")
    assert ours == theirs


def test_adam_files_of_a_simulated_cohort_are_pyreadstat_bytes(tmp_path: Path) -> None:
    from bassinet.endpoints import derive, get_endpoint
    from bassinet.plans import load_plan, shipped_plan
    from bassinet.simulate import simulate_interfant06
    from bassinet.simulate.calibrate import records_of

    plan = load_plan(shipped_plan("interfant06")).plan
    records = records_of(simulate_interfant06(seed=3, n=400))
    endpoints = [get_endpoint(name) for name in ("EFS", "OS", "CIR")]
    adtte = to_adtte(derive(records, endpoints, cutoff=plan.cutoff), study="INTERFANT06")
    adsl = to_adsl(records, study="INTERFANT06")
    assert len(adtte) > 400 and set(adtte["PARAMCD"]) == {"EFS", "OS", "CIR"}
    for frame, name in ((adtte, "ADTTE"), (adsl, "ADSL")):
        theirs, ours = both(frame, tmp_path, name=name)
        assert ours == theirs, name
    written = write_xpt(adtte, tmp_path / "adtte.xpt", name="ADTTE", label="Time-to-event analysis")
    back, _ = pyreadstat.read_xport(str(written))
    assert back["AVAL"].tolist() == adtte["AVAL"].tolist()
    assert back["USUBJID"].tolist() == adtte["USUBJID"].tolist()


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (1.0, 0x4110000000000000),
        (-1.0, 0xC110000000000000),
        (0.0, 0),
        (1.5, 0x4118000000000000),
        (-3.0, 0xC130000000000000),
        (1 / 16, 0x4010000000000000),  # 16^0 x 1/16: the smallest fraction of an exponent
        (15.0, 0x41F0000000000000),
        (16.0, 0x4210000000000000),
        (0.1, 0x401999999999999A),  # 0.1 = 16^0 x 0.1: a leading hex digit 1, so 53 bits in the 56
        (21916.0, 0x44559C0000000000),  # 2020-01-02 as a SAS date
    ],
)
def test_ibm_doubles_at_their_boundaries(value: float, word: int) -> None:
    assert int(ibm_doubles(np.array([value]), column="X")[0]) == word


def test_the_largest_numbers_are_exact_where_pyreadstat_clamps(tmp_path: Path) -> None:
    # readstat writes 7e75 (below the format's largest, (1 - 16^-14) 16^63 = 7.237e75) as
    # that largest number; Bassinet writes it exactly, and pyreadstat reads it back.
    frame = pd.DataFrame({"X": [7e75, -7.2e75]})
    path = tmp_path / "big.xpt"
    write_xport(frame, path, table_name="T", file_label="", column_labels=["X"], variable_format={})
    back, _ = pyreadstat.read_xport(str(tmp_path / "big.xpt"))
    assert back["X"].tolist() == [7e75, -7.2e75]


def test_missing_is_sas_dot() -> None:
    assert int(ibm_doubles(np.array([np.nan]), column="X")[0]) == 0x2E00000000000000


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e76, 1e-80])
def test_numbers_sas_cannot_hold_are_refused_with_the_column(value: float) -> None:
    with pytest.raises(DataError, match="AVAL"):
        ibm_doubles(np.array([1.0, value]), column="AVAL")
