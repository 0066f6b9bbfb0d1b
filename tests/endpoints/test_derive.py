"""Endpoint derivation: case tables at the boundaries (event orders, origin and cut-off dates)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from bassinet.endpoints import ENDPOINTS, ClinicalRecords, Endpoint, derive, get_endpoint
from bassinet.errors import ConfigurationError, DataError

DIAGNOSIS = "2010-01-01"  # every patient here is diagnosed on this day
CR = "2010-02-03"  # day 33
CUTOFF = dt.date(2015, 12, 31)


def days(date: str) -> int:
    return (dt.date.fromisoformat(date) - dt.date.fromisoformat(DIAGNOSIS)).days


def one(
    *,
    last: str = "2014-01-01",
    events: tuple[tuple[str, str], ...] = (),
    cr: str | None = CR,
    randomised: str | None = None,
    transplant: str | None = None,
) -> ClinicalRecords:
    """One patient, P1, with the given events as (type, date)."""
    dead = any(kind == "death" for kind, _ in events)
    patients = pd.DataFrame(
        [
            {
                "study_id": "P1",
                "diagnosis_date": DIAGNOSIS,
                "last_contact_date": last,
                "vital_status": "dead" if dead else "alive",
                "randomisation_date": randomised,
            }
        ]
    )
    remissions = pd.DataFrame(
        [{"study_id": "P1", "assessment_date": cr, "status": "CR"}] if cr else [],
        columns=["study_id", "assessment_date", "status"],
    )
    rows: list[dict[str, Any]] = [{"study_id": "P1", "event_type": k, "event_date": d} for k, d in events]
    transplants = pd.DataFrame([{"study_id": "P1", "transplant_date": transplant}] if transplant else [])
    return ClinicalRecords.from_tables(patients, remissions, pd.DataFrame(rows), transplants)


def row(records: ClinicalRecords, endpoint: str | Endpoint) -> dict[str, Any]:
    frame = derive(records, [endpoint], cutoff=CUTOFF)
    assert len(frame) == 1
    return dict(frame.iloc[0])


# (events, endpoint, expected time from its origin in days, status, event text)
CASES = [
    ((), "OS", days("2014-01-01"), 0, "censored: last contact"),
    ((("death", "2012-05-05"),), "OS", days("2012-05-05"), 1, "death"),
    ((("relapse", "2011-01-01"), ("death", "2012-01-01")), "EFS", days("2011-01-01"), 1, "relapse"),
    ((("relapse", "2011-01-01"), ("death", "2012-01-01")), "OS", days("2012-01-01"), 1, "death"),
    ((("resistant_disease", CR),), "EFS", 0, 1, "resistant disease (day 0)"),
    ((("second_malignancy", "2013-03-03"),), "EFS", days("2013-03-03"), 1, "second malignancy"),
    ((("second_malignancy", "2013-03-03"),), "OS", days("2014-01-01"), 0, "censored: last contact"),
    ((("death", DIAGNOSIS),), "OS", 0, 1, "death"),
    ((("relapse", "2011-01-01"),), "DFS", days("2011-01-01") - days(CR), 1, "relapse"),
    ((("relapse", "2011-01-01"),), "CIR", days("2011-01-01") - days(CR), 1, "relapse"),
    ((("death", "2011-01-01"),), "CIR", days("2011-01-01") - days(CR), 2, "death"),
    ((("death", "2011-01-01"),), "NRM", days("2011-01-01") - days(CR), 1, "death"),
    (
        (("relapse", "2011-01-01"), ("death", "2011-06-01")),
        "NRM",
        days("2011-01-01") - days(CR),
        2,
        "relapse",
    ),
    # A relapse and a death on one day: the death follows the relapse.
    (
        (("relapse", "2011-01-01"), ("death", "2011-01-01")),
        "CIR",
        days("2011-01-01") - days(CR),
        1,
        "relapse",
    ),
    (
        (("relapse", "2011-01-01"), ("death", "2011-01-01")),
        "NRM",
        days("2011-01-01") - days(CR),
        2,
        "relapse",
    ),
    ((("second_malignancy", "2012-01-01"),), "CIR", days("2012-01-01") - days(CR), 2, "second malignancy"),
]


@pytest.mark.parametrize(("events", "endpoint", "time", "status", "text"), CASES)
def test_each_event_order_gives_the_trials_time_and_status(
    events: tuple[tuple[str, str], ...], endpoint: str, time: int, status: int, text: str
) -> None:
    last = max([d for _, d in events if _ == "death"], default="2014-01-01")
    got = row(one(last=last, events=events), endpoint)
    assert (got["time_days"], got["status"], got["event"]) == (time, status, text)


def test_a_death_after_the_cutoff_is_not_seen_and_time_stops_at_the_cutoff() -> None:
    got = row(one(last="2016-03-01", events=(("death", "2016-03-01"),)), "OS")
    assert (got["time_days"], got["status"], got["event"]) == (
        (CUTOFF - dt.date(2010, 1, 1)).days,
        0,
        "censored: data cut-off",
    )


def test_a_death_on_the_cutoff_date_is_an_event() -> None:
    got = row(one(last=CUTOFF.isoformat(), events=(("death", CUTOFF.isoformat()),)), "OS")
    assert (got["end_date"].date(), got["status"]) == (CUTOFF, 1)


def test_a_patient_lost_to_follow_up_is_censored_at_the_last_contact() -> None:
    got = row(one(last="2011-07-15"), "EFS")
    assert (got["end_date"].date(), got["status"]) == (dt.date(2011, 7, 15), 0)


def test_resistant_disease_counts_at_its_date_when_the_endpoint_says_so() -> None:
    efs = ENDPOINTS["EFS"]
    at_date = Endpoint(efs.name, efs.title, efs.origin, efs.events, resistant_at_day0=False)
    got = row(one(events=(("resistant_disease", CR),), cr=None), at_date)
    assert (got["time_days"], got["event"]) == (days(CR), "resistant disease")


def test_a_patient_without_remission_has_no_dfs_row() -> None:
    frame = derive(one(cr=None, events=(("resistant_disease", CR),)), ["DFS", "OS"], cutoff=CUTOFF)
    assert list(frame["endpoint"]) == ["OS"]


def test_dfs_from_randomisation_starts_at_the_randomisation_date() -> None:
    records = one(randomised="2010-02-10", events=(("relapse", "2010-12-01"),))
    got = row(records, get_endpoint("DFS").from_origin("randomisation"))
    assert (got["origin_date"].date(), got["time_days"]) == (dt.date(2010, 2, 10), days("2010-12-01") - 40)


def test_a_relapse_before_the_transplant_does_not_end_transplant_related_mortality() -> None:
    records = one(
        last="2012-05-01",
        events=(("relapse", "2010-09-01"), ("death", "2012-05-01")),
        transplant="2010-12-01",
    )
    got = row(records, "TRM")
    assert (got["status"], got["time_days"]) == (1, days("2012-05-01") - days("2010-12-01"))


def test_an_event_on_the_origin_date_is_an_event_at_time_zero() -> None:
    got = row(one(last="2010-12-01", transplant="2010-12-01", events=(("death", "2010-12-01"),)), "TRM")
    assert (got["time_days"], got["status"]) == (0, 1)


def test_time_never_runs_backwards_and_rows_come_one_per_patient_per_endpoint() -> None:
    records = one(events=(("relapse", "2011-01-01"),))
    frame = derive(records, list(ENDPOINTS), cutoff=CUTOFF)
    assert (frame["time_days"] >= 0).all()
    assert not frame.duplicated(["study_id", "endpoint"]).any()
    after_transplant = {"TRM", "GRFS", "AGVHD24", "AGVHD34", "CGVHD"}
    assert set(frame["endpoint"]) == set(ENDPOINTS) - after_transplant  # no transplant, none of these


def test_a_cutoff_before_the_first_diagnosis_is_refused() -> None:
    with pytest.raises(DataError, match=r"cut-off 2009-12-31 is before the first diagnosis \(2010-01-01\)"):
        derive(one(), ["OS"], cutoff=dt.date(2009, 12, 31))


def test_a_patient_without_a_follow_up_date_is_named() -> None:
    records = one()
    records.patients.loc[0, "last_contact_date"] = pd.NaT
    with pytest.raises(DataError, match="patient P1: last_contact_date is missing"):
        derive(records, ["OS"], cutoff=CUTOFF)


def test_follow_up_ending_before_the_origin_is_refused_with_the_patient() -> None:
    with pytest.raises(
        DataError, match="patient P1: last_contact_date 2010-03-01 is before the randomisation"
    ):
        derive(
            one(last="2010-03-01", randomised="2010-04-01"),
            [get_endpoint("OS").from_origin("randomisation")],
            cutoff=CUTOFF,
        )


def test_an_unknown_endpoint_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="no endpoint called 'PFS'; endpoints: OS, EFS"):
        get_endpoint("PFS")


def test_an_endpoint_with_an_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="event 'progression' is not one of"):
        Endpoint("X", "x", "diagnosis", ("progression",))  # type: ignore[arg-type]
