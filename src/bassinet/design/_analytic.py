"""Events and patients needed, and power, for comparing two survival curves (fixed design).

Events follow Schoenfeld (1981), Freedman (1982) or Hsieh and Freedman's variant, as R's
``rpact`` computes them (``getSampleSizeSurvival``, ``getPowerSurvival``):

- Schoenfeld: ``D = (z_a + z_b)^2 (1 + r)^2 / (r log(HR)^2)``;
- Freedman: ``D = (z_a + z_b)^2 (1 + r HR)^2 / (r (1 - HR)^2)``;
- Hsieh-Freedman: ``D = (z_a + z_b)^2 (1 + HR)^2 (1 + r)^2 / (4 r (1 - HR)^2)``;

with ``z_a`` the normal quantile of ``1 - alpha / sided``, ``z_b`` of the power, ``r`` the
allocation ratio (experimental : control) and ``HR`` the hazard ratio, experimental over
control. Patients are the events divided by the probability that a patient has an
event by the analysis (Lachin & Foulkes 1986): patients enter uniformly over the accrual
period, the analysis comes ``follow_up`` after the last enters, and dropout is an
exponential competing risk. The probability is computed for any curve (exponential,
piecewise, cure fraction, empirical) by numerical integration, which for the exponential
and piecewise curves gives rpact's closed forms to rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import integrate, optimize, stats

from bassinet.design._curves import Curve
from bassinet.errors import DataError

Method = Literal["schoenfeld", "freedman", "hsieh-freedman"]
METHODS: tuple[Method, ...] = ("schoenfeld", "freedman", "hsieh-freedman")


def check_design(
    *,
    hazard_ratio: float,
    alpha: float,
    power: float | None = None,
    sided: int = 2,
    allocation: float = 1.0,
    method: str = "schoenfeld",
) -> None:
    """The one gate for design parameters: each refused with its name and rule."""
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0):
        raise DataError(f"hazard_ratio is {hazard_ratio!r}: it must be a positive number")
    if hazard_ratio == 1:
        raise DataError("hazard_ratio is 1: the arms are equal, and no trial can tell them apart")
    for name, value in (("alpha", alpha), ("power", power)):
        if value is not None and not (math.isfinite(value) and 0 < value < 1):
            raise DataError(f"{name} is {value!r}: it must lie in (0, 1)")
    if sided not in (1, 2):
        raise DataError(f"sided is {sided!r}: a test is one-sided (1) or two-sided (2)")
    if not (math.isfinite(allocation) and allocation > 0):
        raise DataError(f"allocation is {allocation!r}: the ratio experimental : control must be positive")
    if method not in METHODS:
        raise DataError(f"method is {method!r}: one of {', '.join(METHODS)}")


def hazard_ratio_from_survival(control: float, experimental: float) -> float:
    """The hazard ratio under proportional hazards of two survival proportions at one time.

    ``S1 = S0 ** HR`` gives ``HR = log(S1) / log(S0)``: 41% against 57% at 3 years is 0.630.
    """
    for name, value in (("control survival", control), ("experimental survival", experimental)):
        if not (math.isfinite(value) and 0 < value < 1):
            raise DataError(f"{name} is {value!r}: a proportion must lie in (0, 1)")
    if control == experimental:
        raise DataError(f"the survival proportions are equal ({control:g}): the arms do not differ")
    return math.log(experimental) / math.log(control)


def _noncentrality_per_event(hazard_ratio: float, allocation: float, method: Method) -> float:
    """The test statistic's mean divided by sqrt(events), for the chosen approximation."""
    r = allocation
    if method == "schoenfeld":
        return abs(math.log(hazard_ratio)) * math.sqrt(r) / (1 + r)
    if method == "freedman":
        return math.sqrt(r) * abs(1 - hazard_ratio) / (1 + r * hazard_ratio)
    return 2 * math.sqrt(r) / (1 + r) * abs(1 - hazard_ratio) / (1 + hazard_ratio)


def events_needed(
    hazard_ratio: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    sided: int = 2,
    allocation: float = 1.0,
    method: Method = "schoenfeld",
) -> float:
    """Events needed to detect ``hazard_ratio`` with the given power (not rounded)."""
    check_design(
        hazard_ratio=hazard_ratio, alpha=alpha, power=power, sided=sided, allocation=allocation, method=method
    )
    z = stats.norm.isf(alpha / sided) + stats.norm.isf(1 - power)
    return float((z / _noncentrality_per_event(hazard_ratio, allocation, method)) ** 2)


