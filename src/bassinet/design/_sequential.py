"""Group-sequential designs: boundaries, error spent and stopping probabilities.

A trial analysed at ``K`` information fractions ``0 < t_1 < ... < t_K = 1`` has the
standardised statistics ``Z_k`` of the canonical joint distribution (Jennison & Turnbull
2000, ch. 3): with the score ``S_k = Z_k sqrt(t_k)``, the increments ``S_k - S_{k-1}``
are independent normal with mean ``theta (t_k - t_{k-1})`` and variance ``t_k - t_{k-1}``,
where ``theta`` is the drift (``theta^2`` is rpact's "shift"). Crossing probabilities
come from the recursive numerical integration of Armitage, McPherson & Rowe (1969) as
Jennison & Turnbull set it out (2000, ch. 19): the sub-density of ``S_k`` on the
continuation region is

    f_k(s) = int_{C_{k-1}} f_{k-1}(u) phi((s - u - theta dt) / sqrt(dt)) / sqrt(dt) du,

evaluated at Gauss-Legendre nodes (10 a panel, panels no wider than 1.5 times the smaller
of the stage's and the next increment's standard deviation, the region cut at 10 standard
deviations about the mean; halving the panels or widening the cut changes no result by more
than 1e-14 relative), and the exit probabilities integrate the normal tail against
it. Boundaries are then found stage by stage by root finding.

Efficacy boundaries: O'Brien & Fleming (1979) and Pocock (1977), members of the Wang &
Tsiatis (1987) family ``c_k = C t_k ** (delta - 1/2)`` (delta 0 and 1/2), or Lan & DeMets
(1983) error spending with the functions of :mod:`bassinet.design._spending`. Futility
(one-sided designs only): bounds given on the z scale, or by beta spending (Pampallona,
Tsiatis & Kim 2001) where the drift is the one at which the last futility bound meets the
last efficacy bound; binding bounds enter the type I error, non-binding ones do not (the
efficacy bounds are then those without futility, and stopping for futility is optional).
The numbers are those of R's rpact (``getDesignGroupSequential``,
``getDesignCharacteristics``) to a relative 1e-6; tests run rpact to check.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from bassinet.design._spending import Spending, check_spending, spent
from bassinet.errors import DataError

Boundary = Literal["spending", "obrien-fleming", "pocock", "wang-tsiatis"]
BOUNDARIES: tuple[Boundary, ...] = ("spending", "obrien-fleming", "pocock", "wang-tsiatis")
MAX_ANALYSES = 20

_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)
_SPREAD = 10.0  # standard deviations of S_k kept about its mean
_MAX_PANELS = 600


@dataclass(frozen=True)
class _Stage:
    """The sub-density of ``S_k`` on the continuation region: ``mass`` = weight x density at ``nodes``."""

    t: float
    nodes: NDArray[np.float64]
    mass: NDArray[np.float64]


def _origin() -> _Stage:
    return _Stage(0.0, np.zeros(1), np.ones(1))


def _standardised(stage: _Stage, t: float, z: float, drift: float) -> NDArray[np.float64]:
    dt = t - stage.t
    return np.asarray((z * math.sqrt(t) - stage.nodes - drift * dt) / math.sqrt(dt), dtype=np.float64)


def _upper_exit(stage: _Stage, t: float, z: float, drift: float) -> float:
    """P(continue to the analysis at ``t`` and have ``Z > z`` there)."""
    if math.isinf(z):
        return 0.0 if z > 0 else float(stage.mass.sum())
    return float(stage.mass @ stats.norm.sf(_standardised(stage, t, z, drift)))


def _lower_exit(stage: _Stage, t: float, z: float, drift: float) -> float:
    """P(continue to the analysis at ``t`` and have ``Z < z`` there)."""
    if math.isinf(z):
        return 0.0 if z < 0 else float(stage.mass.sum())
    return float(stage.mass @ stats.norm.cdf(_standardised(stage, t, z, drift)))


def _advance(stage: _Stage, t: float, low: float, high: float, drift: float, next_dt: float) -> _Stage:
    """The sub-density at ``t`` on the continuation region ``low < Z < high``."""
    dt = t - stage.t
    sd = math.sqrt(t)
    lo = max(low * sd, drift * t - _SPREAD * sd)
    hi = min(high * sd, drift * t + _SPREAD * sd)
    if not lo < hi:
        return _Stage(t, np.zeros(0), np.zeros(0))
    width = 1.5 * min(sd, math.sqrt(next_dt))
    panels = int(min(max(math.ceil((hi - lo) / width), 4), _MAX_PANELS))
    edges = np.linspace(lo, hi, panels + 1)
    half = np.diff(edges)[:, None] / 2
    nodes = ((edges[:-1, None] + edges[1:, None]) / 2 + half * _GL_X[None, :]).ravel()
    weights = (half * _GL_W[None, :]).ravel()
    kernel = stats.norm.pdf((nodes[:, None] - stage.nodes[None, :] - drift * dt) / math.sqrt(dt))
    density = kernel @ stage.mass / math.sqrt(dt)
    return _Stage(t, nodes, weights * density)


@dataclass(frozen=True)
class Crossing:
    """Stage-wise exit probabilities under one drift: efficacy (both tails if two-sided), futility."""

    drift: float
    efficacy: tuple[float, ...]
    futility: tuple[float, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]

    @property
    def power(self) -> float:
        return float(sum(self.efficacy))

    def expected_fraction(self, rates: Sequence[float]) -> float:
        """Expected information at stopping, as a share of the maximum."""
        stop = np.asarray(self.efficacy) + np.asarray(self.futility)
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(stop @ np.asarray(rates))


def crossing_probabilities(
    rates: Sequence[float],
    upper: Sequence[float],
    lower: Sequence[float],
    drift: float,
    *,
    sided: int = 1,
) -> Crossing:
    """Exit probabilities of ``Z_k > upper_k`` and ``Z_k < lower_k``, stage by stage.

    For a two-sided design ``lower`` is ``-upper`` and both exits are efficacy; for a
    one-sided design an exit below is futility (``-inf``: none).
    """
    stage = _origin()
    ups: list[float] = []
    lows: list[float] = []
    k_max = len(rates)
    for k, t in enumerate(rates):
        ups.append(_upper_exit(stage, t, upper[k], drift))
        lows.append(_lower_exit(stage, t, lower[k], drift))
        if k + 1 < k_max:
            stage = _advance(stage, t, lower[k], upper[k], drift, rates[k + 1] - t)
    if sided == 2:
        return Crossing(
            drift,
            tuple(u + v for u, v in zip(ups, lows, strict=True)),
            (0.0,) * k_max,
            tuple(ups),
            tuple(lows),
        )
    return Crossing(drift, tuple(ups), (*tuple(lows[:-1]), 0.0), tuple(ups), tuple(lows))


def _solve(f: object, lo: float, hi: float) -> float:
    return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500))


def _efficacy_bound(stage: _Stage, t: float, increment: float, sided: int, *, strict: bool = True) -> float:
    """The bound at ``t`` that spends ``increment`` of alpha beyond what is already spent."""
    if increment <= 0:
        return math.inf

    def excess(c: float) -> float:
        value = _upper_exit(stage, t, c, 0.0)
        if sided == 2:
            value += _lower_exit(stage, t, -c, 0.0)
        return value - increment

    if excess(-10.0) < 0:
        if not strict:  # while searching the drift: a continuation region too small to spend in
            return -10.0
        raise DataError(f"the alpha to spend at information {t:g} cannot be spent: check the spending")
    return _solve(excess, -10.0, 40.0)


def _futility_bound(stage: _Stage, t: float, increment: float, drift: float) -> float:
    if increment <= 0:
        return -math.inf

    def excess(b: float) -> float:
        return _lower_exit(stage, t, b, drift) - increment

    if excess(40.0) < 0:  # less than the increment is left to spend: a bound out of reach
        return 40.0
    return _solve(excess, -40.0, 40.0)


@dataclass(frozen=True)
class SequentialDesign:
    """A group-sequential design on the z scale, with its stopping probabilities.

    Bounds are for ``Z`` oriented so that large values favour the experimental arm
    (``Z = -log(HR) / se`` for a hazard ratio below 1). Two-sided designs reject also
    for ``Z < -c_k``. Probabilities are per stage; ``alpha_spent`` and ``beta_spent``
    are cumulative. ``drift`` is the mean of ``Z_K`` that gives the power ``1 - beta``;
    ``inflation_factor`` the maximum information over the fixed design's.
    """

    information_rates: tuple[float, ...]
    alpha: float
    beta: float
    sided: int
    boundary: Boundary
    spending: Spending | None
    parameter: float | None
    critical_values: tuple[float, ...]
    futility_bounds: tuple[float, ...] | None
    binding: bool
    beta_spending: Spending | None
    two_sided_power: bool
    alpha_spent: tuple[float, ...]
    beta_spent: tuple[float, ...] | None
    drift: float
    under_h0: Crossing
    under_h1: Crossing

    @property
    def k_max(self) -> int:
        return len(self.information_rates)

    @property
    def stage_levels(self) -> tuple[float, ...]:
        """The nominal one-sided p-value that crosses each efficacy bound, ``1 - Phi(c_k)``."""
        return tuple(float(stats.norm.sf(c)) for c in self.critical_values)

    @property
    def fixed_drift(self) -> float:
        return float(stats.norm.isf(self.alpha / self.sided) + stats.norm.isf(self.beta))

    @property
    def inflation_factor(self) -> float:
        return (self.drift / self.fixed_drift) ** 2

    @property
    def power(self) -> tuple[float, ...]:
        """Cumulative probability of rejecting by each analysis under the design's alternative."""
        return tuple(float(v) for v in np.cumsum(self.rejection(self.under_h1)))

    def rejection(self, crossing: Crossing) -> tuple[float, ...]:
        """Stage-wise probabilities of rejecting in favour of the experimental arm (both ways if
        ``two_sided_power``)."""
        return crossing.efficacy if self.two_sided_power else crossing.upper

    def expected_information(self, drift: float | None = None) -> float:
        """Expected information at stopping over the fixed design's (rpact's average sample number)."""
        crossing = self.under_h1 if drift is None else self.crossing(drift)
        return crossing.expected_fraction(self.information_rates) * self.inflation_factor

    def lower_bounds(self) -> tuple[float, ...]:
        """Lower limits of the continuation regions (futility, or ``-c_k`` if two-sided)."""
        if self.sided == 2:
            return tuple(-c for c in self.critical_values)
        if self.futility_bounds is None:
            return (-math.inf,) * self.k_max
        return (*self.futility_bounds, -math.inf)

    def crossing(self, drift: float) -> Crossing:
        """Stopping probabilities when ``Z_K`` has mean ``drift`` (futility bounds as stopping rules)."""
        return crossing_probabilities(
            self.information_rates, self.critical_values, self.lower_bounds(), drift, sided=self.sided
        )


