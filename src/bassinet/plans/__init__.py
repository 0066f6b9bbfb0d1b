"""Analysis plans: a YAML schema validated on load, and the runner that computes every analysis.

- :func:`load_plan`: read a plan; errors name the plan's line and the unknown name.
- :func:`run_plan`: endpoints, estimates, tests and models for every analysis, as frozen
  dataclasses (:class:`PlanResult`) that :mod:`bassinet.report` writes out.
- :data:`CATALOGUE`: the derived variables a plan can use.
- The result types (:class:`PlanResult`, :class:`AnalysisResult`, :class:`GroupResult`, ...):
  public so that other producers (the federated pooled report) hand the same objects to
  :func:`bassinet.report.write_report`.
"""

from importlib import resources
from pathlib import Path

from bassinet.errors import ConfigurationError
from bassinet.plans._narrative import hr_text, p_text
from bassinet.plans._results import (
    AnalysisResult,
    CurveData,
    Estimate,
    FlowStep,
    GroupResult,
    InterimLook,
    InterimResult,
    LandmarkRow,
    ModelTerm,
    PlanResult,
    TestResult,
)
from bassinet.plans._run import population_ids, run_plan, select_patients
from bassinet.plans._schema import LoadedPlan, Plan, Scalar, load_plan
from bassinet.plans._variables import CATALOGUE, analysis_frame


def shipped_plan(name: str) -> Path:
    """A plan shipped with Bassinet (``interfant06``, ``hsct-infants``): in the wheel or the checkout."""
    packaged = Path(str(resources.files("bassinet.plans"))) / "shipped" / f"{name}.yaml"
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "plans" / f"{name}.yaml"
    if checkout.is_file():
        return checkout
    raise ConfigurationError(f"no shipped plan called {name!r} in this installation")


__all__ = [
    "CATALOGUE",
    "AnalysisResult",
    "CurveData",
    "Estimate",
    "FlowStep",
    "GroupResult",
    "InterimLook",
    "InterimResult",
    "LandmarkRow",
    "LoadedPlan",
    "ModelTerm",
    "Plan",
    "PlanResult",
    "Scalar",
    "TestResult",
    "analysis_frame",
    "hr_text",
    "load_plan",
    "p_text",
    "population_ids",
    "run_plan",
    "select_patients",
    "shipped_plan",
]