def power_for_events(
    events: float,
    hazard_ratio: float,
    *,
    alpha: float = 0.05,
    sided: int = 2,
    allocation: float = 1.0,
    method: Method = "schoenfeld",
) -> float:
    """Power of the test with ``events`` events; two-sided power counts both tails, as rpact does."""
    check_design(hazard_ratio=hazard_ratio, alpha=alpha, sided=sided, allocation=allocation, method=method)
    if not (math.isfinite(events) and events > 0):
        raise DataError(f"events is {events!r}: it must be a positive number")
    shift = math.sqrt(events) * _noncentrality_per_event(hazard_ratio, allocation, method)
    z = stats.norm.isf(alpha / sided)
    result = stats.norm.cdf(shift - z)
    if sided == 2:
        result += stats.norm.cdf(-shift - z)
    return float(result)


def dropout_hazard(rate: float, per: float) -> float:
    """The exponential dropout hazard that loses ``rate`` of patients over ``per`` time units."""
    if not (math.isfinite(rate) and 0 <= rate < 1):
        raise DataError(f"dropout is {rate!r}: the share lost must lie in [0, 1)")
    if rate == 0:
        return 0.0
    if not (math.isfinite(per) and per > 0):
        raise DataError(f"dropout_time is {per!r}: it must be a positive duration")
    return -math.log(1 - rate) / per


def _quad(f: object, lo: float, hi: float, breaks: tuple[float, ...]) -> float:
    points = [b for b in breaks if lo < b < hi]
    value, _ = integrate.quad(f, lo, hi, points=points or None, limit=500, epsabs=0, epsrel=1e-12)
    return float(value)


def event_probability_by(curve: Curve, hazard_ratio: float, t: float, dropout: float) -> float:
    """P(event by ``t`` before dropout) in an arm with survival ``curve ** hazard_ratio``.

    With ``G = 1 - S ** HR`` and dropout hazard ``phi``, ``F(t) = int_0^t exp(-phi s) dG(s)
    = exp(-phi t) G(t) + phi int_0^t exp(-phi s) G(s) ds`` (by parts), which needs only
    the survival function and so serves every kind of curve.
    """
    if t <= 0:
        return 0.0

    def g(s: float) -> float:
        return float(1.0 - float(curve.survival(s)) ** hazard_ratio)

    if dropout == 0:
        return g(t)
    return math.exp(-dropout * t) * g(t) + dropout * _quad(
        lambda s: math.exp(-dropout * s) * g(s), 0.0, t, curve.breaks
    )


def arm_event_probability(
    curve: Curve, hazard_ratio: float, *, accrual: float, follow_up: float, dropout: float
) -> float:
    """P(event by the analysis) for a patient entering uniformly in ``[0, accrual]``.

    The analysis is at ``accrual + follow_up``: the probability is the average of ``F``
    over follow-up times in ``[follow_up, accrual + follow_up]``.
    """
    if accrual == 0:
        return event_probability_by(curve, hazard_ratio, follow_up, dropout)
    total = _quad(
        lambda t: event_probability_by(curve, hazard_ratio, t, dropout),
        follow_up,
        accrual + follow_up,
        curve.breaks,
    )
    return total / accrual


def _check_durations(accrual: float | None, follow_up: float) -> None:
    if accrual is not None and not (math.isfinite(accrual) and accrual >= 0):
        raise DataError(f"accrual is {accrual!r}: an accrual duration is >= 0")
    if not (math.isfinite(follow_up) and follow_up >= 0):
        raise DataError(f"follow_up is {follow_up!r}: a follow-up duration is >= 0")
    if (accrual or 0) + follow_up <= 0:
        raise DataError("accrual and follow_up are both 0: nobody would be followed")


@dataclass(frozen=True)
class SampleSize:
    """Events and patients needed (not rounded: ``*_rounded`` give whole numbers up)."""

    hazard_ratio: float
    events: float
    patients: float
    patients_experimental: float
    patients_control: float
    event_probability: float
    event_probability_experimental: float
    event_probability_control: float
    accrual: float
    follow_up: float
    alpha: float
    power: float
    sided: int
    allocation: float
    method: Method

    @property
    def events_rounded(self) -> int:
        return math.ceil(self.events - 1e-9)

    @property
    def patients_per_arm_rounded(self) -> tuple[int, int]:
        """Patients (experimental, control), each arm rounded up on its own."""
        return (
            math.ceil(self.patients_experimental - 1e-9),
            math.ceil(self.patients_control - 1e-9),
        )

    @property
    def patients_rounded(self) -> int:
        """The whole number of patients to enter: each arm rounded up (1:1, 208.3 gives 105 + 105)."""
        return sum(self.patients_per_arm_rounded)


@dataclass(frozen=True)
class Power:
    """Expected events and power of a trial with a given number of patients."""

    hazard_ratio: float
    patients: float
    events: float
    event_probability: float
    power: float
    accrual: float
    follow_up: float


