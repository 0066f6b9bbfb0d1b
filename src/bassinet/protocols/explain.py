"""Explanations of a patient's protocol decisions: for the clinician, and for the family.

:func:`explain_patient` first decides what applies, then explains only that:

- AML: Bassinet has no AML protocol rules yet. It says so and gives only what is known
  (diagnosis, age, KMT2A, WBC, and the transplant-cohort categories if transplanted);
  it never shows the Interfant-06 ALL plan.
- After relapse, transplant or death: the clinician sees the dated history first, and
  the front-line decisions only as what was decided at diagnosis; the family letter is
  refused (:class:`FamilyLetterRefused`) with a message for the clinician: such a letter
  is written by a person, not by a program.
- ALL in front-line treatment: the Interfant-06 decisions. Missing facts are named
  ("the KMT2A result is not recorded yet"), never "some test results". For a randomised
  child the family text says the consolidation was chosen by chance, and why.

Both are built as a small document (title and sections of paragraphs and bullets) and
rendered as Markdown or HTML. The clinician's version lists every criterion with its
value; the family's says the same in plain words, explains each abbreviation the first
time it is used, and ends with the questions to ask the care team from the family
information text (../shared/seeds/002_2dc12d5898ad8561.txt).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Literal

from bassinet.errors import DataError
from bassinet.protocols import interfant06
from bassinet.protocols.decisions import Decision, TreatmentPlan
from bassinet.protocols.facts import PatientFacts
from bassinet.registry.escaping import markdown_text

Audience = Literal["clinician", "family"]

QUESTIONS = (
    "What are our treatment options?",
    "What are the possible side effects of each treatment?",
    "What can be done to manage side effects?",
    "Will my child need to be in the hospital for treatment?",
    "Where is the treatment available? Is it close to home or will we have to travel?",
)

#: What each missing fact is, in words a family and a clinician both read.
MISSING_WORDS = {
    "kmt2a_status": "the result of the test for a change in a gene called KMT2A (also known as MLL) "
    "is not recorded yet",
    "leukemia_type": "the type of leukemia is not recorded yet",
    "cr_after_induction": "the bone marrow result at the end of the first phase of treatment (induction) "
    "is not recorded yet",
    "in_first_remission": "whether the leukemia is still in remission is not recorded yet",
    "MRD at the start of OCTADAD": "the result of the very sensitive test for leftover leukemia cells "
    "(called MRD) before the course the doctors call OCTADAD is not recorded yet",
    "a quantified MRD at the start of OCTADAD": "a measured value of the test for leftover leukemia cells "
    "(called MRD) before the course the doctors call OCTADAD is not recorded yet",
    "date of the MRD measurement": "the date of the test for leftover leukemia cells (called MRD) is not "
    "recorded yet",
}
#: Each fact a decision may miss, by the label of the form field (or the record) where a data
#: manager enters it: what a clinician who may not edit asks the centre's data manager for.
FACT_LABELS = {
    "leukemia_type": "Leukemia type (patient form)",
    "kmt2a_status": "KMT2A status (patient form)",
    "age (date of birth, diagnosis date)": "Date of birth and Diagnosis date (patient form)",
    "wbc": "White cells (WBC) at diagnosis (patient form)",
    "day8_blasts": "Day-8 blasts (patient form)",
    "risk group": "the risk group (decided from the facts above)",
    "cr_after_induction": "the remission assessment at the end of induction",
    "in_first_remission": "the remission assessments and any relapse (events)",
    "MRD at the start of OCTADAD": "the MRD measurement at the start of OCTADAD",
    "a quantified MRD at the start of OCTADAD": "a measured MRD value at the start of OCTADAD",
    "date of the MRD measurement": "the date of the MRD measurement (Measured on)",
}
# The page is kept with Bassinet's sources as ../shared/seeds/002_2dc12d5898ad8561.txt. That
# path means nothing to a parent, so the letter names the page and its review date only.
SOURCE = "Source: the family information page 'Infant Acute Lymphoblastic Leukemia' (reviewed December 2022)."
WATCH_FOR = (
    "Infections, particularly of the airways and lungs, such as the common winter virus called RSV "
    "(respiratory syncytial virus).",
    "Sores in the mouth and throat (the doctors call this mucositis), which can make feeding hard.",
    "Effects of the medicines on the liver, the kidneys and the nervous system.",
)
WHEN_TO_CALL = (
    "Call the care team at once, day or night, if your baby has a fever, has trouble breathing, will not "
    "feed or drink, seems unusually sleepy or floppy, or if anything else worries you. Your care team "
    "will tell you the exact signs and the telephone number to use for your child."
)
WHY_BY_CHANCE = (
    "In this study the consolidation course was chosen by chance (randomisation), not by the doctors. "
    "This is done because doctors do not yet know which of two courses works better. Choosing by chance "
    "makes the two groups of children alike in every other way, so the study can find out fairly which "
    "course is better for babies like yours. Both courses are full treatments."
)
EventKind = Literal["relapse", "transplant", "death"]


@dataclass(frozen=True)
class Dated:
    """One dated line of a patient's history."""

    date: dt.date
    text: str


