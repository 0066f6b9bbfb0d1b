"""The words of a report: P values as journals print them, result sentences that name their
population, and the methods paragraph written from the analyses that ran (and only those).
"""

from __future__ import annotations

from collections.abc import Sequence

from bassinet.endpoints import Endpoint
from bassinet.plans._results import AnalysisResult, GroupResult, LandmarkRow, ModelTerm, TestResult
from bassinet.plans._schema import Analysis, Scalar
from bassinet.plans._variables import CATALOGUE


def p_text(p: float | None) -> str:
    """A P value as journals print it: ``P=0.034``, ``P=0.52``, ``P<0.001``; never ``8.31e-22``.

    Three decimals below 0.1 (two above, as Blood and JCO do), ``P<0.001`` below that,
    ``P>0.99`` at the top; a missing P value is "P not estimable".
    """
    if p is None or p != p:
        return "P not estimable"
    if p < 0.001:
        return "P<0.001"
    if p >= 0.995:
        return "P>0.99"
    return f"P={p:.3f}" if p < 0.1 else f"P={p:.2f}"


def hr_text(hr: ModelTerm) -> str:
    """``HR for IB vs ADE/MAE 0.52, 95% CI 0.31-0.87``: the comparison named, so its direction is plain."""
    return f"HR for {hr.label} {hr.hazard_ratio:.2f}, 95% CI {hr.lower:.2f}\u2013{hr.upper:.2f}"


def population_words(population: dict[str, Scalar | list[Scalar]]) -> str:
    """An analysis' population in words: ``AML, in remission before transplant``."""
    words = []
    for name, wanted in population.items():
        variable = CATALOGUE.get(name)
        values = wanted if isinstance(wanted, list) else [wanted]
        if variable is None:
            words.append(f"{name} {' or '.join(str(v) for v in values)}")
        elif set(values) <= {True, False} and len(values) == 1:
            words.append(variable.label if values[0] else f"not {variable.label}")
        else:
            words.append(" or ".join(variable.show(v) for v in values))
    return ", ".join(words)


def _time_text(t: float, unit: str) -> str:
    return f"{t:g}-{unit[:-1]}"


