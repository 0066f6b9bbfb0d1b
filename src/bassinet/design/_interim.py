"""Interim monitoring of a group-sequential survival trial: bounds at the information observed,
decision, repeated confidence intervals and p-values, conditional power.

At analysis ``k`` with ``D_1 < ... < D_k`` events observed, the information fractions are
``D_j / D_max``; spending-function bounds are recomputed at them (Lan & DeMets 1983), the
later analyses kept at their planned fractions. With the log-rank statistic ``Z`` oriented
so that positive values favour the experimental arm, the hazard ratio estimate is
``exp(-Z (1 + r) / sqrt(r D))`` (Schoenfeld) and

- the decision: efficacy if ``Z_k >= c_k``, harm if ``Z_k <= -c_k`` (two-sided), futility if
  ``Z_k <= b_k``, else continue;
- the repeated confidence interval (Jennison & Turnbull 1989; 2000, ch. 9): the hazard
  ratios ``HR`` with ``|Z_k + log(HR) sqrt(I_k)| < c_k``, ``I_k = r D_k / (1 + r)^2``;
- the repeated p-value: the smallest alpha whose spending bounds ``Z_k`` reaches (0.5 at
  most, as rpact reports it);
- conditional power (Lan, Simon & Halperin 1982; Jennison & Turnbull 2000, ch. 10): the
  probability, given ``Z_k``, of crossing a later efficacy bound when the log hazard ratio is
  ``log(HR)``, from the recursion of :mod:`bassinet.design._sequential` started at the
  observed score; under ``HR = 1`` it is the conditional rejection probability.

The numbers are those of R's rpact (``getAnalysisResults`` on a ``getDataset`` of overall
events and log-rank statistics) to a relative 1e-6; tests run rpact to check.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize

from bassinet.design._sequential import (
    SequentialDesign,
    _advance,
    _lower_exit,
    _spending_bounds,
    _Stage,
    _upper_exit,
    group_sequential,
)
from bassinet.design._spending import spent
from bassinet.errors import DataError

Decision = Literal[
    "stop for efficacy", "stop for harm", "stop for futility", "continue", "reject H0", "do not reject H0"
]


@dataclass(frozen=True)
class InterimAnalysis:
    """The state of a trial at analysis ``stage`` (1-based); per-analysis tuples run to ``stage``.

    ``design`` holds the bounds recomputed at the observed information (all ``K`` of them);
    ``conditional_power`` and ``conditional_power_observed`` are the cumulative
    probabilities of rejecting by each later analysis (under the design's hazard ratio
    and the observed one); ``conditional_rejection`` the same under H0.
    """

    stage: int
    events: tuple[float, ...]
    max_events: float
    information_fractions: tuple[float, ...]
    design: SequentialDesign
    z: tuple[float, ...]
    hazard_ratios: tuple[float, ...]
    decision: Decision
    rci_lower: tuple[float, ...]
    rci_upper: tuple[float, ...]
    repeated_p_values: tuple[float, ...] | None
    planned_hazard_ratio: float
    conditional_power: tuple[float, ...]
    conditional_power_observed: tuple[float, ...]
    conditional_rejection: tuple[float, ...]


def _updated_design(design: SequentialDesign, fractions: list[float], final: bool) -> SequentialDesign:
    rates = list(fractions)
    if final:
        rates[-1] = 1.0
    planned = list(design.information_rates[len(rates) :])
    rates += planned
    if any(b <= a for a, b in itertools.pairwise(rates)):
        raise DataError(
            f"events give information fractions {[round(r, 4) for r in fractions]}: they must increase and "
            f"stay below the later planned fractions {planned}"
        )
    # a user-defined spending (``spending`` None on a spending design) keeps its cumulative
    # alpha per analysis, as rpact's ``asUser`` does when the information rates move
    user = None
    if design.boundary == "spending" and design.spending is None:
        user = [*design.alpha_spent[:-1], design.alpha]
    return group_sequential(
        rates,
        alpha=design.alpha,
        alpha_spending=user,
        beta=design.beta,
        sided=design.sided,
        boundary=design.boundary,
        spending=design.spending or "obf",
        parameter=design.parameter,
        futility=design.futility_bounds,
        binding=design.binding,
        two_sided_power=design.two_sided_power,
    )


def _conditional(
    design: SequentialDesign, information: list[float], stage: int, z: float, theta: float
) -> tuple[float, ...]:
    """P(reject by each later analysis | Z_stage = z) when the drift per unit information is ``theta``.

    For a two-sided design only rejection in the hoped-for direction counts, unless the
    design asks for two-sided power (as rpact's ``twoSidedPower``, default FALSE).
    """
    start = _Stage(information[stage - 1], np.array([z * math.sqrt(information[stage - 1])]), np.ones(1))
    cumulative = 0.0
    result = []
    for j in range(stage, design.k_max):
        t = information[j]
        c = design.critical_values[j]
        cumulative += _upper_exit(start, t, c, theta)
        if design.sided == 2 and design.two_sided_power:
            cumulative += _lower_exit(start, t, -c, theta)
        result.append(cumulative)
        if j + 1 < design.k_max:
            low = -c if design.sided == 2 else -math.inf
            start = _advance(start, t, low, c, theta, information[j + 1] - t)
    return tuple(result)


def _repeated_p_value(design: SequentialDesign, rates: list[float], z: float) -> float:
    """The smallest alpha at which the spending bounds up to ``len(rates)`` reach ``z`` at the last."""
    kind = design.spending
    assert kind is not None
    k = len(rates)

    def excess(alpha: float) -> float:
        cumulative = [spent(kind, alpha, t, sided=design.sided, parameter=design.parameter) for t in rates]
        increments = [b - a for a, b in zip([0.0, *cumulative[:-1]], cumulative, strict=True)]
        lower = [-math.inf] * k
        return _spending_bounds(tuple(rates), increments, lower, design.sided)[-1] - (
            abs(z) if design.sided == 2 else z
        )

    top = 0.5  # rpact reports repeated p-values above 0.5 as 0.5, two-sided too
    if excess(top) > 0:
        return top
    if excess(1e-12) < 0:
        return 1e-12
    return float(optimize.brentq(excess, 1e-12, top, xtol=1e-15, rtol=1e-13))


def interim_analysis(
    design: SequentialDesign,
    events: Sequence[float],
    logrank_z: Sequence[float],
    *,
    max_events: float,
    hazard_ratio: float,
    allocation: float = 1.0,
    final: bool | None = None,
    remaining_events: Sequence[float] | None = None,
) -> InterimAnalysis:
    """Bounds, decision, repeated confidence intervals and conditional power at an analysis.

    Parameters
    ----------
    design
        The planned design (its information rates are shares of ``max_events``).
    events
        Cumulative events at the analyses so far (the last is the current one).
    logrank_z
        The log-rank statistic at each, ``(O - E) / sqrt(V)`` of the experimental arm
        (negative when it has fewer events than expected).
    max_events
        The planned events of the final analysis.
    hazard_ratio
        The hazard ratio the trial was designed to detect (gives the favourable direction
        and the "design" conditional power).
    allocation
        Experimental : control.
    final
        Whether this is the final analysis (default: when it is analysis ``K``).
    remaining_events
        Cumulative events planned at the later analyses (default: the design's rates times
        ``max_events``).
    """
    events_list = [float(e) for e in events]
    z_list = [float(v) for v in logrank_z]
    stage = len(events_list)
    if stage == 0 or stage != len(z_list):
        raise DataError(
            f"events has {stage} values and logrank_z {len(z_list)}: give one of each per analysis"
        )
    if stage > design.k_max:
        raise DataError(f"events has {stage} analyses: the design has {design.k_max}")
    if not (math.isfinite(max_events) and max_events > 0):
        raise DataError(f"max_events is {max_events!r}: it must be a positive number")
    if any(not (math.isfinite(e) and e > 0) for e in events_list):
        raise DataError(f"events is {events_list}: each count must be positive")
    if any(not math.isfinite(v) for v in z_list):
        raise DataError(f"logrank_z is {z_list}: each statistic must be a finite number")
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0 and hazard_ratio != 1):
        raise DataError(f"hazard_ratio is {hazard_ratio!r}: a positive number other than 1")
    is_final = stage == design.k_max if final is None else final
    fractions = [e / max_events for e in events_list]
    if not is_final and fractions[-1] >= 1:
        raise DataError(
            f"events is {events_list}: an interim analysis must come before the {max_events:g} planned"
        )
    updated = _updated_design(design, fractions, is_final)
    r = allocation
    sign = -1.0 if hazard_ratio < 1 else 1.0
    oriented = [sign * v for v in z_list]
    information = [r * d / (1 + r) ** 2 for d in events_list]
    later = (
        [float(e) for e in remaining_events]
        if remaining_events is not None
        else [t * max_events for t in updated.information_rates[stage:]]
    )
    if len(later) != updated.k_max - stage:
        raise DataError(
            f"remaining_events has {len(later)} values: "
            f"one for each of the {updated.k_max - stage} later analyses"
        )
    information_all = information + [r * d / (1 + r) ** 2 for d in later]
    # log-rank z ~ log(HR) sqrt(I): the estimate, and the repeated confidence interval around it
    log_estimates = [v / math.sqrt(i) for v, i in zip(z_list, information, strict=True)]
    estimates = tuple(math.exp(v) for v in log_estimates)
    half = [c / math.sqrt(i) for c, i in zip(updated.critical_values, information, strict=False)]
    lows = [math.exp(v - h) for v, h in zip(log_estimates, half, strict=False)]
    highs = [math.exp(v + h) for v, h in zip(log_estimates, half, strict=False)]
    c = updated.critical_values[stage - 1]
    z_now = oriented[-1]
    lower = updated.lower_bounds()[stage - 1]
    decision: Decision
    crossed = z_now >= c or (updated.sided == 2 and z_now <= -c)
    if is_final:
        decision = "reject H0" if crossed else "do not reject H0"
    elif crossed:
        # a two-sided design also stops when the bound is crossed against the experimental arm
        decision = "stop for efficacy" if z_now >= c else "stop for harm"
    elif updated.sided == 1 and z_now <= lower:
        decision = "stop for futility"
    else:
        decision = "continue"
    p_values = (
        tuple(
            _repeated_p_value(updated, list(updated.information_rates[: j + 1]), oriented[j])
            for j in range(stage)
        )
        if updated.spending is not None
        else None
    )
    theta_design = abs(math.log(hazard_ratio))
    theta_observed = sign * log_estimates[-1]
    return InterimAnalysis(
        stage,
        tuple(events_list),
        max_events,
        tuple(fractions),
        updated,
        tuple(oriented),
        estimates,
        decision,
        tuple(lows),
        tuple(highs),
        p_values,
        hazard_ratio,
        _conditional(updated, information_all, stage, z_now, theta_design),
        _conditional(updated, information_all, stage, z_now, theta_observed),
        _conditional(updated, information_all, stage, z_now, 0.0),
    )
