"""Running a plan: endpoints derived from the records, each analysis computed by the survival core.

:func:`run_plan` returns a :class:`PlanResult` of frozen dataclasses: the patient flow,
the characteristics table and, per analysis, the groups with their estimates at the
plan's time points (with standard error and 95% interval), the test, the model, the
curves to draw and a result sentence in the papers' manner. The report draws and
writes them; it computes nothing (the number at risk under a figure is computed here).

Conventions (stated in the report's methods paragraph): Kaplan-Meier with Greenwood's
standard error and a log-log 95% interval; cumulative incidence by Aalen-Johansen with
Gray's variance and a log-log interval; log-rank and Gray tests; Cox with Efron ties and
Wald intervals, complete cases; Mantel-Byar and landmark tests for a transplant.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd

from bassinet import __version__
from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.errors import ConvergenceError, DataError, StatisticalWarning
from bassinet.plans._estimate import incidence_group, survival_group
from bassinet.plans._exposure import exposure_analysis, landmark_analysis
from bassinet.plans._interim import run_interim
from bassinet.plans._narrative import landmark_sentence, methods, population_words, sentence
from bassinet.plans._results import (
    AnalysisResult,
    GroupResult,
    LandmarkRow,
    ModelTerm,
    PlanResult,
    TestResult,
)
from bassinet.plans._schema import Analysis, LoadedPlan, Plan, Scalar
from bassinet.plans._tables import characteristics_table, follow_up, patient_flow
from bassinet.plans._variables import CATALOGUE, analysis_frame
from bassinet.survival import coxph, fine_gray, gray_test, logrank


def data_fingerprint(records: ClinicalRecords) -> str:
    """A SHA-256 of the records a plan reads (every table, sorted, as CSV): the data snapshot's hash."""
    digest = hashlib.sha256()
    for name in ("patients", "remissions", "events", "transplants"):
        frame = getattr(records, name)
        columns = sorted(c for c in frame.columns if c not in ("id", "patient_id", "centre_id"))
        table = frame[columns].astype(str)
        table = table.sort_values(columns) if columns else table
        digest.update(name.encode())
        digest.update(_csv_bytes(table))
    return digest.hexdigest()


def _csv_bytes(table: pd.DataFrame) -> bytes:
    """``table.to_csv(index=False).encode()``, joined directly where every cell is plain text.

    A cell that is not text, or has a comma, a quote or a line break, or a frame of
    fewer than two columns (where an empty cell is written quoted), goes through
    ``to_csv`` itself.
    """
    columns = [str(c) for c in table.columns]
    cells = [table[c].to_numpy(dtype=object).tolist() for c in table.columns]
    try:
        text = "".join(columns) + "".join("".join(column) for column in cells)
    except TypeError:  # a cell that is not a str
        text = '"'
    if len(columns) < 2 or any(mark in text for mark in ',"\r\n'):
        return table.to_csv(index=False).encode()
    return ("\n".join([",".join(columns), *map(",".join, zip(*cells, strict=True))]) + "\n").encode()


def select_patients(frame: pd.DataFrame, population: dict[str, Scalar | list[Scalar]]) -> pd.Series:
    keep = pd.Series(True, index=frame.index)
    for name, wanted in population.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        keep &= frame[name].isin(values)
    return keep


def population_ids(plan: Plan, records: ClinicalRecords) -> list[str]:
    """The study IDs of the patients in the plan's population."""
    variables = analysis_frame(records, plan.variables)
    return list(variables.index[select_patients(variables, plan.population)])


def _ticks(max_time: float, unit: str) -> tuple[float, ...]:
    step = 1.0 if unit == "years" else 12.0
    while max_time / step > 10:
        step *= 2
    if max_time < step:  # a young registry: ticks at tenths of its follow-up
        for step in (0.5, 0.25, 0.1):
            if max_time >= 2 * step:
                break
    return tuple(round(float(x), 6) for x in np.arange(0, max(max_time, step) + 1e-9, step))


