"""The coordinator: site files checked against each other, then the pooled statistics from their counts.

The count tables are expanded back into one row per (time, status, group, site) cell
count, which is the pooled data up to the order of rows and the patients' identities;
:mod:`bassinet.survival` then computes exactly what it computes on the central rows
(Kaplan–Meier with Greenwood's variance, Aalen–Johansen with Gray's variance, the
log-rank test and Gray's test, stratified by site if the plan says so). None of these
statistics depends on anything else (Kaplan & Meier 1958; Greenwood 1926; Aalen &
Johansen 1978; Mantel 1966; Gray 1988), so the pooled answer is the central answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bassinet.errors import DataError
from bassinet.federate._messages import Message, check
from bassinet.federate._plan import FederatedPlan, federated_plan_from_text
from bassinet.federate._site import SUMMARY, TABLE_TESTS
from bassinet.plans import CATALOGUE
from bassinet.survival import (
    CumulativeIncidence,
    KaplanMeier,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank,
)

Z95 = 1.959963984540054


class SiteFileError(DataError):
    """A site file's table is malformed: the file is refused, not the analysis found not estimable."""


@dataclass(frozen=True)
class PooledEstimate:
    """An estimate at a plan time (in the plan's unit), in percent, with the pooled number at risk."""

    time: float
    estimate: float
    std_err: float
    lower: float
    upper: float
    n_risk: int


@dataclass(frozen=True)
class PooledGroup:
    label: str
    n: int
    events: int
    competing: int
    estimates: tuple[PooledEstimate, ...]


@dataclass(frozen=True)
class PooledTest:
    name: str
    statistic: float
    df: int
    p_value: float
    stratified_by_site: bool


@dataclass(frozen=True)
class PooledAnalysis:
    """One analysis pooled over the sites; ``note`` says why it was not pooled, if it was not."""

    id: str
    title: str
    endpoint: str
    competing: bool
    n: int
    groups: tuple[PooledGroup, ...] = ()
    test: PooledTest | None = None
    note: str = ""


@dataclass(frozen=True)
class PooledResult:
    """Every analysis of the plan pooled from the site files."""

    title: str
    plan_sha256: str
    version: str
    time_unit: str
    sites: tuple[str, ...]
    analyses: tuple[PooledAnalysis, ...]
    #: The plan's disclosure rules in words: the numbers are those of the rows so coarsened.
    rules: str = ""

    @property
    def banner(self) -> str:
        n = len(self.sites)
        return f"pooled from {n} site{'' if n == 1 else 's'}, no patient rows"


def _plan_difference(mine: Message, theirs: Message) -> str:
    """The first line where two site files' plan texts differ, as ``(plan line N: ...)``."""
    a = str(mine.get("plan_text", "")).splitlines()
    b = str(theirs.get("plan_text", "")).splitlines()
    for n in range(max(len(a), len(b))):
        here, there = (a[n] if n < len(a) else ""), (b[n] if n < len(b) else "")
        if here != there:
            return f" (plan line {n + 1}: {here.strip()!r} here, {there.strip()!r} there)"
    return ""


def check_site_files(messages: list[tuple[str, Any]]) -> tuple[FederatedPlan, list[Message]]:
    """Refuse files that cannot be pooled: damaged, from other plans or versions, a site twice.

    Parameters
    ----------
    messages
        ``(source, parsed JSON)`` for each site file; ``source`` names it in errors.
    """
    if not messages:
        raise DataError("no site file given: combine needs at least one")
    checked = [(source, check(m, source, SUMMARY)) for source, m in messages]
    for key, what in (("plan_sha256", "plan hash"), ("version", "Bassinet version")):
        # the odd file out is the one blamed: the value most files share is the reference
        values = [m.get(key) for _, m in checked]
        common = max(values, key=lambda v: (values.count(v), -values.index(v)))
        ref_source, ref = next((s, m) for s, m in checked if m.get(key) == common)
        for source, m in checked:
            if m.get(key) != common:
                where = _plan_difference(m, ref) if key == "plan_sha256" else ""
                raise DataError(
                    f"{source}: {what} {m.get(key)} differs from {common} in {ref_source}{where}: "
                    "every site must run the same plan with the same version"
                )
    first_source, first = checked[0]
    seen: dict[str, str] = {}
    for source, m in checked:
        site = str(m.get("site"))
        if site in seen:
            raise DataError(f"{source}: site {site!r} is already given by {seen[site]}: a site counts once")
        seen[site] = source
    fplan = federated_plan_from_text(str(first["plan_text"]), Path(f"{first_source}#plan_text"))
    if fplan.sha256 != first["plan_sha256"]:
        raise DataError(f"{first_source}: the plan text does not have the plan hash the file states")
    return fplan, [m for _, m in checked]


