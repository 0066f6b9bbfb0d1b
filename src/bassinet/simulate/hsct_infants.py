"""The 126-infant allo-HSCT cohort: transplanted 2013-03 to 2024-12, followed to 2025-05-31.

Calibrated to the retrospective study of ../shared/seeds/000_c0cc4482fbbb1783.txt:
81 AML and 45 ALL; 100 transplanted in CR1, 18 in CR2 or later, 8 without remission
(all AML); haploidentical and matched unrelated donors (a few others); MRD before
transplant by flow cytometry (and PCR in ALL); KMT2A rearrangement; every infant
engrafted. The cohort's make-up is fixed by :data:`SUBGROUPS` (it is what the study
reports); survival after transplant is drawn under a decaying hazard (see
:mod:`._rows`) whose multipliers reproduce each subgroup's 3-year OS, and deaths are
transplant-related or follow a relapse. Median follow-up about 39 months.

The transplant items centres report to EBMT and CIBMTR (HLA match, conditioning, GVHD
prophylaxis, platelet engraftment, acute and chronic GVHD, CMV serostatus) are drawn from
a second random stream (:func:`transplant_items`), so that every figure above is the same
for a seed as before they were added. The source abstract reports none of them: their
probabilities (:class:`TransplantItemsModel`) are round, plausible figures for paediatric
haploidentical transplants with ATG, assumptions rather than a calibration.
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


@dataclass(frozen=True)
class TransplantItemsModel:
    """Probabilities of the EBMT/CIBMTR items of the simulated transplants (assumptions).

    Attributes
    ----------
    agvhd_grades : dict
        Maximum MAGIC grade of acute GVHD: grade II-IV in 30%, III-IV in 9% (of the order
        reported after haploidentical transplants with ATG in children), onset on day 14 to
        60.
    cgvhd_severity : dict
        NIH severity of chronic GVHD: 22% any if followed long enough, onset on day 90 to
        400 (before day 100 allowed by the NIH criteria, rare here).
    cgvhd_systemic_mild : float
        P(systemic treatment | mild chronic GVHD); moderate and severe are always treated.
    myeloablative, tbi : float
        P(myeloablative conditioning) and P(TBI): infants are rarely irradiated.
    cmv_donor_positive, cmv_recipient_positive : float
        CMV IgG seroprevalence of donors (adults) and of infant recipients.
    """

    agvhd_grades: dict[str, float] = field(
        default_factory=lambda: {"0": 0.55, "I": 0.15, "II": 0.21, "III": 0.06, "IV": 0.03}
    )
    cgvhd_severity: dict[str, float] = field(
        default_factory=lambda: {"none": 0.78, "mild": 0.11, "moderate": 0.08, "severe": 0.03}
    )
    cgvhd_systemic_mild: float = 0.2
    myeloablative: float = 0.9
    tbi: float = 0.02
    cmv_donor_positive: float = 0.85
    cmv_recipient_positive: float = 0.7


def transplant_items(
    rng: np.random.Generator,
    row: Row,
    *,
    donor: str,
    engrafted: int,
    last: dt.date,
    model: TransplantItemsModel,
) -> Row:
    """The EBMT/CIBMTR items of one simulated transplant ``row``, none dated after ``last``.

    GVHD is only recorded where it was seen: an onset after the last contact (or the
    death) is recorded as no GVHD, as centres report a patient who died or was lost
    before it.
    """
    transplant = dt.date.fromisoformat(str(row["transplant_date"]))
    matched, typed = {
        "haploidentical": (int(rng.integers(5, 8)), 10),
        "matched_unrelated": (10 if rng.random() < 0.75 else 9, 10),
    }.get(donor, (10, 10))
    sibling = donor == "matched_sibling"
    prophylaxis = (
        "CsA_MTX" if sibling or (donor == "matched_unrelated" and rng.random() < 0.3) else "CsA_MTX_MMF"
    )
    platelets = day(transplant, engrafted + int(rng.integers(0, 21)))
    grades = list(model.agvhd_grades)
    grade = str(rng.choice(grades, p=list(model.agvhd_grades.values())))
    acute_on = day(transplant, int(rng.integers(14, 61)))
    if grade != "0" and acute_on > last:
        grade = "0"
    severities = list(model.cgvhd_severity)
    severity = str(rng.choice(severities, p=list(model.cgvhd_severity.values())))
    chronic_on = day(transplant, int(rng.integers(90, 401)))
    systemic = severity in ("moderate", "severe") or (
        severity == "mild" and rng.random() < model.cgvhd_systemic_mild
    )
    if severity != "none" and chronic_on > last:
        severity = "none"
    return {
        **row,
        "hla_match": f"{matched}/{typed}",
        "conditioning_intensity": "myeloablative"
        if rng.random() < model.myeloablative
        else "reduced_intensity",
        "tbi": "yes" if rng.random() < model.tbi else "no",
        "serotherapy": "ATG" if not sibling or rng.random() < 0.5 else "none",
        "gvhd_prophylaxis": prophylaxis,
        "platelet_engraftment_date": platelets if platelets <= last else "",
        "agvhd_grade": grade,
        "agvhd_date": acute_on if grade != "0" else "",
        "cgvhd_severity": severity,
        "cgvhd_date": chronic_on if severity != "none" else "",
        "cgvhd_systemic_treatment": ("yes" if systemic else "no") if severity != "none" else "",
        "cmv_donor": "positive" if rng.random() < model.cmv_donor_positive else "negative",
        "cmv_recipient": "positive" if rng.random() < model.cmv_recipient_positive else "negative",
    }


def simulate_hsct_infants(
    *, seed: int, cutoff: dt.date | None = None, model: HsctInfantsModel | None = None
) -> RegistryRows:
    """The 126-infant transplant cohort in the registry's import format, the same for a given seed."""
    model = model or HsctInfantsModel()
    cutoff = model.cutoff if cutoff is None else cutoff
    check_options(model.n, model.last_transplant, cutoff)
    rng = np.random.default_rng(seed)
    # The transplant items' own stream: drawing them leaves ``rng``'s draws as they were.
    items_rng = np.random.default_rng([seed, 19])
    items_model = TransplantItemsModel()
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
        transplant_row: Row = {
            "transplant_date": transplant,
            "donor_type": donor,
            "stem_cell_source": "peripheral_blood" if rng.random() < 0.7 else "bone_marrow",
            "remission_status": status[i],
            "mrd_value": mrd_value,
            "mrd_method": mrd_method,
            "engraftment_date": day(transplant, engrafted) if day(transplant, engrafted) <= end else "",
        }
        records.append(("transplants", transplant_row))
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
        transplant_row.update(
            transplant_items(
                items_rng, transplant_row, donor=donor, engrafted=engrafted, last=last, model=items_model
            )
        )
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
