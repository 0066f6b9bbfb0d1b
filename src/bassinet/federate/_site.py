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
#: Tests of a transplant as a time-dependent exposure: pooled from tables of entries and exits.
EXPOSURE_TESTS = ("mantel-byar", "landmark")


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
    #: Days from the origin to the first transplant (NaN: none), rounded up to the plan's unit;
    #: only for a transplant analysis (``mantel-byar``, ``landmark``).
    exposure: NDArray[np.float64] | None = None
    #: Patients of the analysis whose group is not known (left out, as the central run says).
    unknown: int = 0


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
    exposure = None
    if a.test in EXPOSURE_TESTS:
        first = records.transplants.groupby("study_id")["transplant_date"].min()
        days = np.asarray((first.reindex(ids) - d["origin_date"]).dt.days, dtype=float)
        exposure = np.array([t if t != t else fplan.disclosure.coarsen(t) for t in days], dtype=float)
    unknown = 0
    if a.groups:
        raw = frame[a.groups]
        present = raw.notna().to_numpy()
        unknown = int((~present).sum())
        label = raw[present].map(CATALOGUE[a.groups].show).to_numpy(dtype=object)
        time, status, frame = time[present], status[present], frame[present]
    else:
        label = np.array(["all"] * len(time), dtype=object)
    coarse = np.array([fplan.disclosure.coarsen(t) for t in time], dtype=float)
    return AnalysisRows(a.id, coarse, status, label, frame, exposure, unknown)


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
    table = np.array(counts, dtype=np.int64)
    table = table if table.ndim == 2 else table.reshape(len(grid), -1)
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


def entry_table(
    entry: NDArray[np.float64],
    time: NDArray[np.float64],
    status: NDArray[np.int64],
    n_causes: int,
    min_cell: int,
) -> dict[str, Any]:
    """The count table of rows on (entry, time]: per time, entries, events by cause and censorings.

    Each column is merged on its own (:func:`merge_small_cells`). The pooled rows are
    rebuilt by pairing the k-th entry with the k-th exit (both sorted), which gives the
    same risk sets as the true rows; after merging that pairing may no longer hold (an
    entry carried past an exit), and the caller refuses the table then.
    """
    times = np.unique(np.concatenate([entry, time]))
    counts = np.zeros((len(times), n_causes + 2), dtype=np.int64)
    np.add.at(counts, (np.searchsorted(times, time), status), 1)
    np.add.at(counts, (np.searchsorted(times, entry), np.full(len(entry), n_causes + 1)), 1)
    # columns: censored, cause 1..k, entries  ->  events by cause, censorings, entries
    counts = np.concatenate([counts[:, 1 : n_causes + 1], counts[:, :1], counts[:, n_causes + 1 :]], axis=1)
    times, counts, _ = merge_small_cells(times, counts, min_cell)
    return {
        "n": len(time),
        "time": [float(t) for t in times],
        "events": [[int(x) for x in counts[:, k]] for k in range(n_causes)],
        "censored": [int(x) for x in counts[:, n_causes]],
        "entries": [int(x) for x in counts[:, n_causes + 1]],
    }


