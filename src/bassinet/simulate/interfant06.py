"""An Interfant-06-like trial: 651 infants with ALL, stratified by Bassinet's own protocol engine.

The case mix, the protocol's decisions and the outcomes are drawn so that the analysis
reproduces the published figures (Pieters et al., J Clin Oncol 2019; the abstract is
../shared/seeds/004_a405113bfb393851.txt) within sampling error. Each parameter of
:class:`Interfant06Model` names the figure it drives; ``bassinet simulate calibrate
interfant06`` shows the result (docs/simulate.md).

How a patient is made:

1. Study group (original country or later joiner), diagnosis date in 2006-2016, sex,
   age, KMT2A status and partner, WBC, day-8 blasts (prednisone response), CD10.
2. The risk group is :func:`bassinet.protocols.interfant06.risk_group` of those facts:
   the rules are the engine's, not a copy.
3. Induction: death in induction, resistant disease (no CR at day 33) or complete
   remission. MR and HR patients in CR in a randomising group are eligible
   (:func:`~bassinet.protocols.interfant06.randomisation_eligibility`); most are
   randomised 1:1 between IB and ADE + MAE.
4. From remission: relapse and death in remission under decaying hazards (see
   :mod:`._rows`) with proportional covariate effects, and second malignancies.
   Transplants follow :func:`~bassinet.protocols.interfant06.sct_indication`: HR in
   first remission, and after the June 2009 amendment MR with MRD >= 1e-4 at the start
   of OCTADAD; a transplant lowers the relapse hazard and brings transplant-related
   deaths. After relapse or resistant disease, most infants die.
5. Follow-up ends at death, at loss to follow-up, or at the data cut-off; nothing later
   is recorded. The rows are the registry's import format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from bassinet.protocols import interfant06
from bassinet.protocols.facts import MRD, PatientFacts
from bassinet.simulate._rows import NEVER, Row, check_options, day, event_times
from bassinet.simulate.registry_rows import RegistryRows

#: (study group, original country, share of patients, takes part in the randomisation).
STUDY_GROUPS: tuple[tuple[str, bool, float, bool], ...] = (
    ("DCOG", True, 0.08, True),
    ("COALL", True, 0.07, True),
    ("AIEOP", True, 0.12, True),
    ("BFM-G", True, 0.10, True),
    ("BFM-A", True, 0.03, True),
    ("FRALLE", True, 0.08, True),
    ("UKCCLG", True, 0.10, True),
    ("NOPHO", True, 0.05, True),
    ("EORTC-CLG", True, 0.02, True),
    ("CPH", False, 0.03, True),
    ("PPLLSG", False, 0.06, True),
    ("ANZCHOG", False, 0.04, True),
    ("PINDA", False, 0.06, True),
    ("GATLA", False, 0.04, False),
    ("HKPHOSG", False, 0.02, True),
    ("SJCRH", False, 0.03, True),
    ("MRC-IL", False, 0.03, True),
    ("CCLG-CN", False, 0.04, False),
)
PARTNERS = ("AFF1", "MLLT1", "MLLT3", "MLLT10", "other")
DAY_CR = 33  # end of induction: remission assessed on day 33
YEAR = 365.25


@dataclass(frozen=True)
class Interfant06Model:
    """The parameters of the Interfant-06-like trial, each with the figure it drives.

    Attributes
    ----------
    n : int
        Patients (651 infants were included).
    accrual_start, accrual_end : date
        Diagnoses fall uniformly in 2006-01-01 to 2016-12-31 (the trial's accrual).
    cutoff : date
        The data cut-off: 2018-12-31, so that 6-year estimates rest on the first six
        years of accrual.
    rearranged : float
        P(KMT2A rearranged) = 0.743: drives 167 LR (KMT2A germline) of 651.
    partner_probs : tuple of float
        AFF1, MLLT1, MLLT3, MLLT10, other among KMT2A-r: AFF1 about half.
    young_rearranged, young_germline : float
        P(age < 6 months) by KMT2A status; with ``high_wbc_young`` and
        ``poor_prednisone`` they drive 164 HR and 320 MR.
    high_wbc_young, high_wbc_other : float
        P(WBC >= 300 x10^9/L) in KMT2A-r infants under 6 months, and in the others.
    poor_prednisone : float
        P(>= 1000 blasts/uL on day 8) in KMT2A-r infants (half that in germline).
    induction_death : dict
        P(death in induction) in original countries and others: drives the gap in EFS
        and OS between original (49.4, 62.1) and other countries (39.0, 49.7), which the
        study puts down to toxic deaths and resistant disease.
    resistant : dict
        P(no CR after induction) by region, multiplied by ``resistant_hr_factor`` in HR:
        drives the regional gap and the HR 6-year EFS of 20.9%.
    resistant_hr_factor, resistant_germline_factor : float
        See ``resistant``: KMT2A germline infants (LR) rarely fail induction.
    consent : float
        P(randomised | eligible) = 0.81: drives 330 of 407 eligible randomised.
    relapse_rate, relapse_tau : float
        Baseline decaying relapse hazard per day from CR (LR, original country, IB):
        with the covariate effects, drives 6-year EFS 46.1% and the 6-year CIR of
        54.9% with IB; ``relapse_tau`` (days) makes DFS level off after year 3 (3-year
        DFS 38.6%, 6-year 36.8% with IB).
    relapse_hr : dict
        Relapse hazard ratios: KMT2A-r, age < 6 months, WBC >= 300, poor prednisone
        response (the independent predictors of adverse DFS; age, WBC and prednisone
        response act in KMT2A-r infants, as the risk groups assume), t(4;11) or t(11;19)
        against other partners (their lower EFS, p = 0.005), ADE + MAE against IB (6-year
        CIR 47.5% vs 54.9%) and transplant (from the transplant date). CD10 and sex have
        no effect, as the multivariable analysis found.
    nrm_rate, nrm_tau : float
        Baseline hazard of death in remission (original countries, IB): drives the
        6-year death in remission of 8.3% with IB.
    nrm_hr : dict
        Death-in-remission hazard ratios: other countries (toxic deaths), ADE + MAE
        (10.2% vs 8.3%), age < 6 months.
    sct_hr, sct_mr : float
        P(transplant | indicated) for HR and for MR with MRD >= 1e-4 before OCTADAD:
        drive 76 of 164 HR transplanted and 16 of 23 MR.
    mrd_high_mr : float
        P(MRD >= 1e-4 at the start of OCTADAD | MR): drives 23 MR patients with high MRD
        (from the June 2009 amendment).
    trm : float
        P(transplant-related death | transplant): drives 14.4% TRM among MR/HR recipients.
    death_after_relapse, death_after_resistance : float
        P(dying after relapse, after resistant disease): with the EFS events, drive OS
        58.2% overall.
    second_malignancy_rate : float
        Second malignancies per day in remission.
    lost_rate : float
        Loss to follow-up per day.
    protocol, id_prefix : str
        The protocol recorded and the study IDs' prefix ("Interfant-06", "I06-0001"); the
        Interfant-99 cohort (:mod:`.interfant99`) reuses this model with its own.
    """

    n: int = 651
    accrual_start: dt.date = dt.date(2006, 1, 1)
    accrual_end: dt.date = dt.date(2016, 12, 31)
    cutoff: dt.date = dt.date(2018, 12, 31)
    rearranged: float = 0.743
    partner_probs: tuple[float, ...] = (0.50, 0.19, 0.12, 0.07, 0.12)
    young_rearranged: float = 0.56
    young_germline: float = 0.30
    high_wbc_young: float = 0.44
    high_wbc_other: float = 0.22
    poor_prednisone: float = 0.32
    induction_death: dict[str, float] = field(default_factory=lambda: {"original": 0.01, "other": 0.08})
    resistant: dict[str, float] = field(default_factory=lambda: {"original": 0.015, "other": 0.08})
    resistant_hr_factor: float = 2.5
    resistant_germline_factor: float = 0.5
    consent: float = 0.82
    relapse_rate: float = 0.0003
    relapse_tau: float = 420.0
    relapse_hr: dict[str, float] = field(
        default_factory=lambda: {
            "rearranged": 2.8,
            "young": 1.9,
            "high_wbc": 1.6,
            "poor_prednisone": 1.8,
            "t4_11_or_t11_19": 1.6,
            "ade_mae": 0.80,
            "transplant": 0.55,
        }
    )
    nrm_rate: float = 0.0002
    nrm_tau: float = 300.0
    nrm_hr: dict[str, float] = field(default_factory=lambda: {"other": 2.5, "ade_mae": 1.25, "young": 1.2})
    sct_hr: float = 0.85
    sct_mr: float = 0.76
    mrd_high_mr: float = 0.13
    trm: float = 0.19
    death_after_relapse: float = 0.68
    death_after_resistance: float = 0.85
    second_malignancy_rate: float = 0.000015
    lost_rate: float = 0.02 / YEAR
    protocol: str = "Interfant-06"
    id_prefix: str = "I06"


def simulate_interfant06(
    *, seed: int, n: int | None = None, cutoff: dt.date | None = None, model: Interfant06Model | None = None
) -> RegistryRows:
    """An Interfant-06-like trial in the registry's import format, the same for a given seed.

    Parameters
    ----------
    seed
        Seed of the NumPy ``Generator``; the same seed gives the same rows.
    n
        Number of infants (default 651, as in the trial).
    cutoff
        Data cut-off date (default 2018-12-31); not before accrual ends.
    model
        The parameters (:class:`Interfant06Model`); defaults are the calibrated ones.
    """
    model = model or Interfant06Model()
    n = model.n if n is None else n
    cutoff = model.cutoff if cutoff is None else cutoff
    check_options(n, model.accrual_end, cutoff)
    return _Trial(model, np.random.default_rng(seed), n, cutoff).rows()


@dataclass(frozen=True)
class _Times:
    """One patient's event times in days from CR (inf: never): the first of them happens."""

    relapse: float
    nrm: float
    smn: float
    trm: float

    @property
    def first(self) -> float:
        return min(self.relapse, self.nrm, self.smn, self.trm)


Add = Callable[[str, Row, dt.date], bool]


class _Trial:
    """One simulated trial: arrays of patient facts and times, then rows."""

    def __init__(self, model: Interfant06Model, rng: np.random.Generator, n: int, cutoff: dt.date) -> None:
        self.m, self.rng, self.n, self.cutoff = model, rng, n, cutoff

    def rows(self) -> RegistryRows:
        m, rng, n = self.m, self.rng, self.n
        shares = np.array([g[2] for g in STUDY_GROUPS])
        group = rng.choice(len(STUDY_GROUPS), size=n, p=shares / shares.sum())
        original = np.array([STUDY_GROUPS[g][1] for g in group])
        randomising = np.array([STUDY_GROUPS[g][3] for g in group])
        span = (m.accrual_end - m.accrual_start).days
        diagnosis_day = np.sort(rng.integers(0, span + 1, n))
        rearranged = rng.random(n) < m.rearranged
        young = rng.random(n) < np.where(rearranged, m.young_rearranged, m.young_germline)
        age = np.where(young, rng.integers(5, 176, n), rng.integers(190, 364, n))
        partner = rng.choice(len(PARTNERS), size=n, p=np.asarray(m.partner_probs) / sum(m.partner_probs))
        high_wbc = rng.random(n) < np.where(rearranged & young, m.high_wbc_young, m.high_wbc_other)
        wbc = np.where(high_wbc, 300 + rng.lognormal(4.5, 0.8, n), rng.uniform(2, 299.5, n)).round(1)
        poor = rng.random(n) < np.where(rearranged, m.poor_prednisone, m.poor_prednisone / 2)
        blasts = np.where(poor, 1000 + rng.lognormal(7.5, 1.0, n), rng.uniform(0, 999, n)).round(0)
        cd10_negative = rng.random(n) < np.where(rearranged, 0.85, 0.15)
        male = rng.random(n) < 0.48
        self.patients = []
        risk: list[str | None] = []
        for i in range(n):
            diagnosed = day(m.accrual_start, diagnosis_day[i])
            born = day(diagnosed, -int(age[i]))
            facts = PatientFacts.from_dates(
                f"{m.id_prefix}-{i + 1:04d}",
                date_of_birth=born,
                diagnosis_date=diagnosed,
                leukemia_type="ALL",
                kmt2a_status="rearranged" if rearranged[i] else "germline",
                kmt2a_partner=PARTNERS[partner[i]] if rearranged[i] else None,
                wbc=float(wbc[i]),
                day8_blasts=float(blasts[i]),
            )
            self.patients.append(facts)
            risk.append(interfant06.risk_group(facts).outcome)
        group_hr = np.array([r == "HR" for r in risk])
        group_mr = np.array([r == "MR" for r in risk])
        aff1_mllt1 = rearranged & (partner <= 1)

        # Induction: death, resistant disease, or CR on day 33.
        region = np.where(original, "original", "other")
        p_death = np.array([m.induction_death[r] for r in region])
        p_resist = (
            np.array([m.resistant[r] for r in region])
            * np.where(group_hr, m.resistant_hr_factor, 1.0)
            * np.where(rearranged, 1.0, m.resistant_germline_factor)
        )
        u = rng.random(n)
        induction_death = u < p_death
        resistant = ~induction_death & (u < p_death + p_resist)
        in_cr = ~induction_death & ~resistant
        induction_death_day = rng.integers(4, DAY_CR, n)

        # Randomisation among the engine's eligible, in groups that randomise.
        eligible = np.zeros(n, dtype=bool)
        for k in np.flatnonzero((group_hr | group_mr) & in_cr & randomising):
            known = self.patients[int(k)]
            decision = interfant06.randomisation_eligibility(replace(known, cr_after_induction=True))
            eligible[k] = decision.outcome == "eligible"
        randomised = eligible & (rng.random(n) < m.consent)
        ade = randomised & (rng.random(n) < 0.5)
        randomisation_day = DAY_CR + rng.integers(2, 9, n)

        # MRD at the start of OCTADAD (MR) and the transplant indication.
        octadad_day = rng.integers(120, 150, n)
        mrd_high = group_mr & (rng.random(n) < m.mrd_high_mr)
        # As recorded (three significant digits), so that the engine judges the registry's value.
        mrd_value = np.array(
            [
                float(f"{v:.2e}")
                for v in np.where(mrd_high, 10 ** rng.uniform(-4, -1.5, n), 10 ** rng.uniform(-6, -4.05, n))
            ]
        )
        sct_day = np.where(group_hr, rng.integers(110, 200, n), octadad_day + rng.integers(35, 90, n))
        # The engine's indication, for patients in first remission: HR, or MR with MRD >= 1e-4
        # at the start of OCTADAD measured from the amendment on; then a donor and consent.
        indicated = np.zeros(n, dtype=bool)
        for k in np.flatnonzero(in_cr & (group_hr | group_mr)):
            known = self.patients[int(k)]
            assert known.diagnosis_date is not None
            measured = day(known.diagnosis_date, octadad_day[k])
            facts = replace(
                known,
                cr_after_induction=True,
                in_first_remission=True,
                mrd=(MRD("start_of_octadad", "quantified", float(mrd_value[k]), "PCR", measured),),
            )
            indicated[k] = interfant06.sct_indication(facts).outcome == "indicated"
        accepts_hr, accepts_mr = rng.random(n) < m.sct_hr, rng.random(n) < m.sct_mr
        wants_sct = indicated & np.where(group_hr, accepts_hr, accepts_mr)

        # From CR (day 33): relapse and death in remission.
        hr = m.relapse_hr
        relapse_multiplier = (
            np.where(rearranged, hr["rearranged"], 1.0)
            * np.where(rearranged & young, hr["young"], 1.0)
            * np.where(rearranged & high_wbc, hr["high_wbc"], 1.0)
            * np.where(rearranged & poor, hr["poor_prednisone"], 1.0)
            * np.where(aff1_mllt1, hr["t4_11_or_t11_19"], 1.0)
            * np.where(ade, hr["ade_mae"], 1.0)
        )
        sct_from_cr = np.where(wants_sct, sct_day - DAY_CR, NEVER).astype(float)
        relapse = event_times(
            rng,
            relapse_multiplier,
            m.relapse_rate,
            m.relapse_tau,
            change_at=sct_from_cr,
            change_factor=hr["transplant"],
        )
        nrm_multiplier = (
            np.where(original, 1.0, m.nrm_hr["other"])
            * np.where(ade, m.nrm_hr["ade_mae"], 1.0)
            * np.where(young, m.nrm_hr["young"], 1.0)
        )
        nrm = event_times(rng, nrm_multiplier, m.nrm_rate, m.nrm_tau)
        smn = rng.exponential(1 / m.second_malignancy_rate, n)
        transplanted = wants_sct & (np.minimum(np.minimum(relapse, nrm), smn) > sct_from_cr)
        trm = np.where(transplanted & (rng.random(n) < m.trm), sct_from_cr + rng.integers(15, 300, n), NEVER)
        relapse = np.where(trm < relapse, NEVER, relapse)
        after_relapse = rng.random(n) < m.death_after_relapse
        death_gap = rng.lognormal(np.log(220), 0.7, n)
        after_resistance = rng.random(n) < m.death_after_resistance

        self.arrays = {
            "group": group, "male": male, "cd10_negative": cd10_negative,
            "induction_death": induction_death, "induction_death_day": induction_death_day,
            "resistant": resistant, "after_resistance": after_resistance, "death_gap": death_gap,
            "randomised": randomised, "randomisation_day": randomisation_day, "ade": ade,
            "octadad_day": octadad_day, "group_mr": group_mr, "mrd_value": mrd_value,
            "sct_day": sct_day, "transplanted": transplanted, "after_relapse": after_relapse,
        }  # fmt: skip
        out: dict[str, list[Row]] = {
            name: [] for name in ("patients", "remissions", "mrd", "courses", "transplants", "events")
        }
        lost = rng.exponential(1 / m.lost_rate, n)
        for i, facts in enumerate(self.patients):
            times = _Times(float(relapse[i]), float(nrm[i]), float(smn[i]), float(trm[i]))
            self._patient(i, facts, out, float(lost[i]), times)
        return RegistryRows(out)

    def _patient(
        self,
        i: int,
        facts: PatientFacts,
        out: dict[str, list[Row]],
        lost: float,
        times: _Times,
    ) -> None:
        a, rng = self.arrays, self.rng
        assert facts.diagnosis_date is not None and facts.age_days is not None
        diagnosed = facts.diagnosis_date
        end = min(self.cutoff, day(diagnosed, lost))  # follow-up ends here unless death comes first
        sid = facts.study_id
        g = STUDY_GROUPS[a["group"][i]]
        records: list[tuple[str, Row]] = []
        death: tuple[dt.date, str] | None = None

        def add(sheet: str, row: Row, when: dt.date) -> bool:
            if when <= end and (death is None or when <= death[0]):
                records.append((sheet, row))
                return True
            return False

        add("courses", {"course": "induction", "start_date": diagnosed}, diagnosed)
        cr_date = day(diagnosed, DAY_CR)
        patient: Row = {
            "study_id": sid,
            "centre": f"{g[0]} centre {int(rng.integers(1, 5))}",
            "study_group": g[0],
            "original_country": "yes" if g[1] else "no",
            "sex": "M" if a["male"][i] else "F",
            "date_of_birth": day(diagnosed, -facts.age_days),
            "diagnosis_date": diagnosed,
            "leukemia_type": "ALL",
            "immunophenotype": "pro_B" if a["cd10_negative"][i] else "common_B",
            "cd10": "negative" if a["cd10_negative"][i] else "positive",
            "kmt2a_status": facts.kmt2a_status,
            "kmt2a_partner": facts.kmt2a_partner or "",
            "wbc": facts.wbc,
            "cns_status": str(rng.choice(["CNS1", "CNS2", "CNS3"], p=[0.8, 0.12, 0.08])),
            "day8_blasts": facts.day8_blasts,
            "protocol": self.m.protocol,
            "protocol_version": "1.0",
            "randomisation_arm": "",
            "randomisation_date": "",
        }
        if a["induction_death"][i]:
            when = day(diagnosed, a["induction_death_day"][i])
            if when <= end:
                death = (when, str(rng.choice(["infection", "toxicity"])))
        elif a["resistant"][i]:
            if add(
                "remissions",
                {"time_point": "end_of_induction", "assessment_date": cr_date, "status": "no_CR"},
                cr_date,
            ):
                add("events", {"event_type": "resistant_disease", "event_date": cr_date}, cr_date)
                if a["after_resistance"][i]:
                    when = day(cr_date, a["death_gap"][i] * 0.7)
                    if when <= end:
                        death = (when, "leukemia")
        else:
            self._remission(i, diagnosed, cr_date, end, add, patient, times)
            death = self._death_after_remission(i, cr_date, end, times)
        if death is not None:
            records.append(
                ("events", {"event_type": "death", "event_date": death[0], "death_cause": death[1]})
            )
            patient["last_contact_date"], patient["vital_status"] = death[0], "dead"
        else:
            latest = max([diagnosed, *_dates(records), *_dates([("patients", patient)])])
            patient["last_contact_date"] = max(latest, day(end, -int(rng.integers(0, 60))))
            patient["vital_status"] = "alive"
        out["patients"].append(patient)
        for sheet, row in records:
            out[sheet].append({"study_id": sid, **row})

    def _remission(
        self,
        i: int,
        diagnosed: dt.date,
        cr_date: dt.date,
        end: dt.date,
        add: Add,
        patient: Row,
        times: _Times,
    ) -> None:
        """Records from remission on: randomisation, courses, MRD, transplant, relapse."""
        a, rng = self.arrays, self.rng
        add(
            "remissions",
            {"time_point": "end_of_induction", "assessment_date": cr_date, "status": "CR"},
            cr_date,
        )
        add(
            "mrd",
            {
                "time_point": "end_of_induction",
                "measured_on": cr_date,
                "method": "PCR",
                "value": f"{10 ** rng.uniform(-5.5, -1.5):.2e}" if rng.random() < 0.7 else "negative",
            },
            cr_date,
        )
        first = times.first
        event_day = DAY_CR + first
        randomised = a["randomised"][i]
        rand_date = day(diagnosed, a["randomisation_day"][i])
        if randomised and a["randomisation_day"][i] < event_day and rand_date <= end:
            arm = "ADE_MAE" if a["ade"][i] else "IB"
            patient["randomisation_arm"], patient["randomisation_date"] = arm, rand_date
        start = a["randomisation_day"][i] + 1
        allocated = patient["randomisation_arm"]
        consolidation = [("ADE", start), ("MAE", start + 28)] if allocated == "ADE_MAE" else [("IB", start)]
        octadad = int(a["octadad_day"][i])
        courses = [*consolidation, ("MARMA", start + 50), ("OCTADAD", octadad)]
        for course, when_day in courses:
            if when_day < event_day:
                add(
                    "courses",
                    {"course": course, "start_date": day(diagnosed, when_day)},
                    day(diagnosed, when_day),
                )
        if a["group_mr"][i] and octadad < event_day:
            value = a["mrd_value"][i]
            when = day(diagnosed, octadad)
            add(
                "mrd",
                {
                    "time_point": "start_of_octadad",
                    "measured_on": when,
                    "method": "PCR",
                    "value": f"{value:.2e}",
                },
                when,
            )
        sct = a["sct_day"][i]
        if a["transplanted"][i]:
            when = day(diagnosed, sct)
            engrafted = day(when, rng.integers(12, 28))
            add(
                "transplants",
                {
                    "transplant_date": when,
                    "donor_type": str(
                        rng.choice(
                            ["matched_sibling", "matched_unrelated", "cord", "haploidentical"],
                            p=[0.2, 0.45, 0.25, 0.1],
                        )
                    ),
                    "stem_cell_source": "bone_marrow",
                    "remission_status": "CR1",
                    "mrd_value": f"{10 ** rng.uniform(-5, -3):.2e}" if rng.random() < 0.4 else "negative",
                    "mrd_method": "PCR",
                    "engraftment_date": engrafted if (engrafted - diagnosed).days < event_day else "",
                },
                when,
            )
        elif octadad + 60 < event_day:
            when = day(diagnosed, octadad + 60)
            add("courses", {"course": "maintenance", "start_date": when}, when)
        if np.isfinite(first):
            when = day(diagnosed, event_day)
            if first == times.relapse:
                add(
                    "events",
                    {
                        "event_type": "relapse",
                        "event_date": when,
                        "relapse_site": str(
                            rng.choice(["bone_marrow", "CNS", "combined"], p=[0.8, 0.1, 0.1])
                        ),
                    },
                    when,
                )
            elif first == times.smn:
                add("events", {"event_type": "second_malignancy", "event_date": when}, when)

    def _death_after_remission(
        self, i: int, cr_date: dt.date, end: dt.date, times: _Times
    ) -> tuple[dt.date, str] | None:
        """The date and cause of death of a patient in remission, if it falls within follow-up."""
        a, first = self.arrays, times.first
        if not np.isfinite(first):
            return None
        event = day(cr_date, first)
        if first == times.trm:
            when, cause = event, "transplant_related"
        elif first == times.nrm:
            when, cause = event, str(self.rng.choice(["infection", "toxicity"]))
        elif first == times.relapse and a["after_relapse"][i]:
            when, cause = day(event, max(1.0, a["death_gap"][i])), "leukemia"
        else:
            return None
        return (when, cause) if when <= end else None


def _dates(records: list[tuple[str, Row]]) -> list[dt.date]:
    return [v for _, row in records for v in row.values() if isinstance(v, dt.date)]
