"""Explanations of a patient's protocol decisions: for the clinician, and for the family.

Both are built as a small document (title and sections of paragraphs and bullets) and
rendered as Markdown or HTML. The clinician's version lists every criterion with its
value; the family's says the same in plain words, explains each abbreviation the first
time it is used, and ends with the questions to ask the care team from the family
information text (../shared/seeds/002_2dc12d5898ad8561.txt).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

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


def _decision_lines(decision: Decision) -> list[str]:
    lines = [
        ("holds: " if c.met else "does not hold: " if c.met is False else "unknown: ") + c.text
        for c in decision.criteria
    ]
    lines += [f"missing: {fact}" for fact in decision.missing]
    lines += [f"note: {note}" for note in decision.notes]
    return lines


def for_clinician(facts: PatientFacts, group: Decision, plan: TreatmentPlan, sct: Decision) -> Document:
    """Risk group with every criterion, the course plan with drugs, and the transplant indication."""
    sections = [
        Section(
            f"Risk group: {group.outcome or 'none'} ({group.protocol})",
            [f"Protocol version: {group.version}."],
            _decision_lines(group),
        ),
        Section(
            "Treatment plan",
            [f"Randomisation: {plan.randomisation.outcome or 'undetermined'}.", *plan.notes],
            [
                f"{c.name}: {', '.join(c.drugs) or c.note}" + (f" ({c.note})" if c.note and c.drugs else "")
                for c in plan.courses
            ],
        ),
        Section(f"Allogeneic SCT: {sct.outcome or 'undetermined'}", [], _decision_lines(sct)),
    ]
    return Document(f"{facts.study_id}: Interfant-06 decisions", sections)


def for_family(facts: PatientFacts, group: Decision, plan: TreatmentPlan, sct: Decision) -> Document:
    """The same decisions in plain words, with the questions to ask the care team."""
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
        placed = (
            "The doctors cannot yet say which treatment group fits your child: some test results "
            "are still needed. They will tell you when they know."
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
    sections = [
        Section("Your child's treatment group", [placed, *why]),
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
) -> Document:
    """The explanation for ``audience``."""
    if str(audience) not in ("clinician", "family"):
        from bassinet.errors import DataError

        raise DataError(f"audience is {audience!r}: choose 'clinician' or 'family'")
    build = for_family if audience == "family" else for_clinician
    return build(facts, group, plan, sct)
