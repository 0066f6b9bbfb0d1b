"""The site side: a plan's analyses run on the local registry, reduced to count tables.

For each analysis the site derives the endpoint (:func:`bassinet.endpoints.derive`),
selects the plan's population with the plan's derived variables
(:data:`bassinet.plans.CATALOGUE`), rounds times up to the plan's unit, and counts, per
group and time, the patients at risk, the events of each cause and the censorings. The
Kaplan–Meier and Aalen–Johansen estimates, the log-rank and Gray tests of the pooled
data depend on the data only through these counts (Kaplan & Meier 1958; Aalen &
Johansen 1978; Mantel 1966; Gray 1988), so the coordinator computes them exactly.

Disclosure control (:class:`~bassinet.federate.Disclosure`) is applied here, before
anything is written: a non-zero count (events of one cause, or censorings) below
``min_cell`` is carried to the next time with a count of the same kind (a remainder at
the end to the last one before), and an analysis with a group smaller than
``min_group`` is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bassinet import __version__
from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.errors import DataError
from bassinet.federate._messages import Message
from bassinet.federate._plan import Disclosure, FederatedPlan
from bassinet.plans import CATALOGUE

SUMMARY = "bassinet-federate-summary"
#: Tests the coordinator pools from the count tables; Cox goes through rounds.
TABLE_TESTS = (None, "logrank", "gray")


@dataclass(frozen=True)
class AnalysisRows:
    """One analysis at one site, patient by patient: this never leaves the site.

    ``time`` is in days, rounded up to the plan's unit; ``status`` is 0 (censored), 1
    (the event) or 2 (a competing event); ``label`` the group; ``frame`` the plan's
    variables of these patients (for the Cox model).
    """

    analysis_id: str
    time: NDArray[np.float64]
    status: NDArray[np.int64]
    label: NDArray[np.object_]
    frame: pd.DataFrame


def _variables(records: ClinicalRecords, names: list[str]) -> pd.DataFrame:
    p = records.patients.set_index("study_id")
    return pd.DataFrame({name: CATALOGUE[name].compute(records, p) for name in names}, index=p.index)


def plan_variables(fplan: FederatedPlan, records: ClinicalRecords) -> pd.DataFrame:
    """The plan's derived variables, one row per patient (index ``study_id``)."""
    return _variables(records, fplan.loaded.plan.variables)


def _select(frame: pd.DataFrame, population: dict[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=frame.index)
    for name, wanted in population.items():
        keep &= frame[name].isin(wanted if isinstance(wanted, list) else [wanted])
    return keep


def analysis_rows(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    analysis_id: str,
    *,
    variables: pd.DataFrame | None = None,
    derived_cache: dict[str, pd.DataFrame] | None = None,
) -> AnalysisRows:
    """The rows of one analysis at this site, as :func:`bassinet.plans.run_plan` selects them.

    The population is the plan's and the analysis's; patients without the endpoint's
    origin, and (for a grouped analysis) without a group, are left out. Times are
    rounded up to the plan's unit (:meth:`Disclosure.coarsen`). ``variables`` are the
    plan's variables of ``records`` if already computed (they are the slow part), and
    ``derived_cache`` keeps derived endpoints between analyses of the same records.
    """
    plan = fplan.loaded.plan
    a = next((x for x in plan.analyses if x.id == analysis_id), None)
    if a is None:
        raise DataError(f"the plan has no analysis {analysis_id!r}")
    if variables is None:
        variables = plan_variables(fplan, records)
    endpoint = get_endpoint(a.endpoint)
    if a.origin:
        endpoint = endpoint.from_origin(a.origin)
    key = f"{endpoint.name}/{endpoint.origin}"
    derived = None if derived_cache is None else derived_cache.get(key)
    if derived is None:
        derived = derive(records, [endpoint], cutoff=plan.cutoff).set_index("study_id")
        if derived_cache is not None:
            derived_cache[key] = derived
    # plan_population: false lets a comparison reach past the plan's population (another protocol)
    base = _select(variables, plan.population) if a.plan_population else True
    keep = base & _select(variables, a.population)
    ids = [sid for sid in variables.index[keep] if sid in derived.index]
    d = derived.loc[ids]
    time = d["time_days"].to_numpy(float)
    status = d["status"].to_numpy(np.int64)
    frame = variables.loc[ids]
    if a.groups:
        raw = frame[a.groups]
        present = raw.notna().to_numpy()
        label = raw[present].map(CATALOGUE[a.groups].show).to_numpy(dtype=object)
        time, status, frame = time[present], status[present], frame[present]
    else:
        label = np.array(["all"] * len(time), dtype=object)
    coarse = np.array([fplan.disclosure.coarsen(t) for t in time], dtype=float)
    return AnalysisRows(a.id, coarse, status, label, frame)


def merge_small_cells(
    times: NDArray[np.float64], counts: NDArray[np.int64], min_cell: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], dict[tuple[float, int], float]]:
    """Carry each count in ``[1, min_cell)`` to the next time with a count of the same kind.

    Each column (events of one cause, or censorings) is merged on its own: a small count
    is added to the next time that has a count of the same kind, again until the sum
    reaches ``min_cell``; a remainder left at the end joins the last count of its kind that
    was released (the only patients moved earlier, fewer than ``min_cell`` of them). Only
    the patients of the small count move; the other counts at that time stay where they
    are. (Merging whole times instead let one rare kind drag every other count along: on a
    47-patient site, every event and censoring after week 50 was pulled back to week 50.)

    Parameters
    ----------
    times
        Distinct times, ascending.
    counts
        One row per time: the counts that would leave (events by cause, censorings).
    min_cell
        Smallest non-zero count allowed.

    Returns
    -------
    times, counts, moved
        The merged table (times with no count left are dropped), and where the patients
        of each original time and column went (``{(old time, column): new time}``), so
        that the same analysis can be run on rows with the merged times. A column whose
        total is below ``min_cell`` keeps a small count (the caller refuses the table).
    """
    grid = [float(t) for t in times]
    table = np.array(counts, dtype=np.int64).reshape(len(grid), -1)
    merged = np.zeros_like(table)
    moved: dict[tuple[float, int], float] = {}
    for column in range(table.shape[1]):
        carry, sources, released = 0, [], None
        for i, t in enumerate(grid):
            if table[i, column] > 0:
                carry += int(table[i, column])
                sources.append(t)
            if carry >= min_cell or (carry > 0 and min_cell <= 1):
                merged[i, column] += carry
                moved.update({(old, column): t for old in sources})
                carry, sources, released = 0, [], i
        if carry:
            target = released if released is not None else grid.index(sources[-1])
            merged[target, column] += carry
            moved.update({(old, column): grid[target] for old in sources})
    keep = merged.any(axis=1)
    kept = np.array(grid, dtype=float)[keep]
    return kept, merged[keep], moved


