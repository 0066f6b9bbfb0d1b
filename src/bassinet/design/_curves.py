"""Survival curves for trial design: exponential, piecewise exponential, cure fraction, empirical.

A curve is the control arm's survival function ``S(t)``; the experimental arm follows
proportional hazards, ``S1(t) = S(t) ** hazard_ratio``. Every curve gives

- ``survival(t)``: ``S(t)``;
- ``quantile(u)``: the time at which ``S(t)`` falls to ``u`` (``inf`` if it never does, as
  for the cured fraction), used to draw event times by inversion;
- ``breaks``: times where the hazard changes, so that numerical integration over the
  curve is split where it is not smooth.

Infant ALL curves level off after the first years (most relapses come early); the
exponential curve of textbook formulas does not, which is why the piecewise and cure
forms are here (see docs/design.md for what that does to the sample size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bassinet.errors import DataError

FloatArray = NDArray[np.float64]


def _check_probability(name: str, value: float, *, closed_low: bool = False) -> None:
    ok = (0 <= value < 1) if closed_low else (0 < value < 1)
    if not (math.isfinite(value) and ok):
        interval = "[0, 1)" if closed_low else "(0, 1)"
        raise DataError(f"{name} is {value!r}: it must lie in {interval}")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"{name} is {value!r}: it must be a positive number")


@dataclass(frozen=True)
class Exponential:
    """Constant hazard ``rate`` per time unit: ``S(t) = exp(-rate * t)``."""

    rate: float

    def __post_init__(self) -> None:
        _check_positive("rate", self.rate)

    @classmethod
    def from_survival(cls, survival: float, at: float) -> Exponential:
        """The exponential curve through ``S(at) = survival`` (e.g. 41% DFS at 36 months)."""
        _check_probability("survival", survival)
        _check_positive("at", at)
        return cls(-math.log(survival) / at)

    @classmethod
    def from_median(cls, median: float) -> Exponential:
        _check_positive("median", median)
        return cls(math.log(2) / median)

    @property
    def breaks(self) -> tuple[float, ...]:
        return ()

    def survival(self, t: ArrayLike) -> FloatArray:
        return np.asarray(np.exp(-self.rate * np.asarray(t, dtype=float)), dtype=np.float64)

    def quantile(self, u: ArrayLike) -> FloatArray:
        return np.asarray(-np.log(np.asarray(u, dtype=float)) / self.rate, dtype=np.float64)

    def describe(self) -> str:
        return f"exponential, hazard {self.rate:.4g} per unit (median {math.log(2) / self.rate:.3g})"


@dataclass(frozen=True)
class PiecewiseExponential:
    """Hazard ``rates[k]`` from ``starts[k]`` to ``starts[k + 1]`` (the last one onwards); ``starts[0] = 0``.

    A rate of 0 in the last piece is a plateau: those still event-free stay so.
    """

    starts: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        starts, rates = np.asarray(self.starts, dtype=float), np.asarray(self.rates, dtype=float)
        if len(starts) == 0 or len(starts) != len(rates):
            raise DataError(
                f"starts has {len(starts)} times and rates {len(rates)}: give one hazard per piece"
            )
        if starts[0] != 0 or np.any(np.diff(starts) <= 0) or not np.all(np.isfinite(starts)):
            raise DataError(f"starts is {list(self.starts)}: the pieces start at 0 and increase strictly")
        if np.any(rates < 0) or not np.all(np.isfinite(rates)) or rates.sum() == 0:
            raise DataError(f"rates is {list(self.rates)}: hazards are >= 0, and not all 0")

    @classmethod
    def from_kaplan_meier(cls, times: ArrayLike, survival: ArrayLike) -> PiecewiseExponential:
        """An empirical curve through the points ``(times, survival)`` of a Kaplan-Meier estimate.

        Between points the log survival is linear (a constant hazard); after the last point
        the curve stays flat. ``survival`` must not increase: a survival curve cannot.
        """
        t = np.asarray(times, dtype=float)
        s = np.asarray(survival, dtype=float)
        if t.shape != s.shape or t.ndim != 1 or len(t) == 0:
            raise DataError("times and survival must be two sequences of the same length, not empty")
        if np.any(~np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
            raise DataError(f"times is {t.tolist()}: times are positive and strictly increasing")
        if np.any(~np.isfinite(s)) or np.any(s <= 0) or np.any(s > 1):
            raise DataError(f"survival is {s.tolist()}: every value lies in (0, 1]")
        rises = np.flatnonzero(np.diff(np.r_[1.0, s]) > 0)
        if len(rises):
            k = int(rises[0])
            raise DataError(
                f"survival rises at time {t[k]:g} ({s[k]:g} after {1.0 if k == 0 else s[k - 1]:g}): "
                "a survival curve must not increase"
            )
        starts = np.r_[0.0, t]
        log_s = np.log(np.r_[1.0, s])
        rates = np.r_[-np.diff(log_s) / np.diff(starts), 0.0]
        return cls(tuple(starts.tolist()), tuple(rates.tolist()))

    @property
    def breaks(self) -> tuple[float, ...]:
        return tuple(self.starts[1:])

    def _cumulative(self, t: FloatArray) -> FloatArray:
        starts, rates = np.asarray(self.starts), np.asarray(self.rates)
        piece = np.searchsorted(starts, t, side="right") - 1
        before = np.r_[0.0, np.cumsum(rates[:-1] * np.diff(starts))]
        return np.asarray(before[piece] + rates[piece] * (t - starts[piece]), dtype=np.float64)

    def survival(self, t: ArrayLike) -> FloatArray:
        return np.exp(-self._cumulative(np.asarray(t, dtype=float)))

    def quantile(self, u: ArrayLike) -> FloatArray:
        target = -np.log(np.asarray(u, dtype=float))
        starts, rates = np.asarray(self.starts), np.asarray(self.rates)
        before = np.r_[0.0, np.cumsum(rates[:-1] * np.diff(starts))]
        piece = np.searchsorted(before, target, side="right") - 1
        rate = rates[piece]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = starts[piece] + (target - before[piece]) / rate
        return np.where(rate > 0, t, np.inf)

    def describe(self) -> str:
        if len(self.starts) > 4:
            return (
                f"piecewise exponential in {len(self.starts)} pieces (hazards {min(self.rates):.3g} to "
                f"{max(self.rates):.3g}; the last from {self.starts[-1]:g}, hazard {self.rates[-1]:.3g})"
            )
        pieces = ", ".join(f"{r:.4g} from {s:g}" for s, r in zip(self.starts, self.rates, strict=True))
        return f"piecewise exponential, hazards {pieces}"


@dataclass(frozen=True)
class CureFraction:
    """A cured fraction and an exponential curve for the rest: ``S(t) = cure + (1 - cure) exp(-rate t)``."""

    cure: float
    rate: float

    def __post_init__(self) -> None:
        _check_probability("cure", self.cure, closed_low=True)
        _check_positive("rate", self.rate)

    @classmethod
    def from_survival(cls, cure: float, survival: float, at: float) -> CureFraction:
        """The cure model with plateau ``cure`` through ``S(at) = survival`` (``survival > cure``)."""
        _check_probability("cure", cure, closed_low=True)
        _check_probability("survival", survival)
        _check_positive("at", at)
        if survival <= cure:
            raise DataError(
                f"survival is {survival:g} at {at:g} but the cure fraction is {cure:g}: "
                "the curve cannot fall below its plateau"
            )
        return cls(cure, -math.log((survival - cure) / (1 - cure)) / at)

    @property
    def breaks(self) -> tuple[float, ...]:
        return ()

    def survival(self, t: ArrayLike) -> FloatArray:
        return self.cure + (1 - self.cure) * np.exp(-self.rate * np.asarray(t, dtype=float))

    def quantile(self, u: ArrayLike) -> FloatArray:
        u = np.asarray(u, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -np.log((u - self.cure) / (1 - self.cure)) / self.rate
        return np.where(u > self.cure, t, np.inf)

    def describe(self) -> str:
        return f"cure fraction {self.cure:.3g}, the rest exponential with hazard {self.rate:.4g}"


Curve = Exponential | PiecewiseExponential | CureFraction