def sentence(
    a: Analysis,
    endpoint: Endpoint,
    groups: Sequence[GroupResult],
    test: TestResult | None,
    unit: str,
    *,
    population: str,
    hazard_ratio: ModelTerm | None = None,
    test_label: str = "",
) -> str:
    """``In AML, 3-year OS was 74.5% (50/66) in CR1 and 30.0% (3/10) in CR2 or later (P=0.004).``"""
    if not groups or not groups[0].estimates:
        return ""
    short = endpoint.name if not endpoint.competing_risks else endpoint.title
    t = groups[0].estimates[-1].time
    crude = not endpoint.competing_risks and a.test != "mantel-byar"
    parts = []
    for g in groups:
        e = g.estimates[-1]
        where = "" if len(groups) == 1 else f" {a.phrases.get(g.label, f'in {g.label}')}"
        if e.estimate is None:
            parts.append(f"not estimable{where} ({e.note.removeprefix('not estimable: ')})")
            continue
        count = f" ({g.n - g.events}/{g.n})" if crude else f" (SE {e.std_err or 0:.1f})"
        parts.append(f"{e.estimate:.1f}%{count}{where}")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    extra = []
    if hazard_ratio is not None:
        extra.append(hr_text(hazard_ratio))
    if test is not None:
        extra.append(f"{test_label}{p_text(test.p_value)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    opening = f"{_time_text(t, unit)} {short}"
    if population:
        return f"In {population}, {opening} was {listed}{tail}."
    return f"{opening[0].upper()}{opening[1:]} was {listed}{tail}."


def landmark_sentence(row: LandmarkRow, short: str, unit: str, population: str) -> str:
    """``In HR infants at risk at 0.5 years, 6-year DFS was 45.6% (SE 6.1) if transplanted by then ...``."""
    who = f"{population or 'patients'} at risk at {row.landmark:g} {unit}"
    parts = []
    for label, e in row.estimates:
        words = "if transplanted by then" if label == "transplanted" else "if not"
        if e.estimate is None:
            parts.append(f"not estimable {words} ({e.note.removeprefix('not estimable: ')})")
        else:
            parts.append(f"{e.estimate:.1f}% (SE {e.std_err or 0:.1f}) {words}")
    if not parts:
        return ""
    t = row.estimates[-1][1].time
    extra = [hr_text(row.hazard_ratio)] if row.hazard_ratio else []
    if row.p_value is not None:
        extra.append(f"log-rank {p_text(row.p_value)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    listed = " and ".join(parts)
    return f"In {who}, {_time_text(t, unit)} {short} was {listed}{tail}."


def methods(analyses: Sequence[AnalysisResult], *, cutoff: str, version: str) -> str:
    """The methods paragraph: one sentence per kind of analysis that ran, and only those."""
    ran = [a for a in analyses if not a.not_estimable]
    kinds = {a.test_kind for a in ran}
    endpoints = sorted({(a.endpoint, a.origin) for a in analyses})
    definitions = {
        "OS": "overall survival (OS) from {origin} to death of any cause",
        "EFS": "event-free survival (EFS) from {origin} to resistant disease (counted at day 0), relapse, "
        "second malignancy or death",
        "DFS": "disease-free survival (DFS) from {origin} to relapse, second malignancy or death",
        "CIR": "the cumulative incidence of relapse from {origin}, with death in remission and second "
        "malignancy competing",
        "NRM": "death in remission from {origin}, with relapse and second malignancy competing",
        "TRM": "transplant-related mortality from {origin} (death without relapse, relapse and second "
        "malignancy competing)",
        "GRFS": "GVHD-free relapse-free survival (GRFS) from {origin} to grade III-IV acute GVHD, chronic "
        "GVHD needing systemic treatment, relapse or death (Holtan et al., Blood 2015)",
        "AGVHD24": "the cumulative incidence of acute GVHD of maximum MAGIC grade II-IV from {origin}, with "
        "death without it competing",
        "AGVHD34": "the cumulative incidence of acute GVHD of maximum MAGIC grade III-IV from {origin}, with "
        "death without it competing",
        "CGVHD": "the cumulative incidence of chronic GVHD (NIH mild to severe) from {origin}, with death "
        "without it competing",
    }
    said = [definitions.get(e, e).format(origin=o) for e, o in endpoints]
    text = [
        "Endpoints were derived from the dated records: " + "; ".join(said) + ". Patients alive without an "
        f"event were censored at their last contact, and follow-up was cut at the data cut-off of {cutoff}."
    ]
    if any(not a.competing for a in ran):
        text.append(
            "Survival was estimated by Kaplan-Meier with Greenwood standard errors and log-log 95% "
            "confidence intervals; no estimate is given beyond a group's last follow-up."
        )
    if any(a.competing for a in ran):
        text.append(
            "Cumulative incidences were estimated by Aalen-Johansen with Gray's variance and log-log "
            "intervals."
        )
    if "logrank" in kinds:
        text.append(
            "Groups were compared by the log-rank test, and two groups also by the hazard ratio of a Cox "
            "model (Efron ties, Wald 95% interval)."
        )
    if "gray" in kinds:
        text.append(
            "Cumulative incidences were compared by Gray's test, and two groups also by the subdistribution "
            "hazard ratio of a Fine-Gray model."
        )
    if "cox" in kinds:
        text.append(
            "Predictors were assessed by multivariable Cox regression (Efron ties, Wald 95% intervals) on "
            "the patients with every variable known."
        )
    if "mantel-byar" in kinds:
        text.append(
            "Transplant was analysed as a time-dependent exposure: Simon-Makuch curves (Kaplan-Meier by "
            "time-updated transplant status), the Mantel-Byar test and a Cox model with transplant as a "
            "time-varying covariate."
        )
    if "landmark" in kinds:
        text.append(
            "In landmark analyses, patients still at risk at each landmark were grouped by whether they had "
            "been transplanted by then and compared from the landmark by the log-rank test and a Cox model."
        )
    text.append(
        "Age under 6 months means a diagnosis before the date six calendar months after birth; high WBC "
        "means \u2265300\u00d710\u2079/L; a poor prednisone response \u22651000 blasts/\u00b5L on day 8. "
        "Median follow-up is by reverse Kaplan-Meier. Analyses that could not be estimated on these data "
        "are listed with their reason and were not used. "
        f"Computed with Bassinet {version} (survival statistics checked against R's survival and cmprsk)."
    )
    return " ".join(text)
