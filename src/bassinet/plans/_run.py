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
import math

import numpy as np
import pandas as pd

from bassinet import __version__
from bassinet.endpoints import ClinicalRecords, Endpoint, derive, get_endpoint
from bassinet.errors import DataError
from bassinet.plans._results import (
    AnalysisResult,
    CurveData,
    Estimate,
    GroupResult,
    ModelTerm,
    PlanResult,
    TestResult,
)
from bassinet.plans._schema import Analysis, LoadedPlan, Plan, Scalar
from bassinet.plans._tables import characteristics_table, follow_up, patient_flow
from bassinet.plans._variables import CATALOGUE, analysis_frame
from bassinet.survival import (
    CumulativeIncidence,
    KaplanMeier,
    coxph,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    landmark,
    logrank,
    mantel_byar,
)

Z95 = 1.959963984540054


def data_fingerprint(records: ClinicalRecords) -> str:
    """A SHA-256 of the records a plan reads (every table, sorted, as CSV): the data snapshot's hash."""
    digest = hashlib.sha256()
    for name in ("patients", "remissions", "events", "transplants"):
        frame = getattr(records, name)
        columns = sorted(c for c in frame.columns if c not in ("id", "patient_id", "centre_id"))
        table = frame[columns].astype(str)
        table = table.sort_values(columns) if columns else table
        digest.update(name.encode())
        digest.update(table.to_csv(index=False).encode())
    return digest.hexdigest()


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


def _estimates_km(fit: KaplanMeier, times: list[float], scale: float) -> tuple[Estimate, ...]:
    if not times:
        return ()
    at = fit.at([t * scale for t in times])
    return tuple(
        Estimate(t, 100 * float(s), 100 * float(se), 100 * float(lo), 100 * float(hi), int(n))
        for t, s, se, lo, hi, n in zip(times, at.surv, at.std_err, at.lower, at.upper, at.n_risk, strict=True)
    )


def _loglog_interval(f: float, se: float) -> tuple[float, float]:
    """A 95% interval for an incidence ``f`` on the log(-log) scale (inside (0, 1))."""
    if not 0 < f < 1 or se == 0:
        return f, f
    spread = math.exp(Z95 * se / (f * abs(math.log(f))))
    return f**spread, f ** (1 / spread)


def _estimates_cif(
    fit: CumulativeIncidence, times: list[float], scale: float, n_risk: list[int]
) -> tuple[Estimate, ...]:
    if not times:
        return ()
    at = fit.at([t * scale for t in times])
    k = at.causes.index(1) if 1 in at.causes else None
    out = []
    for i, t in enumerate(times):
        f = float(at.estimate[i, k]) if k is not None else 0.0
        se = float(np.sqrt(at.variance[i, k])) if k is not None else 0.0
        lo, hi = _loglog_interval(f, se)
        out.append(Estimate(t, 100 * f, 100 * se, 100 * lo, 100 * hi, n_risk[i]))
    return tuple(out)


def _curve(
    time: np.ndarray,
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    censored: np.ndarray,
    scale: float,
    start: float,
) -> CurveData:
    t = np.r_[0.0, time / scale]
    v = np.r_[start, value]
    lo, hi = np.r_[v[0], lower], np.r_[v[0], upper]
    ct = time[censored] / scale
    cv = value[censored]
    return CurveData(*(tuple(float(x) for x in a) for a in (t, v, lo, hi, ct, cv)))


def _ticks(max_time: float, unit: str) -> tuple[float, ...]:
    step = 1.0 if unit == "years" else 12.0
    while max_time / step > 10:
        step *= 2
    return tuple(float(x) for x in np.arange(0, max_time + 1e-9, step))


def _p_text(p: float) -> str:
    return "P<0.001" if p < 0.001 else f"P={p:.3f}"


def _time_text(t: float, unit: str) -> str:
    return f"{t:g}-{unit[:-1]}"


def _group_phrase(analysis: Analysis, label: str) -> str:
    return analysis.phrases.get(label, f"in {label}")


