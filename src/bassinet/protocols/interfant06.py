"""Interfant-06 (infant ALL): risk group, treatment plan and transplant indication.

Rules as the study report states them (../shared/seeds/004_a405113bfb393851.txt and
../shared/docs/domain.md):

- LR: KMT2A germline, whatever the prednisone response.
- HR: KMT2A rearranged AND younger than 6 months AND (WBC >= 300 x10^9/L OR poor
  prednisone response: >= 1000 blasts/uL in peripheral blood on day 8).
  The report writes "WBC > 300"; the protocol's boundary is taken as >= 300, and the
  rule's text says so.
- MR: every other KMT2A-rearranged case.
- KMT2A status unknown: no group; the patient is flagged, never guessed.
- Randomisation between IB (control) and ADE + MAE (experimental) for MR and HR
  patients in complete remission after induction; LR patients get IB.
- Allogeneic SCT: every HR patient in first remission; from the amendment (June 2009,
  day configurable, default 2009-06-01) also MR patients with MRD >= 1e-4 at the start
  of OCTADAD, judged by the date of that MRD measurement.

Every function is pure: it reads a :class:`~.facts.PatientFacts` and returns a
:class:`~.decisions.Decision` (or plan) with its reasons.
"""

from __future__ import annotations

import datetime as dt

from bassinet.errors import DataError
from bassinet.protocols.decisions import Course, Criterion, Decision, RandomisationWindow, TreatmentPlan
from bassinet.protocols.facts import PatientFacts, six_months_after

NAME = "interfant-06"
VERSION = "Interfant-06 (2006), SCT amendment June 2009"
WBC_THRESHOLD = 300.0  # x10^9/L, HR at or above
POOR_PREDNISONE_BLASTS = 1000.0  # blasts/uL on day 8, poor response at or above
MRD_SCT_THRESHOLD = 1e-4
AMENDMENT_DATE = dt.date(2009, 6, 1)
ARMS = ("IB", "ADE_MAE")
#: Randomised: MR and HR patients in complete remission after induction, before consolidation.
RANDOMISATION_WINDOW = RandomisationWindow(
    opens_at="end_of_induction",
    closes_at=("IB", "ADE", "MAE", "MARMA", "OCTADAD", "maintenance"),
    blocking_events=("resistant_disease", "relapse", "death", "second_malignancy"),
    text="in complete remission after induction and before the first day of the consolidation course",
)

INDUCTION = Course(
    "induction",
    (
        "prednisone prephase",
        "dexamethasone",
        "vincristine",
        "asparaginase",
        "daunorubicin",
        "intrathecal therapy",
    ),
)
IB = Course("IB", ("cytarabine", "6-mercaptopurine", "cyclophosphamide", "intrathecal therapy"))
ADE = Course("ADE", ("cytarabine", "daunorubicin", "etoposide", "intrathecal therapy"))
MAE = Course("MAE", ("mitoxantrone", "cytarabine", "etoposide", "intrathecal therapy"))
MARMA = Course(
    "MARMA",
    (
        "high-dose cytarabine",
        "high-dose methotrexate",
        "6-mercaptopurine",
        "asparaginase",
        "intrathecal therapy",
    ),
)
OCTADAD = Course(
    "OCTADAD",
    (
        "vincristine",
        "dexamethasone",
        "asparaginase",
        "daunorubicin",
        "6-thioguanine",
        "cytarabine",
        "cyclophosphamide",
        "intrathecal therapy",
    ),
)
MAINTENANCE = Course(
    "maintenance",
    ("6-mercaptopurine", "methotrexate", "intrathecal therapy"),
    "until about two years from diagnosis",
)


def _decision(
    question: str,
    outcome: str | None,
    criteria: list[Criterion],
    missing: list[str] | None = None,
    notes: list[str] | None = None,
) -> Decision:
    return Decision(
        NAME, VERSION, question, outcome, tuple(criteria), tuple(missing or ()), tuple(notes or ())
    )


def _age_criterion(facts: PatientFacts) -> Criterion:
    if facts.under_six_months is None:
        return Criterion("age", "age at diagnosis unknown", None)
    days = f"age {facts.age_days} days" if facts.age_days is not None else "age"
    where = ""
    if facts.diagnosis_date is not None and facts.age_days is not None and facts.age_rule == "calendar":
        born = facts.diagnosis_date - dt.timedelta(days=facts.age_days)
        where = f" (diagnosed {facts.diagnosis_date}, 6 months old on {six_months_after(born)})"
    rule = "6 calendar months" if facts.age_rule == "calendar" else "183 days"
    if facts.under_six_months:
        return Criterion("age", f"{days}: younger than 6 months{where} [{rule}]", True)
    return Criterion("age", f"{days}: not younger than 6 months{where} [{rule}]", False)


