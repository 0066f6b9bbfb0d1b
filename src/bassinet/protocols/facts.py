"""The facts about one patient that protocol rules read: plain values, checked on creation.

:class:`PatientFacts` is what every rule takes. It is built from a registry record
(:mod:`.service`) or by hand (tests, the bedside), and it refuses values out of
range with a :class:`~bassinet.errors.DataError` naming the fact. Rules never see a
database row or a DataFrame.

Age: "younger than 6 months" means the diagnosis date falls before the date six
calendar months after birth (:data:`AgeRule` ``"calendar"``, the default); the
alternative ``"days"`` rule counts 183 days. Reports state which was used.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from bassinet.errors import DataError

AgeRule = Literal["calendar", "days"]
SIX_MONTHS_IN_DAYS = 183

TimePoint = Literal[
    "day_15", "end_of_induction", "end_of_consolidation", "start_of_octadad", "pre_transplant", "other"
]
MRDKind = Literal["quantified", "negative", "positive_nq"]


@dataclass(frozen=True)
class MRD:
    """One MRD result: a fraction, negative, or positive but not quantifiable."""

    time_point: TimePoint
    result: MRDKind
    value: float | None = None
    method: Literal["FCM", "PCR"] | None = None
    measured_on: dt.date | None = None

    def __post_init__(self) -> None:
        if self.result == "quantified":
            if self.value is None or not math.isfinite(self.value) or not 0 <= self.value <= 1:
                raise DataError(
                    f"MRD at {self.time_point} is {self.value!r}: a quantified MRD is a fraction in [0, 1]"
                )
        elif self.value is not None:
            raise DataError(f"MRD at {self.time_point} is {self.result} but has a value ({self.value})")

    def at_least(self, threshold: float) -> bool | None:
        """Whether the result is >= threshold; None where it cannot say (positive, not quantifiable)."""
        if self.result == "negative":
            return False
        if self.result == "positive_nq":
            return None
        assert self.value is not None
        return self.value >= threshold

    def describe(self) -> str:
        method = f" by {self.method}" if self.method else ""
        if self.result == "quantified":
            return f"MRD {self.value:.3g}{method}"
        return f"MRD {'negative' if self.result == 'negative' else 'positive, not quantifiable'}{method}"


def first_birthday(born: dt.date) -> dt.date:
    return born + relativedelta(years=1)


def six_months_after(born: dt.date) -> dt.date:
    return born + relativedelta(months=6)


@dataclass(frozen=True)
class PatientFacts:
    """What the protocol rules need to know about a patient. Unknown facts are None.

    Attributes
    ----------
    age_days
        Age at diagnosis in days.
    under_six_months
        Whether the patient was younger than 6 months at diagnosis (see :data:`AgeRule`).
    wbc
        White cell count at diagnosis, x10^9/L.
    day8_blasts
        Blasts per uL of peripheral blood on day 8, after the 7-day prednisone prephase.
    cr_after_induction
        Complete remission at the end of induction (False: resistant disease).
    in_first_remission
        Still in first complete remission (no relapse since).
    """

    study_id: str
    leukemia_type: Literal["ALL", "AML"] | None = None
    age_days: int | None = None
    under_six_months: bool | None = None
    kmt2a_status: Literal["germline", "rearranged", "unknown"] | None = None
    kmt2a_partner: str | None = None
    wbc: float | None = None
    day8_blasts: float | None = None
    cr_after_induction: bool | None = None
    in_first_remission: bool | None = None
    mrd: tuple[MRD, ...] = field(default_factory=tuple)
    diagnosis_date: dt.date | None = None
    age_rule: AgeRule = "calendar"

    def __post_init__(self) -> None:
        if self.wbc is not None and (not math.isfinite(self.wbc) or self.wbc < 0):
            raise DataError(f"{self.study_id}: wbc is {self.wbc}: a white cell count is a number >= 0")
        if self.day8_blasts is not None and (not math.isfinite(self.day8_blasts) or self.day8_blasts < 0):
            raise DataError(
                f"{self.study_id}: day8_blasts is {self.day8_blasts}: a blast count is a number >= 0"
            )
        if self.age_days is not None and not 0 <= self.age_days < 366:
            raise DataError(
                f"{self.study_id}: age_days is {self.age_days}: an infant is diagnosed before the "
                "first birthday (0 to 365 days)"
            )
        if self.kmt2a_partner is not None and self.kmt2a_status != "rearranged":
            raise DataError(
                f"{self.study_id}: kmt2a_partner is {self.kmt2a_partner} but kmt2a_status is "
                f"{self.kmt2a_status}: a partner needs a rearrangement"
            )

    @classmethod
    def from_dates(
        cls,
        study_id: str,
        *,
        date_of_birth: dt.date,
        diagnosis_date: dt.date,
        age_rule: AgeRule = "calendar",
        **facts: Any,
    ) -> PatientFacts:
        """Facts with the age and the under-6-months flag computed from the two dates."""
        if diagnosis_date < date_of_birth:
            raise DataError(
                f"{study_id}: diagnosis_date {diagnosis_date} is before date_of_birth {date_of_birth}"
            )
        if diagnosis_date >= first_birthday(date_of_birth):
            raise DataError(
                f"{study_id}: diagnosis_date {diagnosis_date} is not before the first birthday "
                f"({first_birthday(date_of_birth)}): infant protocols are for infants"
            )
        age_days = (diagnosis_date - date_of_birth).days
        if age_rule == "calendar":
            under = diagnosis_date < six_months_after(date_of_birth)
        elif age_rule == "days":
            under = age_days < SIX_MONTHS_IN_DAYS
        else:
            raise DataError(f"age_rule is {age_rule!r}: choose 'calendar' or 'days'")
        return cls(
            study_id,
            age_days=age_days,
            under_six_months=under,
            diagnosis_date=diagnosis_date,
            age_rule=age_rule,
            **facts,
        )

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, age_rule: AgeRule = "calendar") -> PatientFacts:
        """Facts from one patient row of the registry's frame or import sheet (blank cells: NaN or None)."""

        def value(name: str) -> Any:
            x = record.get(name)
            return None if x is None or x != x else x  # NaN and NaT are not equal to themselves

        def day(name: str) -> dt.date:
            x = record[name]
            if isinstance(x, str):
                return dt.date.fromisoformat(x[:10])
            return x.date() if isinstance(x, dt.datetime) else x  # a pandas Timestamp is a datetime

        wbc, blasts = value("wbc"), value("day8_blasts")
        return cls.from_dates(
            str(record["study_id"]),
            date_of_birth=day("date_of_birth"),
            diagnosis_date=day("diagnosis_date"),
            age_rule=age_rule,
            leukemia_type=value("leukemia_type"),
            kmt2a_status=value("kmt2a_status"),
            kmt2a_partner=value("kmt2a_partner"),
            wbc=None if wbc is None else float(wbc),
            day8_blasts=None if blasts is None else float(blasts),
        )

    def mrd_at(self, time_point: TimePoint) -> MRD | None:
        """The MRD result at a time point (PCR preferred to flow cytometry where both exist)."""
        found = [m for m in self.mrd if m.time_point == time_point]
        found.sort(key=lambda m: m.method != "PCR")
        return found[0] if found else None
