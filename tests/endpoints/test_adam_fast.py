"""ADTTE's per-pair columns and the SAS transport check, fast paths against the plain ones (issue 17)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bassinet.endpoints import ENDPOINTS, derive, get_endpoint
from bassinet.endpoints._adam import paramcd, to_adtte, write_xpt
from bassinet.errors import DataError
from bassinet.simulate import simulate_interfant06
from bassinet.simulate.calibrate import records_of


def plain_columns(derived: pd.DataFrame) -> pd.DataFrame:
    """The four columns as ``to_adtte`` computed them row by row before issue 17."""
    censored = derived["status"] == 0
    competing = derived["status"] == 2
    titles = {name: e.title for name, e in ENDPOINTS.items()}
    param = derived["endpoint"].map(titles).fillna(derived["endpoint"])
    origin = " from " + derived["origin"].astype(str)
    return pd.DataFrame(
        {
            "PARAMCD": [
                paramcd(str(e), str(o)) for e, o in zip(derived["endpoint"], derived["origin"], strict=True)
            ],
            "PARAM": (param + origin).str.capitalize(),
            "EVNTDESC": derived["event"].where(~censored, "").str.upper(),
            "CNSDTDSC": derived["event"].where(censored, "").str.replace("censored: ", "").str.upper()
            + competing.map({True: "COMPETING EVENT", False: ""}),
        }
    ).reset_index(drop=True)


@pytest.fixture(scope="module")
def derived() -> pd.DataFrame:
    records = records_of(simulate_interfant06(seed=4, n=800))
    endpoints = [
        *ENDPOINTS,
        get_endpoint("OS").from_origin("transplant"),
        get_endpoint("DFS").from_origin("randomisation"),
    ]
    return derive(records, endpoints, cutoff=dt.date(2018, 12, 31))


def test_the_per_pair_columns_equal_the_row_by_row_ones(derived: pd.DataFrame) -> None:
    for frame in (derived, derived.iloc[:0], derived.sample(frac=1, random_state=3)):
        fast = to_adtte(frame, study="S")[["PARAMCD", "PARAM", "EVNTDESC", "CNSDTDSC"]]
        pd.testing.assert_frame_equal(fast, plain_columns(frame))
    codes = set(to_adtte(derived, study="S")["PARAMCD"])
    assert {"OS", "OSTX", "DFSRND", "CIR"} <= codes


@pytest.mark.parametrize("bad", ["Z\u00fcrich", "x" * 201])
def test_text_that_does_not_fit_is_refused_at_its_row(
    tmp_path: Path, derived: pd.DataFrame, bad: str
) -> None:
    frame = to_adtte(derived, study="S")
    frame.loc[6, "EVNTDESC"] = bad
    frame.loc[9, "PARAM"] = bad
    with pytest.raises(DataError, match=r"ADTTE: row 10, column PARAM "):  # PARAM is checked first
        write_xpt(frame, tmp_path / "adtte.xpt", name="ADTTE", label="x")
    assert not (tmp_path / "adtte.xpt").exists()
    frame.loc[6, "EVNTDESC"] = "x" * 200  # at the limit: written
    frame.loc[9, "PARAM"] = None
    assert write_xpt(frame, tmp_path / "adtte.xpt", name="ADTTE", label="x").stat().st_size > 0
