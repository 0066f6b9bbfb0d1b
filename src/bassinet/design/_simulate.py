"""Power by simulation: many trials drawn under the design's assumptions, each analysed.

A trial: ``patients`` enter uniformly over the accrual period, a fixed share to each arm
(experimental ``round(n r / (1 + r))``, the rest control); event times are drawn by
inversion from the control curve, ``S ** hazard_ratio`` in the experimental arm; dropout
is exponential; the analysis comes ``follow_up`` after the last patient enters, and
censors everyone still event-free then.

Trials are analysed by the log-rank test, vectorised across replicates: one sort per
trial (a row of a 2-D array) and cumulative sums give every trial's observed minus
expected events and variance at once, so that 10,000 trials of 320 patients take well
under a second a core. Drawn times are continuous, so ties have probability zero. The
Cox score test is the log-rank test; ``test="cox"`` instead fits Bassinet's Cox model
to each trial and uses its Wald test (slower, a loop).

Group-sequential trials (:func:`simulate_sequential`) are followed until the planned
events of each analysis have occurred (event-driven, as rpact's ``getSimulationSurvival``
does), analysed by the log-rank test at each, and stopped by the design's bounds.

Replicates are split into chunks of a fixed size, each with its own seed spawned from
``seed`` (NumPy ``SeedSequence``): the result is the same for a given seed however the
chunks are spread, in this process or over a Dask cluster of any size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from bassinet.design._analytic import check_design
from bassinet.design._curves import Curve
from bassinet.design._sequential import SequentialDesign
from bassinet.errors import DataError

if TYPE_CHECKING:
    from distributed import Client

Test = Literal["logrank", "cox"]
CHUNK = 1000


@dataclass(frozen=True)
class TrialSettings:
    """Everything one simulated trial needs (picklable, sent to the workers)."""

    control: Curve
    hazard_ratio: float
    patients: int
    accrual: float
    follow_up: float
    dropout: tuple[float, float]
    allocation: float
    alpha: float
    sided: int
    test: Test


@dataclass(frozen=True)
class SimulatedPower:
    """The share of simulated trials whose test rejected, with its Monte Carlo error."""

    power: float
    std_err: float
    replicates: int
    mean_events: float
    seed: int
    test: Test

    @property
    def interval(self) -> tuple[float, float]:
        """A 95% Monte Carlo interval for the power."""
        return (self.power - 1.96 * self.std_err, self.power + 1.96 * self.std_err)


def logrank_z(
    time: NDArray[np.float64], event: NDArray[np.bool_], experimental: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """The log-rank statistic (O - E) / sqrt(V) of the experimental arm, for each row (trial).

    Rows hold one trial each, times without ties. Sorting each row by time, the number at
    risk before the k-th time is ``n - k`` in all and ``n1 - (experimental before k)`` in the
    experimental arm; every event contributes ``d1 - n1/n`` and ``n1 n0 / n^2``.
    """
    order = np.argsort(time, axis=1, kind="stable")
    ev = np.take_along_axis(event, order, axis=1)
    arm = np.take_along_axis(experimental, order, axis=1)
    n = time.shape[1]
    at_risk = n - np.arange(n, dtype=np.float64)
    n1 = arm.sum(axis=1, keepdims=True) - (np.cumsum(arm, axis=1) - arm)
    share = n1 / at_risk
    observed_minus_expected = np.where(ev, arm - share, 0.0).sum(axis=1)
    variance = np.where(ev, share * (1 - share), 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(observed_minus_expected / np.sqrt(variance), dtype=np.float64)


def _draw(
    settings: TrialSettings, replicates: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    s = settings
    n = s.patients
    n1 = round(n * s.allocation / (1 + s.allocation))
    experimental = np.zeros((replicates, n), dtype=bool)
    experimental[:, :n1] = True
    entry = rng.uniform(0, s.accrual, (replicates, n)) if s.accrual > 0 else np.zeros((replicates, n))
    u = rng.random((replicates, n))
    # S1 = S0 ** HR: the experimental time with S1(t) = u is the control time with S0(t) = u ** (1 / HR).
    u = np.where(experimental, u ** (1 / s.hazard_ratio), u)
    event_time = s.control.quantile(u)
    hazard = np.where(experimental, s.dropout[0], s.dropout[1])
    with np.errstate(divide="ignore"):
        drop_time = np.where(
            hazard > 0, rng.exponential(size=(replicates, n)) / np.maximum(hazard, 1e-300), np.inf
        )
    window = s.accrual + s.follow_up - entry
    time = np.minimum(np.minimum(event_time, drop_time), window)
    event = event_time <= np.minimum(drop_time, window)
    return time, event, experimental


def _reject(z: NDArray[np.float64], alpha: float, sided: int, hazard_ratio: float) -> NDArray[np.bool_]:
    critical = stats.norm.isf(alpha / sided)
    if sided == 2:
        return np.asarray(np.abs(z) > critical)
    # one-sided in the direction of the hypothesised effect (fewer events if HR < 1)
    return np.asarray(z < -critical) if hazard_ratio < 1 else np.asarray(z > critical)


def run_chunk(
    settings: TrialSettings, replicates: int, seed: np.random.SeedSequence
) -> tuple[int, int, float]:
    """Simulate ``replicates`` trials; return (rejections, replicates, total events)."""
    rng = np.random.default_rng(seed)
    time, event, experimental = _draw(settings, replicates, rng)
    if settings.test == "logrank":
        z = logrank_z(time, event, experimental)
    else:
        from bassinet.survival import coxph

        z = np.array(
            [coxph(time[k], event[k], experimental[k].astype(float)[:, None]).z[0] for k in range(replicates)]
        )
    rejected = _reject(z, settings.alpha, settings.sided, settings.hazard_ratio)
    return int(np.sum(rejected & np.isfinite(z))), replicates, float(event.sum())


def simulate_power(
    control: Curve,
    hazard_ratio: float,
    patients: int,
    *,
    accrual: float,
    follow_up: float,
    alpha: float = 0.05,
    sided: int = 2,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    replicates: int = 10_000,
    seed: int = 1,
    test: Test = "logrank",
    client: Client | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulatedPower:
    """Power by simulating ``replicates`` trials, in this process or on a Dask ``client``.

    The result depends on ``seed`` only, not on where the chunks run. ``progress`` is
    called with the number of replicates done.
    """
    check_design(hazard_ratio=hazard_ratio, alpha=alpha, sided=sided, allocation=allocation)
    if int(patients) != patients or patients < 2:
        raise DataError(f"patients is {patients!r}: a trial needs at least 2 patients, a whole number")
    if int(replicates) != replicates or replicates < 1:
        raise DataError(f"replicates is {replicates!r}: it must be a whole number >= 1")
    for name, value in (("accrual", accrual), ("follow_up", follow_up)):
        if not (math.isfinite(value) and value >= 0):
            raise DataError(f"{name} is {value!r}: a duration is >= 0")
    if test not in ("logrank", "cox"):
        raise DataError(f"test is {test!r}: logrank or cox")
    settings = TrialSettings(
        control, hazard_ratio, int(patients), accrual, follow_up, dropout, allocation, alpha, sided, test
    )
    sizes = [CHUNK] * (replicates // CHUNK) + ([replicates % CHUNK] if replicates % CHUNK else [])
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    results: list[tuple[int, int, float]] = []
    if client is None:
        for size, chunk_seed in zip(sizes, seeds, strict=True):
            results.append(run_chunk(settings, size, chunk_seed))
            if progress:
                progress(sum(r[1] for r in results))
    else:
        from distributed import as_completed

        futures = client.map(run_chunk, [settings] * len(sizes), sizes, seeds, pure=False)
        done = 0
        for future in as_completed(futures):
            done += future.result()[1]
            if progress:
                progress(done)
        results = [f.result() for f in futures]
    rejected = sum(r[0] for r in results)
    power = rejected / replicates
    return SimulatedPower(
        power,
        math.sqrt(power * (1 - power) / replicates),
        replicates,
        sum(r[2] for r in results) / replicates,
        seed,
        test,
    )


# Group-sequential trials ----------------------------------------------------------------


@dataclass(frozen=True)
class SequentialSettings:
    """One simulated group-sequential trial: analyses when ``events`` have occurred."""

    trial: TrialSettings
    events: tuple[int, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    sided: int


@dataclass(frozen=True)
class SimulatedSequential:
    """Shares of simulated trials stopping at each analysis, with their Monte Carlo errors.

    ``efficacy[k]``: rejected at analysis ``k + 1`` (either way if two-sided);
    ``futility[k]``: stopped there for futility.
    """

    efficacy: tuple[float, ...]
    futility: tuple[float, ...]
    replicates: int
    mean_events: float
    mean_duration: float
    events: tuple[int, ...]
    seed: int

    @property
    def power(self) -> float:
        return float(sum(self.efficacy))

    def std_err(self, share: float) -> float:
        return math.sqrt(share * (1 - share) / self.replicates)


def run_sequential_chunk(
    settings: SequentialSettings, replicates: int, seed: np.random.SeedSequence
) -> tuple[NDArray[np.int64], NDArray[np.int64], int, float, float]:
    """Simulate ``replicates`` group-sequential trials; counts of stops per analysis.

    Analysis ``k`` comes at the calendar time of the ``events[k]``-th event (all events if
    fewer occur); patients not yet entered are left out and the rest censored then. The
    log-rank z is oriented so that positive values favour the experimental arm.
    """
    rng = np.random.default_rng(seed)
    s = settings.trial
    (time, entry), event, experimental = _draw_unbounded(s, replicates, rng)
    calendar = time + entry
    k_max = len(settings.events)
    rejected = np.zeros(k_max, dtype=np.int64)
    futile = np.zeros(k_max, dtype=np.int64)
    running = np.ones(replicates, dtype=bool)
    stopped_events = 0.0
    stopped_time = 0.0
    event_calendar = np.sort(np.where(event, calendar, np.inf), axis=1)
    total_events = event.sum(axis=1)
    sign = -1.0 if s.hazard_ratio < 1 else 1.0
    for k, needed in enumerate(settings.events):
        index = np.minimum(needed, np.maximum(total_events, 1)) - 1
        when = event_calendar[np.arange(replicates), index][:, None]
        entered = entry <= when
        observed = np.where(entered, np.minimum(time, when - entry), 0.0)
        happened = event & entered & (calendar <= when)
        z = sign * logrank_z(observed, happened, experimental)
        z = np.where(np.isfinite(z), z, 0.0)
        cross = (np.abs(z) if settings.sided == 2 else z) > settings.upper[k]
        stop_futile = (
            (~cross) & (z < settings.lower[k]) if k < k_max - 1 else np.zeros(replicates, dtype=bool)
        )
        cross &= running
        stop_futile &= running
        rejected[k] = int(cross.sum())
        futile[k] = int(stop_futile.sum())
        ending = (cross | stop_futile) if k < k_max - 1 else running
        stopped_events += float(happened[ending].sum())
        stopped_time += float(when[ending, 0].sum())
        running &= ~(cross | stop_futile)
    return rejected, futile, replicates, stopped_events, stopped_time


def _draw_unbounded(
    settings: TrialSettings, replicates: int, rng: np.random.Generator
) -> tuple[tuple[NDArray[np.float64], NDArray[np.float64]], NDArray[np.bool_], NDArray[np.bool_]]:
    """As :func:`_draw`, with follow-up not cut at a fixed analysis: ((time, entry), event, arm)."""
    s = settings
    n = s.patients
    n1 = round(n * s.allocation / (1 + s.allocation))
    experimental = np.zeros((replicates, n), dtype=bool)
    experimental[:, :n1] = True
    entry = rng.uniform(0, s.accrual, (replicates, n)) if s.accrual > 0 else np.zeros((replicates, n))
    u = rng.random((replicates, n))
    u = np.where(experimental, u ** (1 / s.hazard_ratio), u)
    event_time = s.control.quantile(u)
    hazard = np.where(experimental, s.dropout[0], s.dropout[1])
    with np.errstate(divide="ignore"):
        drop_time = np.where(
            hazard > 0, rng.exponential(size=(replicates, n)) / np.maximum(hazard, 1e-300), np.inf
        )
    time = np.minimum(event_time, drop_time)
    event = event_time <= drop_time
    # a patient who never has an event nor drops out is censored far beyond any analysis
    time = np.where(np.isfinite(time), time, 1e12)
    return (time, entry), event, experimental


def simulate_sequential(
    design: SequentialDesign,
    control: Curve,
    hazard_ratio: float,
    patients: int,
    *,
    events: float,
    accrual: float,
    allocation: float = 1.0,
    dropout: tuple[float, float] = (0.0, 0.0),
    replicates: int = 10_000,
    seed: int = 1,
    client: Client | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulatedSequential:
    """Stopping probabilities of a group-sequential ``design`` by simulating ``replicates`` trials.

    ``patients`` enter uniformly over ``accrual``; analysis ``k`` comes at the
    ``ceil(t_k events)``-th event, with the log-rank test and the design's bounds (futility
    bounds applied as stopping rules). The same for a seed in this process or on Dask.
    """
    if hazard_ratio != 1:  # a hazard ratio of 1 simulates the trial under H0
        check_design(hazard_ratio=hazard_ratio, alpha=design.alpha, sided=design.sided, allocation=allocation)
    else:
        check_design(hazard_ratio=2.0, alpha=design.alpha, sided=design.sided, allocation=allocation)
    if int(patients) != patients or patients < 2:
        raise DataError(f"patients is {patients!r}: a trial needs at least 2 patients, a whole number")
    if int(replicates) != replicates or replicates < 1:
        raise DataError(f"replicates is {replicates!r}: it must be a whole number >= 1")
    if not (math.isfinite(events) and 0 < events <= patients):
        raise DataError(f"events is {events!r}: between 1 and the {patients} patients")
    if not (math.isfinite(accrual) and accrual >= 0):
        raise DataError(f"accrual is {accrual!r}: a duration is >= 0")
    counts = tuple(max(1, math.ceil(t * events - 1e-9)) for t in design.information_rates)
    trial = TrialSettings(
        control, hazard_ratio, int(patients), accrual, 0.0, dropout, allocation, design.alpha, design.sided,
        "logrank",
    )  # fmt: skip
    settings = SequentialSettings(trial, counts, design.critical_values, design.lower_bounds(), design.sided)
    sizes = [CHUNK] * (replicates // CHUNK) + ([replicates % CHUNK] if replicates % CHUNK else [])
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    results: list[tuple[NDArray[np.int64], NDArray[np.int64], int, float, float]] = []
    if client is None:
        for size, chunk_seed in zip(sizes, seeds, strict=True):
            results.append(run_sequential_chunk(settings, size, chunk_seed))
            if progress:
                progress(sum(r[2] for r in results))
    else:
        from distributed import as_completed

        futures = client.map(run_sequential_chunk, [settings] * len(sizes), sizes, seeds, pure=False)
        done = 0
        for future in as_completed(futures):
            done += future.result()[2]
            if progress:
                progress(done)
        results = [f.result() for f in futures]
    rejected = sum((r[0] for r in results), np.zeros(design.k_max, dtype=np.int64))
    futile = sum((r[1] for r in results), np.zeros(design.k_max, dtype=np.int64))
    return SimulatedSequential(
        tuple(float(v) / replicates for v in rejected),
        tuple(float(v) / replicates for v in futile),
        replicates,
        sum(r[3] for r in results) / replicates,
        sum(r[4] for r in results) / replicates,
        counts,
        seed,
    )
