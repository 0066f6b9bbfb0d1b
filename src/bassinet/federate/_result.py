"""The pooled study report: the plan's result objects built from the sites' count tables.

The count tables are expanded into one row per patient of the pooled data, up to the order
of the rows and the patients' identities (for rows on (entry, exit], the k-th entry paired
with the k-th exit, which keeps every risk set). The same functions that build the central
report's groups, tests, hazard ratios, sentences and methods then run on these rows, so
the pooled :class:`bassinet.plans.PlanResult` is the central one wherever the statistics
depend on the data only through the tables (Kaplan & Meier 1958; Aalen & Johansen 1978;
Mantel 1966; Gray 1988; Mantel & Byar 1974; Anderson, Cain & Gelber 1983). It is
written by :func:`bassinet.report.write_report`, as ``bassinet report`` writes the central
one, with the ``pooled`` line saying it is pooled from N sites without patient rows.

What the tables cannot give is said in the report, not guessed: the characteristics table
(medians need each patient's value), the interim monitoring (it re-derives the endpoint at
earlier cut-offs), and a Cox model whose rounds were not run.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bassinet import __version__
from bassinet.endpoints import get_endpoint
from bassinet.errors import ConvergenceError, DataError, StatisticalWarning
from bassinet.federate._cox import cox_terms
from bassinet.federate._messages import Message
from bassinet.federate._plan import FederatedPlan
from bassinet.federate._pooled import SiteFileError, _expand, _order, _rows, disclosure_sentence
from bassinet.federate._site import pair_entries
from bassinet.plans import (
    CATALOGUE,
    AnalysisResult,
    FlowStep,
    GroupResult,
    LandmarkRow,
    ModelTerm,
    PlanResult,
    TestResult,
)
from bassinet.plans.building import (
    exposure_analysis,
    incidence_group,
    landmark_analysis,
    landmark_sentence,
    methods,
    population_words,
    sentence,
    survival_group,
)
from bassinet.plans.building import not_estimable as _not_estimable
from bassinet.plans.building import ticks as _ticks
from bassinet.plans.building import two_group_hr as _two_group_hr
from bassinet.survival import follow_up as reverse_km_follow_up
from bassinet.survival import gray_test, logrank

COX_MISSING = (
    "the Cox model is fitted over rounds with the sites (bassinet federate cox-start, cox-answer, "
    "cox-step, or cox over HTTP); give its result to combine with --cox to show it here"
)


def _entries(a: Any, sites: list[Message]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for m in sites:
        entry = next((e for e in m["analyses"] if e.get("id") == a.id), None)
        if entry is None:
            raise SiteFileError(f"analysis {a.id}: site {m['site']!r} has no entry for it")
        out.append((str(m["site"]), entry))
    return out


def _exposure_rows(a: Any, entries: list[tuple[str, dict[str, Any]]]) -> tuple[NDArray[Any], ...]:
    """Pseudo-patients ``(time, status, transplant time)`` with the pooled Mantel-Byar risk sets."""
    times, statuses, exposures = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for site, e in entries:
        tables = e.get("exposure", {})
        where = f"site {site!r}, analysis {a.id}"
        if "before" in tables:
            t, s = _expand(site, a.id, _with_at_risk(tables["before"]), int(e["causes"]))
            times.append(t)
            statuses.append(s)
            exposures.append(np.full(len(t), np.nan))
        if "after" in tables:
            try:
                start, stop, status = pair_entries(tables["after"])
            except (DataError, KeyError, TypeError, ValueError) as exc:
                raise SiteFileError(f"{where}: the table after transplant is malformed ({exc})") from None
            times.append(stop)
            statuses.append(status)
            exposures.append(start)
    return np.concatenate(times), np.concatenate(statuses), np.concatenate(exposures)


def _with_at_risk(table: dict[str, Any]) -> dict[str, Any]:
    """A count table given without its numbers at risk, with them (summed from the end)."""
    n = len(table["censored"])
    events = np.asarray(table["events"], dtype=np.int64).reshape(len(table["events"]), n)
    exits = np.asarray(table["censored"], dtype=np.int64) + events.sum(axis=0)
    return {**table, "at_risk": [int(x) for x in np.cumsum(exits[::-1])[::-1]]}


def _landmark_rows(
    a: Any, entries: list[tuple[str, dict[str, Any]]], scale: float, unit: str
) -> tuple[LandmarkRow, ...]:
    rows: list[LandmarkRow] = []
    for i, lm in enumerate(a.landmarks):
        times, statuses, exposures = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for site, e in entries:
            point = e["landmarks"][i]
            if point.get("landmark") != lm:
                raise SiteFileError(f"site {site!r}, analysis {a.id}: landmark {i + 1} is not {lm:g}")
            for key, exposed in (("unexposed", np.nan), ("exposed", 0.0)):
                if key in point:
                    t, s = _expand(site, a.id, point[key], int(e["causes"]))
                    times.append(t)
                    statuses.append(s)
                    exposures.append(np.full(len(t), exposed))
        rows.extend(
            landmark_analysis(
                np.concatenate(times), np.concatenate(statuses), np.concatenate(exposures), [lm], a.times,
                scale, unit,
            )
        )  # fmt: skip
    return tuple(rows)


def _cox_terms(a: Any, fit: Message) -> tuple[ModelTerm, ...]:
    """The model's terms labelled as the central fit labels them."""
    out = []
    for k, term in enumerate(fit["terms"]):
        name, variable = term["name"], CATALOGUE[term["variable"]]
        if term["level"] is None:
            label = variable.show(True) + f" vs {variable.show(False)}"
        else:
            label = f"{variable.show(term['level'])} vs {variable.show(term['reference'])}"
        out.append(
            ModelTerm(
                str(name), label, float(fit["hazard_ratio"][k]), float(fit["lower"][k]),
                float(fit["upper"][k]), float(fit["p_value"][k]),
            )
        )  # fmt: skip
    return tuple(out)


