"""Interim monitoring of the plan's group-sequential design on the registry.

The plan's ``design:`` block names a two-group log-rank analysis. At the plan's cut-off
and at each earlier cut-off, the endpoint is derived as the analysis derives it, and the
log-rank statistic of the experimental arm ``U = (O - E) / sqrt(V)`` is computed on its
patients with the two groups known. :func:`bassinet.design.interim_analysis` then recomputes
the spending bounds at the information observed (Lan & DeMets 1983), decides, and gives the
repeated confidence intervals (Jennison & Turnbull 1989) and conditional power (Lan, Simon
& Halperin 1982). The report's ``z`` is ``-U``: positive when the experimental arm has fewer
events than expected, i.e. favours it (the design expects a hazard ratio below 1).

Bounds on the hazard-ratio scale use Schoenfeld's approximation ``log HR = -z (1 + r) /
sqrt(r D)`` with ``D`` the events of the analysis (observed, or planned for a later one).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy import stats

from bassinet.design import hazard_ratio_from_survival, interim_analysis
from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.errors import ConvergenceError, DataError
from bassinet.plans._results import InterimLook, InterimResult
from bassinet.plans._schema import Design, LoadedPlan, Scalar, sequential_design
from bassinet.plans._variables import CATALOGUE
from bassinet.survival import logrank

_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_SPENDING = {
    "obf": "O'Brien\u2013Fleming-like",
    "pocock": "Pocock-like",
    "kd": "Kim\u2013DeMets",
    "hsd": "Hwang\u2013Shih\u2013DeCani",
}


def _select(frame: pd.DataFrame, population: dict[str, Scalar | list[Scalar]]) -> pd.Series:
    keep = pd.Series(True, index=frame.index)
    for name, wanted in population.items():
        keep &= frame[name].isin(wanted if isinstance(wanted, list) else [wanted])
    return keep


def logrank_at(
    loaded: LoadedPlan, records: ClinicalRecords, variables: pd.DataFrame, base: pd.Series, cutoff: dt.date
) -> tuple[int, float, dict[str, int]]:
    """Events, the experimental arm's ``(O - E) / sqrt(V)`` and events by arm at ``cutoff``."""
    plan = loaded.plan
    d = plan.design
    assert d is not None
    a = next(x for x in plan.analyses if x.id == d.analysis)
    assert a.groups is not None
    endpoint = get_endpoint(a.endpoint)
    if a.origin:
        endpoint = endpoint.from_origin(a.origin)
    derived = derive(records, [endpoint], cutoff=cutoff).set_index("study_id")
    keep = (base if a.plan_population else True) & _select(variables, a.population)
    chosen = variables.index[keep]
    ids = chosen[chosen.isin(derived.index)]
    variable = CATALOGUE[a.groups]
    raw = variables.loc[ids, a.groups]
    labels = np.array(["" if pd.isna(v) else variable.show(v) for v in raw], dtype=object)
    arms = (labels == d.experimental) | (labels == d.control)
    time = derived.loc[ids, "time_days"].to_numpy(float)[arms]
    status = derived.loc[ids, "status"].to_numpy(int)[arms]
    labels = labels[arms]
    by_arm = {arm: int(((labels == arm) & (status == 1)).sum()) for arm in (d.experimental, d.control)}
    for arm in (d.experimental, d.control):
        if not (labels == arm).any():
            raise DataError(f"no patient in the {arm} arm by {cutoff}")
        if by_arm[arm] == 0:
            raise DataError(
                f"no {endpoint.name} event in the {arm} arm by {cutoff}: "
                "the log-rank statistic and hazard ratio are not estimable"
            )
    test = logrank(time, (status == 1).astype(int), labels)
    i = list(test.groups).index(d.experimental)
    variance = float(test.variance[i, i])
    if not variance > 0:
        raise DataError(f"the log-rank statistic has no variance by {cutoff}")
    u = float(test.observed[i] - test.expected[i]) / math.sqrt(variance)
    return sum(by_arm.values()), u, by_arm


def planned_hazard_ratio(d: Design) -> float:
    if d.hazard_ratio is not None:
        return d.hazard_ratio
    assert d.survival is not None
    return hazard_ratio_from_survival(d.survival.control, d.survival.experimental)


def maximum_events(d: Design) -> float:
    """``max_events``, or Schoenfeld's events times the inflation factor, rounded up."""
    if d.max_events is not None:
        return d.max_events
    design = sequential_design(d)
    r, hr = d.allocation, planned_hazard_ratio(d)
    return float(math.ceil(design.drift**2 * (1 + r) ** 2 / (r * math.log(hr) ** 2) - 1e-9))


def _hr_bound(z: float, events: float, r: float) -> float:
    return math.exp(-z * (1 + r) / math.sqrt(r * events))


def describe(d: Design) -> str:
    k = d.looks if d.looks is not None else len(d.information_rates or [])
    sides = "two-sided" if d.sided == 2 else "one-sided"
    words = f"{k} analyses, {sides} alpha {d.alpha:g}, {_SPENDING[d.spending]} alpha spending"
    if d.parameter is not None:
        words += f" (parameter {d.parameter:g})"
    if d.futility:
        words += f", {'binding' if d.binding else 'non-binding'} futility bounds"
    return words