def check_rates(rates: Sequence[float], *, argument: str = "information_rates") -> tuple[float, ...]:
    """Information rates: increasing, in (0, 1], the last 1, at most 20 of them."""
    values = tuple(float(v) for v in rates)
    if not values:
        raise DataError(f"{argument} is empty: give at least one analysis")
    if len(values) > MAX_ANALYSES:
        raise DataError(f"{argument} has {len(values)} analyses: at most {MAX_ANALYSES}")
    if not all(math.isfinite(v) and 0 < v <= 1 for v in values):
        raise DataError(f"{argument} is {list(values)}: each rate must lie in (0, 1]")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise DataError(f"{argument} is {list(values)}: the rates must increase")
    if abs(values[-1] - 1) > 1e-12:
        raise DataError(f"{argument} is {list(values)}: the last analysis must be at rate 1")
    return (*values[:-1], 1.0)


def group_sequential(
    information_rates: Sequence[float] | int,
    *,
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    boundary: Boundary = "spending",
    spending: Spending = "obf",
    parameter: float | None = None,
    futility: Sequence[float] | None = None,
    binding: bool = False,
    beta_spending: Spending | None = None,
    beta_parameter: float | None = None,
    two_sided_power: bool = False,
    alpha_spending: Sequence[float] | None = None,
) -> SequentialDesign:
    """The boundaries and stopping probabilities of a group-sequential design.

    Parameters
    ----------
    information_rates
        Information fractions of the analyses, increasing to 1 (or ``K``: equally spaced).
    alpha, beta, sided
        Type I error (two-sided: split over the tails), type II error, sides.
    boundary
        ``spending`` (Lan-DeMets, with ``spending``), ``obrien-fleming``, ``pocock``, or
        ``wang-tsiatis`` (``parameter`` is delta: 0 O'Brien-Fleming, 0.5 Pocock).
    spending, parameter
        Alpha-spending function (``obf``, ``pocock``, ``kd`` with rho, ``hsd`` with gamma).
    futility
        Futility bounds on the z scale at the ``K - 1`` interim analyses (one-sided).
    binding
        Whether the futility bounds bind (enter the type I error).
    beta_spending, beta_parameter
        Futility bounds by beta spending instead (one-sided, spending designs).
    alpha_spending
        Cumulative alpha to spend by each analysis, instead of a spending function (rpact's
        ``asUser``): increasing, none above ``alpha``, the last ``alpha``.
    two_sided_power
        Whether the power of a two-sided design counts rejections in the wrong direction
        too (rpact's ``twoSidedPower``; by default, as in rpact, it does not).

    References
    ----------
    Jennison C, Turnbull BW (2000). Group Sequential Methods with Applications to
    Clinical Trials. Chapman & Hall/CRC, ch. 2, 7, 19. O'Brien PC, Fleming TR (1979).
    Biometrics 35:549-556. Pocock SJ (1977). Biometrika 64:191-199. Wang SK, Tsiatis AA
    (1987). Biometrics 43:193-199. Pampallona S, Tsiatis AA, Kim K (2001). Interim
    monitoring of group sequential trials using spending functions for the type I and
    type II error probabilities. Drug Inf J 35:1113-1121.
    """
    if isinstance(information_rates, int):
        k = information_rates
        if not 1 <= k <= MAX_ANALYSES:
            raise DataError(f"the number of analyses is {k}: between 1 and {MAX_ANALYSES}")
        information_rates = [i / k for i in range(1, k + 1)]
    rates = check_rates(information_rates)
    k_max = len(rates)
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not (math.isfinite(value) and 0 < value < 1):
            raise DataError(f"{name} is {value!r}: it must lie in (0, 1)")
    if sided not in (1, 2):
        raise DataError(f"sided is {sided!r}: a test is one-sided (1) or two-sided (2)")
    if alpha / sided >= 0.5:
        raise DataError(f"alpha is {alpha!r}: a {sided}-sided test needs alpha below {sided / 2:g}")
    if boundary not in BOUNDARIES:
        raise DataError(f"boundary is {boundary!r}: one of {', '.join(BOUNDARIES)}")
    if boundary == "spending" and alpha_spending is None:
        check_spending("parameter", spending, parameter)
    elif boundary == "wang-tsiatis" and (parameter is None or not (math.isfinite(parameter))):
        raise DataError(f"parameter is {parameter!r}: the Wang-Tsiatis delta must be a number")
    if futility is not None and beta_spending is not None:
        raise DataError("futility and beta_spending are both given: give the futility bounds one way")
    if (futility is not None or beta_spending is not None) and sided == 2:
        raise DataError("futility bounds are for one-sided designs: sided is 2")
    if futility is not None:
        bounds = tuple(float(b) for b in futility)
        if len(bounds) != k_max - 1:
            raise DataError(
                f"futility has {len(bounds)} bounds: one for each of the {k_max - 1} interim analyses"
            )
        if not all(math.isfinite(b) or b == -math.inf for b in bounds):
            raise DataError(f"futility is {list(bounds)}: each bound must be a number")
    if beta_spending is not None:
        if boundary != "spending" or alpha_spending is not None:
            raise DataError("beta_spending needs boundary 'spending' with a spending function")
        check_spending("beta_parameter", beta_spending, beta_parameter, argument="beta_spending")

    if alpha_spending is not None:
        user = [float(v) for v in alpha_spending]
        if len(user) != k_max:
            raise DataError(f"alpha_spending has {len(user)} values: one for each of the {k_max} analyses")
        if any(not (math.isfinite(v) and 0 <= v <= alpha) for v in user):
            raise DataError(f"alpha_spending is {user}: the alpha spent must lie in [0, alpha = {alpha:g}]")
        if any(b < a for a, b in itertools.pairwise(user)):
            raise DataError(f"alpha_spending is {user}: the cumulative alpha spent must not decrease")
        if abs(user[-1] - alpha) > 1e-12:
            raise DataError(
                f"alpha_spending is {user}: all of alpha = {alpha:g} must be spent by the last analysis"
            )

    def alpha_increments() -> list[float]:
        if alpha_spending is not None:
            cumulative = [float(v) for v in alpha_spending]
        else:
            cumulative = [spent(spending, alpha, t, sided=sided, parameter=parameter) for t in rates]
        cumulative[-1] = alpha
        return [b - a for a, b in zip([0.0, *cumulative[:-1]], cumulative, strict=False)]

    if beta_spending is not None:
        design = _beta_spending(
            rates, alpha, beta, spending, parameter, beta_spending, beta_parameter, binding
        )
        critical, fut, beta_cum, drift = design
        futility_bounds: tuple[float, ...] | None = fut
    else:
        futility_bounds = None if futility is None else tuple(float(b) for b in futility)
        h0_lower = (
            [*list(futility_bounds), -math.inf]
            if futility_bounds is not None and binding
            else [-math.inf] * k_max
        )
        if boundary == "spending":
            critical = _spending_bounds(rates, alpha_increments(), h0_lower, sided)
        else:
            delta = {"obrien-fleming": 0.0, "pocock": 0.5}.get(boundary, parameter)
            assert delta is not None
            critical = _wang_tsiatis(rates, alpha, sided, delta, h0_lower)
        if futility_bounds is not None:
            for k, (b, c) in enumerate(zip(futility_bounds, critical, strict=False)):
                if b > c:
                    raise DataError(
                        f"futility bound {k + 1} is {b:g}: above the efficacy bound {c:.4f} of that analysis"
                    )
        beta_cum = None
        drift = 0.0
    lower = (
        tuple(-c for c in critical)
        if sided == 2
        else ((*futility_bounds, -math.inf) if futility_bounds is not None else (-math.inf,) * k_max)
    )
    h0_lower_bounds = lower if (sided == 2 or binding) else (-math.inf,) * k_max
    under_h0_alpha = crossing_probabilities(rates, critical, h0_lower_bounds, 0.0, sided=sided)
    if beta_cum is None:
        target = 1 - beta

        def shortfall(theta: float) -> float:
            crossing = crossing_probabilities(rates, critical, lower, theta, sided=sided)
            return (crossing.power if two_sided_power else sum(crossing.upper)) - target

        drift = _solve(shortfall, 0.0, 40.0)
    under_h1 = crossing_probabilities(rates, critical, lower, drift, sided=sided)
    under_h0 = crossing_probabilities(rates, critical, lower, 0.0, sided=sided)
    return SequentialDesign(
        rates,
        alpha,
        beta,
        sided,
        boundary,
        spending if boundary == "spending" and alpha_spending is None else None,
        parameter,
        tuple(critical),
        futility_bounds,
        binding,
        beta_spending,
        two_sided_power,
        tuple(float(v) for v in np.cumsum(under_h0_alpha.efficacy)),
        beta_cum,
        drift,
        under_h0,
        under_h1,
    )


