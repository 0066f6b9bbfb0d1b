"""Trial design: sample size and power for two-arm survival trials, analytic and by simulation.

- Curves for the control arm (:class:`Exponential`, :class:`PiecewiseExponential` with
  :meth:`~PiecewiseExponential.from_kaplan_meier` for a registry's estimate,
  :class:`CureFraction`); the experimental arm has proportional hazards.
- :func:`events_needed` (Schoenfeld, Freedman, Hsieh-Freedman), :func:`sample_size`
  (given accrual, follow-up and dropout), :func:`power_for_patients`, exact against R's
  ``rpact``.
- :func:`group_sequential`: group-sequential boundaries (O'Brien-Fleming, Pocock,
  Wang-Tsiatis, Lan-DeMets spending, futility bounds and beta spending) with their
  stopping probabilities; :func:`sequential_sample_size` and :func:`sequential_power` for
  survival trials (events, patients and calendar time of each analysis), exact against
  ``rpact``.
- :func:`interim_analysis`: at an interim, the bounds recomputed at the observed events,
  the decision, repeated confidence intervals and p-values, conditional power.
- :func:`simulate_power`: trials simulated and analysed by the log-rank test (or Cox),
  vectorised, in this process or on a Dask cluster, the same for a seed either way.
"""

from bassinet.design._analytic import (
    Method,
    Power,
    SampleSize,
    check_design,
    dropout_hazard,
    events_needed,
    hazard_ratio_from_survival,
    power_for_events,
    power_for_patients,
    sample_size,
)
from bassinet.design._curves import CureFraction, Curve, Exponential, PiecewiseExponential
from bassinet.design._interim import InterimAnalysis, interim_analysis
from bassinet.design._sequential import SequentialDesign, check_rates, group_sequential
from bassinet.design._sequential_survival import SequentialSurvival, sequential_power, sequential_sample_size
from bassinet.design._simulate import (
    SimulatedPower,
    SimulatedSequential,
    Test,
    simulate_power,
    simulate_sequential,
)

__all__ = [
    "CureFraction",
    "Curve",
    "Exponential",
    "InterimAnalysis",
    "Method",
    "PiecewiseExponential",
    "Power",
    "SampleSize",
    "SequentialDesign",
    "SequentialSurvival",
    "SimulatedPower",
    "SimulatedSequential",
    "Test",
    "check_design",
    "check_rates",
    "dropout_hazard",
    "events_needed",
    "group_sequential",
    "hazard_ratio_from_survival",
    "interim_analysis",
    "power_for_events",
    "power_for_patients",
    "sample_size",
    "sequential_power",
    "sequential_sample_size",
    "simulate_power",
    "simulate_sequential",
]
