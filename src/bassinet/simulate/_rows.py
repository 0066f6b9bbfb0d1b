"""Small pieces shared by the calibrated simulators: dates, hazards, and the rows they fill.

Event times are drawn by inverting a cumulative hazard. The hazards of infant leukemia
fall steeply after the first year (most relapses and toxic deaths come early), so the
simulators use a decaying hazard ``h(t) = rate * exp(-t / tau)`` whose cumulative
hazard ``rate * tau * (1 - exp(-t / tau))`` levels off at ``rate * tau``: a plateau,
as the published curves show, which the Weibull or exponential shapes do not give.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bassinet.errors import ConfigurationError

FloatArray = NDArray[np.float64]
Row = dict[str, object]
NEVER = np.inf


def decaying_hazard_inverse(target: FloatArray, rate: float, tau: float) -> FloatArray:
    """The time at which ``rate * tau * (1 - exp(-t / tau))`` reaches ``target`` (inf past the plateau)."""
    plateau = rate * tau
    out = np.full(target.shape, NEVER)
    reached = target < plateau
    out[reached] = -tau * np.log1p(-target[reached] / plateau)
    return out


def decaying_hazard(t: FloatArray, rate: float, tau: float) -> FloatArray:
    """The cumulative hazard ``rate * tau * (1 - exp(-t / tau))`` at times ``t``."""
    return rate * tau * -np.expm1(-np.asarray(t, dtype=float) / tau)


def event_times(
    rng: np.random.Generator,
    multiplier: FloatArray,
    rate: float,
    tau: float,
    *,
    change_at: FloatArray | None = None,
    change_factor: float = 1.0,
) -> FloatArray:
    """Event times under a decaying hazard times ``multiplier``, with the hazard scaled by
    ``change_factor`` from ``change_at`` on (a transplant), by inversion of the cumulative hazard."""
    target = rng.exponential(size=multiplier.shape) / multiplier
    times = decaying_hazard_inverse(target, rate, tau)
    if change_at is None or change_factor == 1.0:
        return times
    after = np.isfinite(change_at) & (times > change_at)
    if after.any():
        spent = decaying_hazard(change_at[after], rate, tau)
        times[after] = decaying_hazard_inverse(spent + (target[after] - spent) / change_factor, rate, tau)
    return times


def day(origin: dt.date, days: float | int | np.integer[Any] | np.floating[Any]) -> dt.date:
    return origin + dt.timedelta(days=int(days))


def check_options(n: int, accrual_end: dt.date, cutoff: dt.date) -> None:
    """Refuse a non-positive ``--n`` and a cut-off before accrual ends, naming the option."""
    if n <= 0:
        raise ConfigurationError(f"--n is {n}: the number of patients must be at least 1")
    if cutoff < accrual_end:
        raise ConfigurationError(
            f"--cutoff is {cutoff}: the data cut-off must not be before accrual ends ({accrual_end})"
        )
