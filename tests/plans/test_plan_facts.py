"""The plan runner's patient facts from columns equal the facts built row by row (issue 17).

The reference below is the plan runner's code before issue 17: a ``PatientFacts`` per
patient through ``DataFrame.iterrows()`` and the protocol engine's rule per patient. The
fast path must give the same analysis frame, value for value and type for type, and
refuse the same row with the same message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bassinet.endpoints import ClinicalRecords, derive
from bassinet.errors import DataError
from bassinet.plans import _run as run_module
from bassinet.plans import load_plan, run_plan, shipped_plan
from bassinet.plans._run import _csv_bytes
from bassinet.plans._variables import CATALOGUE, analysis_frame, patient_fact_table
from bassinet.protocols import interfant06
from bassinet.protocols.facts import PatientFacts
from bassinet.simulate import simulate_interfant06
from bassinet.simulate.calibrate import records_of


def reference_facts(p: pd.DataFrame) -> pd.Series:
    """The facts as the plan runner built them before issue 17: one ``from_record`` per row."""
    return pd.Series(
        {sid: PatientFacts.from_record({**row, "study_id": sid}) for sid, row in p.iterrows()}, dtype=object
    )


REFERENCE = {
    "risk_group": lambda records, p: reference_facts(p).map(lambda f: interfant06.risk_group(f).outcome),
    "age_lt_6m": lambda records, p: reference_facts(p).map(lambda f: f.under_six_months),
}


def reference_frame(records: ClinicalRecords, names: list[str]) -> pd.DataFrame:
    p = records.patients.set_index("study_id")
    return pd.DataFrame(
        {name: REFERENCE.get(name, CATALOGUE[name].compute)(records, p) for name in names}, index=p.index
    )


def assert_same_frame(new: pd.DataFrame, old: pd.DataFrame) -> None:
    """Equal values, dtypes, index and order, and the same Python type in every cell (True is not 1)."""
    pd.testing.assert_frame_equal(new, old)
    assert new.map(lambda v: (type(v).__name__, repr(v))).equals(
        old.map(lambda v: (type(v).__name__, repr(v)))
    )


@pytest.fixture(scope="module")
def cohort() -> ClinicalRecords:
    return records_of(simulate_interfant06(seed=11, n=1500))


def test_every_variable_equals_the_row_by_row_reference_on_a_simulated_cohort(
    cohort: ClinicalRecords,
) -> None:
    names = list(CATALOGUE)
    new = analysis_frame(cohort, names)
    old = reference_frame(cohort, names)
    assert_same_frame(new, old)
    assert set(new["risk_group"].dropna()) == {
        "LR",
        "MR",
        "HR",
    }  # every group occurs: the test can tell them apart


def test_the_analysis_frame_is_computed_once_per_records_object(
    cohort: ClinicalRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants)
    calls: list[int] = []

    def counted(p: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(p))
        return patient_fact_table(p)

    monkeypatch.setattr("bassinet.plans._variables.patient_fact_table", counted)
    first = analysis_frame(records, ["risk_group", "sex"])
    first.loc[first.index[0], "risk_group"] = "changed by the caller"  # a caller's frame is its own
    second = analysis_frame(records, ["risk_group", "sex", "wbc"])
    assert calls == [len(records.patients)]
    assert second["risk_group"].iloc[0] != "changed by the caller"
    assert_same_frame(second, reference_frame(records, ["risk_group", "sex", "wbc"]))
    fresh = ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants)
    analysis_frame(fresh, ["risk_group"])
    assert len(calls) == 2  # another records object computes its own


def test_run_plan_equals_its_result_with_the_row_by_row_facts(
    cohort: ClinicalRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_plan(shipped_plan("interfant06"))
    fast = run_plan(
        loaded, ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants)
    )
    monkeypatch.setattr(run_module, "analysis_frame", reference_frame)
    by_rows = dataclasses.replace(CATALOGUE["risk_group"], compute=REFERENCE["risk_group"])
    monkeypatch.setattr("bassinet.plans._tables.CATALOGUE", {**CATALOGUE, "risk_group": by_rows})
    slow = run_plan(
        loaded, ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants)
    )
    assert repr(dataclasses.asdict(fast)) == repr(dataclasses.asdict(slow))
    assert fast.flow and fast.analyses[0].groups


def test_derived_endpoints_kept_on_the_records_are_handed_out_as_copies(cohort: ClinicalRecords) -> None:
    records = ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants)
    first = derive(records, ["OS", "EFS"], cutoff=dt.date(2018, 12, 31))
    first.loc[0, "time_days"] = -5
    second = derive(records, ["EFS", "OS"], cutoff=dt.date(2018, 12, 31))
    fresh = derive(
        ClinicalRecords(cohort.patients, cohort.remissions, cohort.events, cohort.transplants),
        ["EFS", "OS"],
        cutoff=dt.date(2018, 12, 31),
    )
    pd.testing.assert_frame_equal(second, fresh)
    assert (second["time_days"] >= 0).all()


def patients(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "study_id", [f"P{i:04d}" for i in range(len(rows))])
    return frame


def row(born: Any, diagnosed: Any, **facts: Any) -> dict[str, Any]:
    base = {
        "date_of_birth": born,
        "diagnosis_date": diagnosed,
        "leukemia_type": "ALL",
        "kmt2a_status": "rearranged",
        "kmt2a_partner": None,
        "wbc": 100.0,
        "day8_blasts": 100.0,
    }
    return base | facts


#: Boundaries of the rule and of the calendar: six months to the day, month ends, 29 February,
#: WBC 300 and 1000 blasts exactly, unknown facts, AML, germline, unknown KMT2A, text dates.
AWKWARD = [
    row(dt.date(2020, 2, 29), dt.date(2020, 8, 28)),  # 6 months after 29 Feb is 29 Aug
    row(dt.date(2020, 2, 29), dt.date(2020, 8, 29)),
    row(dt.date(2019, 8, 31), dt.date(2020, 2, 28), wbc=300.0),  # 31 Aug + 6 months is 29 Feb 2020
    row(dt.date(2019, 8, 31), dt.date(2020, 2, 29), wbc=300.0),
    row(dt.date(2020, 2, 29), dt.date(2021, 2, 27), wbc=299.999),  # first birthday 28 Feb 2021
    row("2020-03-31", "2020-09-29T00:00:00", day8_blasts=1000.0),
    row(pd.Timestamp("2020-03-31"), pd.Timestamp("2020-09-30"), day8_blasts=999.9),
    row(dt.date(2020, 1, 1), dt.date(2020, 1, 1), wbc=np.nan, day8_blasts=np.nan),
    row(dt.date(2020, 1, 1), dt.date(2020, 1, 2), wbc=None, day8_blasts=2000.0),
    row(dt.date(2020, 1, 1), dt.date(2020, 1, 2), wbc=np.nan, day8_blasts=10.0),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), leukemia_type="AML", kmt2a_partner="AFF1"),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), leukemia_type=None),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), leukemia_type=np.nan, kmt2a_status="germline"),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), kmt2a_status="germline", wbc=900.0),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), kmt2a_status="unknown"),
    row(dt.date(2020, 1, 1), dt.date(2020, 3, 2), kmt2a_status=None, wbc=None),
    row(dt.date(2020, 1, 1), dt.date(2020, 12, 31), kmt2a_partner="MLLT1", wbc=301.0),
    row(dt.date(2020, 1, 1), dt.date(2020, 1, 1), kmt2a_partner="AFF1", wbc=0.0, day8_blasts=0.0),
]


def test_awkward_registries_give_the_reference_frame() -> None:
    for dates in ("as given", "text", "timestamps"):
        frame = patients(AWKWARD)
        if dates == "text":
            frame["date_of_birth"] = frame["date_of_birth"].map(lambda d: str(pd.Timestamp(d).date()))
        if dates == "timestamps":
            frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"].map(pd.Timestamp))
        records = ClinicalRecords.from_tables(frame.assign(last_contact_date=dt.date(2022, 1, 1)))
        names = ["risk_group", "age_lt_6m", "wbc_ge_300", "poor_prednisone", "leukemia_type"]
        new = analysis_frame(records, names)
        assert_same_frame(new, reference_frame(records, names))
    assert new["risk_group"].tolist()[:4] == ["MR", "MR", "HR", "MR"]  # the calendar boundaries tell
    assert new["risk_group"].isna().sum() >= 5


@pytest.mark.parametrize(
    ("change", "row_at"),
    [
        ({"diagnosis_date": dt.date(2021, 1, 1)}, 3),  # the first birthday
        ({"diagnosis_date": dt.date(2019, 12, 31)}, 5),  # before birth
        ({"wbc": -1.0}, 1),
        ({"day8_blasts": float("inf")}, 2),
        ({"kmt2a_status": "germline", "kmt2a_partner": "AFF1"}, 4),
    ],
)
def test_the_same_row_is_refused_with_the_same_message(change: dict[str, Any], row_at: int) -> None:
    rows = [row(dt.date(2020, 1, 1), dt.date(2020, 3, 1)) for _ in range(8)]
    rows[row_at] |= change
    rows[7] |= {"wbc": -2.0}  # a later bad row: the first is named
    p = patients(rows).set_index("study_id")
    with pytest.raises(DataError) as old:
        reference_facts(p)
    with pytest.raises(DataError) as new:
        patient_fact_table(p)
    assert str(new.value) == str(old.value)
    assert f"P{row_at:04d}" in str(new.value)


DAYS = st.integers(min_value=0, max_value=3000)


@st.composite
def registries(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=40))
    start = dt.date(2016, 1, 1)
    rows = []
    for _ in range(n):
        born = start + dt.timedelta(days=draw(DAYS))
        age = draw(st.one_of(st.integers(0, 365), st.sampled_from([181, 182, 183, 184, 364, 365, 366, -1])))
        rearranged = draw(st.sampled_from(["rearranged", "germline", "unknown", None]))
        rows.append(
            {
                "date_of_birth": draw(st.sampled_from([str, lambda d: d, pd.Timestamp]))(born),
                "diagnosis_date": born + dt.timedelta(days=age),
                "leukemia_type": draw(st.sampled_from(["ALL", "ALL", "AML", None, np.nan])),
                "kmt2a_status": rearranged,
                "kmt2a_partner": draw(st.sampled_from([None, "AFF1", "MLLT10"]))
                if rearranged == "rearranged" or draw(st.integers(0, 30)) == 0
                else None,
                "wbc": draw(st.sampled_from([None, np.nan, 0.0, 299.9, 300.0, 300.1, 4000.0]))
                if draw(st.integers(0, 60))
                else -0.5,
                "day8_blasts": draw(st.sampled_from([None, np.nan, 0.0, 999.0, 1000.0, 1e5])),
            }
        )
    frame = patients(rows)
    if draw(st.booleans()):  # ties: the same patient facts several times
        frame = pd.concat([frame, frame.assign(study_id=frame["study_id"] + "b")], ignore_index=True)
    return frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_random_registries_give_the_reference_facts_or_the_same_refusal(frame: pd.DataFrame) -> None:
    p = frame.set_index("study_id")
    try:
        old = reference_facts(p)
    except DataError as refused:
        with pytest.raises(DataError) as new:
            patient_fact_table(p)
        assert str(new.value) == str(refused)
        return
    table = patient_fact_table(p)
    expected = pd.DataFrame(
        {
            "under_six_months": old.map(lambda f: f.under_six_months),
            "risk_group": old.map(lambda f: interfant06.risk_group(f).outcome),
        }
    )
    expected.index = p.index
    assert_same_frame(table, expected)
    for variable in ("risk_group", "age_lt_6m"):
        pd.testing.assert_series_equal(  # what a caller of the catalogue gets, index name and all
            CATALOGUE[variable].compute(None, p),  # type: ignore[arg-type]
            REFERENCE[variable](None, p),
            check_names=False,
        )
        assert CATALOGUE[variable].compute(None, p).index.name is None  # type: ignore[arg-type]


CHARACTERS = 'ab ,"\r\n\u00e9;'


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.sampled_from(list('ab ,"\r\n\u00e9;')), max_size=4), min_size=3, max_size=3
        ),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=3),
)
def test_the_fingerprints_csv_is_to_csv_byte_for_byte(cells: list[list[str]], width: int) -> None:
    table = pd.DataFrame([r[:width] for r in cells], columns=["a", "b", "c"][:width], dtype=object)
    if not len(cells):
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in ["a", "b", "c"][:width]})
    assert _csv_bytes(table) == table.to_csv(index=False).encode()


def test_a_missing_value_of_a_nullable_column_fails_as_it_did_row_by_row() -> None:
    p = patients([row(dt.date(2020, 1, 1), dt.date(2020, 2, 1)) for _ in range(3)]).set_index("study_id")
    p["wbc"] = pd.array([1, None, 2], dtype="Int64")
    with pytest.raises(TypeError) as old:
        reference_facts(p)
    with pytest.raises(TypeError) as new:
        patient_fact_table(p)
    assert str(new.value) == str(old.value)
    p["wbc"] = pd.array([1, 400, 2], dtype="Int64")  # no gap: the counts are read as numbers
    assert patient_fact_table(p)["risk_group"].tolist() == ["MR", "HR", "MR"]
