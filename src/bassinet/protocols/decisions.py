"""What a protocol rule returns: a decision with the criteria it weighed and the facts it lacked."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Criterion:
    """One criterion of a rule, as a sentence with the patient's value, and whether it holds.

    ``met`` is None when the fact behind it is unknown.
    """

    name: str
    text: str
    met: bool | None


@dataclass(frozen=True)
class Decision:
    """A rule's answer for one patient, with its reasons.

    ``outcome`` is None when no answer can be given; ``missing`` then names the facts
    that would be needed, and ``notes`` says why where no fact would help (AML under an
    ALL protocol). A decision never guesses.
    """

    protocol: str
    version: str
    question: str
    outcome: str | None
    criteria: tuple[Criterion, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """The sentences of the criteria that hold."""
        return tuple(c.text for c in self.criteria if c.met)

    def to_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol,
            "version": self.version,
            "question": self.question,
            "outcome": self.outcome,
            "criteria": [{"name": c.name, "text": c.text, "met": c.met} for c in self.criteria],
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Course:
    """A treatment course and its drugs as the protocol lists them."""

    name: str
    drugs: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class TreatmentPlan:
    """The course sequence for a patient, and whether they are to be randomised."""

    protocol: str
    version: str
    risk_group: str | None
    courses: tuple[Course, ...]
    randomisation: Decision
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RandomisationWindow:
    """When a protocol's randomisation may happen, as data.

    The window opens on the date of a remission assessment with status CR at
    ``opens_at`` and closes on the first day of any course in ``closes_at``. A request
    is also refused after any event in ``blocking_events`` dated on or before it.
    """

    opens_at: str
    closes_at: tuple[str, ...]
    blocking_events: tuple[str, ...]
    text: str