def run_interim(
    loaded: LoadedPlan, records: ClinicalRecords, variables: pd.DataFrame, base: pd.Series
) -> InterimResult:
    """The interim section's numbers at the plan's cut-off; not estimable (with why) rather than an error."""
    plan = loaded.plan
    d = plan.design
    assert d is not None
    a = next(x for x in plan.analyses if x.id == d.analysis)
    line = loaded.line_of(("design",))
    design = sequential_design(d)
    hr = planned_hazard_ratio(d)
    max_events = maximum_events(d)
    stage = len(d.earlier_cutoffs) + 1
    head = InterimResult(
        a.id, a.title, d.experimental, d.control, describe(d), d.sided, d.alpha, hr, max_events, stage,
        design.k_max, line=line,
    )  # fmt: skip
    try:
        if not base.any():
            raise DataError("no patient in the plan's population")
        cutoffs = [*d.earlier_cutoffs, plan.cutoff]
        events, u = [], []
        for cutoff in cutoffs:
            e, value, _ = logrank_at(loaded, records, variables, base, cutoff)
            events.append(float(e))
            u.append(value)
        for i in range(1, len(events)):
            if events[i] <= events[i - 1]:
                raise DataError(
                    f"no new {a.endpoint} event between the cut-offs {cutoffs[i - 1]} and {cutoffs[i]} "
                    f"({events[i]:.0f} events at both): the information does not grow"
                )
        result = interim_analysis(
            design, events, u, max_events=max_events, hazard_ratio=hr, allocation=d.allocation
        )
    except (DataError, ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
        return _replace(head, not_estimable=str(exc))
    r = d.allocation
    updated = result.design
    lows = updated.lower_bounds()
    planned = [t * max_events for t in updated.information_rates]
    looks = []
    for k in range(updated.k_max):
        observed = k < stage
        n_events = events[k] if observed else planned[k]
        c = updated.critical_values[k]
        futility = lows[k] if (d.sided == 1 and d.futility and k < updated.k_max - 1) else None
        later = k - stage
        looks.append(
            InterimLook(
                k + 1, cutoffs[k].isoformat() if observed else "", n_events, observed,
                updated.information_rates[k], c, float(stats.norm.sf(c) * d.sided), _hr_bound(c, n_events, r),
                futility, _hr_bound(futility, n_events, r) if futility is not None else None,
                z=result.z[k] if observed else None,
                hazard_ratio=result.hazard_ratios[k] if observed else None,
                rci_lower=result.rci_lower[k] if observed else None,
                rci_upper=result.rci_upper[k] if observed else None,
                repeated_p=result.repeated_p_values[k] if observed and result.repeated_p_values else None,
                conditional_power=result.conditional_power[later] if later >= 0 else None,
                conditional_power_observed=result.conditional_power_observed[later] if later >= 0 else None,
            )
        )  # fmt: skip
    out = _replace(head, looks=tuple(looks), decision=result.decision)
    return _replace(out, sentence=interim_sentence(out, a.endpoint))


def _replace(result: InterimResult, **changes: object) -> InterimResult:
    import dataclasses

    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def interim_sentence(r: InterimResult, endpoint: str) -> str:
    """One sentence in the papers' manner on where the trial stands."""
    now = r.looks[r.stage - 1]
    which = _ORDINAL[r.stage - 1] if r.stage <= len(_ORDINAL) else f"{r.stage}th"
    assert now.z is not None and now.hazard_ratio is not None
    assert now.rci_lower is not None and now.rci_upper is not None
    sides = "two-sided" if r.sided == 2 else "one-sided"
    text = (
        f"At the {which} of {r.k_max} planned analyses of {endpoint} (data cut-off {now.cutoff}; "
        f"{now.events:.0f} of {r.max_events:.0f} planned events, "
        f"information fraction {now.information:.2f}), the log-rank z of {now.z:.2f} "
        f"(hazard ratio {r.experimental} vs {r.control} {now.hazard_ratio:.2f}, "
        f"repeated {100 * (1 - r.alpha):g}% CI {now.rci_lower:.2f}\u2013{now.rci_upper:.2f}) "
    )
    crossed = r.decision in ("stop for efficacy", "reject H0")
    bound = f"{now.efficacy_z:.2f} (nominal {sides} P = {now.efficacy_p:.4f})"
    text += f"{'crossed' if crossed else 'did not cross'} the efficacy bound of {bound}"
    if r.decision == "continue":
        cp = r.looks[-1].conditional_power
        cpo = r.looks[-1].conditional_power_observed
        text += (
            f"; the trial continues, with conditional power {cp:.2f} under the design's hazard ratio "
            f"{r.planned_hazard_ratio:.2f} and {cpo:.2f} under the observed one."
            if cp is not None and cpo is not None
            else "; the trial continues."
        )
    elif r.decision == "stop for futility":
        text += f", and fell below the futility bound of {now.futility_z or 0:.2f}: stop for futility."
    elif r.decision == "stop for efficacy":
        text += ": the rule is to stop for efficacy."
    else:
        text += f" at the final analysis ({'H0 rejected' if crossed else 'H0 not rejected'})."
    return text