def _sentence(
    a: Analysis, endpoint: Endpoint, groups: tuple[GroupResult, ...], test: TestResult | None, unit: str
) -> str:
    if not groups or not groups[0].estimates:
        return ""
    short = endpoint.name if not endpoint.competing_risks else endpoint.title
    t = groups[0].estimates[-1].time
    crude = endpoint.competing_risks is False
    parts = []
    for g in groups:
        e = g.estimates[-1]
        count = f" ({g.n - g.events}/{g.n})" if crude else f" (SE {e.std_err:.1f})"
        parts.append(
            f"{e.estimate:.1f}%{count}" + ("" if len(groups) == 1 else f" {_group_phrase(a, g.label)}")
        )
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    named = {"Gray": "Gray test ", "Mantel-Byar": "Mantel-Byar test for transplant, "}
    p = f" ({named.get(test.name, '')}{_p_text(test.p_value)})" if test else ""
    return f"{_time_text(t, unit)} {short} was {listed}{p}."


def _run_analysis(
    plan: Plan, a: Analysis, records: ClinicalRecords, variables: pd.DataFrame, base: pd.Series
) -> AnalysisResult:
    endpoint = get_endpoint(a.endpoint)
    if a.origin:
        endpoint = endpoint.from_origin(a.origin)
    scale = plan.days_per_unit
    derived = derive(records, [endpoint], cutoff=plan.cutoff).set_index("study_id")
    keep = base & select_patients(variables, a.population)
    ids = [sid for sid in variables.index[keep] if sid in derived.index]
    d = derived.loc[ids]
    if not len(d):
        raise DataError(f"analysis {a.id}: no patient is in its population (with a {endpoint.origin} date)")
    time, status = d["time_days"].to_numpy(float), d["status"].to_numpy(int)
    label_of = CATALOGUE[a.groups] if a.groups else None
    if a.groups:
        raw = variables.loc[ids, a.groups]
        present = raw.notna()
        time, status, raw = time[present.to_numpy()], status[present.to_numpy()], raw[present]
        labels = raw.map(label_of.show).to_numpy() if label_of else raw.to_numpy()
        order = (
            [label_of.show(v) for v in label_of.order(list(raw.unique()))]
            if label_of
            else sorted(set(labels))
        )
        if a.phrases:
            order = [k for k in a.phrases if k in set(labels)] + [k for k in order if k not in a.phrases]
    else:
        labels = np.array(["all"] * len(time), dtype=object)
        order = ["all"]
    ticks = _ticks(float(time.max()) / scale if len(time) else 0.0, plan.time_unit)
    groups = []
    for label in order:
        mask = labels == label
        if not mask.any():
            raise DataError(f"analysis {a.id}: group {label!r} has no patients")
        t, s = time[mask], status[mask]
        at_risk = tuple(int((t >= tick * scale).sum()) for tick in ticks)
        if endpoint.competing_risks:
            incidence = cumulative_incidence(t, s)
            assert isinstance(incidence, CumulativeIncidence)
            fit = incidence
            n_risk = [int((t >= x * scale).sum()) for x in a.times]
            estimates = _estimates_cif(fit, a.times, scale, n_risk)
            k = fit.causes.index(1) if 1 in fit.causes else None
            value = fit.estimate[:, k] if k is not None else np.zeros(len(fit.time))
            band = np.sqrt(fit.variance[:, k]) if k is not None else np.zeros(len(fit.time))
            curve = _curve(
                fit.time,
                value,
                np.clip(value - Z95 * band, 0, 1),
                np.clip(value + Z95 * band, 0, 1),
                fit.n_censor > 0,
                scale,
                start=0.0,
            )
        else:
            km = kaplan_meier(t, s)
            assert isinstance(km, KaplanMeier)
            estimates = _estimates_km(km, a.times, scale)
            curve = _curve(km.time, km.surv, km.lower, km.upper, km.n_censor > 0, scale, start=1.0)
        groups.append(
            GroupResult(
                str(label),
                int(mask.sum()),
                int((s == 1).sum()),
                int((s == 2).sum()),
                estimates,
                curve,
                at_risk,
            )
        )
    test: TestResult | None = None
    model_terms: tuple[ModelTerm, ...] = ()
    model_n = 0
    landmark_rows: tuple[tuple[float, int, int, float], ...] = ()
    if a.test == "logrank":
        lr = logrank(time, status, labels)
        test = TestResult("log-rank", float(lr.chisq), int(lr.df), float(lr.p_value))
    elif a.test == "gray":
        gray = gray_test(time, status, labels)
        k = gray.causes.index(1)
        test = TestResult("Gray", float(gray.statistic[k]), int(gray.df), float(gray.p_value[k]))
    elif a.test == "cox":
        model_terms, model_n = _cox(a, variables.loc[ids], d)
    elif a.test in ("mantel-byar", "landmark"):
        first = records.transplants.groupby("study_id")["transplant_date"].min()
        exposure = (first.reindex(ids) - d["origin_date"]).dt.days.to_numpy(float)
        t_all, s_all = d["time_days"].to_numpy(float), d["status"].to_numpy(int)
        # Time-dependent risk sets need follow-up: an event on the origin date (resistant
        # disease at day 0) is before any exposure and leaves these analyses.
        followed = t_all > 0
        t_all, s_all, exposure = t_all[followed], s_all[followed], exposure[followed]
        if a.test == "mantel-byar":
            mb = mantel_byar(t_all, s_all, exposure)
            test = TestResult("Mantel-Byar", float(mb.chisq), 1, float(mb.p_value))
        else:
            result = landmark(t_all, s_all, exposure, [x * scale for x in a.landmarks])
            landmark_rows = tuple(
                (
                    g.landmark / scale,
                    g.n_exposed,
                    g.n_at_risk - g.n_exposed,
                    float(g.test.p_value) if g.test else float("nan"),
                )
                for g in result.landmarks
            )
    sentence = _sentence(a, endpoint, tuple(groups), test, plan.time_unit)
    return AnalysisResult(
        a.id, a.title, endpoint.name, endpoint.title, endpoint.origin, endpoint.competing_risks, len(d),
        label_of.label if label_of else None, tuple(groups), ticks, plan.time_unit, test, model_terms,
        model_n,
        landmark_rows, sentence, a.bands, a.figure,
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
        for level in levels[1:]:
            columns.append((values == level).astype(float).to_numpy())
            names.append(f"{name}={level}")
            labels.append(f"{variable.show(level)} vs {variable.show(levels[0])}")
    fit = coxph(
        d["time_days"].to_numpy(float), d["status"].to_numpy(int), np.column_stack(columns), names=names
    )
    terms = tuple(
        ModelTerm(n, lab, float(hr), float(lo), float(hi), float(p))
        for n, lab, hr, lo, hi, p in zip(
            names, labels, fit.hazard_ratio, fit.lower, fit.upper, fit.p_value, strict=True
        )
    )
    return terms, len(d)


METHODS = (
    "Endpoints were derived from the dated records by Bassinet's definitions: overall survival (OS) "
    "from {origin} to death of any cause; event-free survival (EFS) from diagnosis to resistant disease "
    "(counted at day 0), relapse, second malignancy or death; disease-free survival (DFS) from complete "
    "remission (or randomisation) to relapse, second malignancy or death; the cumulative incidence of "
    "relapse with death in remission and second malignancy as competing events, and death in remission "
    "with relapse competing. Patients alive without an event were censored at their last contact, and "
    "follow-up was cut at the data cut-off of {cutoff}. Survival was estimated by Kaplan-Meier with "
    "Greenwood standard errors and log-log 95% confidence intervals, and compared by the log-rank test; "
    "cumulative incidences by Aalen-Johansen with Gray's variance and log-log intervals, compared by "
    "Gray's test; hazard ratios by Cox regression (Efron ties, Wald 95% intervals, complete cases). A "
    "transplant was treated as a time-dependent exposure (Mantel-Byar test, landmark analysis), never as "
    "a baseline group. Age under 6 months means a diagnosis before the date six calendar months after "
    "birth; high WBC means >= 300 x10^9/L; a poor prednisone response >= 1000 blasts/uL on day 8. Median "
    "follow-up is by reverse Kaplan-Meier. Computed with Bassinet {version} (survival statistics checked "
    "against R's survival and cmprsk)."
)


def run_plan(loaded: LoadedPlan, records: ClinicalRecords) -> PlanResult:
    """Every analysis of the plan on ``records``."""
    plan = loaded.plan
    variables = analysis_frame(records, plan.variables)
    base = select_patients(variables, plan.population)
    if not base.any():
        raise DataError(
            f"{loaded.path}: no patient in the registry matches the plan's population {plan.population}"
        )
    analyses = tuple(_run_analysis(plan, a, records, variables, base) for a in plan.analyses)
    origin = "transplant" if all(r.origin == "transplant" for r in analyses) else "diagnosis"
    header, rows = characteristics_table(plan, variables, base)
    return PlanResult(
        plan.title, plan.source, plan.cutoff.isoformat(), plan.time_unit, int(base.sum()),
        patient_flow(plan, records, variables, base), header, rows, analyses,
        follow_up(plan, records, base, origin),
        METHODS.format(origin=origin, cutoff=plan.cutoff.isoformat(), version=__version__),
        loaded.sha256, data_fingerprint(records),
    )  # fmt: skip