@dataclass(frozen=True)
class PatientState:
    """What happened to the patient so far, as the explanation needs it (built by the service).

    ``after`` lists the events that end front-line treatment (relapse, transplant, death)
    with their first dates; ``transplant_categories`` are the transplant cohort's
    categories of the first transplant, if any.
    """

    history: tuple[Dated, ...] = ()
    after: tuple[tuple[EventKind, dt.date], ...] = ()
    arm: str | None = None
    arm_date: dt.date | None = None
    arm_source: str | None = None
    transplant_categories: tuple[Decision, ...] = ()


class FamilyLetterRefused(DataError):
    """A family letter is not written after relapse, transplant or death; the message is for the clinician."""


GROUP_WORDS = {
    "LR": "the lower-risk group (called LR by the doctors)",
    "MR": "the medium-risk group (called MR by the doctors)",
    "HR": "the high-risk group (called HR by the doctors)",
}
COURSE_WORDS = {
    "induction": "Induction: the first weeks of treatment, to bring the leukemia into remission "
    "(no leukemia cells seen in the bone marrow).",
    "IB": "Consolidation (a course the doctors call IB): more chemotherapy to deepen the remission.",
    "ADE": "Consolidation, first part (a course the doctors call ADE): a different mix of chemotherapy "
    "medicines.",
    "MAE": "Consolidation, second part (a course the doctors call MAE).",
    "consolidation": "Consolidation: more chemotherapy to deepen the remission. Which of two forms your "
    "child gets is decided by chance in the study (randomisation), because doctors do "
    "not yet know which is better.",
    "consolidation-undecided": "Consolidation: more chemotherapy to deepen the remission. Which form "
    "your child gets depends on the treatment group, which waits for a test result (see above); the care "
    "team will explain it when the result is back.",
    "MARMA": "Intensification (a course the doctors call MARMA): high doses of some medicines.",
    "OCTADAD": "Re-intensification (a course the doctors call OCTADAD).",
    "maintenance": "Maintenance: gentler treatment, mostly by mouth, until about two years from diagnosis.",
}


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


