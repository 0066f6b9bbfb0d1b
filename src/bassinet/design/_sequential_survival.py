"""Group-sequential survival trials: events, patients and calendar time of each analysis.

The information of a log-rank test is proportional to the number of events (Tsiatis
1981), so the information rates are shares of the maximum number of events ``D_K``, and
``D_K`` is the fixed design's events times the inflation factor of the boundaries
(Jennison & Turnbull 2000, ch. 3): ``D_K = theta^2 / nu^2`` with ``theta`` the design's
drift and ``nu`` the noncentrality per event of the chosen approximation (Schoenfeld:
``|log HR| sqrt(r) / (1 + r)``). Patients are ``D_K`` over the probability of an event by
the final analysis, as in the fixed design; analysis ``k`` comes when the expected number
of events reaches ``t_k D_K`` (Kim & Tsiatis 1990), with ``N / A`` patients entering a
time unit over the accrual period ``A``:

    E[D(tau)] = N / A int_{max(0, tau - A)}^{tau} F(s) ds,

``F`` the arm-weighted probability of an event within ``s`` of entry, before dropout.
Bounds on the hazard-ratio scale invert Schoenfeld's ``Z = -log(HR) sqrt(r D) / (1 + r)``.
The numbers are those of R's rpact (``getSampleSizeSurvival``, ``getPowerSurvival``) to a
relative 1e-6; tests run rpact to check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from bassinet.design._analytic import (
    Method,
    SampleSize,
    _noncentrality_per_event,
    _quad,
    check_design,
    event_probability_by,
    size_for_events,
)
from bassinet.design._curves import Curve
from bassinet.design._sequential import Crossing, SequentialDesign
from bassinet.errors import DataError


@dataclass(frozen=True)
class SequentialSurvival:
    """A group-sequential survival trial: per analysis (``*_per_stage``) and overall.

    ``critical_hazard_ratios`` are the hazard ratios whose log-rank z equals the efficacy
    bound (in the direction of the hypothesised effect; ``other_critical_hazard_ratios``
    the other direction of a two-sided design); ``critical_p_values`` the nominal
    p-values (two-sided for a two-sided design). Expected events and patients average
    over where the trial stops: under H0, under the alternative (H1) and halfway (H01,
    drift halved).
    """

    design: SequentialDesign
    hazard_ratio: float
    allocation: float
    method: Method
    fixed_events: float
    max_events: float
    patients: float
    accrual: float
    follow_up: float
    event_probability: float
    events_per_stage: tuple[float, ...]
    analysis_times: tuple[float, ...]
    patients_per_stage: tuple[float, ...]
    critical_hazard_ratios: tuple[float, ...]
    other_critical_hazard_ratios: tuple[float, ...] | None
    futility_hazard_ratios: tuple[float, ...] | None
    critical_p_values: tuple[float, ...]
    expected_events_h0: float
    expected_events_h01: float
    expected_events_h1: float
    expected_patients_h1: float
    expected_duration_h1: float
    power: float
    rejection_per_stage: tuple[float, ...]
    futility_per_stage: tuple[float, ...]

    @property
    def max_events_rounded(self) -> int:
        return math.ceil(self.max_events - 1e-9)

    @property
    def patients_rounded(self) -> int:
        """The whole number of patients to enter: each arm rounded up."""
        return sum(self.patients_per_arm_rounded)

    @property
    def patients_per_arm_rounded(self) -> tuple[int, int]:
        """Patients (experimental, control) rounded up in each arm."""
        r = self.allocation
        return math.ceil(self.patients * r / (1 + r) - 1e-9), math.ceil(self.patients / (1 + r) - 1e-9)


def expected_events_at(
    tau: float,
    patients: float,
    control: Curve,
    hazard_ratio: float,
    *,
    accrual: float,
    allocation: float,
    dropout: tuple[float, float],
) -> float:
    """Expected events by calendar time ``tau`` among ``patients`` entering uniformly over ``accrual``."""
    if tau <= 0:
        return 0.0
    r = allocation

    def pooled(s: float) -> float:
        return (
            r * event_probability_by(control, hazard_ratio, s, dropout[0])
            + event_probability_by(control, 1.0, s, dropout[1])
        ) / (1 + r)

    if accrual == 0:
        return patients * pooled(tau)
    start = max(0.0, tau - accrual)
    return patients / accrual * _quad(pooled, start, tau, control.breaks)


def _time_of(
    events: float, patients: float, control: Curve, hazard_ratio: float, *, accrual: float,
    allocation: float, dropout: tuple[float, float], horizon: float,
) -> float:  # fmt: skip
    def shortfall(tau: float) -> float:
        return (
            expected_events_at(
                tau, patients, control, hazard_ratio, accrual=accrual, allocation=allocation, dropout=dropout
            )
            - events
        )

    high = horizon
    while shortfall(high) < 0:
        high *= 2
        if high > 1e6:
            raise DataError(f"{events:.1f} events are never expected from {patients:.1f} patients")
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12, rtol=1e-14))


def _summarise(
    design: SequentialDesign,
    control: Curve,
    hazard_ratio: float,
    max_events: float,
    patients: float,
    accrual: float,
    final_time: float | None,
    allocation: float,
    dropout: tuple[float, float],
    method: Method,
    event_probability: float,
    both_tails: bool,
) -> SequentialSurvival:
    r = allocation
    rates = design.information_rates
    events = tuple(t * max_events for t in rates)
    times = []
    for k, d in enumerate(events):
        if k == len(events) - 1 and final_time is not None:
            times.append(final_time)
        else:
            times.append(
                _time_of(
                    d,
                    patients,
                    control,
                    hazard_ratio,
                    accrual=accrual,
                    allocation=r,
                    dropout=dropout,
                    horizon=accrual + 1.0,
                )
            )
    entered = tuple(patients * (min(t, accrual) / accrual if accrual > 0 else 1.0) for t in times)
    se = [(1 + r) / math.sqrt(r * d) for d in events]
    sign = -1.0 if hazard_ratio < 1 else 1.0
    critical_hr = tuple(math.exp(sign * c * s) for c, s in zip(design.critical_values, se, strict=False))
    other = (
        tuple(math.exp(-sign * c * s) for c, s in zip(design.critical_values, se, strict=False))
        if design.sided == 2
        else None
    )
    futility = (
        tuple(math.exp(sign * b * s) for b, s in zip(design.futility_bounds, se, strict=False))
        if design.futility_bounds is not None
        else None
    )
    p_values = tuple(design.sided * p for p in design.stage_levels)
    drift = math.sqrt(max_events) * _noncentrality_per_event(hazard_ratio, r, method)
    h1 = design.crossing(drift)
    h01 = design.crossing(drift / 2)
    h0 = design.crossing(0.0)

    def expected(values: tuple[float, ...], crossing_stop: NDArray[np.float64]) -> float:
        stop = crossing_stop.copy()
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(stop @ np.asarray(values))

    def stops(c: Crossing, either_way: bool = False) -> NDArray[np.float64]:
        # rpact counts wrong-way rejections of a two-sided design as stops for the expected
        # events, not for the expected patients
        efficacy = c.efficacy if either_way else design.rejection(c)
        return np.add(efficacy, c.futility, dtype=np.float64)

    rejection = h1.efficacy if both_tails else design.rejection(h1)
    return SequentialSurvival(
        design,
        hazard_ratio,
        r,
        method,
        max_events / design.inflation_factor if design.drift > 0 else max_events,
        max_events,
        patients,
        accrual,
        times[-1] - accrual,
        event_probability,
        events,
        tuple(times),
        entered,
        critical_hr,
        other,
        futility,
        p_values,
        expected(events, stops(h0, either_way=True)),
        expected(events, stops(h01, either_way=True)),
        expected(events, stops(h1, either_way=True)),
        expected(entered, stops(h1)),
        expected(tuple(times), stops(h1)),
        float(sum(rejection)),
        tuple(rejection),
        h1.futility,
    )


def sequential_sample_size(
    design: SequentialDesign,
    control: Curve,
    hazard_ratio: float,
    *,
    follow_up: float,
    accrual: float | None = None,
    accrual_rate: float | None = None,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    method: Method = "schoenfeld",
) -> SequentialSurvival:
    """Events and patients for a group-sequential ``design`` to detect ``hazard_ratio``.

    As :func:`~bassinet.design.sample_size`, with the design's alpha, power and sides and
    its inflation factor; the analyses come at the design's information rates.
    """
    check_design(
        hazard_ratio=hazard_ratio, alpha=design.alpha, power=1 - design.beta, sided=design.sided,
        allocation=allocation, method=method,
    )  # fmt: skip
    max_events = (design.drift / _noncentrality_per_event(hazard_ratio, allocation, method)) ** 2
    size: SampleSize = size_for_events(
        max_events, control, hazard_ratio, follow_up=follow_up, accrual=accrual, accrual_rate=accrual_rate,
        alpha=design.alpha, power=1 - design.beta, sided=design.sided, allocation=allocation,
        dropout=dropout, method=method,
    )  # fmt: skip
    return _summarise(
        design, control, hazard_ratio, max_events, size.patients, size.accrual, size.accrual + follow_up,
        allocation, dropout, method, size.event_probability, False,
    )  # fmt: skip


def sequential_power(
    design: SequentialDesign,
    control: Curve,
    hazard_ratio: float,
    *,
    events: float,
    patients: float,
    accrual: float,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    method: Method = "schoenfeld",
) -> SequentialSurvival:
    """Power of a group-sequential trial of ``patients`` analysed when ``events`` have occurred.

    The analyses come when the expected events reach the design's information rates times
    ``events``; the power is the probability of crossing an efficacy bound (either way for a
    two-sided design, as rpact's ``getPowerSurvival`` counts it).
    """
    check_design(hazard_ratio=hazard_ratio, alpha=design.alpha, sided=design.sided, allocation=allocation,
                 method=method)  # fmt: skip
    for name, value in (("events", events), ("patients", patients)):
        if not (math.isfinite(value) and value > 0):
            raise DataError(f"{name} is {value!r}: it must be a positive number")
    if events > patients:
        raise DataError(f"events is {events:g}: more than the {patients:g} patients")
    if not (math.isfinite(accrual) and accrual >= 0):
        raise DataError(f"accrual is {accrual!r}: an accrual duration is >= 0")
    final = _time_of(events, patients, control, hazard_ratio, accrual=accrual, allocation=allocation,
                     dropout=dropout, horizon=accrual + 1.0)  # fmt: skip
    omega = events / patients
    return _summarise(design, control, hazard_ratio, events, patients, accrual, final, allocation, dropout,
                      method, omega, True)  # fmt: skip