def _finite_term(fit_names: list[str], labels: list[str], fit: object) -> tuple[ModelTerm, ...]:
    keys = ("hazard_ratio", "lower", "upper", "p_value")
    with np.errstate(over="ignore", invalid="ignore"):
        hr, lo, hi, p = (np.asarray(getattr(fit, k), float) for k in keys)
    if not all(np.isfinite(v).all() for v in (hr, lo, hi, p)):
        raise DataError("the model's estimates are infinite (an event-free group: monotone likelihood)")
    return tuple(
        ModelTerm(n, lab, float(h), float(a), float(b), float(q))
        for n, lab, h, a, b, q in zip(fit_names, labels, hr, lo, hi, p, strict=True)
    )


def _two_group_hr(
    time: np.ndarray, status: np.ndarray, labels: np.ndarray, order: list[str], competing: bool
) -> ModelTerm:
    """The hazard ratio of the second group against the first (Cox; Fine-Gray for an incidence)."""
    x = (labels == order[1]).astype(float)
    names, words = ["group"], [f"{order[1]} vs {order[0]}"]
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", StatisticalWarning)
        if competing:
            fit: object = fine_gray(time, status, x, names=names)
        else:
            fit = coxph(time, status, x, names=names)
    return _finite_term(names, words, fit)[0]


