"""What running a plan gives: frozen dataclasses, turned into JSON and drawn by the report.

A number that cannot be estimated is ``None`` with the reason beside it (``note``,
``not_estimable``), never NaN: the report prints the reason, the JSON a ``null``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bassinet import __version__


@dataclass(frozen=True)
class Estimate:
    """The estimate at ``time`` (percent), or ``None`` with the reason in ``note``."""

    time: float
    estimate: float | None
    std_err: float | None
    lower: float | None
    upper: float | None
    n_risk: int
    note: str = ""


@dataclass(frozen=True)
class CurveData:
    """A step curve to draw: values after each time, its 95% band, and censoring times."""

    time: tuple[float, ...]
    value: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    censored: tuple[float, ...]
    censored_value: tuple[float, ...]


@dataclass(frozen=True)
class GroupResult:
    label: str
    n: int
    events: int
    competing: int
    estimates: tuple[Estimate, ...]
    curve: CurveData
    at_risk: tuple[int, ...]
    last_follow_up: float = 0.0


@dataclass(frozen=True)
class TestResult:
    name: str
    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True)
class ModelTerm:
    term: str
    label: str
    hazard_ratio: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True)
class LandmarkRow:
    """One landmark: patients still at risk by exposure, their estimates from there, the test and HR."""

    landmark: float
    n_exposed: int
    n_unexposed: int
    p_value: float | None
    hazard_ratio: ModelTerm | None = None
    estimates: tuple[tuple[str, Estimate], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class AnalysisResult:
    id: str
    title: str
    endpoint: str
    endpoint_title: str
    origin: str
    competing: bool
    n: int
    groups_label: str | None
    groups: tuple[GroupResult, ...]
    ticks: tuple[float, ...]
    time_unit: str
    test: TestResult | None = None
    model: tuple[ModelTerm, ...] = ()
    model_n: int = 0
    landmarks: tuple[LandmarkRow, ...] = ()
    sentence: str = ""
    bands: bool = False
    figure: bool = True
    line: int = 0
    population: str = ""
    not_estimable: str = ""
    notes: tuple[str, ...] = ()
    hazard_ratio: ModelTerm | None = None
    test_kind: str = ""


@dataclass(frozen=True)
class FlowStep:
    label: str
    n: int
    excluded: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class PlanResult:
    title: str
    source: str
    cutoff: str
    time_unit: str
    n: int
    flow: tuple[FlowStep, ...]
    characteristics_columns: tuple[str, ...]
    characteristics: tuple[tuple[str, ...], ...]
    analyses: tuple[AnalysisResult, ...]
    follow_up: dict[str, float]
    methods: str
    plan_sha256: str
    data_sha256: str
    version: str = __version__
    warnings: tuple[str, ...] = field(default_factory=tuple)
    simulation: str = ""
    min_at_risk: int = 10
    interim: InterimResult | None = None
    #: Set for a pooled report (:mod:`bassinet.federate`): "Pooled from N sites, no patient rows ...".
    pooled: str = ""


@dataclass(frozen=True)
class InterimLook:
    """One analysis of the design: its cut-off, events (observed, or planned for a later one),
    information fraction and bounds on the z, nominal P and hazard-ratio scales; observed values
    (``None`` at an analysis still to come)."""

    number: int
    cutoff: str
    events: float
    observed: bool
    information: float
    efficacy_z: float
    efficacy_p: float
    efficacy_hr: float
    futility_z: float | None
    futility_hr: float | None
    z: float | None = None
    hazard_ratio: float | None = None
    rci_lower: float | None = None
    rci_upper: float | None = None
    repeated_p: float | None = None
    conditional_power: float | None = None
    conditional_power_observed: float | None = None


@dataclass(frozen=True)
class InterimResult:
    """The interim monitoring of the plan's design at its cut-off (analysis ``stage`` of ``k_max``).

    ``z`` is the log-rank statistic signed so that ``z > 0`` favours the experimental arm;
    hazard ratios are experimental against control. With ``not_estimable`` set, the numbers
    are missing and it says why.
    """

    analysis: str
    title: str
    experimental: str
    control: str
    design: str
    sided: int
    alpha: float
    planned_hazard_ratio: float
    max_events: float
    stage: int
    k_max: int
    looks: tuple[InterimLook, ...] = ()
    decision: str = ""
    sentence: str = ""
    line: int = 0
    not_estimable: str = ""