def group_table(
    time: NDArray[np.float64], status: NDArray[np.int64], n_causes: int, min_cell: int
) -> tuple[dict[str, Any], dict[tuple[float, int], float]]:
    """The count table of one group: times, at risk, events by cause, censorings (after merging)."""
    times = np.unique(time)
    index = np.searchsorted(times, time)
    counts = np.zeros((len(times), n_causes + 1), dtype=np.int64)
    np.add.at(counts, (index, status), 1)
    # columns: censored, cause 1, ..., cause k  ->  events by cause first, censorings last
    counts = np.concatenate([counts[:, 1:], counts[:, :1]], axis=1)
    times, counts, moved = merge_small_cells(times, counts, min_cell)
    exits = counts.sum(axis=1)
    at_risk = np.cumsum(exits[::-1])[::-1]
    table = {
        "n": len(time),
        "time": [float(t) for t in times],
        "at_risk": [int(x) for x in at_risk],
        "events": [[int(x) for x in counts[:, k]] for k in range(n_causes)],
        "censored": [int(x) for x in counts[:, n_causes]],
    }
    return table, moved


def disclosure_problem(table: dict[str, Any], rules: Disclosure) -> str | None:
    """Why ``table`` may not leave the site (without its counts), or ``None``."""
    if table["n"] < rules.min_group:
        return f"fewer than min_group={rules.min_group} patients"
    for column in (*table["events"], table["censored"]):
        if any(0 < x < rules.min_cell for x in column):
            return f"a count below min_cell={rules.min_cell} remains after merging every time"
    return None


def _analysis_summary(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    a: Any,
    variables: pd.DataFrame,
    derived_cache: dict[str, pd.DataFrame],
) -> tuple[dict[str, Any], list[str]]:
    """The entry of one analysis in the site file, and notes for the site's own eyes."""
    entry: dict[str, Any] = {"id": a.id}
    if a.test not in (*TABLE_TESTS, "cox"):
        entry["not_federated"] = (
            f"test {a.test} needs each patient's transplant time; it is not pooled in this version"
        )
        return entry, []
    rows = analysis_rows(fplan, records, a.id, variables=variables, derived_cache=derived_cache)
    if a.test == "cox":
        complete = rows.frame[a.model].notna().all(axis=1)
        levels = {}
        for name in a.model:
            values = rows.frame.loc[complete, name]
            if not set(values.unique()) <= {True, False}:
                levels[name] = sorted({str(v) for v in values.unique()})
        entry["cox_levels"] = levels
        return entry, []
    n_causes = 2 if get_endpoint(a.endpoint).competing_risks else 1
    groups, notes = [], []
    for label in sorted(set(rows.label), key=str):
        mask = rows.label == label
        table, _ = group_table(rows.time[mask], rows.status[mask], n_causes, fplan.disclosure.min_cell)
        problem = disclosure_problem(table, fplan.disclosure)
        if problem:
            entry["refused"] = f"group {label!r}: {problem}"
            notes.append(f"{a.id}: refused: group {label!r} has {table['n']} patients; {problem}")
            return {"id": a.id, "refused": entry["refused"]}, notes
        groups.append({"label": str(label), **table})
    entry["causes"] = n_causes
    entry["groups"] = groups
    return entry, notes


def summarise(fplan: FederatedPlan, records: ClinicalRecords, site: str) -> tuple[Message, list[str]]:
    """The site file of ``site``: every analysis of the plan as count tables, and notes for the site.

    Parameters
    ----------
    fplan
        The plan with its disclosure rules (:func:`load_federated_plan`).
    records
        This site's records (never leave the site).
    site
        The site's name, as the coordinator knows it.

    Returns
    -------
    message, notes
        The message to write (see :func:`~bassinet.federate.write_message`) and, for the
        site only, the reasons of refusals with the counts that caused them.
    """
    if not site.strip():
        raise DataError("site is empty: give the site's name")
    analyses, notes = [], []
    variables = plan_variables(fplan, records)
    derived_cache: dict[str, pd.DataFrame] = {}
    for a in fplan.loaded.plan.analyses:
        entry, more = _analysis_summary(fplan, records, a, variables, derived_cache)
        analyses.append(entry)
        notes.extend(more)
    message: Message = {
        "kind": SUMMARY,
        "plan_sha256": fplan.sha256,
        "plan_text": fplan.loaded.text,
        "version": __version__,
        "site": site,
        "analyses": analyses,
    }
    return message, notes