def _run_analysis(
    plan: Plan, a: Analysis, records: ClinicalRecords, variables: pd.DataFrame, base: pd.Series, line: int
) -> AnalysisResult:
    endpoint = get_endpoint(a.endpoint)
    if a.origin:
        endpoint = endpoint.from_origin(a.origin)
    scale, unit = plan.days_per_unit, plan.time_unit
    derived = derive(records, [endpoint], cutoff=plan.cutoff).set_index("study_id")
    # plan_population: false lets a comparison reach past the plan's population (another protocol)
    keep = (base if a.plan_population else True) & select_patients(variables, a.population)
    chosen = variables.index[keep]
    ids = chosen[chosen.isin(derived.index)]
    d = derived.loc[ids]
    if not len(d):
        if endpoint.reads_gvhd:
            raise DataError(
                f"no patient in its population has a {endpoint.origin} with its GVHD status recorded "
                "before the cut-off"
            )
        raise DataError(f"no patient in its population has a {endpoint.origin} date before the cut-off")
    time, status = d["time_days"].to_numpy(float), d["status"].to_numpy(int)
    label_of = CATALOGUE[a.groups] if a.groups else None
    notes: list[str] = []
    if a.groups and label_of is not None:
        raw = variables.loc[ids, a.groups]
        present = raw.notna()
        if (~present).any():
            notes.append(f"{int((~present).sum())} patients with {label_of.label} unknown left out")
        time, status, raw = time[present.to_numpy()], status[present.to_numpy()], raw[present]
        if not len(time):
            raise DataError(f"no patient in its population has {label_of.label} known")
        labels = raw.map(label_of.show).to_numpy()
        order = [label_of.show(v) for v in label_of.order(list(raw.unique()))]
        if a.phrases:
            order = [k for k in a.phrases if k in set(labels)] + [k for k in order if k not in a.phrases]
    else:
        labels = np.array(["all"] * len(time), dtype=object)
        order = ["all"]
    ticks = _ticks(float(time.max()) / scale, unit)
    population = a.population_label if a.population_label is not None else population_words(a.population)
    groups: list[GroupResult] = []
    for label in order:
        mask = labels == label
        if endpoint.competing_risks:
            groups.append(
                incidence_group(
                    str(label),
                    time[mask],
                    status[mask],
                    a.times,
                    ticks,
                    scale,
                    unit,
                    min_at_risk=plan.min_at_risk,
                )
            )
        else:
            groups.append(
                survival_group(
                    str(label),
                    time[mask],
                    status[mask],
                    a.times,
                    ticks,
                    scale,
                    unit,
                    min_at_risk=plan.min_at_risk,
                )
            )
    test: TestResult | None = None
    hazard_ratio: ModelTerm | None = None
    model_terms: tuple[ModelTerm, ...] = ()
    model_n = 0
    landmark_rows: tuple[LandmarkRow, ...] = ()
    test_label = ""
    if a.test in ("logrank", "gray"):
        name = "log-rank test" if a.test == "logrank" else "Gray's test"
        events = int((status == 1).sum())
        if len(order) < 2:
            notes.append(f"{name} not done: only one group ({order[0]}) has patients")
        elif events == 0:
            notes.append(f"{name} not done: no {endpoint.title} event in any group")
        else:
            try:
                if a.test == "logrank":
                    lr = logrank(time, status, labels)
                    if lr.p_value != lr.p_value:
                        raise DataError("no event time with patients of two groups at risk")
                    test = TestResult("log-rank", float(lr.chisq), int(lr.df), float(lr.p_value))
                else:
                    gray = gray_test(time, status, labels)
                    k = gray.causes.index(1)
                    test = TestResult("Gray", float(gray.statistic[k]), int(gray.df), float(gray.p_value[k]))
                    test_label = "Gray test "
            except (DataError, ConvergenceError) as exc:
                notes.append(f"{name} not done: {exc}")
            if len(order) == 2 and test is not None:
                try:
                    hazard_ratio = _two_group_hr(time, status, labels, order, endpoint.competing_risks)
                except (DataError, ConvergenceError, np.linalg.LinAlgError) as exc:
                    notes.append(f"hazard ratio not estimable: {exc}")
    elif a.test == "cox":
        model_terms, model_n = _cox(a, variables.loc[ids], d)
    elif a.test in ("mantel-byar", "landmark"):
        first = records.transplants.groupby("study_id")["transplant_date"].min()
        exposure = np.asarray((first.reindex(ids) - d["origin_date"]).dt.days, dtype=float)
        t_all, s_all = d["time_days"].to_numpy(float), d["status"].to_numpy(int)
        # Time-dependent risk sets need follow-up: an event on the origin date (resistant
        # disease at day 0) is before any exposure and leaves these analyses.
        followed = t_all > 0
        t_all, s_all, exposure = t_all[followed], s_all[followed], exposure[followed]
        if not len(t_all):
            raise DataError("no patient has follow-up after the origin")
        if a.test == "mantel-byar":
            groups, test, hazard_ratio, more = exposure_analysis(
                t_all, s_all, exposure, a.times, ticks, scale, unit, min_at_risk=plan.min_at_risk
            )
            notes.extend(more)
            test_label = "Mantel-Byar test "
        else:
            landmark_rows = landmark_analysis(t_all, s_all, exposure, a.landmarks, a.times, scale, unit)
    text = sentence(
        a,
        endpoint,
        groups,
        test,
        unit,
        population=population,
        hazard_ratio=hazard_ratio,
        test_label=test_label,
    )
    if landmark_rows:
        text = landmark_sentence(landmark_rows[0], endpoint.name, unit, population)
    return AnalysisResult(
        a.id, a.title, endpoint.name, endpoint.title, endpoint.origin, endpoint.competing_risks, len(d),
        label_of.label if label_of and a.test != "mantel-byar" else
        ("transplant status (time-updated)" if a.test == "mantel-byar" else None),
        tuple(groups), ticks, unit, test, model_terms, model_n, landmark_rows, text, a.bands, a.figure,
        line=line, population=population, notes=tuple(notes), hazard_ratio=hazard_ratio,
        test_kind=a.test or "",
    )  # fmt: skip