def _pooled_analysis(
    fplan: FederatedPlan, a: Any, sites: list[Message], line: int, fits: dict[str, Message]
) -> AnalysisResult:
    plan = fplan.loaded.plan
    endpoint = get_endpoint(a.endpoint)
    if a.origin:
        endpoint = endpoint.from_origin(a.origin)
    entries = _entries(a, sites)
    refusals = [f"{site}: {e['refused']}" for site, e in entries if "refused" in e]
    if refusals:
        return _not_estimable(plan, a, line, "not pooled: refused by " + "; ".join(refusals))
    scale, unit = plan.days_per_unit, plan.time_unit
    population = a.population_label if a.population_label is not None else population_words(a.population)
    base = {
        "population": population,
        "line": line,
        "bands": a.bands,
        "figure": a.figure,
        "test_kind": a.test or "",
    }
    if a.test == "cox":
        time, status = _rows(a.id, sites)[:2]
        if not len(time):
            raise DataError(f"no patient in its population has a {endpoint.origin} date before the cut-off")
        cox_terms(fplan, a.id, sites)  # refuses a model the central fit refuses (a variable of one value)
        fit = fits.get(a.id)
        if fit is None:
            return _not_estimable(plan, a, line, COX_MISSING)
        ticks = _ticks(float(time.max()) / scale, unit)
        make = incidence_group if endpoint.competing_risks else survival_group
        overall = [make("all", time, status, a.times, ticks, scale, unit, min_at_risk=plan.min_at_risk)]
        text = sentence(a, endpoint, overall, None, unit, population=population)
        return AnalysisResult(
            a.id, a.title, endpoint.name, endpoint.title, endpoint.origin, endpoint.competing_risks,
            len(time), None, tuple(overall), ticks, unit, model=_cox_terms(a, fit), model_n=int(fit["n"]),
            sentence=text, **base,
        )  # fmt: skip
    notes: list[str] = []
    if a.test in ("mantel-byar", "landmark"):
        n = sum(int(e["n"]) for _, e in entries)
        if not n:
            raise DataError(f"no patient in its population has a {endpoint.origin} date before the cut-off")
        if a.test == "mantel-byar":
            time, status, exposure = _exposure_rows(a, entries)
            if not len(time):
                raise DataError("no patient has follow-up after the origin")
            ticks = _ticks(float(time.max()) / scale, unit)
        else:
            everyone, status = _rows(a.id, sites)[:2]
            ticks = _ticks(float(everyone.max()) / scale, unit)
            if not (everyone > 0).any():
                raise DataError("no patient has follow-up after the origin")
        test: TestResult | None = None
        hazard_ratio: ModelTerm | None = None
        groups: list[GroupResult] = []
        landmarks: tuple[LandmarkRow, ...] = ()
        if a.test == "mantel-byar":
            groups, test, hazard_ratio, more = exposure_analysis(
                time, status, exposure, a.times, ticks, scale, unit, min_at_risk=plan.min_at_risk
            )
            notes.extend(more)
            text = sentence(a, endpoint, groups, test, unit, population=population, hazard_ratio=hazard_ratio,
                            test_label="Mantel-Byar test ")  # fmt: skip
        else:
            make = incidence_group if endpoint.competing_risks else survival_group
            groups = [
                make("all", everyone, status, a.times, ticks, scale, unit, min_at_risk=plan.min_at_risk)
            ]
            landmarks = _landmark_rows(a, entries, scale, unit)
            text = sentence(a, endpoint, groups, test, unit, population=population)
            if landmarks:
                text = landmark_sentence(landmarks[0], endpoint.name, unit, population)
        label = "transplant status (time-updated)" if a.test == "mantel-byar" else None
        return AnalysisResult(
            a.id, a.title, endpoint.name, endpoint.title, endpoint.origin, endpoint.competing_risks, n, label,
            tuple(groups), ticks, unit, test, (), 0, landmarks, text, notes=tuple(notes),
            hazard_ratio=hazard_ratio, **base,
        )  # fmt: skip
    time, status, labels, site = _rows(a.id, sites)
    unknown = [e.get("unknown", 0) for _, e in entries]
    label_of = CATALOGUE[a.groups] if a.groups else None
    if label_of is not None and any(u != 0 for u in unknown):
        if any(u is None for u in unknown):
            notes.append(
                f"some patients with {label_of.label} unknown left out (a small count is not disclosed)"
            )
        else:
            notes.append(f"{sum(unknown)} patients with {label_of.label} unknown left out")
    if not len(time) and not any(unknown):
        raise DataError(f"no patient in its population has a {endpoint.origin} date before the cut-off")
    if not len(time):
        assert label_of is not None
        raise DataError(f"no patient in its population has {label_of.label} known")
    order = _order(a.groups, a.phrases, set(labels)) if a.groups else ["all"]
    ticks = _ticks(float(time.max()) / scale, unit)
    make = incidence_group if endpoint.competing_risks else survival_group
    groups = [
        make(
            str(g),
            time[labels == g],
            status[labels == g],
            a.times,
            ticks,
            scale,
            unit,
            min_at_risk=plan.min_at_risk,
        )
        for g in order
    ]
    test = None
    hazard_ratio = None
    test_label = ""
    strata = site if fplan.disclosure.stratify_by_site and len(set(site)) > 1 else None
    if a.test in ("logrank", "gray"):
        name = "log-rank test" if a.test == "logrank" else "Gray's test"
        if len(order) < 2:
            notes.append(f"{name} not done: only one group ({order[0]}) has patients")
        elif not (status == 1).any():
            notes.append(f"{name} not done: no {endpoint.title} event in any group")
        else:
            try:
                if a.test == "logrank":
                    lr = logrank(time, status, labels, strata=strata)
                    if lr.p_value != lr.p_value:
                        raise DataError("no event time with patients of two groups at risk")
                    test = TestResult("log-rank", float(lr.chisq), int(lr.df), float(lr.p_value))
                else:
                    gray = gray_test(time, status, labels, strata=strata)
                    k = gray.causes.index(1)
                    test = TestResult("Gray", float(gray.statistic[k]), int(gray.df), float(gray.p_value[k]))
                    test_label = "Gray test "
            except (DataError, ConvergenceError) as exc:
                notes.append(f"{name} not done: {exc}")
            if len(order) == 2 and test is not None and strata is None:
                try:
                    hazard_ratio = _two_group_hr(time, status, labels, order, endpoint.competing_risks)
                except (DataError, ConvergenceError, np.linalg.LinAlgError) as exc:
                    notes.append(f"hazard ratio not estimable: {exc}")
            elif strata is not None and test is not None:
                notes.append(
                    f"{name} stratified by site; no pooled hazard ratio (its rounds are a Cox model's)"
                )
    text = sentence(a, endpoint, groups, test, unit, population=population, hazard_ratio=hazard_ratio,
                    test_label=test_label)  # fmt: skip
    return AnalysisResult(
        a.id, a.title, endpoint.name, endpoint.title, endpoint.origin, endpoint.competing_risks, len(time),
        label_of.label if label_of else None, tuple(groups), ticks, unit, test, (), 0, (), text,
        notes=tuple(notes), hazard_ratio=hazard_ratio, **base,
    )  # fmt: skip


