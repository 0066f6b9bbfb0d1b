"""The numbers of one group: estimates at the plan's times, the curve to draw, the number at risk.

An estimate is made only where the group has follow-up: at a time beyond the group's
last follow-up R's ``summary(fit, times=)`` refuses unless asked to extend, and so does
Bassinet, with the reason ("not estimable: follow-up ends at 0.6 years"). A confidence
limit that cannot be formed (a survival of 1 on the log-log scale) is ``None``, never NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from bassinet.plans._results import CurveData, Estimate, GroupResult
from bassinet.survival import CumulativeIncidence, KaplanMeier, cumulative_incidence, kaplan_meier

Z95 = 1.959963984540054


def finite(x: float) -> float | None:
    """``x`` as a float, or ``None`` when it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def beyond_follow_up(time: float, last: float, unit: str) -> str:
    return f"not estimable: follow-up ends at {last:.1f} {unit}" if time > last + 1e-9 else ""


def _loglog_interval(f: float, se: float) -> tuple[float, float]:
    """A 95% interval for an incidence ``f`` on the log(-log) scale (inside (0, 1))."""
    if not 0 < f < 1 or se == 0:
        return f, f
    spread = math.exp(Z95 * se / (f * abs(math.log(f))))
    return f**spread, f ** (1 / spread)


def _curve(
    time: NDArray[np.float64],
    value: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    censored: NDArray[np.bool_],
    scale: float,
    start: float,
    n_risk: NDArray[np.float64] | None = None,
    min_at_risk: int = 0,
) -> CurveData:
    if n_risk is not None and len(n_risk) and (n_risk >= min_at_risk).any() and n_risk.max() > min_at_risk:
        # Journals ask that a curve stop where fewer than ``min_at_risk`` remain at risk: after
        # the last time with that many (with late entry the number at risk first grows).
        keep = n_risk >= min_at_risk
        cut = int(np.flatnonzero(keep).max()) + 1
        if cut < len(time):
            time, value, lower, upper = time[:cut], value[:cut], lower[:cut], upper[:cut]
            censored = censored[:cut]
    t = np.r_[0.0, time / scale]
    v = np.r_[start, value]
    lo = np.nan_to_num(np.r_[v[0], lower], nan=start)
    hi = np.nan_to_num(np.r_[v[0], upper], nan=start)
    ct = time[censored] / scale
    cv = value[censored]
    return CurveData(*(tuple(float(x) for x in a) for a in (t, v, lo, hi, ct, cv)))


def survival_group(
    label: str,
    time: NDArray[np.float64],
    status: NDArray[np.int_],
    times: list[float],
    ticks: tuple[float, ...],
    scale: float,
    unit: str,
    *,
    entry: NDArray[np.float64] | None = None,
    patients: int | None = None,
    min_at_risk: int = 0,
) -> GroupResult:
    """Kaplan-Meier of one group (rows on (entry, time] when ``entry`` is given: Simon-Makuch)."""
    km = kaplan_meier(time, status, entry=entry)
    assert isinstance(km, KaplanMeier)
    last = float(time.max()) / scale
    wanted = [t for t in times if not beyond_follow_up(t, last, unit)]
    at = km.at([t * scale for t in wanted]) if wanted else None
    estimates = []
    for t in times:
        note = beyond_follow_up(t, last, unit)
        if note or at is None:
            estimates.append(Estimate(t, None, None, None, None, 0, note))
            continue
        i = wanted.index(t)
        lo, hi = finite(at.lower[i]), finite(at.upper[i])
        estimates.append(
            Estimate(
                t,
                100 * float(at.surv[i]),
                100 * float(at.std_err[i]),
                None if lo is None else 100 * lo,
                None if hi is None else 100 * hi,
                int(at.n_risk[i]),
                "" if lo is not None else "no confidence interval: no event yet",
            )
        )
    risk = km.at([tick * scale for tick in ticks]).n_risk if ticks else np.array([])
    curve = _curve(km.time, km.surv, km.lower, km.upper, km.n_censor > 0, scale, 1.0, km.n_risk, min_at_risk)
    return GroupResult(
        label,
        int(patients if patients is not None else len(time)),
        int((status == 1).sum()),
        0,
        tuple(estimates),
        curve,
        tuple(int(n) for n in risk),
        last,
    )


def incidence_group(
    label: str,
    time: NDArray[np.float64],
    status: NDArray[np.int_],
    times: list[float],
    ticks: tuple[float, ...],
    scale: float,
    unit: str,
    *,
    min_at_risk: int = 0,
) -> GroupResult:
    """Aalen-Johansen cumulative incidence of cause 1 in one group, the others competing."""
    last = float(time.max()) / scale
    at_risk = tuple(int((time >= tick * scale).sum()) for tick in ticks)
    if not (status > 0).any():  # nobody has had any event: the incidence is 0 throughout
        estimates = tuple(
            Estimate(t, None, None, None, None, 0, note)
            if (note := beyond_follow_up(t, last, unit))
            else Estimate(t, 0.0, 0.0, 0.0, 0.0, int((time >= t * scale).sum()))
            for t in times
        )
        censored = np.unique(time)
        curve = CurveData(
            (0.0, last), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0),
            tuple(float(x) / scale for x in censored), tuple(0.0 for _ in censored),
        )  # fmt: skip
        return GroupResult(label, len(time), 0, 0, estimates, curve, at_risk, last)
    fit = cumulative_incidence(time, status)
    assert isinstance(fit, CumulativeIncidence)
    k = fit.causes.index(1) if 1 in fit.causes else None
    wanted = [t for t in times if not beyond_follow_up(t, last, unit)]
    at = fit.at([t * scale for t in wanted]) if wanted else None
    estimates_list = []
    for t in times:
        note = beyond_follow_up(t, last, unit)
        if note or at is None:
            estimates_list.append(Estimate(t, None, None, None, None, 0, note))
            continue
        i = wanted.index(t)
        f = float(at.estimate[i, k]) if k is not None else 0.0
        se = float(np.sqrt(at.variance[i, k])) if k is not None else 0.0
        lo, hi = _loglog_interval(f, se)
        estimates_list.append(
            Estimate(t, 100 * f, 100 * se, 100 * lo, 100 * hi, int((time >= t * scale).sum()))
        )
    value = fit.estimate[:, k] if k is not None else np.zeros(len(fit.time))
    band = np.sqrt(fit.variance[:, k]) if k is not None else np.zeros(len(fit.time))
    curve = _curve(
        fit.time,
        value,
        np.clip(value - Z95 * band, 0, 1),
        np.clip(value + Z95 * band, 0, 1),
        fit.n_censor > 0,
        scale,
        0.0,
        fit.n_risk,
        min_at_risk,
    )
    return GroupResult(
        label,
        len(time),
        int((status == 1).sum()),
        int((status == 2).sum()),
        tuple(estimates_list),
        curve,
        at_risk,
        last,
    )