@dataclass
class Document:
    title: str
    sections: list[Section]

    def markdown(self) -> str:
        lines = [f"# {markdown_text(self.title)}", ""]  # the title holds the study id
        for section in self.sections:
            lines += [f"## {section.heading}", ""]
            for paragraph in section.paragraphs:
                lines += [paragraph, ""]
            if section.bullets:
                lines += [f"- {b}" for b in section.bullets] + [""]
        return "\n".join(lines).rstrip() + "\n"

    def html(self) -> str:
        parts = [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for section in self.sections:
            parts.append(f"<h2>{html.escape(section.heading)}</h2>")
            parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
            if section.bullets:
                parts.append(
                    "<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in section.bullets) + "</ul>"
                )
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _decision_lines(decision: Decision) -> list[str]:
    """A decision's reasons as plain sentences: each criterion, met or not; each missing fact; notes.

    The criterion's text states the fact ("WBC 412 x10^9/L >= 300"); the sentence says what
    it means for the decision, in words a clinician reads without knowing the rule engine
    (a cold review found "holds: ..." and "does not hold: ..." opaque).
    """
    lines = []
    for c in decision.criteria:
        if c.met:
            lines.append(_sentence(f"{c.text}: this criterion is met"))
        elif c.met is False:
            lines.append(_sentence(f"{c.text}: this criterion is not met"))
        else:
            lines.append(_sentence(f"{c.text}: not known yet, so this criterion cannot be judged"))
    lines += [
        _sentence(MISSING_WORDS.get(fact) or f"{FACT_LABELS.get(fact, fact)} is not recorded yet")
        for fact in decision.missing
    ]
    lines += [_sentence(f"Note: {note}") for note in decision.notes]
    return lines


def for_clinician(
    facts: PatientFacts,
    group: Decision,
    plan: TreatmentPlan,
    sct: Decision,
    state: PatientState | None = None,
) -> Document:
    """Risk group with every criterion, the course plan with drugs, and the transplant indication.

    With an arm on record (``state.arm``) the plan says the randomisation is done, with the
    arm and its date, never "eligible" (a cold review found the two side by side).
    """
    if state is not None and state.arm is not None:
        randomisation = f"Randomisation: done, arm {state.arm} on {state.arm_date or 'an unknown date'}."
    else:
        randomisation = f"Randomisation: {plan.randomisation.outcome or 'undetermined'}."
    sections = [
        Section(
            f"Risk group: {group.outcome or 'none'} ({group.protocol})",
            [f"Protocol version: {group.version}."],
            _decision_lines(group),
        ),
        Section(
            "Treatment plan",
            [randomisation, *plan.notes],
            [
                f"{c.name}: {', '.join(c.drugs) or c.note}" + (f" ({c.note})" if c.note and c.drugs else "")
                for c in plan.courses
            ],
        ),
        Section(f"Allogeneic SCT: {sct.outcome or 'undetermined'}", [], _decision_lines(sct)),
    ]
    return Document(f"{facts.study_id}: Interfant-06 decisions", sections)


def for_family(
    facts: PatientFacts,
    group: Decision,
    plan: TreatmentPlan,
    sct: Decision,
    state: PatientState | None = None,
) -> Document:
    """The same decisions in plain words, what to watch for at home, and the questions to ask."""
    why = []
    if facts.kmt2a_status == "germline":
        why.append(
            "The leukemia cells do not have a change in a gene called KMT2A (also known as MLL). "
            "Children without this change usually respond well to treatment."
        )
    elif facts.kmt2a_status == "rearranged":
        why.append(
            "The leukemia cells have a change (a rearrangement) in a gene called KMT2A (also known "
            "as MLL). This change is common in babies with leukemia and makes it harder to treat."
        )
    if facts.under_six_months is not None and facts.kmt2a_status == "rearranged":
        why.append(
            "Your child was younger than 6 months at diagnosis. Babies this young need stronger treatment."
            if facts.under_six_months
            else "Your child was 6 months or older at diagnosis, which helps."
        )
    if facts.wbc is not None and facts.kmt2a_status == "rearranged":
        why.append(
            f"The white blood cell count at diagnosis was {facts.wbc:g} thousand million per litre"
            + (": very high, which means more leukemia to treat." if facts.wbc >= 300 else ".")
        )
    if facts.day8_blasts is not None and facts.kmt2a_status == "rearranged":
        why.append(
            "After the first week of steroid medicine (prednisone), "
            + (
                "many leukemia cells were still in the blood: a slower response."
                if facts.day8_blasts >= 1000
                else "few leukemia cells were left in the blood: a good response."
            )
        )
    if group.outcome is None:
        needed = [MISSING_WORDS[f] for f in group.missing if f in MISSING_WORDS]
        placed = (
            "The doctors cannot yet say which treatment group fits your child: "
            + ("; ".join(needed) if needed else "a result they need is not recorded yet")
            + ". They will tell you when they know."
        )
    else:
        placed = (
            f"Your child is in {GROUP_WORDS[group.outcome]}. Doctors use this group to choose how "
            "strong the treatment should be."
        )
    if sct.outcome == "indicated":
        transplant = (
            "The study recommends a stem cell transplant (also called a bone marrow transplant) "
            "once the leukemia is in remission. Your care team will talk with you about a donor."
        )
    elif sct.outcome == "not indicated":
        transplant = "At the moment the study does not recommend a stem cell transplant for your child."
    else:
        transplant = (
            "Whether a stem cell transplant would help will be decided later, when more test "
            "results are available."
        )
    chance = []
    if state is not None and state.arm is not None:
        names = {
            "IB": "the course the doctors call IB",
            "ADE_MAE": "the two courses the doctors call ADE and MAE",
        }
        chance = [
            f"Your child's consolidation is {names.get(state.arm, state.arm)}"
            + (f", chosen on {state.arm_date}." if state.arm_date else "."),
            WHY_BY_CHANCE,
        ]
    sections = [
        Section("Your child's treatment group", [placed, *why]),
        *([Section("Why a course was chosen by chance", chance)] if chance else []),
        Section(
            "The phases of treatment",
            [
                "Treatment is mainly chemotherapy (medicines that kill leukemia cells), given in phases. "
                "It usually lasts about 2 years. Medicine is also given into the fluid around the spine "
                "in every phase, to protect the brain."
            ],
            [COURSE_WORDS.get(c.name, c.name) for c in plan.courses],
        ),
        Section("Stem cell transplant", [transplant]),
        Section(
            "What to watch for at home",
            [
                "Side effects differ from child to child. The care team works to prevent and lessen them, "
                "and watches closely for them. Babies on this treatment are especially vulnerable to:"
            ],
            list(WATCH_FOR),
        ),
        Section("When to call the care team", [WHEN_TO_CALL, SOURCE]),
        Section("Questions to ask your care team", [], list(QUESTIONS)),
    ]
    return Document("About your child's leukemia treatment", sections)


def explain(
    facts: PatientFacts,
    group: Decision,
    plan: TreatmentPlan,
    sct: Decision,
    *,
    audience: Audience = "clinician",
    state: PatientState | None = None,
) -> Document:
    """The Interfant-06 explanation for ``audience`` (front-line ALL; see :func:`explain_patient`)."""
    _check_audience(audience)
    if audience == "family":
        return for_family(facts, group, plan, sct, state)
    return for_clinician(facts, group, plan, sct, state)


def _check_audience(audience: str) -> None:
    if str(audience) not in ("clinician", "family"):
        raise DataError(f"audience is {audience!r}: choose 'clinician' or 'family'")


def _history_section(state: PatientState) -> Section:
    return Section(
        "History", [], [f"{d.date}: {d.text}" for d in sorted(state.history, key=lambda d: d.date)]
    )


def _known_facts(facts: PatientFacts) -> list[str]:
    known = [f"leukemia type: {facts.leukemia_type or 'not recorded'}"]
    if facts.diagnosis_date is not None:
        known.append(f"diagnosed {facts.diagnosis_date}, at {facts.age_days} days of age")
    known.append(
        f"KMT2A: {facts.kmt2a_status or 'not recorded'}"
        + (f" ({facts.kmt2a_partner})" if facts.kmt2a_partner else "")
    )
    known.append(f"WBC at diagnosis: {facts.wbc:g} x10^9/L" if facts.wbc is not None else "WBC not recorded")
    return known


def _aml(facts: PatientFacts, state: PatientState, audience: Audience) -> Document:
    if audience == "family":
        return Document(
            "About your child's leukemia treatment",
            [
                Section(
                    "What this summary can say",
                    [
                        "Your child has acute myeloid leukemia (the doctors call it AML). This summary "
                        "program only holds the rules of a study for a different leukemia (ALL), so it "
                        "cannot describe your child's treatment. Your care team will explain it to you.",
                    ],
                ),
                Section("Questions to ask your care team", [], list(QUESTIONS)),
            ],
        )
    sections = [
        Section(
            "No AML protocol rules",
            [
                "Bassinet has no AML protocol rules yet: Interfant-06 stratifies ALL, so no risk group, "
                "course plan or randomisation is given. What is known:"
            ],
            _known_facts(facts),
        )
    ]
    if state.transplant_categories:
        sections.append(
            Section(
                "Transplant cohort (allo-HSCT infants)",
                [],
                [f"{d.question}: {d.outcome or 'not known'}" for d in state.transplant_categories],
            )
        )
    if state.history:
        sections.append(_history_section(state))
    return Document(f"{facts.study_id}: AML, no protocol rules", sections)


def explain_patient(
    facts: PatientFacts, state: PatientState, *, audience: Audience = "clinician"
) -> Document:
    """Decide which protocol and which state apply to the patient, then explain that to ``audience``.

    Raises
    ------
    FamilyLetterRefused
        For the family, after relapse, transplant or death.
    """
    _check_audience(audience)
    if audience == "family" and state.after:
        events = " and ".join(f"{kind} on {date}" for kind, date in state.after)
        raise FamilyLetterRefused(
            f"no family letter for {facts.study_id}: the record shows {events}. After relapse, transplant "
            "or death a letter to the family is written by the clinician who knows them, not by a program; "
            f"the clinician view (bassinet explain {facts.study_id} --for clinician) shows the dated history"
        )
    if facts.leukemia_type == "AML":
        return _aml(facts, state, audience)
    group = interfant06.risk_group(facts)
    arm = state.arm if group.outcome != "LR" else None
    plan = interfant06.treatment_plan(facts, arm=arm)
    sct = interfant06.sct_indication(facts)
    if audience == "family":
        return for_family(facts, group, plan, sct, state)
    document = for_clinician(facts, group, plan, sct, state)
    if state.arm is not None:
        document.sections.insert(
            1,
            Section(
                f"Randomised: {state.arm}",
                [
                    f"Allocation ({state.arm_source or 'patient record'}) "
                    f"of {state.arm_date or 'unknown date'}."
                ],
            ),
        )
    if state.after:
        events = "; ".join(f"{kind} on {date}" for kind, date in state.after)
        document.sections.insert(
            0,
            Section(
                f"State: after {events}",
                [
                    "Front-line treatment has ended or changed: the decisions below are those made at "
                    "diagnosis, shown for reference; they do not describe the current treatment."
                ],
            ),
        )
        document.sections.insert(1, _history_section(state))
    return document