def _probabilities(
    control: Curve,
    hazard_ratio: float,
    accrual: float,
    follow_up: float,
    dropout: tuple[float, float],
    r: float,
) -> tuple[float, float, float]:
    p1 = arm_event_probability(
        control, hazard_ratio, accrual=accrual, follow_up=follow_up, dropout=dropout[0]
    )
    p0 = arm_event_probability(control, 1.0, accrual=accrual, follow_up=follow_up, dropout=dropout[1])
    return (r * p1 + p0) / (1 + r), p1, p0


def sample_size(
    control: Curve,
    hazard_ratio: float,
    *,
    follow_up: float,
    accrual: float | None = None,
    accrual_rate: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    sided: int = 2,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    method: Method = "schoenfeld",
) -> SampleSize:
    """Patients needed to detect ``hazard_ratio`` against the ``control`` curve.

    Parameters
    ----------
    control
        The control arm's survival curve; the experimental arm has ``S ** hazard_ratio``.
    hazard_ratio
        Experimental over control (below 1: the experimental arm is better).
    follow_up
        Minimum follow-up: time from the last patient's entry to the analysis.
    accrual, accrual_rate
        The accrual period's length, or the patients entering per time unit (then the
        period is as long as it takes to enter the patients needed). Give one.
    alpha, power, sided
        Type I error (``sided=2``: split over two tails), power.
    allocation
        Experimental : control ratio (2 for two experimental patients per control).
    dropout
        Exponential dropout hazards per time unit (experimental, control); see
        :func:`dropout_hazard`.
    method
        Events by Schoenfeld, Freedman or Hsieh-Freedman.
    """
    events = events_needed(
        hazard_ratio, alpha=alpha, power=power, sided=sided, allocation=allocation, method=method
    )
    return size_for_events(
        events, control, hazard_ratio, follow_up=follow_up, accrual=accrual, accrual_rate=accrual_rate,
        alpha=alpha, power=power, sided=sided, allocation=allocation, dropout=dropout, method=method,
    )  # fmt: skip


def size_for_events(
    events: float,
    control: Curve,
    hazard_ratio: float,
    *,
    follow_up: float,
    accrual: float | None,
    accrual_rate: float | None,
    alpha: float,
    power: float,
    sided: int,
    allocation: float,
    dropout: tuple[float, float],
    method: Method,
) -> SampleSize:
    """Patients who give ``events`` by the analysis (the rest of :func:`sample_size`)."""
    if (accrual is None) == (accrual_rate is None):
        raise DataError("give the accrual as a duration (accrual) or as a rate (accrual_rate), one of them")
    _check_durations(accrual, follow_up)
    for name, value in (("dropout (experimental)", dropout[0]), ("dropout (control)", dropout[1])):
        if not (math.isfinite(value) and value >= 0):
            raise DataError(f"{name} is {value!r}: a dropout hazard is >= 0")
    r = allocation
    if accrual is None:
        assert accrual_rate is not None
        if not (math.isfinite(accrual_rate) and accrual_rate > 0):
            raise DataError(f"accrual_rate is {accrual_rate!r}: patients per time unit must be positive")

        def shortfall(n: float) -> float:
            return (
                n * _probabilities(control, hazard_ratio, n / accrual_rate, follow_up, dropout, r)[0] - events
            )

        high = events
        while shortfall(high) < 0:
            high *= 2
            if high > 1e9:
                raise DataError("the events needed cannot be reached at this accrual rate and follow-up")
        patients = float(optimize.brentq(shortfall, events, high, xtol=1e-10, rtol=1e-14))
        accrual = patients / accrual_rate
    omega, p1, p0 = _probabilities(control, hazard_ratio, accrual, follow_up, dropout, r)
    if omega <= 0:
        raise DataError("no patient can have an event under these durations: lengthen accrual or follow-up")
    patients = events / omega
    return SampleSize(
        hazard_ratio,
        events,
        patients,
        patients * r / (1 + r),
        patients / (1 + r),
        omega,
        p1,
        p0,
        accrual,
        follow_up,
        alpha,
        power,
        sided,
        allocation,
        method,
    )


def power_for_patients(
    patients: float,
    control: Curve,
    hazard_ratio: float,
    *,
    accrual: float,
    follow_up: float,
    alpha: float = 0.05,
    sided: int = 2,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    method: Method = "schoenfeld",
) -> Power:
    """Power of a trial of ``patients`` entering over ``accrual`` and analysed ``follow_up`` later."""
    if not (math.isfinite(patients) and patients > 0):
        raise DataError(f"patients is {patients!r}: it must be a positive number")
    check_design(hazard_ratio=hazard_ratio, alpha=alpha, sided=sided, allocation=allocation, method=method)
    _check_durations(accrual, follow_up)
    omega, _, _ = _probabilities(control, hazard_ratio, accrual, follow_up, dropout, allocation)
    events = patients * omega
    achieved = power_for_events(
        events, hazard_ratio, alpha=alpha, sided=sided, allocation=allocation, method=method
    )
    return Power(hazard_ratio, patients, events, omega, achieved, accrual, follow_up)
