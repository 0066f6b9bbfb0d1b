"""The calibrated cohorts: deterministic, registry-valid, stratified by the engine, and calibrated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from bassinet.endpoints import ClinicalRecords, derive
from bassinet.errors import ConfigurationError
from bassinet.protocols import interfant06
from bassinet.protocols.decisions import Decision
from bassinet.registry import import_files, read_frames
from bassinet.simulate import calibrate, simulate_hsct_infants, simulate_interfant06, write_csv
from bassinet.simulate.calibrate import records_of


def test_the_same_seed_gives_the_same_trial_and_another_seed_another() -> None:
    first, again, other = (simulate_interfant06(seed=s) for s in (7, 7, 8))
    assert first.sheets == again.sheets
    assert first.sheets["patients"] != other.sheets["patients"]


def test_the_transplant_cohort_has_the_reported_make_up() -> None:
    rows = simulate_hsct_infants(seed=2)
    patients = rows.frame("patients")
    transplants = rows.frame("transplants")
    assert len(patients) == 126
    assert patients["leukemia_type"].value_counts().to_dict() == {"AML": 81, "ALL": 45}
    assert transplants["remission_status"].value_counts().to_dict() == {"CR1": 100, "CR2+": 18, "NR": 8}
    assert transplants["engraftment_date"].notna().all()  # every infant engrafted
    assert pd.to_datetime(transplants["transplant_date"]).between("2013-03-01", "2024-12-31").all()


@pytest.mark.parametrize(("simulate", "seed"), [(simulate_interfant06, 11), (simulate_hsct_infants, 11)])
def test_a_cohort_imports_into_the_registry_without_a_single_problem(
    engine: Engine, tmp_path: Path, simulate: object, seed: int
) -> None:
    rows = simulate(seed=seed)  # type: ignore[operator]
    paths = write_csv(rows, tmp_path)
    patients = paths.pop("patients")
    report = import_files(engine, patients, long_sheets=paths, actor="test")  # raises on any problem
    assert report.counts["patients"].inserted == len(rows["patients"])
    assert all(c.rejected == 0 for c in report.counts.values())


def test_endpoints_from_the_registry_equal_endpoints_from_the_rows(engine: Engine, tmp_path: Path) -> None:
    rows = simulate_interfant06(seed=12, n=150)
    paths = write_csv(rows, tmp_path)
    import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test")
    names = ["OS", "EFS", "DFS", "CIR", "NRM"]
    cutoff = dt.date(2018, 12, 31)
    key = ["endpoint", "study_id"]
    from_rows = derive(records_of(rows), names, cutoff=cutoff).sort_values(key, ignore_index=True)
    stored = ClinicalRecords.from_frames(read_frames(engine))
    from_registry = derive(stored, names, cutoff=cutoff).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(from_rows, from_registry)


def test_risk_groups_randomisation_and_transplants_follow_the_protocol_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were the simulator to carry its own copy of the rules, an engine that puts every
    # infant in LR would change nothing; with the engine's rules there is no MR or HR,
    # so nobody is eligible for randomisation.
    def everyone_low_risk(facts: object) -> Decision:
        return Decision(interfant06.NAME, interfant06.VERSION, "risk group", "LR")

    monkeypatch.setattr(interfant06, "risk_group", everyone_low_risk)
    rows = simulate_interfant06(seed=3, n=200)
    patients = rows.frame("patients")
    assert patients["randomisation_arm"].isna().all()
    assert len(rows["transplants"]) == 0


def test_high_risk_infants_are_those_the_engine_calls_high_risk() -> None:
    rows = simulate_interfant06(seed=4, n=300)
    p = rows.frame("patients")
    young = pd.to_datetime(p["diagnosis_date"]) < pd.to_datetime(p["date_of_birth"]) + pd.DateOffset(months=6)
    expected_hr = (
        (p["kmt2a_status"] == "rearranged") & young & ((p["wbc"] >= 300) | (p["day8_blasts"] >= 1000))
    )
    transplanted = set(rows.frame("transplants")["study_id"])
    # Every transplanted infant is HR, or MR (not HR) with MRD >= 1e-4 before OCTADAD.
    mrd = rows.frame("mrd")
    high = set(
        mrd.loc[
            (mrd["time_point"] == "start_of_octadad")
            & (pd.to_numeric(mrd["value"], errors="coerce") >= 1e-4),
            "study_id",
        ]
    )
    hr_ids = set(p.loc[expected_hr, "study_id"])
    assert transplanted <= hr_ids | high
    assert len(transplanted & hr_ids) > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate_interfant06(seed=1, n=0), "--n is 0: the number of patients must be at least 1"),
        (
            lambda: simulate_interfant06(seed=1, cutoff=dt.date(2015, 1, 1)),
            r"--cutoff is 2015-01-01: the data cut-off must not be before accrual ends \(2016-12-31\)",
        ),
        (lambda: simulate_hsct_infants(seed=1, cutoff=dt.date(2024, 1, 1)), "--cutoff is 2024-01-01"),
        (lambda: calibrate("interfant-99", replicates=5), "cohort 'interfant-99' is not known"),
        (lambda: calibrate("interfant06", replicates=1), "--replicates is 1"),
    ],
)
def test_bad_options_are_refused_naming_the_option(call: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("cohort", ["interfant06", "hsct-infants"])
def test_a_small_calibration_puts_every_published_figure_inside_the_simulated_range(cohort: str) -> None:
    report = calibrate(cohort, replicates=25, seed=1)
    outside = [f.target.name for f in report.figures if not f.inside]
    assert outside == []
    assert all(f.missing == 0 for f in report.figures if f.target.unit == "%")


def test_transplants_follow_the_engines_indication(monkeypatch: pytest.MonkeyPatch) -> None:
    # An engine that indicates no transplant leaves every risk group as it was, and no one transplanted.
    def never(facts: object, **_: object) -> Decision:
        return Decision(interfant06.NAME, interfant06.VERSION, "allogeneic SCT indication", "not indicated")

    before = simulate_interfant06(seed=5, n=300)
    monkeypatch.setattr(interfant06, "sct_indication", never)
    after = simulate_interfant06(seed=5, n=300)
    assert len(before["transplants"]) > 0
    assert len(after["transplants"]) == 0
    assert before.frame("patients")["randomisation_arm"].equals(after.frame("patients")["randomisation_arm"])
