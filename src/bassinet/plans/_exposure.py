"""A transplant as a time-dependent exposure: Simon-Makuch curves, Mantel-Byar with a
time-dependent Cox hazard ratio, and landmark analyses with their hazard ratios.

- Simon-Makuch curves (Simon & Makuch 1984): Kaplan-Meier on the (start, stop] rows of
  :func:`bassinet.survival.split_at_exposure`, one curve per time-updated status, as R's
  ``survfit(Surv(start, stop, event) ~ exposed)``; a patient counts as not transplanted
  until the transplant and as transplanted after it.
- The Mantel-Byar test (Mantel & Byar 1974) and the hazard ratio of the time-dependent Cox
  model ``coxph(Surv(start, stop, event) ~ exposed)``, which says in which direction it goes.
- Landmark analyses (Anderson, Cain & Gelber 1983): at each landmark, the patients still at
  risk grouped by transplant by then, their survival from the landmark, log-rank P and Cox HR.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

from bassinet.errors import ConvergenceError, DataError, StatisticalWarning
from bassinet.plans._estimate import finite, survival_group
from bassinet.plans._results import Estimate, GroupResult, LandmarkRow, ModelTerm, TestResult
from bassinet.survival import coxph, landmark, mantel_byar, split_at_exposure

EXPOSED = ("not (yet) transplanted", "transplanted")


def _hr(time: NDArray[np.float64], event: NDArray[np.int_], x: NDArray[np.float64],
        label: str, *, entry: NDArray[np.float64] | None = None) -> ModelTerm:  # fmt: skip
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = coxph(time, event, x, entry=entry, names=["transplanted"])
        values = [finite(v) for v in (fit.hazard_ratio[0], fit.lower[0], fit.upper[0], fit.p_value[0])]
    if any(v is None for v in values):
        raise DataError("the hazard ratio is infinite (no event in one group: monotone likelihood)")
    hr, lo, hi, p = (float(v) for v in values if v is not None)
    return ModelTerm("transplanted", label, hr, lo, hi, p)


def exposure_analysis(
    time: NDArray[np.float64],
    status: NDArray[np.int_],
    exposure: NDArray[np.float64],
    times: list[float],
    ticks: tuple[float, ...],
    scale: float,
    unit: str,
    *,
    min_at_risk: int = 0,
) -> tuple[list[GroupResult], TestResult | None, ModelTerm | None, list[str]]:
    """Simon-Makuch curves, the Mantel-Byar test and the time-dependent Cox HR of transplant."""
    rows = split_at_exposure(time, status, exposure)
    event = rows.event.astype(int)
    groups, notes = [], []
    for exposed, label in zip((False, True), EXPOSED, strict=True):
        m = rows.exposed == exposed
        if not m.any():
            notes.append(f"no patient was {label} during follow-up: no Simon-Makuch curve for them")
            continue
        groups.append(
            survival_group(
                label,
                rows.stop[m],
                event[m],
                times,
                ticks,
                scale,
                unit,
                entry=rows.start[m],
                patients=len(np.unique(rows.row[m])),
                min_at_risk=min_at_risk,
            )
        )
    test: TestResult | None = None
    hr: ModelTerm | None = None
    if len(groups) < 2:
        notes.append("Mantel-Byar test not done: it needs patients both before and after transplant")
        return groups, None, None, notes
    try:
        mb = mantel_byar(time, status, exposure)
        if mb.p_value != mb.p_value:
            raise DataError("no event with patients of both statuses at risk")
        test = TestResult("Mantel-Byar", float(mb.chisq), 1, float(mb.p_value))
        hr = _hr(rows.stop, event, rows.exposed.astype(float), "transplant (time-dependent)",
                 entry=rows.start)  # fmt: skip
    except (DataError, ConvergenceError, np.linalg.LinAlgError) as exc:
        notes.append(f"{'hazard ratio' if test else 'Mantel-Byar test'} not estimable: {exc}")
    return groups, test, hr, notes


def landmark_analysis(
    time: NDArray[np.float64],
    status: NDArray[np.int_],
    exposure: NDArray[np.float64],
    landmarks: list[float],
    times: list[float],
    scale: float,
    unit: str,
) -> tuple[LandmarkRow, ...]:
    """At each landmark: numbers by transplant status, estimates at ``times`` (from the origin), P and HR."""
    out = []
    for lm in landmarks:
        [g] = landmark(time, status, exposure, [lm * scale]).landmarks
        note, hr = "", None
        estimates: list[tuple[str, Estimate]] = []
        for exposed, label in zip((False, True), EXPOSED, strict=True):
            m = g.exposed == exposed
            if not m.any():
                continue
            later = [t - lm for t in times if t > lm]
            group = survival_group(label, g.time[m], g.event[m].astype(int), later, (), scale, unit)
            estimates.extend(
                (
                    label,
                    Estimate(
                        e.time + lm,
                        e.estimate,
                        e.std_err,
                        e.lower,
                        e.upper,
                        e.n_risk,
                        e.note.replace("ends at", "from the landmark ends at"),
                    ),
                )
                for e in group.estimates
            )
        p = finite(g.test.p_value) if g.test is not None else None
        if g.n_exposed == 0 or g.n_exposed == g.n_at_risk:
            note = "one group only at this landmark: no comparison"
        elif not g.event.any():
            note = "no event after the landmark: no comparison"
        else:
            try:
                hr = _hr(
                    g.time,
                    g.event.astype(int),
                    g.exposed.astype(float),
                    "transplanted by the landmark vs not",
                )
            except (DataError, ConvergenceError, np.linalg.LinAlgError) as exc:
                note = f"hazard ratio not estimable: {exc}"
        out.append(LandmarkRow(lm, g.n_exposed, g.n_at_risk - g.n_exposed, p, hr, tuple(estimates), note))
    return tuple(out)