def _wbc_criterion(facts: PatientFacts) -> Criterion:
    if facts.wbc is None:
        return Criterion("wbc", "WBC at diagnosis unknown", None)
    if facts.wbc >= WBC_THRESHOLD:
        return Criterion("wbc", f"WBC {facts.wbc:g} x10^9/L >= {WBC_THRESHOLD:g}", True)
    return Criterion("wbc", f"WBC {facts.wbc:g} x10^9/L < {WBC_THRESHOLD:g}", False)


def _prednisone_criterion(facts: PatientFacts) -> Criterion:
    if facts.day8_blasts is None:
        return Criterion("prednisone", "day-8 blast count unknown", None)
    if facts.day8_blasts >= POOR_PREDNISONE_BLASTS:
        return Criterion(
            "prednisone",
            f"day-8 blasts {facts.day8_blasts:g}/uL >= {POOR_PREDNISONE_BLASTS:g}: poor prednisone response",
            True,
        )
    return Criterion(
        "prednisone",
        f"day-8 blasts {facts.day8_blasts:g}/uL < {POOR_PREDNISONE_BLASTS:g}: good prednisone response",
        False,
    )


def risk_group(facts: PatientFacts) -> Decision:
    """The Interfant-06 risk group (LR, MR, HR), or none with the missing facts."""
    question = "risk group"
    if facts.leukemia_type == "AML":
        return _decision(
            question,
            None,
            [Criterion("leukemia", "AML: Interfant-06 stratifies ALL", False)],
            notes=["Interfant-06 is a protocol for ALL; AML gets no Interfant-06 group"],
        )
    if facts.leukemia_type is None:
        return _decision(question, None, [], missing=["leukemia_type"])
    if facts.kmt2a_status in (None, "unknown"):
        return _decision(
            question,
            None,
            [Criterion("kmt2a", "KMT2A status unknown", None)],
            missing=["kmt2a_status"],
            notes=["KMT2A status decides between LR and MR/HR: flagged, not guessed"],
        )
    if facts.kmt2a_status == "germline":
        return _decision(
            question,
            "LR",
            [Criterion("kmt2a", "KMT2A germline", True)],
            notes=["LR whatever the prednisone response"],
        )
    partner = f" ({facts.kmt2a_partner})" if facts.kmt2a_partner else ""
    criteria = [Criterion("kmt2a", f"KMT2A rearranged{partner}", True)]
    age, wbc, prednisone = _age_criterion(facts), _wbc_criterion(facts), _prednisone_criterion(facts)
    criteria += [age, wbc, prednisone]
    notes = [
        f"HR: KMT2A rearranged, younger than 6 months, and WBC >= {WBC_THRESHOLD:g} or poor "
        "prednisone response (the report writes > 300; the boundary is taken as >= 300)"
    ]
    if age.met is False:
        return _decision(question, "MR", criteria, notes=notes)
    if age.met is None:
        return _decision(
            question, None, criteria, missing=["age (date of birth, diagnosis date)"], notes=notes
        )
    if wbc.met or prednisone.met:
        return _decision(question, "HR", criteria, notes=notes)
    if wbc.met is False and prednisone.met is False:
        return _decision(question, "MR", criteria, notes=notes)
    missing = [name for name, c in (("wbc", wbc), ("day8_blasts", prednisone)) if c.met is None]
    return _decision(question, None, criteria, missing=missing, notes=notes)


def randomisation_eligibility(facts: PatientFacts, group: Decision | None = None) -> Decision:
    """Whether the patient is to be randomised between IB and ADE + MAE, with the reasons."""
    group = group or risk_group(facts)
    question = "randomisation eligibility"
    if group.outcome is None:
        return _decision(
            question,
            None,
            [Criterion("risk group", "risk group not known", None)],
            missing=["risk group", *group.missing],
        )
    in_group = group.outcome in ("MR", "HR")
    criteria = [
        Criterion(
            "risk group",
            f"risk group {group.outcome}"
            + (": MR or HR" if in_group else ": LR is not randomised (gets IB)"),
            in_group,
        )
    ]
    if not in_group:
        return _decision(question, "not eligible", criteria)
    if facts.cr_after_induction is None:
        criteria.append(Criterion("remission", "remission after induction unknown", None))
        return _decision(question, None, criteria, missing=["cr_after_induction"])
    criteria.append(
        Criterion(
            "remission",
            "in complete remission after induction"
            if facts.cr_after_induction
            else "not in complete remission after induction",
            facts.cr_after_induction,
        )
    )
    return _decision(question, "eligible" if facts.cr_after_induction else "not eligible", criteria)


