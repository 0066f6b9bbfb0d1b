"""The 126-infant allo-HSCT cohort: transplanted 2013-03 to 2024-12, followed to 2025-05-31.

Calibrated to the retrospective study of ../shared/seeds/000_c0cc4482fbbb1783.txt:
81 AML and 45 ALL; 100 transplanted in CR1, 18 in CR2 or later, 8 without remission
(all AML); haploidentical and matched unrelated donors (a few others); MRD before
transplant by flow cytometry (and PCR in ALL); KMT2A rearrangement; every infant
engrafted. The cohort's make-up is fixed by :data:`SUBGROUPS` (it is what the study
reports); survival after transplant is drawn under a decaying hazard (see
:mod:`._rows`) whose multipliers reproduce each subgroup's 3-year OS, and deaths are
transplant-related or follow a relapse. Median follow-up about 39 months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from bassinet.simulate._rows import Row, check_options, day, event_times
from bassinet.simulate.registry_rows import RegistryRows

#: (leukemia, status before transplant, patients): the cohort as reported.
SUBGROUPS: tuple[tuple[str, str, int], ...] = (
    ("AML", "CR1", 66),
    ("AML", "CR2+", 7),
    ("AML", "NR", 8),
    ("ALL", "CR1", 34),
    ("ALL", "CR2+", 11),
)


@dataclass(frozen=True)
class HsctInfantsModel:
    """The parameters of the transplant cohort, each with the figure it drives.

    Attributes
    ----------
    first_transplant, last_transplant, cutoff : date
        Transplants from 2013-03-01 to 2024-12-31, cut-off 2025-05-31 (the study's).
    accrual_skew : float
        Transplant dates have density proportional to ``x ** (accrual_skew - 1)`` over the
        period (the centres grew): drives the median follow-up of 39 months.
    death_rate, death_tau : float
        Baseline decaying hazard of death per day after transplant (AML in CR1): drives
        3-year OS 74.5% in AML CR1.
    death_hr : dict
        Hazard ratios: AML CR2 or later (71.4%), AML without remission (33.3%,
        P = 0.0105), ALL in CR1 (91.1%), ALL CR2 or later (72.7%, P = 0.191), MRD
        positive before transplant in ALL (60% vs 85.6%, P = 0.026), ALL without KMT2A
        rearrangement (74.0% vs 86.7%), haploidentical donor in ALL (81.7% vs 91.7%).
        In AML, MRD by flow and the donor have no effect (74.3% vs 74.3%; 74.4% vs 70%).
    aml_mrd_positive : float
        P(FCM MRD positive | AML in remission): 20 of 73.
    all_mrd_positive : dict
        P(MRD positive | ALL, status): 5 of 45 positive, more often in CR2 or later.
    all_kmt2a : float
        P(KMT2A rearranged | ALL): 33 of 45.
    haplo : dict
        P(haploidentical | leukemia): AML 61 of 81, ALL 29 of 45; the rest mostly
        matched unrelated (10 of 81 AML, 15 of 45 ALL).
    relapse_share : float
        Share of deaths that follow a relapse (the rest are transplant-related).
    male : float
        P(male): 81 of 126.
    lost_mean_days : float
        Mean days to loss to follow-up (exponential): with ``accrual_skew``, the
        median follow-up.
    """

    first_transplant: dt.date = dt.date(2013, 3, 1)
    last_transplant: dt.date = dt.date(2024, 12, 31)
    cutoff: dt.date = dt.date(2025, 5, 31)
    accrual_skew: float = 1.15
    death_rate: float = 0.0011
    death_tau: float = 260.0
    death_hr: dict[str, float] = field(
        default_factory=lambda: {
            "aml_cr2": 1.15,
            "aml_nr": 3.8,
            "all": 0.2,
            "all_cr2": 2.6,
            "all_mrd_positive": 2.5,
            "all_no_kmt2a": 2.0,
            "all_haplo": 1.6,
        }
    )
    aml_mrd_positive: float = 20 / 73
    all_mrd_positive: dict[str, float] = field(default_factory=lambda: {"CR1": 0.06, "CR2+": 0.27})
    all_kmt2a: float = 33 / 45
    haplo: dict[str, float] = field(default_factory=lambda: {"AML": 61 / 81, "ALL": 29 / 45})
    relapse_share: float = 0.55
    male: float = 81 / 126
    lost_mean_days: float = 9000.0
    n: int = field(default=sum(s[2] for s in SUBGROUPS), init=False)


def simulate_hsct_infants(
    *, seed: int, cutoff: dt.date | None = None, model: HsctInfantsModel | None = None
) -> RegistryRows:
    """The 126-infant transplant cohort in the registry's import format, the same for a given seed."""
    model = model or HsctInfantsModel()
    cutoff = model.cutoff if cutoff is None else cutoff
    check_options(model.n, model.last_transplant, cutoff)
    rng = np.random.default_rng(seed)
    m = model
    leukemia = np.array([s[0] for s in SUBGROUPS for _ in range(s[2])])
    status = np.array([s[1] for s in SUBGROUPS for _ in range(s[2])])
    n = len(leukemia)
    is_all = leukemia == "ALL"
    in_remission = status != "NR"
    p_mrd = np.where(
        is_all,
        np.where(status == "CR1", m.all_mrd_positive["CR1"], m.all_mrd_positive["CR2+"]),
        m.aml_mrd_positive,
    )
    mrd_positive = in_remission & (rng.random(n) < p_mrd)
    kmt2a = np.where(is_all, rng.random(n) < m.all_kmt2a, rng.random(n) < 0.5)
    haplo = rng.random(n) < np.where(is_all, m.haplo["ALL"], m.haplo["AML"])
    other_donor = ~haplo & (rng.random(n) < np.where(is_all, 0.02, 0.35))
    hr = m.death_hr
    multiplier = np.where(
        is_all,
        hr["all"]
        * np.where(status == "CR2+", hr["all_cr2"], 1.0)
        * np.where(mrd_positive, hr["all_mrd_positive"], 1.0)
        * np.where(kmt2a, 1.0, hr["all_no_kmt2a"])
        * np.where(haplo, hr["all_haplo"], 1.0),
        np.where(status == "CR2+", hr["aml_cr2"], np.where(status == "NR", hr["aml_nr"], 1.0)),
    )
    death = event_times(rng, multiplier, m.death_rate, m.death_tau)
    relapsed = np.isfinite(death) & (rng.random(n) < m.relapse_share)
    span = (m.last_transplant - m.first_transplant).days
    position = rng.random(n) ** (1 / m.accrual_skew)
    transplant_day = np.round(position * span).astype(int)
    age_at_transplant = np.clip(rng.normal(262, 75, n), 35, 364).astype(int)
    lag = np.maximum(20, (age_at_transplant * rng.uniform(0.25, 0.6, n))).astype(int)
    lag = np.where(status == "CR1", lag, np.maximum(lag, 90))
    lag = np.minimum(lag, age_at_transplant - 5)
    order = rng.permutation(n)
    rows: dict[str, list[Row]] = {
        name: [] for name in ("patients", "remissions", "mrd", "transplants", "events")
    }
    for k, i in enumerate(order):
        sid = f"HSCT-{k + 1:03d}"
        transplant = day(m.first_transplant, transplant_day[i])
        diagnosed = day(transplant, -lag[i])
        born = day(transplant, -age_at_transplant[i])
        if born >= diagnosed:
            born = day(diagnosed, -1)
        donor = (
            "haploidentical" if haplo[i] else ("matched_sibling" if other_donor[i] else "matched_unrelated")
        )
        mrd_method = "PCR" if is_all[i] and rng.random() < 0.3 else "FCM"
        mrd_value: str = (
            (f"{10 ** rng.uniform(-3.5, -1.5):.2e}" if mrd_positive[i] else "negative")
            if in_remission[i]
            else f"{rng.uniform(0.05, 0.4):.2f}"
        )
        engrafted = int(rng.integers(10, 25))
        end = min(cutoff, day(transplant, engrafted + int(rng.exponential(m.lost_mean_days))))
        records: list[tuple[str, Row]] = []
        records.append(
            (
                "transplants",
                {
                    "transplant_date": transplant,
                    "donor_type": donor,
                    "stem_cell_source": "peripheral_blood" if rng.random() < 0.7 else "bone_marrow",
                    "remission_status": status[i],
                    "mrd_value": mrd_value,
                    "mrd_method": mrd_method,
                    "engraftment_date": day(transplant, engrafted)
                    if day(transplant, engrafted) <= end
                    else "",
                },
            )
        )
        measured = day(transplant, -int(rng.integers(3, 20)))
        mrd_row = {"time_point": "pre_transplant", "measured_on": measured, "method": mrd_method}
        records.append(("mrd", {**mrd_row, "value": mrd_value}))
        first_cr = day(diagnosed, int(rng.integers(28, 40)))
        if status[i] == "NR":
            records.append(
                (
                    "remissions",
                    {"time_point": "end_of_induction", "assessment_date": first_cr, "status": "no_CR"},
                )
            )
            records.append(("events", {"event_type": "resistant_disease", "event_date": first_cr}))
        else:
            records.append(
                (
                    "remissions",
                    {"time_point": "end_of_induction", "assessment_date": first_cr, "status": "CR"},
                )
            )
            if status[i] == "CR2+":
                relapse_before = day(first_cr, max(10, int((lag[i] - 40) * rng.uniform(0.4, 0.7))))
                records.append(
                    (
                        "events",
                        {
                            "event_type": "relapse",
                            "event_date": relapse_before,
                            "relapse_site": "bone_marrow",
                        },
                    )
                )
        # Every infant engrafted (as the study reports): deaths come after engraftment.
        death_date = day(transplant, max(engrafted + 1.0, death[i])) if np.isfinite(death[i]) else None
        if death_date is not None and death_date <= end:
            if relapsed[i] and death[i] > 60:
                when = day(transplant, death[i] * rng.uniform(0.4, 0.85))
                records.append(
                    ("events", {"event_type": "relapse", "event_date": when, "relapse_site": "bone_marrow"})
                )
                cause = "leukemia"
            else:
                cause = "transplant_related"
            records.append(
                ("events", {"event_type": "death", "event_date": death_date, "death_cause": cause})
            )
            last, vital = death_date, "dead"
        else:
            last, vital = end, "alive"
        rows["patients"].append(
            {
                "study_id": sid,
                "centre": "Lu Daopei Hospital, Beijing"
                if rng.random() < 0.5
                else "Hebei Yanda Lu Daopei Hospital",
                "study_group": "Lu Daopei",
                "original_country": "",
                "sex": "M" if rng.random() < m.male else "F",
                "date_of_birth": born,
                "diagnosis_date": diagnosed,
                "leukemia_type": leukemia[i],
                "immunophenotype": "myeloid"
                if leukemia[i] == "AML"
                else ("pro_B" if kmt2a[i] else "common_B"),
                "cd10": "" if leukemia[i] == "AML" else ("negative" if kmt2a[i] else "positive"),
                "kmt2a_status": "rearranged" if kmt2a[i] else "germline",
                "kmt2a_partner": str(rng.choice(["AFF1", "MLLT1", "MLLT3", "MLLT10", "other"]))
                if kmt2a[i]
                else "",
                "wbc": round(float(rng.lognormal(3.5, 1.2)), 1),
                "cns_status": "CNS1",
                "day8_blasts": "",
                "protocol": "",
                "protocol_version": "",
                "randomisation_arm": "",
                "randomisation_date": "",
                "last_contact_date": last,
                "vital_status": vital,
            }
        )
        for sheet, row in records:
            rows[sheet].append({"study_id": sid, **row})
    return RegistryRows(rows)