def pair_entries(table: dict[str, Any]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Rows ``(entry, exit, status)`` with the table's entries and exits, the k-th entry with the k-th exit.

    If the true rows all have entry < exit, so do these (the k smallest exits belong to
    k rows whose entries are all earlier), and every risk set (entries before t, exits at
    or after t) is the same. Returns empty arrays for an empty table; raises
    :class:`DataError` when no such pairing exists (a table changed by merging, or made up).
    """
    time = np.asarray(table["time"], dtype=float)
    events = np.asarray(table["events"], dtype=np.int64).reshape(len(table["events"]), len(time))
    censored = np.asarray(table["censored"], dtype=np.int64)
    entries = np.asarray(table["entries"], dtype=np.int64)
    counts = np.concatenate([censored[None, :], events])
    exits = counts.sum(axis=0)
    status = np.repeat(np.tile(np.arange(len(counts)), len(time)), counts.T.ravel())
    stop = np.repeat(time, exits)
    start = np.repeat(time, entries)
    if len(start) != len(stop) or (len(start) and not (start < stop).all()):
        raise DataError("the entries and exits of the table cannot be paired with each entry before its exit")
    return start, stop, status


def disclosure_problem(table: dict[str, Any], rules: Disclosure) -> str | None:
    """Why ``table`` may not leave the site (without its counts), or ``None``."""
    if table["n"] < rules.min_group:
        return f"fewer than min_group={rules.min_group} patients"
    for column in (*table["events"], table["censored"], table.get("entries", [])):
        if any(0 < x < rules.min_cell for x in column):
            return f"a count below min_cell={rules.min_cell} remains after merging every time"
    return None


def _exposure_summary(fplan: FederatedPlan, a: Any, rows: AnalysisRows) -> tuple[dict[str, Any], list[str]]:
    """A transplant analysis at the site: tables of the time-updated groups, or at each landmark.

    Mantel-Byar: the rows before transplant that end in an event or a censoring (a
    patient transplanted later leaves this group at the transplant, which is the other
    table's entry), and the rows after transplant with their entries (0 for a transplant
    at or before the origin). Landmark: at each landmark, those still at risk, by
    transplant by then, with their times from the origin. Patients with no follow-up after
    the origin leave these analyses, as in the central run; ``n`` counts them all.
    """
    assert rows.exposure is not None
    rules = fplan.disclosure
    n_causes = 2 if get_endpoint(a.endpoint).competing_risks else 1
    followed = rows.time > 0
    time, status, exposure = rows.time[followed], rows.status[followed], rows.exposure[followed]
    entry: dict[str, Any] = {"id": a.id, "n": len(rows.time), "causes": n_causes}
    never = np.isnan(exposure) | (exposure >= time)
    from_start = ~never & (exposure <= 0)
    split = ~never & ~from_start
    # (label, table, patients in the group): each non-empty group is checked as any other
    groups: list[tuple[str, dict[str, Any], int]] = []
    if a.test == "mantel-byar":
        tables: dict[str, dict[str, Any]] = {}
        if never.any():
            tables["before"], _ = group_table(time[never], status[never], n_causes, rules.min_cell)
            tables["before"].pop("at_risk")  # not the risk set: transplanted patients leave it too
        starts = np.where(from_start, 0.0, exposure)
        tables["after"] = entry_table(starts[~never], time[~never], status[~never], n_causes, rules.min_cell)
        groups = [
            ("before transplant", tables.get("before", {}), int((never | split).sum())),
            ("after transplant", tables["after"], int((~never).sum())),
        ]
        try:
            pair_entries(tables["after"])
        except DataError:
            reason = (
                "merging carried a transplant past an exit: use a coarser time unit or a smaller min_cell"
            )
            return {"id": a.id, "refused": f"group 'after transplant': {reason}"}, [
                f"{a.id}: refused: {reason}"
            ]
        entry["exposure"] = tables
    else:
        # the central report also shows every patient's curve (from the origin) beside the landmarks
        if len(rows.time):
            everyone, _ = group_table(rows.time, rows.status, n_causes, rules.min_cell)
            entry["groups"] = [{"label": "all", **everyone}]
            groups.append(("all", everyone, len(rows.time)))
        points = []
        for lm in a.landmarks:
            point = lm * fplan.loaded.plan.days_per_unit
            keep = time > point
            by = (exposure <= point) & ~np.isnan(exposure)
            shown: dict[str, Any] = {"landmark": lm}
            for exposed, word in ((False, "not transplanted by then"), (True, "transplanted by then")):
                m = keep & (by == exposed)
                if m.any():
                    table, _ = group_table(time[m], status[m], n_causes, rules.min_cell)
                    shown["exposed" if exposed else "unexposed"] = table
                    groups.append((f"landmark {lm:g}, {word}", table, int(m.sum())))
            points.append(shown)
        entry["landmarks"] = points
    for label, table, n in groups:
        problem = disclosure_problem({**table, "n": n}, rules) if table and n else None
        if problem:
            return {"id": a.id, "refused": f"group {label!r}: {problem}"}, [
                f"{a.id}: refused: group {label!r} has {n} patients; {problem}"
            ]
    return entry, []


def _cox_summary(fplan: FederatedPlan, a: Any, rows: AnalysisRows) -> tuple[dict[str, Any], list[str]]:
    """The levels of the Cox model's variables at this site (to build the same columns everywhere).

    A level only shows that some patient has it, but a rare level, with the rounds'
    sums, would single its patients out: a level (or a yes/no value) held by fewer than
    ``min_cell`` of the complete cases refuses the analysis at this site, as fewer than
    ``min_group`` complete cases do; the reason names the variable, not the level or count.
    """
    rules = fplan.disclosure
    complete = rows.frame[a.model].notna().all(axis=1)
    n = int(complete.sum())
    problem = None
    if 0 < n < rules.min_group:
        problem = f"fewer than min_group={rules.min_group} patients with every model variable known"
    levels = {}
    for name in a.model:
        values = rows.frame.loc[complete, name]
        counts = values.astype(str).value_counts()
        if problem is None and ((counts > 0) & (counts < rules.min_cell)).any():
            problem = (
                f"variable {name!r}: a value held by fewer than min_cell={rules.min_cell} patients "
                "(merge its levels in the plan, or leave the site out of this model)"
            )
        if not set(values.unique()) <= {True, False}:
            levels[name] = sorted({str(v) for v in values.unique()})
    n_causes = 2 if get_endpoint(a.endpoint).competing_risks else 1
    entry: dict[str, Any] = {"id": a.id, "cox_levels": levels, "causes": n_causes}
    if problem is None and len(rows.time):
        # every patient's table, as for any analysis: the report's numbers at risk and axis
        everyone, _ = group_table(rows.time, rows.status, n_causes, rules.min_cell)
        problem = disclosure_problem(everyone, rules)
        entry["groups"] = [{"label": "all", **everyone}]
    if problem:
        return {"id": a.id, "refused": problem}, [f"{a.id}: refused: {problem} ({n} complete cases)"]
    return entry, []


def _analysis_summary(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    a: Any,
    variables: pd.DataFrame,
    derived_cache: dict[str, pd.DataFrame],
) -> tuple[dict[str, Any], list[str]]:
    """The entry of one analysis in the site file, and notes for the site's own eyes."""
    entry: dict[str, Any] = {"id": a.id}
    rows = analysis_rows(fplan, records, a.id, variables=variables, derived_cache=derived_cache)
    if a.test in EXPOSURE_TESTS:
        return _exposure_summary(fplan, a, rows)
    if rows.unknown:  # the central report says how many were left out; a small count is withheld
        entry["unknown"] = rows.unknown if rows.unknown >= fplan.disclosure.min_cell else None
    if a.test == "cox":
        return _cox_summary(fplan, a, rows)
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
    base = _select(variables, fplan.loaded.plan.population)
    described, more = _description(fplan, records, variables, base, derived_cache)
    notes.extend(more)
    message: Message = {
        "kind": SUMMARY,
        "plan_sha256": fplan.sha256,
        "plan_text": fplan.loaded.text,
        "version": __version__,
        "site": site,
        "population": int(base.sum()),
        **described,
        "analyses": analyses,
    }
    return message, notes


def _description(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    variables: pd.DataFrame,
    base: pd.Series,
    derived_cache: dict[str, pd.DataFrame],
) -> tuple[dict[str, Any], list[str]]:
    """The report's descriptive parts at this site: the patient flow's counts and the follow-up table.

    The follow-up table is the plan population's overall survival from the report's origin
    (diagnosis, or transplant when every analysis starts there), as a count table: the
    coordinator computes the median follow-up by reverse Kaplan-Meier from it. A count
    below ``min_cell`` in the flow withholds the flow (the reason in the file).
    """
    from bassinet.plans.building import patient_flow

    plan, rules = fplan.loaded.plan, fplan.disclosure
    out: dict[str, Any] = {}
    notes: list[str] = []
    if not base.any():
        return {"flow": [], "follow_up": None}, notes
    steps = patient_flow(plan, records, variables, base)
    small = [
        f"{s.label}{': ' + k if k else ''}"
        for s in steps
        for k, n in ((None, s.n), *s.excluded)
        if 0 < n < rules.min_cell
    ]
    if small:
        out["flow"] = {"refused": f"a count below min_cell={rules.min_cell} ({small[0]})"}
        notes.append(f"patient flow withheld: {small[0]} is below min_cell={rules.min_cell}")
    else:
        out["flow"] = [[s.label, s.n, [[k, n] for k, n in s.excluded]] for s in steps]
    origins = {a.origin or get_endpoint(a.endpoint).origin for a in plan.analyses}
    origin = "transplant" if origins == {"transplant"} else "diagnosis"
    endpoint = get_endpoint("OS").from_origin(origin)  # type: ignore[arg-type]
    key = f"{endpoint.name}/{endpoint.origin}"
    if key not in derived_cache:
        derived_cache[key] = derive(records, [endpoint], cutoff=plan.cutoff).set_index("study_id")
    d = derived_cache[key]
    d = d.loc[[sid for sid in base.index[base] if sid in d.index]]
    time = np.array([rules.coarsen(t) for t in d["time_days"].to_numpy(float)], dtype=float)
    table, _ = group_table(time, d["status"].to_numpy(np.int64), 1, rules.min_cell)
    problem = disclosure_problem(table, rules) if len(time) else None
    if problem:
        out["follow_up"] = {"refused": problem}
        notes.append(f"follow-up table withheld: {len(time)} patients; {problem}")
    else:
        out["follow_up"] = table if len(time) else None
    return out, notes