def treatment_plan(facts: PatientFacts, arm: str | None = None) -> TreatmentPlan:
    """The Interfant-06 courses for the patient; ``arm`` is the randomised consolidation, if known."""
    if arm is not None and arm not in ARMS:
        raise DataError(f"arm is {arm!r}: Interfant-06 arms are {', '.join(ARMS)}")
    group = risk_group(facts)
    eligibility = randomisation_eligibility(facts, group)
    notes = []
    if group.outcome == "LR":
        if arm == "ADE_MAE":
            raise DataError(f"{facts.study_id}: an LR patient is not randomised and gets IB, not ADE + MAE")
        consolidation: tuple[Course, ...] = (IB,)
    elif arm == "IB":
        consolidation = (IB,)
    elif arm == "ADE_MAE":
        consolidation = (ADE, MAE)
    elif group.outcome is None:  # LR gets IB, MR and HR are randomised: nothing can be said yet
        consolidation = (
            Course(
                "consolidation-undecided", (), "IB if LR; IB or ADE then MAE by randomisation if MR or HR"
            ),
        )
    else:
        consolidation = (Course("consolidation", (), "IB, or ADE then MAE: by randomisation"),)
        if eligibility.outcome == "eligible":
            notes.append("consolidation is decided by randomisation between IB and ADE + MAE")
    if group.outcome is None:
        notes.append("the risk group is not known: " + ", ".join(group.missing or group.notes))
    courses = (INDUCTION, *consolidation, MARMA, OCTADAD, MAINTENANCE)
    return TreatmentPlan(NAME, VERSION, group.outcome, courses, eligibility, tuple(notes))


def sct_indication(facts: PatientFacts, *, amendment_date: dt.date = AMENDMENT_DATE) -> Decision:
    """Whether an allogeneic stem-cell transplant is indicated, with the reasons."""
    question = "allogeneic SCT indication"
    group = risk_group(facts)
    if group.outcome is None:
        return _decision(
            question,
            None,
            [Criterion("risk group", "risk group not known", None)],
            missing=["risk group", *group.missing],
        )
    criteria = [Criterion("risk group", f"risk group {group.outcome}", group.outcome in ("HR", "MR"))]
    if facts.in_first_remission is None:
        criteria.append(Criterion("remission", "first remission status unknown", None))
        return _decision(question, None, criteria, missing=["in_first_remission"])
    criteria.append(
        Criterion(
            "remission",
            "in first complete remission" if facts.in_first_remission else "not in first complete remission",
            facts.in_first_remission,
        )
    )
    if group.outcome == "LR":
        return _decision(question, "not indicated", criteria, notes=["LR: no transplant by protocol"])
    if not facts.in_first_remission:
        return _decision(
            question,
            "not indicated",
            criteria,
            notes=["the protocol's indication is for patients in first remission"],
        )
    if group.outcome == "HR":
        return _decision(question, "indicated", criteria, notes=["every HR patient in first remission"])
    mrd = facts.mrd_at("start_of_octadad")
    amendment = f"amendment of {amendment_date}"
    if mrd is None:
        criteria.append(Criterion("mrd", "MRD at the start of OCTADAD unknown", None))
        return _decision(question, None, criteria, missing=["MRD at the start of OCTADAD"])
    high = mrd.at_least(MRD_SCT_THRESHOLD)
    when = mrd.measured_on
    if high is None:
        criteria.append(
            Criterion(
                "mrd",
                f"{mrd.describe()} at the start of OCTADAD: cannot be compared with {MRD_SCT_THRESHOLD:g}",
                None,
            )
        )
        return _decision(question, None, criteria, missing=["a quantified MRD at the start of OCTADAD"])
    sign = ">=" if high else "<"
    criteria.append(
        Criterion("mrd", f"{mrd.describe()} at the start of OCTADAD {sign} {MRD_SCT_THRESHOLD:g}", high)
    )
    if when is None:
        criteria.append(Criterion("amendment", f"date of the MRD measurement unknown ({amendment})", None))
        if high:
            return _decision(question, None, criteria, missing=["date of the MRD measurement"])
        return _decision(question, "not indicated", criteria)
    after = when >= amendment_date
    criteria.append(
        Criterion(
            "amendment",
            f"measured on {when}, " + ("on or after" if after else "before") + f" the {amendment}",
            after,
        )
    )
    if high and after:
        return _decision(
            question,
            "indicated",
            criteria,
            notes=["MR with MRD >= 1e-4 before OCTADAD, from the June 2009 amendment"],
        )
    return _decision(question, "not indicated", criteria)