def _spending_bounds(
    rates: tuple[float, ...], increments: list[float], lower: list[float], sided: int
) -> list[float]:
    stage = _origin()
    critical: list[float] = []
    for k, t in enumerate(rates):
        c = _efficacy_bound(stage, t, increments[k], sided)
        critical.append(c)
        if k + 1 < len(rates):
            low = -c if sided == 2 else lower[k]
            stage = _advance(stage, t, low, c, 0.0, rates[k + 1] - t)
    return critical


def _wang_tsiatis(
    rates: tuple[float, ...], alpha: float, sided: int, delta: float, lower: list[float]
) -> list[float]:
    shape = [t ** (delta - 0.5) for t in rates]

    def excess(scale: float) -> float:
        upper = [scale * s for s in shape]
        low = [-u for u in upper] if sided == 2 else lower
        return crossing_probabilities(rates, upper, low, 0.0, sided=sided).power - alpha

    scale = _solve(excess, 0.1, 40.0)
    return [scale * s for s in shape]


def _beta_spending(
    rates: tuple[float, ...],
    alpha: float,
    beta: float,
    spending: Spending,
    parameter: float | None,
    beta_spending: Spending,
    beta_parameter: float | None,
    binding: bool,
) -> tuple[list[float], tuple[float, ...], tuple[float, ...], float]:
    """Efficacy and futility bounds, and the drift at which the last two meet (one-sided)."""
    k_max = len(rates)
    a_cum = [spent(spending, alpha, t, sided=1, parameter=parameter) for t in rates]
    a_cum[-1] = alpha
    b_cum = [spent(beta_spending, beta, t, sided=1, parameter=beta_parameter) for t in rates]
    b_cum[-1] = beta
    a_inc = [b - a for a, b in zip([0.0, *a_cum[:-1]], a_cum, strict=False)]
    b_inc = [b - a for a, b in zip([0.0, *b_cum[:-1]], b_cum, strict=False)]
    fixed = None if binding else _spending_bounds(rates, a_inc, [-math.inf] * k_max, 1)

    def bounds(theta: float) -> tuple[list[float], list[float]]:
        null, alt = _origin(), _origin()
        critical: list[float] = []
        futile: list[float] = []
        for k, t in enumerate(rates):
            c = fixed[k] if fixed is not None else _efficacy_bound(null, t, a_inc[k], 1, strict=False)
            b = _futility_bound(alt, t, b_inc[k], theta)
            critical.append(c)
            futile.append(b)
            if k + 1 < k_max:
                dt = rates[k + 1] - t
                if fixed is None:
                    null = _advance(null, t, b, c, 0.0, dt)
                alt = _advance(alt, t, b, c, theta, dt)
        return critical, futile

    drift = _solve(lambda theta: (lambda cb: cb[0][-1] - cb[1][-1])(bounds(theta)), 0.0, 15.0)
    critical, futile = bounds(drift)
    crossing = crossing_probabilities(rates, critical, futile, drift)
    lows = np.cumsum(crossing.lower)
    return critical, tuple(futile[:-1]), tuple(float(v) for v in lows), drift