def _order(groups_variable: str | None, phrases: dict[str, str], labels: set[str]) -> list[str]:
    if groups_variable is None:
        return sorted(labels)
    known = list((CATALOGUE[groups_variable].values or {}).values())
    order = sorted(labels, key=lambda v: (known.index(v) if v in known else len(known), v))
    if phrases:
        order = [k for k in phrases if k in labels] + [k for k in order if k not in phrases]
    return order


def _expand(site: str, analysis_id: str, group: dict[str, Any], causes: int) -> tuple[NDArray[Any], ...]:
    """One row per patient of a group's count table (time, status), after checking the table."""
    where = f"site {site!r}, analysis {analysis_id}, group {group.get('label')!r}"
    for column in ("events", "censored", "at_risk", "n"):
        values = group.get(column)
        rows = values if isinstance(values, list) else [values]
        flat = [v for row in rows for v in (row if isinstance(row, list) else [row])]
        wrong = next((v for v in flat if type(v) is not int), None)
        if wrong is not None:
            raise SiteFileError(f"{where}: {column!r} holds {wrong!r}: a count is a whole number")
    try:
        time = np.asarray(group["time"], dtype=float)
        events = np.asarray(group["events"], dtype=np.int64).reshape(causes, len(time))
        censored = np.asarray(group["censored"], dtype=np.int64)
        at_risk = np.asarray(group["at_risk"], dtype=np.int64)
        n = int(group["n"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SiteFileError(f"{where}: the count table is malformed ({exc})") from None
    if censored.shape != time.shape or at_risk.shape != time.shape:
        raise SiteFileError(f"{where}: the columns of the count table have different lengths")
    if (events < 0).any() or (censored < 0).any() or not np.isfinite(time).all() or (time < 0).any():
        raise SiteFileError(f"{where}: a count is negative or a time is not a finite time >= 0")
    if len(time) > 1 and (np.diff(time) <= 0).any():
        raise SiteFileError(f"{where}: times are not strictly increasing")
    exits = events.sum(axis=0) + censored
    if not np.array_equal(np.cumsum(exits[::-1])[::-1], at_risk) or exits.sum() != n:
        raise SiteFileError(f"{where}: the numbers at risk do not add up to the events and censorings")
    counts = np.concatenate([censored[None, :], events])  # status 0, 1, ..., causes
    status = np.repeat(np.tile(np.arange(causes + 1), len(time)), counts.T.ravel())
    return np.repeat(time, exits), status


def _rows(analysis_id: str, sites: list[Message]) -> tuple[NDArray[Any], ...]:
    times, statuses, labels, site_names = [], [], [], []
    for m in sites:
        entry = next(e for e in m["analyses"] if e["id"] == analysis_id)
        for group in entry.get("groups", []):
            t, s = _expand(m["site"], analysis_id, group, int(entry["causes"]))
            times.append(t)
            statuses.append(s)
            labels.append(np.full(len(t), str(group["label"]), dtype=object))
            site_names.append(np.full(len(t), str(m["site"]), dtype=object))
    if not times:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    return np.concatenate(times), np.concatenate(statuses), np.concatenate(labels), np.concatenate(site_names)


def _loglog_interval(f: float, se: float) -> tuple[float, float]:
    if not 0 < f < 1 or se == 0:
        return f, f
    spread = math.exp(Z95 * se / (f * abs(math.log(f))))
    return f**spread, f ** (1 / spread)


def _estimates(
    time: NDArray[Any], status: NDArray[Any], competing: bool, times: list[float], scale: float
) -> tuple[PooledEstimate, ...]:
    if not times:
        return ()
    days = [t * scale for t in times]
    if not competing:
        km = kaplan_meier(time, status)
        assert isinstance(km, KaplanMeier)
        at = km.at(days)
        return tuple(
            PooledEstimate(t, 100 * float(s), 100 * float(se), 100 * float(lo), 100 * float(hi), int(n))
            for t, s, se, lo, hi, n in zip(
                times, at.surv, at.std_err, at.lower, at.upper, at.n_risk, strict=True
            )
        )
    n_risk = [int((time >= x).sum()) for x in days]
    if not (status > 0).any():
        return tuple(PooledEstimate(t, 0.0, 0.0, 0.0, 0.0, n) for t, n in zip(times, n_risk, strict=True))
    fit = cumulative_incidence(time, status)
    assert isinstance(fit, CumulativeIncidence)
    inc = fit.at(days)
    k = inc.causes.index(1) if 1 in inc.causes else None
    out = []
    for i, t in enumerate(times):
        f = float(inc.estimate[i, k]) if k is not None else 0.0
        se = float(np.sqrt(inc.variance[i, k])) if k is not None else 0.0
        lo, hi = _loglog_interval(f, se)
        out.append(PooledEstimate(t, 100 * f, 100 * se, 100 * lo, 100 * hi, n_risk[i]))
    return tuple(out)


def _pool_analysis(fplan: FederatedPlan, a: Any, sites: list[Message]) -> PooledAnalysis:
    from bassinet.endpoints import get_endpoint

    endpoint = get_endpoint(a.endpoint)
    competing = endpoint.competing_risks
    entries = [(m["site"], next((e for e in m["analyses"] if e.get("id") == a.id), None)) for m in sites]
    missing = [site for site, e in entries if e is None]
    if missing:
        raise DataError(f"analysis {a.id}: site {missing[0]!r} has no entry for it")
    base = {"id": a.id, "title": a.title, "endpoint": endpoint.name, "competing": competing}
    if a.test not in TABLE_TESTS:
        if a.test == "cox":  # "test cox: bassinet federate cox-*" told a reader nothing
            note = (
                "Cox model: fitted over rounds with the sites (bassinet federate cox-start, "
                "cox-answer, cox-step; or cox over HTTP), shown at the end of this report when "
                "its result is given to combine with --cox"
            )
        else:
            note = (
                "transplant as a time-dependent exposure: pooled in the report (pooled_report, bassinet "
                "federate combine) from the tables of entries and exits, not in this summary"
            )
        return PooledAnalysis(**base, n=0, note=note)
    refusals = [f"{site}: {e['refused']}" for site, e in entries if e and "refused" in e]
    if refusals:
        return PooledAnalysis(**base, n=0, note="not pooled: refused by " + "; ".join(refusals))
    time, status, label, site = _rows(a.id, sites)
    if not len(time):
        return PooledAnalysis(**base, n=0, note="no patient at any site")
    scale = fplan.loaded.plan.days_per_unit
    groups = []
    for g in _order(a.groups, a.phrases, set(label)):
        mask = label == g
        t, s = time[mask], status[mask]
        groups.append(
            PooledGroup(
                g,
                int(mask.sum()),
                int((s == 1).sum()),
                int((s == 2).sum()),
                _estimates(t, s, competing, a.times, scale),
            )
        )
    test = None
    by_site = fplan.disclosure.stratify_by_site
    strata = site if by_site and len(set(site)) > 1 else None
    if a.test == "logrank" and len(groups) > 1:
        lr = logrank(time, status, label, strata=strata)
        test = PooledTest("log-rank", float(lr.chisq), int(lr.df), float(lr.p_value), strata is not None)
    elif a.test == "gray" and len(groups) > 1:
        gray = gray_test(time, status, label, strata=strata)
        k = gray.causes.index(1)
        test = PooledTest(
            "Gray", float(gray.statistic[k]), int(gray.df), float(gray.p_value[k]), strata is not None
        )
    return PooledAnalysis(**base, n=len(time), groups=tuple(groups), test=test)


def pool(fplan: FederatedPlan, sites: list[Message]) -> PooledResult:
    """Every analysis of ``fplan`` pooled from the checked site messages."""
    plan = fplan.loaded.plan
    return PooledResult(
        plan.title,
        fplan.sha256,
        str(sites[0]["version"]),
        plan.time_unit,
        tuple(str(m["site"]) for m in sites),
        tuple(_pool_analysis(fplan, a, sites) for a in plan.analyses),
        disclosure_sentence(fplan),
    )


def disclosure_sentence(fplan: FederatedPlan) -> str:
    """The plan's disclosure rules in words, for the pooled report.

    Without them a reader comparing the pooled numbers with a central report cannot tell
    why they differ (rounded and merged times), nor by how much they may.
    """
    d = fplan.disclosure
    if d.time_unit == "day" and d.min_cell == 1:
        coarsened = "Times in whole days, no count merged"
    else:
        coarsened = f"Times rounded up to the end of each {d.time_unit}"
        if d.min_cell > 1:
            coarsened += (
                f"; at each site, counts below {d.min_cell} carried to a later time "
                "(a remainder at the end to an earlier one)"
            )
    refused = f"groups under {d.min_group} patients refused" if d.min_group > 1 else "no group refused"
    scope = (
        "The estimates are those of a central analysis of the rows with these times."
        if (d.time_unit, d.min_cell) != ("day", 1)
        else "The estimates equal those of the central analysis."
    )
    stratified = " Tests and Cox model stratified by site." if d.stratify_by_site else ""
    return f"{coarsened}; {refused}. {scope}{stratified}"


def combine(messages: list[tuple[str, Any]]) -> PooledResult:
    """Check the site files (:func:`check_site_files`) and pool every analysis (:func:`pool`)."""
    fplan, sites = check_site_files(messages)
    return pool(fplan, sites)
