"""The analysis plan: a YAML file, validated on load with errors that name the line.

A plan has a title, a data cut-off date, a population, the derived variables it uses
(:data:`~._variables.CATALOGUE`), an optional patient flow and characteristics table,
and its analyses. Each analysis names an endpoint (and origin), a population filter,
groups, the time points, and a test: ``logrank`` or ``gray`` (survival or cumulative
incidence by group), ``cox`` (a multivariable model of ``model`` terms),
``mantel-byar`` or ``landmark`` (a transplant as a time-dependent exposure).

Validation is in two steps, both reporting ``PLAN:LINE: what is wrong``: pydantic checks
the shape (field names, types, allowed words), then :func:`load_plan` checks the names
against Bassinet (endpoints, variables) and the rules (a test that fits the endpoint; a
transplant never as a baseline group).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bassinet.endpoints import ENDPOINTS, ORIGINS, Origin
from bassinet.errors import ConfigurationError
from bassinet.plans._variables import CATALOGUE

if TYPE_CHECKING:
    from bassinet.design import SequentialDesign

Test = Literal["logrank", "gray", "cox", "mantel-byar", "landmark"]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flow(_Strict):
    """The patient flow: ``randomisation`` (registered, eligible, randomised by arm, excluded with
    reasons, by the protocol engine) or ``breakdown`` (counts by the ``by`` variables in turn)."""

    kind: Literal["randomisation", "breakdown"]
    by: list[str] = Field(default_factory=list)
    non_randomising_groups: list[str] = Field(default_factory=list)


class Characteristics(_Strict):
    """Table 1: ``variables`` by the ``by`` variable; continuous items as median and ``summary``."""

    by: str | None = None
    variables: list[str]
    summary: Literal["range", "iqr"] = "range"


class Analysis(_Strict):
    id: str
    title: str
    endpoint: str
    origin: Origin | None = None
    population: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    groups: str | None = None
    times: list[float] = Field(default_factory=list)
    test: Test | None = None
    model: list[str] = Field(default_factory=list)
    exposure: str | None = None
    landmarks: list[float] = Field(default_factory=list)
    phrases: dict[str, str] = Field(default_factory=dict)
    bands: bool = False
    figure: bool = True
    population_label: str | None = None
    plan_population: bool = True


class DesignSurvival(_Strict):
    """Survival proportions of the design at one time: they give the hazard ratio ``log(S_e) / log(S_c)``."""

    control: float = Field(gt=0, lt=1)
    experimental: float = Field(gt=0, lt=1)


class Design(_Strict):
    """The trial's group-sequential design, monitored on the log-rank test of ``analysis``.

    ``experimental`` and ``control`` are the two groups (as the report prints them); the
    analysis at the plan's cut-off is analysis ``len(earlier_cutoffs) + 1`` of the design.
    The maximum number of events is ``max_events`` or, from the hazard ratio (given, or from
    ``survival``) with Schoenfeld's formula and the design's inflation factor, rounded up.
    """

    analysis: str
    experimental: str
    control: str
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    sided: Literal[1, 2] = 2
    power: float = Field(default=0.8, gt=0, lt=1)
    looks: int | None = Field(default=None, ge=1, le=20)
    information_rates: list[float] | None = None
    spending: Literal["obf", "pocock", "kd", "hsd"] = "obf"
    parameter: float | None = None
    futility: list[float] | None = None
    binding: bool = False
    hazard_ratio: float | None = Field(default=None, gt=0, lt=1)
    survival: DesignSurvival | None = None
    max_events: float | None = Field(default=None, gt=0)
    allocation: float = Field(default=1.0, gt=0)
    earlier_cutoffs: list[dt.date] = Field(default_factory=list)


class Plan(_Strict):
    title: str
    source: str = ""
    cutoff: dt.date
    time_unit: Literal["years", "months"] = "years"
    population: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    variables: list[str] = Field(default_factory=list)
    flow: Flow | None = None
    characteristics: Characteristics | None = None
    analyses: list[Analysis]
    min_at_risk: int = Field(default=10, ge=0)
    design: Design | None = None

    @property
    def days_per_unit(self) -> float:
        return 365.25 if self.time_unit == "years" else 30.4375


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that keeps the node tree, so errors can name lines."""