def _flow(sites: list[Message]) -> tuple[tuple[FlowStep, ...], str]:
    """The sites' patient flows added up (steps and reasons by their labels, in the sites' order)."""
    refused = [f"{m['site']}: {m['flow']['refused']}" for m in sites if isinstance(m.get("flow"), dict)]
    if refused:
        return (), "patient flow not pooled: withheld by " + "; ".join(refused)
    steps: dict[str, list[Any]] = {}
    for m in sites:
        previous = None
        for label, n, excluded in m.get("flow") or []:
            if label not in steps:
                steps = _insert_after(steps, previous, label, [0, {}])
            steps[label][0] += int(n)
            before = None
            for k, count in excluded:
                if k not in steps[label][1]:
                    steps[label][1] = _insert_after(steps[label][1], before, k, 0)
                steps[label][1][k] += int(count)
                before = k
            previous = label
    return tuple(FlowStep(label, n, tuple(reasons.items())) for label, (n, reasons) in steps.items()), ""


def _insert_after(d: dict[str, Any], after: str | None, key: str, value: Any) -> dict[str, Any]:
    items = list(d.items())
    at = 0 if after is None else [k for k, _ in items].index(after) + 1
    return dict([*items[:at], (key, value), *items[at:]])


def _follow_up(sites: list[Message], scale: float) -> tuple[dict[str, float], str]:
    refused = [
        f"{m['site']}: {m['follow_up']['refused']}" for m in sites if "refused" in (m.get("follow_up") or {})
    ]
    if refused:
        return {}, "follow-up not pooled: withheld by " + "; ".join(refused)
    parts = [_expand(str(m["site"]), "follow-up", m["follow_up"], 1) for m in sites if m.get("follow_up")]
    if not parts:
        return {}, ""
    t = np.concatenate([p[0] for p in parts]) / scale
    status = np.concatenate([p[1] for p in parts])
    fu = reverse_km_follow_up(t, status)
    return {
        "reverse_km_median": float(fu.median),
        "observed_median": float(np.median(t)),
        "observed_min": float(t.min()),
        "observed_max": float(t.max()),
    }, ""