def _cox(a: Analysis, frame: pd.DataFrame, d: pd.DataFrame) -> tuple[tuple[ModelTerm, ...], int]:
    columns, names, labels = [], [], []
    complete = frame[a.model].notna().all(axis=1)
    frame, d = frame[complete], d[complete.to_numpy()]
    for name in a.model:
        variable = CATALOGUE[name]
        values = frame[name]
        if set(values.unique()) <= {True, False}:
            columns.append(values.astype(float).to_numpy())
            names.append(name)
            labels.append(variable.show(True) + f" vs {variable.show(False)}")
            continue
        levels = sorted(values.unique(), key=str)
        if len(levels) < 2:
            raise DataError(
                f"{variable.label} has one value only ({variable.show(levels[0])}): nothing to compare"
            )
        for level in levels[1:]:
            columns.append((values == level).astype(float).to_numpy())
            names.append(f"{name}={level}")
            labels.append(f"{variable.show(level)} vs {variable.show(levels[0])}")
    if not len(d):
        raise DataError(f"no patient has every model variable known ({', '.join(a.model)})")
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = coxph(
            d["time_days"].to_numpy(float), d["status"].to_numpy(int), np.column_stack(columns), names=names
        )
    return _finite_term(names, labels, fit), len(d)


def run_plan(loaded: LoadedPlan, records: ClinicalRecords) -> PlanResult:
    """Every analysis of the plan on ``records``, each on its own.

    An analysis that cannot be estimated on these records (no patient, no event, one
    group, collinear covariates) comes back with ``not_estimable`` saying why and the
    plan line it is on; every other analysis is still computed. ``warnings`` lists them.
    """
    plan = loaded.plan
    variables = analysis_frame(records, plan.variables)
    base = select_patients(variables, plan.population)
    problems: list[str] = []
    if not base.any():
        words = population_words(plan.population)
        problems.append(f"no patient in the registry matches the plan's population ({words})")
    analyses = []
    for i, a in enumerate(plan.analyses):
        line = loaded.line_of(("analyses", i))
        try:
            if not base.any():
                raise DataError("no patient in the plan's population")
            result = _run_analysis(plan, a, records, variables, base, line)
        except (DataError, ConvergenceError, np.linalg.LinAlgError) as exc:
            result = _not_estimable(plan, a, line, str(exc))
        analyses.append(result)
        if result.not_estimable:
            problems.append(f"analysis {a.id} (plan line {line}): not estimable: {result.not_estimable}")
        problems.extend(f"analysis {a.id} (plan line {line}): {note}" for note in result.notes)
    origins = {r.origin for r in analyses}
    origin = "transplant" if origins == {"transplant"} else "diagnosis"
    header, rows = characteristics_table(plan, variables, base)
    interim = run_interim(loaded, records, variables, base) if plan.design is not None else None
    if interim is not None and interim.not_estimable:
        problems.append(
            f"interim analysis (plan line {interim.line}): not estimable: {interim.not_estimable}"
        )
    return PlanResult(
        plan.title, plan.source, plan.cutoff.isoformat(), plan.time_unit, int(base.sum()),
        patient_flow(plan, records, variables, base) if base.any() else (), header, rows, tuple(analyses),
        follow_up(plan, records, base, origin) if base.any() else {},
        methods(analyses, cutoff=plan.cutoff.isoformat(), version=__version__),
        loaded.sha256, data_fingerprint(records), warnings=tuple(problems), min_at_risk=plan.min_at_risk,
        interim=interim,
    )  # fmt: skip


def _not_estimable(plan: Plan, a: Analysis, line: int, reason: str) -> AnalysisResult:
    endpoint = get_endpoint(a.endpoint)
    origin = a.origin or endpoint.origin
    population = a.population_label if a.population_label is not None else population_words(a.population)
    return AnalysisResult(
        a.id, a.title, endpoint.name, endpoint.title, origin, endpoint.competing_risks, 0, None, (), (),
        plan.time_unit, bands=a.bands, figure=a.figure, line=line, population=population,
        not_estimable=reason, test_kind=a.test or "",
    )  # fmt: skip
