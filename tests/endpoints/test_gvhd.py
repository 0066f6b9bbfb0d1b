"""GRFS and the GVHD incidences: derived by hand on a small cohort, estimated exactly as R does.

The cohort (days from a transplant on 2011-01-01) has ties between patients (acute GVHD on
day 30 three times, events on day 200 and 400 twice), a GVHD and a death on one day,
censoring, a relapse before GVHD (P03), chronic GVHD before day 100 (P12), and a patient
transplanted with no GVHD data at all (P04): its GVHD is unknown, so it has no row for these
endpoints (the case tables leave it out), and P03, with only the acute grade recorded, has no
chronic GVHD row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bassinet.endpoints import ENDPOINTS, ClinicalRecords, derive
from bassinet.survival import cumulative_incidence, kaplan_meier
from tests.survival.r_oracle import assert_close, run_r

TRANSPLANT = dt.date(2011, 1, 1)
CUTOFF = dt.date(2016, 12, 31)


def day(n: int | None) -> str | None:
    return None if n is None else (TRANSPLANT + dt.timedelta(days=n)).isoformat()


# study_id: (last contact, aGVHD grade, its day, cGVHD severity, its day, systemic, events as (kind, day))
COHORT: dict[str, tuple[int, str | None, int | None, str | None, int | None, bool | None, tuple]] = {
    "P01": (1000, "III", 30, "moderate", 200, True, ()),
    "P02": (500, "II", 30, "none", None, None, (("relapse", 400), ("death", 500))),
    "P03": (900, "III", 150, None, None, None, (("relapse", 100),)),
    "P04": (700, None, None, None, None, None, ()),
    "P05": (60, "0", None, "none", None, None, (("death", 60),)),
    "P06": (1200, "I", 20, "mild", 250, False, ()),
    "P07": (45, "IV", 45, "none", None, None, (("death", 45),)),
    "P08": (800, "II", 60, "severe", 200, True, ()),
    "P09": (200, "0", None, "none", None, None, ()),
    "P10": (400, "0", None, "none", None, None, (("death", 400),)),
    "P11": (350, "0", None, "none", None, None, (("relapse", 300), ("death", 350))),
    "P12": (600, "0", None, "moderate", 95, True, ()),
    "P13": (50, "III", 30, "none", None, None, ()),
}

# (endpoint, study_id) -> (days, status, event), by hand from the definitions
EXPECTED: dict[str, dict[str, tuple[int, int, str]]] = {
    "GRFS": {
        "P01": (30, 1, "acute GVHD grade III-IV"),
        "P02": (400, 1, "relapse"),  # grade II acute GVHD is not a GRFS event
        "P03": (100, 1, "relapse"),
        "P05": (60, 1, "death"),
        "P06": (1200, 0, "censored: last contact"),  # grade I, mild untreated chronic: GVHD-free
        "P07": (45, 1, "acute GVHD grade III-IV"),
        "P08": (200, 1, "chronic GVHD needing systemic treatment"),
        "P09": (200, 0, "censored: last contact"),
        "P10": (400, 1, "death"),
        "P11": (300, 1, "relapse"),
        "P12": (95, 1, "chronic GVHD needing systemic treatment"),
        "P13": (30, 1, "acute GVHD grade III-IV"),
    },
    "AGVHD24": {
        "P01": (30, 1, "acute GVHD grade II-IV"),
        "P02": (30, 1, "acute GVHD grade II-IV"),
        "P03": (150, 1, "acute GVHD grade II-IV"),  # relapse first: relapse does not compete
        "P05": (60, 2, "death"),
        "P06": (1200, 0, "censored: last contact"),
        "P07": (45, 1, "acute GVHD grade II-IV"),  # GVHD and death on one day: GVHD first
        "P08": (60, 1, "acute GVHD grade II-IV"),
        "P09": (200, 0, "censored: last contact"),
        "P10": (400, 2, "death"),
        "P11": (350, 2, "death"),
        "P12": (600, 0, "censored: last contact"),
        "P13": (30, 1, "acute GVHD grade II-IV"),
    },
    "AGVHD34": {
        "P01": (30, 1, "acute GVHD grade III-IV"),
        "P02": (500, 2, "death"),
        "P03": (150, 1, "acute GVHD grade III-IV"),
        "P05": (60, 2, "death"),
        "P06": (1200, 0, "censored: last contact"),
        "P07": (45, 1, "acute GVHD grade III-IV"),
        "P08": (800, 0, "censored: last contact"),
        "P09": (200, 0, "censored: last contact"),
        "P10": (400, 2, "death"),
        "P11": (350, 2, "death"),
        "P12": (600, 0, "censored: last contact"),
        "P13": (30, 1, "acute GVHD grade III-IV"),
    },
    "CGVHD": {
        "P01": (200, 1, "chronic GVHD"),
        "P02": (500, 2, "death"),
        "P05": (60, 2, "death"),
        "P06": (250, 1, "chronic GVHD"),  # mild, untreated: still chronic GVHD
        "P07": (45, 2, "death"),
        "P08": (200, 1, "chronic GVHD"),
        "P09": (200, 0, "censored: last contact"),
        "P10": (400, 2, "death"),
        "P11": (350, 2, "death"),
        "P12": (95, 1, "chronic GVHD"),  # before day 100: the NIH criteria allow it
        "P13": (50, 0, "censored: last contact"),
    },
}


def records() -> ClinicalRecords:
    patients, transplants, events = [], [], []
    for sid, (last, agrade, aday, cgrade, cday, systemic, happened) in COHORT.items():
        dead = any(kind == "death" for kind, _ in happened)
        patients.append(
            {
                "study_id": sid,
                "diagnosis_date": "2010-03-01",
                "last_contact_date": day(last),
                "vital_status": "dead" if dead else "alive",
                "randomisation_date": None,
            }
        )
        transplants.append(
            {
                "study_id": sid,
                "transplant_date": TRANSPLANT.isoformat(),
                "agvhd_grade": agrade,
                "agvhd_date": day(aday),
                "cgvhd_severity": cgrade,
                "cgvhd_date": day(cday),
                "cgvhd_systemic_treatment": systemic,
            }
        )
        events += [{"study_id": sid, "event_type": kind, "event_date": day(n)} for kind, n in happened]
    return ClinicalRecords.from_tables(
        pd.DataFrame(patients), None, pd.DataFrame(events), pd.DataFrame(transplants)
    )


def derived(endpoint: str) -> pd.DataFrame:
    return derive(records(), [endpoint], cutoff=CUTOFF).set_index("study_id")


@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_each_patient_has_the_hand_derived_time_status_and_event(endpoint: str) -> None:
    frame = derived(endpoint)
    got = {sid: (int(r.time_days), int(r.status), str(r.event)) for sid, r in frame.iterrows()}
    assert got == EXPECTED[endpoint]


def test_the_gvhd_endpoints_run_from_the_transplant_and_compete_with_death_only() -> None:
    assert ENDPOINTS["GRFS"].origin == "transplant" and not ENDPOINTS["GRFS"].competing_risks
    assert ENDPOINTS["GRFS"].reads_gvhd and not ENDPOINTS["TRM"].reads_gvhd
    assert set(ENDPOINTS["GRFS"].events) == {"agvhd_3_4", "cgvhd_systemic", "relapse", "death"}
    for name in ("AGVHD24", "AGVHD34", "CGVHD"):
        assert ENDPOINTS[name].origin == "transplant" and ENDPOINTS[name].competing == ("death",)


def test_a_transplant_without_gvhd_recorded_has_no_gvhd_row_but_keeps_its_others() -> None:
    frame = derive(records(), [*EXPECTED, "OS", "TRM"], cutoff=CUTOFF)
    assert set(frame.loc[frame["study_id"] == "P04", "endpoint"]) == {"OS", "TRM"}


def test_the_chronic_incidence_needs_the_chronic_severity_and_grfs_either_grade() -> None:
    # P03 has an acute grade but no chronic severity recorded; P04 neither.
    frame = derive(records(), ["CGVHD", "GRFS"], cutoff=CUTOFF)
    assert set(COHORT) - set(frame.loc[frame["endpoint"] == "CGVHD", "study_id"]) == {"P03", "P04"}
    assert set(COHORT) - set(frame.loc[frame["endpoint"] == "GRFS", "study_id"]) == {"P04"}


def test_a_cohort_without_any_gvhd_columns_has_no_gvhd_rows() -> None:
    plain = records()
    bare = ClinicalRecords.from_tables(
        plain.patients, None, plain.events, plain.transplants[["study_id", "transplant_date"]]
    )
    assert derive(bare, list(EXPECTED), cutoff=CUTOFF).empty
    assert len(derive(bare, ["TRM"], cutoff=CUTOFF)) == len(COHORT)


@pytest.mark.r
def test_grfs_equals_survfit() -> None:
    frame = derived("GRFS")
    r = run_r(
        "f <- survfit(Surv(time, status) ~ 1, data = d)\n"
        "out <- list(time = f$time, surv = f$surv, se = f$std.err, risk = f$n.risk)",
        {"time": frame["time_days"].to_numpy(), "status": frame["status"].to_numpy()},
    )
    fit = kaplan_meier(frame["time_days"], frame["status"])
    assert_close(fit.time, r["time"], what="time")
    assert_close(fit.n_risk, r["risk"], what="n at risk")
    assert_close(fit.surv, r["surv"], what="GRFS")  # type: ignore[attr-defined]
    assert_close(fit.std_err_log, r["se"], what="standard error of log GRFS")
    assert 0 < fit.surv[-1] < 1  # type: ignore[attr-defined]


GRID = [20, 30, 45, 60, 95, 150, 200, 250, 400, 500, 600, 900]


@pytest.mark.r
@pytest.mark.parametrize("endpoint", ["AGVHD24", "AGVHD34", "CGVHD"])
def test_gvhd_incidence_equals_cuminc(endpoint: str) -> None:
    frame = derived(endpoint)
    grid = [g for g in GRID if g <= frame["time_days"].max()]  # cuminc gives NA after the last time
    assert len(grid) >= 9
    r = run_r(
        f"ci <- cuminc(d$time, d$status, cencode = 0); tp <- timepoints(ci, c({', '.join(map(str, grid))}))\n"
        "out <- list(est = tp$est, var = tp$var)",
        {"time": frame["time_days"].to_numpy(), "status": frame["status"].to_numpy()},
    )
    at = cumulative_incidence(frame["time_days"], frame["status"]).at(grid)
    # cuminc gives causes within times (1 GVHD, 2 death without it), as our rows of (time, cause)
    assert_close(at.estimate.ravel(), r["est"], what=f"{endpoint} incidence")
    assert_close(at.variance.ravel(), r["var"], what=f"{endpoint} variance")
    assert np.all(np.diff(at.estimate[:, 0]) >= 0) and at.estimate[-1, 0] > 0