def _node_line(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """The line (1-based) of the node at ``path`` (keys and list indices), or of its nearest parent."""
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            if found is None:
                return line
            key_node = next(k for k, v in node.value if v is found)
            node, line = found, key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


class LoadedPlan:
    """A validated plan with its text's hash and where it came from."""

    def __init__(self, plan: Plan, path: Path, text: str) -> None:
        self.plan, self.path, self.text = plan, path, text
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

    @functools.cached_property
    def _node(self) -> yaml.Node | None:
        return yaml.compose(self.text, Loader=_LineLoader)  # once: a plan's text does not change

    def line_of(self, path: tuple[Any, ...]) -> int:
        """The plan line (1-based) of the entry at ``path``, e.g. ``("analyses", 3)``."""
        node = self._node
        return _node_line(node, path) if node is not None else 0


def load_plan(path: Path) -> LoadedPlan:
    """Read and validate the plan at ``path``; :class:`ConfigurationError` names the line of each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the plan {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: byte {exc.start} is not UTF-8: save the plan as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigurationError(f"{path}: nested too deeply to be a plan") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigurationError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if node is None or not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a plan is a YAML mapping with title, cutoff and analyses")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        found: list[tuple[int, str]] = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc)
            found.append((_node_line(node, loc), f"{field}: {error['msg']}"))
        # Every problem in one run: without the fields pydantic refused, check the names too.
        lenient = _without(data, [tuple(e["loc"]) for e in exc.errors()])
        try:
            partial = Plan.model_validate(lenient)
        except ValidationError:
            partial = None
        if partial is not None:
            found.extend((_node_line(node, loc), message) for loc, message in _check_names(partial))
        problems = [f"{path}:{line}: {message}" for line, message in sorted(found, key=lambda x: x[0])]
        raise ConfigurationError("the plan is not valid:\n" + "\n".join(problems)) from None
    problems = [f"{path}:{_node_line(node, loc)}: {message}" for loc, message in _check_names(plan)]
    if problems:
        raise ConfigurationError("the plan is not valid:\n" + "\n".join(problems))
    return LoadedPlan(plan, path, text)


def _without(data: dict[str, Any], locations: list[tuple[Any, ...]]) -> dict[str, Any]:
    """A copy of ``data`` without the mapping keys that hold each refused location."""
    out: dict[str, Any] = copy.deepcopy(data)
    for loc in locations:
        container: Any = out
        last: tuple[Any, Any] | None = None
        for key in loc:
            if isinstance(container, dict) and key in container:
                last = (container, key)
                container = container[key]
            elif isinstance(container, list) and isinstance(key, int) and key < len(container):
                container = container[key]
            else:
                break
        if last is not None:
            last[0].pop(last[1], None)
    return out


def _check_names(plan: Plan) -> list[tuple[tuple[Any, ...], str]]:
    """Names that Bassinet does not know, and analyses that break a rule, with where they are."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    known = ", ".join(CATALOGUE)
    for i, name in enumerate(plan.variables):
        if name not in CATALOGUE:
            problems.append((("variables", i), f"unknown variable {name!r}; variables: {known}"))
    declared = set(plan.variables)

    def variable(loc: tuple[Any, ...], name: str) -> None:
        if name not in declared:
            hint = "declare it under 'variables'" if name in CATALOGUE else f"variables: {known}"
            problems.append((loc, f"unknown variable {name!r} ({hint})"))

    for key in plan.population:
        variable(("population", key), key)
    if plan.characteristics:
        if plan.characteristics.by:
            variable(("characteristics", "by"), plan.characteristics.by)
        for i, name in enumerate(plan.characteristics.variables):
            variable(("characteristics", "variables", i), name)
    if plan.flow:
        for i, name in enumerate(plan.flow.by):
            variable(("flow", "by", i), name)
    ids: set[str] = set()
    for i, a in enumerate(plan.analyses):
        here = ("analyses", i)
        if a.id in ids:
            problems.append(((*here, "id"), f"analysis id {a.id!r} is used twice"))
        ids.add(a.id)
        endpoint = ENDPOINTS.get(a.endpoint.upper()) if a.endpoint.upper() in ENDPOINTS else None
        if endpoint is None:
            problems.append(
                ((*here, "endpoint"), f"unknown endpoint {a.endpoint!r}; endpoints: {', '.join(ENDPOINTS)}")
            )
            continue
        for key in a.population:
            variable((*here, "population", key), key)
        for j, name in enumerate(a.model):
            variable((*here, "model", j), name)
        if a.groups:
            variable((*here, "groups"), a.groups)
            if (
                a.groups in CATALOGUE
                and CATALOGUE[a.groups].time_dependent
                and (a.origin or endpoint.origin) != "transplant"
            ):
                problems.append(
                    (
                        (*here, "groups"),
                        f"{a.groups!r} is a time-dependent exposure: grouping by it from "
                        f"{a.origin or endpoint.origin} counts the time before it as exposed "
                        "(immortal time); "
                        "use test: mantel-byar or landmark with exposure: transplanted",
                    )
                )
        competing = endpoint.competing_risks
        if a.test == "gray" and not competing:
            problems.append(
                (
                    (*here, "test"),
                    f"Gray's test compares cumulative incidences; {endpoint.name} has no competing "
                    "events (use logrank)",
                )
            )
        if a.test in ("logrank", "cox", "mantel-byar", "landmark") and competing:
            problems.append(
                ((*here, "test"), f"{endpoint.name} has competing events: compare it with test: gray")
            )
        if a.test in ("logrank", "gray") and not a.groups:
            problems.append(((*here, "test"), f"test {a.test} compares groups: give 'groups'"))
        if a.test == "cox" and not a.model:
            problems.append(((*here, "model"), "test cox needs 'model', the list of variables"))
        if a.test in ("mantel-byar", "landmark"):
            if a.exposure != "transplanted":
                problems.append(((*here, "exposure"), f"test {a.test} needs exposure: transplanted"))
            if a.test == "landmark" and not a.landmarks:
                problems.append(
                    ((*here, "landmarks"), "test landmark needs 'landmarks', the times to look from")
                )
        if a.origin is not None and a.origin not in ORIGINS:
            problems.append(((*here, "origin"), f"origin {a.origin!r} is not one of {', '.join(ORIGINS)}"))
    if plan.design is not None:
        problems.extend(_check_design(plan, plan.design))
    return problems


def _check_design(plan: Plan, d: Design) -> list[tuple[tuple[Any, ...], str]]:
    """The design block's rules: a monitored two-group log-rank analysis, one way to give each number."""
    from bassinet.errors import DataError

    problems: list[tuple[tuple[Any, ...], str]] = []
    ids = [a.id for a in plan.analyses]
    if d.analysis not in ids:
        problems.append(
            (("design", "analysis"), f"no analysis has id {d.analysis!r}; analyses: {', '.join(ids)}")
        )
    else:
        a = plan.analyses[ids.index(d.analysis)]
        if a.test != "logrank" or not a.groups:
            problems.append(
                (
                    ("design", "analysis"),
                    f"analysis {a.id!r} is not a log-rank comparison of groups: the design monitors one",
                )
            )
    if d.experimental == d.control:
        problems.append((("design", "control"), f"experimental and control are both {d.control!r}"))
    if (d.looks is None) == (d.information_rates is None):
        problems.append((("design",), "give the analyses as 'looks' (equally spaced) or 'information_rates'"))
    if d.hazard_ratio is not None and d.survival is not None:
        problems.append((("design", "survival"), "give 'hazard_ratio' or 'survival', not both"))
    elif d.hazard_ratio is None and d.survival is None:
        problems.append(
            (("design",), "give the design's 'hazard_ratio' or 'survival' (control, experimental)")
        )
    if d.survival is not None and d.survival.experimental <= d.survival.control:
        problems.append(
            (
                ("design", "survival"),
                f"experimental survival {d.survival.experimental:g} is not above "
                f"control {d.survival.control:g}: "
                "the design expects the experimental arm to do better (swap the arms)",
            )
        )
    if d.spending in ("kd", "hsd") and d.parameter is None:
        problems.append((("design", "parameter"), f"spending {d.spending} needs 'parameter' (rho or gamma)"))
    k = d.looks if d.looks is not None else len(d.information_rates or [])
    if k and len(d.earlier_cutoffs) >= k:
        problems.append(
            (
                ("design", "earlier_cutoffs"),
                f"{len(d.earlier_cutoffs)} earlier cut-offs: the design has {k} analyses in all",
            )
        )
    dates = [*d.earlier_cutoffs, plan.cutoff]
    for i, (a_date, b_date) in enumerate(itertools.pairwise(dates)):
        if b_date <= a_date:
            problems.append(
                (
                    ("design", "earlier_cutoffs", i),
                    f"cut-off {a_date} is not before {b_date}: cut-offs increase up to the plan's",
                )
            )
    if not problems:
        try:
            sequential_design(d)
        except DataError as exc:
            where = "information_rates" if d.information_rates is not None else "looks"
            field = "futility" if "futility" in str(exc) else where
            problems.append((("design", field), str(exc)))
    return problems


def sequential_design(d: Design) -> SequentialDesign:
    """The :class:`~bassinet.design.SequentialDesign` the block declares."""
    from bassinet.design import group_sequential

    rates: list[float] | int = d.information_rates if d.information_rates is not None else (d.looks or 1)
    return group_sequential(
        rates,
        alpha=d.alpha,
        beta=1 - d.power,
        sided=d.sided,
        spending=d.spending,
        parameter=d.parameter,
        futility=d.futility,
        binding=d.binding,
    )