def pooled_plan_result(
    fplan: FederatedPlan, sites: list[Message], cox: list[Message] | None = None
) -> PlanResult:
    """The plan's result pooled from checked site files, for :func:`bassinet.report.write_report`.

    Parameters
    ----------
    fplan
        The plan the files come from (:func:`~bassinet.federate.check_site_files`).
    sites
        The checked site files.
    cox
        Finished Cox results (:data:`~bassinet.federate.RESULT`) of the plan's Cox analyses.
    """
    loaded, plan = fplan.loaded, fplan.loaded.plan
    fits = {str(f["analysis"]): f for f in cox or []}
    problems: list[str] = []
    analyses = []
    for i, a in enumerate(plan.analyses):
        line = loaded.line_of(("analyses", i))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                result = _pooled_analysis(fplan, a, sites, line, fits)
        except (ConvergenceError, np.linalg.LinAlgError) as exc:
            result = _not_estimable(plan, a, line, str(exc))
        except SiteFileError:
            raise
        except DataError as exc:  # as the central run: the analysis is not estimable, the rest go on
            result = _not_estimable(plan, a, line, str(exc))
        analyses.append(result)
        if result.not_estimable:
            problems.append(f"analysis {a.id} (plan line {line}): not estimable: {result.not_estimable}")
        problems.extend(f"analysis {a.id} (plan line {line}): {note}" for note in result.notes)
    flow, flow_problem = _flow(sites)
    follow, follow_problem = _follow_up(sites, plan.days_per_unit)
    problems.extend(p for p in (flow_problem, follow_problem) if p)
    if plan.characteristics is not None:
        problems.append("characteristics table not pooled: its medians and ranges need each patient's value")
    if plan.design is not None:
        problems.append("interim analysis not pooled: it re-derives the endpoint at the earlier cut-offs")
    n_sites = len(sites)
    digest = hashlib.sha256("".join(sorted(str(m["content_sha256"]) for m in sites)).encode()).hexdigest()
    population = sum(int(m.get("population", 0)) for m in sites)
    return PlanResult(
        plan.title, plan.source, plan.cutoff.isoformat(), plan.time_unit, population,
        flow, (), (), tuple(analyses), follow,
        methods(analyses, cutoff=plan.cutoff.isoformat(), version=__version__),
        fplan.sha256, digest, version=str(sites[0]["version"]), warnings=tuple(problems),
        min_at_risk=plan.min_at_risk,
        pooled=(
            f"Pooled from {n_sites} site{'' if n_sites == 1 else 's'}, no patient rows "
            f"({', '.join(str(m['site']) for m in sites)}). {disclosure_sentence(fplan)}"
        ),
    )  # fmt: skip
