"""Cox regression across sites by rounds: the coordinator proposes a coefficient, the sites answer with sums.

The Cox partial likelihood with Efron's handling of ties (Cox 1972; Efron 1977), its
score and its information at a coefficient beta are functions of, at each event time
t, the risk-set sums S0 = sum exp(x'b), S1 = sum x exp(x'b), S2 = sum x x' exp(x'b) over
the patients still at risk, the same sums D0, D1, D2 over the patients dying at t, the
number d of deaths and the sum of their covariates (Therneau & Grambsch 2000, section
3.3). Each is a sum over patients, so the pooled value is the sum of the sites' values.
A site's risk-set sums change only at its own exit times, so it reports them at those
times and the coordinator reads each site's step function at every pooled event time.

- ``risk-sets`` mode (one baseline hazard for all sites): each site sends, per exit
  time, ``d``, the deaths' covariate sum, D0..D2 and S0..S2; the coordinator forms
  the pooled log-likelihood, score and information exactly as the central fit does.
- ``stratified`` mode (a baseline hazard per site, the plan's ``stratify_by_site``):
  each site sends only its log-likelihood, score and information.

The coordinator takes Newton–Raphson steps with step halving and the stopping rule of
:func:`bassinet.survival.coxph` (relative change in the log-likelihood at most ``tol``),
but ends on the last full Newton step, so it lands on the maximum of the pooled partial
likelihood to rounding (score ~1e-14), where the central fit may stop ~1e-8 short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from bassinet import __version__
from bassinet.endpoints import ClinicalRecords
from bassinet.errors import ConvergenceError, DataError
from bassinet.federate._messages import Message, check
from bassinet.federate._plan import FederatedPlan
from bassinet.federate._site import analysis_rows, merge_small_cells
from bassinet.plans import CATALOGUE

ROUND = "bassinet-federate-cox-round"
ANSWER = "bassinet-federate-cox-answer"
RESULT = "bassinet-federate-cox-result"
FloatArray = NDArray[np.float64]


def _analysis(fplan: FederatedPlan, analysis_id: str) -> Any:
    a = next((x for x in fplan.loaded.plan.analyses if x.id == analysis_id), None)
    if a is None or a.test != "cox":
        raise DataError(f"the plan has no Cox analysis {analysis_id!r}")
    return a


def cox_terms(fplan: FederatedPlan, analysis_id: str, summaries: list[Message]) -> list[dict[str, Any]]:
    """The model's columns, as the central fit makes them: a yes/no variable is one column; any
    other has one column per level but the first (levels of every site, sorted as text)."""
    a = _analysis(fplan, analysis_id)
    levels: dict[str, set[str]] = {}
    for m in summaries:
        entry: dict[str, Any] = next((e for e in m["analyses"] if e.get("id") == analysis_id), {})
        for name, values in entry.get("cox_levels", {}).items():
            levels.setdefault(name, set()).update(str(v) for v in values)
    terms: list[dict[str, Any]] = []
    for name in a.model:
        if name not in levels:
            terms.append({"name": name, "variable": name, "level": None})
            continue
        ordered = sorted(levels[name])
        if len(ordered) < 2:  # as the central fit says it
            variable = CATALOGUE[name]
            shown = variable.show(ordered[0]) if ordered else "none"
            raise DataError(f"{variable.label} has one value only ({shown}): nothing to compare")
        for level in ordered[1:]:
            terms.append(
                {"name": f"{name}={level}", "variable": name, "level": level, "reference": ordered[0]}
            )
    return terms


@dataclass(frozen=True)
class SiteCoxData:
    """A site's Cox rows (times coarsened and merged as the plan says): never leave the site."""

    time: FloatArray
    event: NDArray[np.bool_]
    x: FloatArray


def site_cox_data(
    fplan: FederatedPlan, records: ClinicalRecords, analysis_id: str, terms: list[dict[str, Any]]
) -> SiteCoxData:
    """The design matrix of the complete cases of one Cox analysis at this site."""
    a = _analysis(fplan, analysis_id)
    rows = analysis_rows(fplan, records, analysis_id)
    complete = rows.frame[a.model].notna().all(axis=1).to_numpy()
    frame = rows.frame[complete]
    columns = []
    for term in terms:
        values = frame[term["variable"]]
        if term["level"] is None:
            columns.append(values.astype(float).to_numpy())
        else:
            columns.append((values.astype(str) == term["level"]).astype(float).to_numpy())
    x = np.column_stack(columns) if columns else np.zeros((int(complete.sum()), 0))
    time, event = rows.time[complete], rows.status[complete] == 1
    if len(time):
        times = np.unique(time)
        index = np.searchsorted(times, time)
        counts = np.zeros((len(times), 2), dtype=np.int64)
        np.add.at(counts, (index, np.where(event, 0, 1)), 1)
        min_cell = fplan.disclosure.min_cell
        _, merged, moved = merge_small_cells(times, counts, min_cell)
        if ((merged > 0) & (merged < min_cell)).any():
            raise DataError(
                f"analysis {analysis_id}: refused: a count of deaths or censorings below "
                f"min_cell={min_cell} remains after merging every time"
            )
        time = np.array([moved[(float(t), 0 if e else 1)] for t, e in zip(time, event, strict=True)])
    return SiteCoxData(time, event, x)


def risk_set_sums(data: SiteCoxData, beta: FloatArray) -> dict[str, Any]:
    """Per exit time of the site: deaths and their sums, and the risk-set sums at that time."""
    times = np.unique(data.time)
    p = data.x.shape[1]
    r = np.exp(data.x @ beta)
    index = np.searchsorted(times, data.time)
    m = len(times)

    def by_time(values: FloatArray) -> FloatArray:
        out = np.zeros((m, *values.shape[1:]))
        np.add.at(out, index, values)
        return out

    outer = data.x[:, :, None] * data.x[:, None, :]
    e = data.event
    at = (by_time(r), by_time(r[:, None] * data.x), by_time(r[:, None, None] * outer))
    dead = (
        by_time(np.where(e, r, 0.0)),
        by_time(np.where(e[:, None], r[:, None] * data.x, 0.0)),
        by_time(np.where(e[:, None, None], r[:, None, None] * outer, 0.0)),
    )
    tail = [np.cumsum(a[::-1], axis=0)[::-1] for a in at]  # accumulated from the last time back
    return {
        "time": times.tolist(),
        "deaths": by_time(e.astype(float)).astype(int).tolist(),
        "x_deaths": by_time(np.where(e[:, None], data.x, 0.0)).reshape(m, p).tolist(),
        "d0": dead[0].tolist(),
        "d1": dead[1].reshape(m, p).tolist(),
        "d2": dead[2].reshape(m, p, p).tolist(),
        "s0": tail[0].tolist(),
        "s1": tail[1].reshape(m, p).tolist(),
        "s2": tail[2].reshape(m, p, p).tolist(),
    }


@dataclass(frozen=True)
class Evaluation:
    loglik: float
    score: FloatArray
    information: FloatArray


def efron(sums: dict[str, Any], beta: FloatArray) -> Evaluation:
    """Log partial likelihood, score and information with Efron's ties, from (pooled) per-time sums.

    At an event time with ``d`` deaths, for r = 0, ..., d - 1 the risk set is
    S - (r/d) D (Efron 1977): loglik += x_D'b - sum_r log(S0 - r/d D0); the score and
    information follow by differentiating.
    """
    p = len(beta)
    loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    deaths = np.asarray(sums["deaths"], dtype=float)
    xd = np.asarray(sums["x_deaths"], dtype=float).reshape(-1, p)
    d0, d1, d2 = (np.asarray(sums[k], dtype=float) for k in ("d0", "d1", "d2"))
    s0, s1, s2 = (np.asarray(sums[k], dtype=float) for k in ("s0", "s1", "s2"))
    d1, s1 = d1.reshape(-1, p), s1.reshape(-1, p)
    d2, s2 = d2.reshape(-1, p, p), s2.reshape(-1, p, p)
    for i in np.flatnonzero(deaths > 0):
        d = int(deaths[i])
        loglik += float(xd[i] @ beta)
        score += xd[i]
        for r in range(d):
            a = r / d
            den = s0[i] - a * d0[i]
            mean = (s1[i] - a * d1[i]) / den
            loglik -= float(np.log(den))
            score -= mean
            info += (s2[i] - a * d2[i]) / den - np.outer(mean, mean)
    return Evaluation(loglik, score, info)


def pooled_sums(answers: list[dict[str, Any]], p: int) -> dict[str, Any]:
    """Per pooled event time, every site's sums added (a site's risk-set sums read as a step function)."""
    event_times = np.unique(
        np.concatenate(
            [np.asarray(a["time"], dtype=float)[np.asarray(a["deaths"]) > 0] for a in answers] + [np.zeros(0)]
        )
    )
    m = len(event_times)
    total: dict[str, FloatArray] = {
        "deaths": np.zeros(m),
        "x_deaths": np.zeros((m, p)),
        "d0": np.zeros(m),
        "d1": np.zeros((m, p)),
        "d2": np.zeros((m, p, p)),
        "s0": np.zeros(m),
        "s1": np.zeros((m, p)),
        "s2": np.zeros((m, p, p)),
    }
    shapes = {
        "deaths": (),
        "x_deaths": (p,),
        "d0": (),
        "d1": (p,),
        "d2": (p, p),
        "s0": (),
        "s1": (p,),
        "s2": (p, p),
    }
    for a in answers:
        times = np.asarray(a["time"], dtype=float)
        values = {k: np.asarray(a[k], dtype=float).reshape(len(times), *shapes[k]) for k in shapes}
        # the site's own row at the same time (deaths), and its next exit time (risk sets)
        same = np.searchsorted(times, event_times)
        inside = same < len(times)
        exact = inside & (times[np.minimum(same, len(times) - 1)] == event_times) if len(times) else inside
        for k in ("deaths", "x_deaths", "d0", "d1", "d2"):
            total[k][exact] += values[k][same[exact]]
        for k in ("s0", "s1", "s2"):
            total[k][inside] += values[k][same[inside]]
    return {"time": event_times.tolist(), **{k: v.tolist() for k, v in total.items()}}


def start_cox(
    fplan: FederatedPlan,
    analysis_id: str,
    summaries: list[Message],
    *,
    tol: float = 1e-10,
    max_iter: int = 30,
) -> Message:
    """The first round: coefficients 0, the model's columns, the sites expected to answer."""
    _analysis(fplan, analysis_id)
    sites = [str(m["site"]) for m in summaries]
    for m in summaries:
        entry = next((e for e in m.get("analyses", []) if e.get("id") == analysis_id), None)
        if entry is None:
            raise DataError(f"site {m['site']!r} has no entry for analysis {analysis_id} in its file")
        if "refused" in entry:
            raise DataError(
                f"site {m['site']!r} refused analysis {analysis_id}: {entry['refused']}; "
                "start the rounds without that site's file, or change the plan's rules"
            )
    terms = cox_terms(fplan, analysis_id, summaries)
    return {
        "kind": ROUND,
        "plan_sha256": fplan.sha256,
        "version": __version__,
        "analysis": analysis_id,
        "round": 1,
        "sites": sites,
        "mode": "stratified" if fplan.disclosure.stratify_by_site else "risk-sets",
        "terms": terms,
        "beta": [0.0] * len(terms),
        "state": {"tol": tol, "max_iter": max_iter, "iteration": 0, "halvings": 0},
    }


def answer_cox_round(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    site: str,
    round_message: Any,
    source: str = "round",
    *,
    cache: dict[str, SiteCoxData] | None = None,
) -> Message:
    """A site's answer to a round: its sums at the round's coefficient (checked against the plan first).

    ``cache`` keeps the site's design matrix between rounds (a running server passes one).
    """
    message = check(round_message, source, ROUND)
    if message["plan_sha256"] != fplan.sha256:
        raise DataError(
            f"{source}: plan hash {message['plan_sha256']} is not this site's plan ({fplan.sha256})"
        )
    if message["version"] != __version__:
        raise DataError(f"{source}: Bassinet version {message['version']} is not this site's ({__version__})")
    if site not in message["sites"]:
        raise DataError(f"{source}: site {site!r} is not one of the round's sites {message['sites']}")
    key = json.dumps([message["analysis"], message["terms"]], sort_keys=True)
    data = cache.get(key) if cache is not None else None
    if data is None:
        data = site_cox_data(fplan, records, message["analysis"], message["terms"])
        if cache is not None:
            cache[key] = data
    n, events = len(data.time), int(data.event.sum())
    if 0 < n < fplan.disclosure.min_group:
        raise DataError(
            f"analysis {message['analysis']}: refused: {n} complete cases, fewer than "
            f"min_group={fplan.disclosure.min_group}"
        )
    beta = np.asarray(message["beta"], dtype=float)
    answer: Message = {
        "kind": ANSWER,
        "plan_sha256": fplan.sha256,
        "version": __version__,
        "analysis": message["analysis"],
        "round": message["round"],
        "beta": message["beta"],
        "site": site,
        "n": n,
        "events": events,
    }
    if not np.isfinite(beta).all():
        raise DataError(f"{source}: the coefficients {message['beta']} are not all finite numbers")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
        sums = risk_set_sums(data, beta)
    if not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in sums.values()):
        raise DataError(
            f"{source}: exp(x'b) overflows at the round's coefficients {message['beta']}: the model "
            "is running off (a covariate may separate those with events from the others)"
        )
    if message["mode"] == "stratified":
        ev = efron(sums, beta)
        answer["totals"] = {
            "loglik": ev.loglik,
            "score": ev.score.tolist(),
            "information": ev.information.tolist(),
        }
    else:
        answer["risk_sets"] = sums
    return answer


def _evaluate(round_message: Message, answers: list[Message]) -> Evaluation:
    beta = np.asarray(round_message["beta"], dtype=float)
    p = len(beta)
    if round_message["mode"] == "stratified":
        loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
        for a in answers:
            loglik += float(a["totals"]["loglik"])
            score += np.asarray(a["totals"]["score"], dtype=float)
            info += np.asarray(a["totals"]["information"], dtype=float).reshape(p, p)
        return Evaluation(loglik, score, info)
    return efron(pooled_sums([a["risk_sets"] for a in answers], p), beta)


def check_answers(
    round_message: Any, answers: list[tuple[str, Any]], *, source: str = "round"
) -> tuple[Message, list[Message]]:
    """The round and its answers, checked: every site once, the same round, plan, version and coefficient.

    ``source`` names the round in errors (its file, or ``round`` over HTTP).
    """
    r = check(round_message, source, ROUND)
    got: dict[str, Message] = {}
    for source, raw in answers:
        a = check(raw, source, ANSWER)
        for key in ("plan_sha256", "version", "analysis", "round", "beta"):
            if a.get(key) != r.get(key):
                raise DataError(f"{source}: {key} {a.get(key)!r} is not the round's ({r.get(key)!r})")
        site = str(a["site"])
        if site not in r["sites"]:
            raise DataError(f"{source}: site {site!r} is not one of the round's sites {r['sites']}")
        if site in got:
            raise DataError(f"{source}: site {site!r} answered twice: a site counts once")
        got[site] = a
    missing = [s for s in r["sites"] if s not in got]
    if missing:
        raise DataError(
            f"round {r['round']}: no answer from site {missing[0]!r}: every site must answer every round"
        )
    return r, [got[s] for s in r["sites"]]


def step_cox(round_message: Any, answers: list[tuple[str, Any]], *, source: str = "round") -> Message:
    """The next round, or the result once the log-likelihood has converged (``source`` names the round)."""
    r, checked = check_answers(round_message, answers, source=source)
    state = dict(r["state"])
    beta = np.asarray(r["beta"], dtype=float)
    ev = _evaluate(r, checked)
    tol = float(state["tol"])
    if "loglik_null" not in state:
        state.update(loglik_null=ev.loglik)
        return _next(r, state, beta, ev)
    accepted = np.asarray(state["accepted_beta"], dtype=float)
    best = float(state["accepted_loglik"])
    if np.isfinite(ev.loglik) and abs(ev.loglik - best) <= tol * abs(ev.loglik):
        # Converged. The candidate is a full Newton step from a point already near the
        # maximum, so it is nearer still even when its log-likelihood rounds a hair lower
        # (coxph keeps the older point then, up to ~1e-8 from the maximum).
        return _result(r, checked, state, beta, ev)
    if np.isfinite(ev.loglik) and ev.loglik > best:
        return _next(r, state, beta, ev)
    state["halvings"] += 1
    if state["halvings"] > 30:
        return _result(r, checked, state, accepted, _stored(state))
    return {**r, "round": r["round"] + 1, "beta": ((beta + accepted) / 2).tolist(), "state": state}


def _stored(state: dict[str, Any]) -> Evaluation:
    p = len(state["accepted_beta"])
    return Evaluation(
        float(state["accepted_loglik"]),
        np.asarray(state["accepted_score"], dtype=float),
        np.asarray(state["accepted_information"], dtype=float).reshape(p, p),
    )


def _next(r: Message, state: dict[str, Any], beta: FloatArray, ev: Evaluation) -> Message:
    """Accept ``beta`` and propose a full Newton step from it."""
    state["iteration"] += 1
    if state["iteration"] > state["max_iter"]:
        raise ConvergenceError(f"the pooled Cox model did not converge in {state['max_iter']} iterations")
    try:
        step = np.linalg.solve(ev.information, ev.score)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            f"the pooled information matrix is singular at iteration {state['iteration']}"
        ) from exc
    state.update(
        accepted_beta=beta.tolist(),
        accepted_loglik=ev.loglik,
        accepted_score=ev.score.tolist(),
        accepted_information=ev.information.tolist(),
        halvings=0,
    )
    return {**r, "round": r["round"] + 1, "beta": (beta + step).tolist(), "state": state}


def _result(
    r: Message, answers: list[Message], state: dict[str, Any], beta: FloatArray, ev: Evaluation
) -> Message:
    try:
        chol = np.linalg.cholesky(ev.information)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("the pooled information matrix is not positive definite") from exc
    inv = np.linalg.inv(chol)
    var = inv.T @ inv
    se = np.sqrt(np.diag(var))
    z = beta / se
    return {
        "kind": RESULT,
        "plan_sha256": r["plan_sha256"],
        "version": r["version"],
        "analysis": r["analysis"],
        "sites": r["sites"],
        "mode": r["mode"],
        "rounds": r["round"],
        "iterations": state["iteration"],
        "names": [t["name"] for t in r["terms"]],
        "terms": r["terms"],
        "coef": beta.tolist(),
        "std_err": se.tolist(),
        "var": var.tolist(),
        "hazard_ratio": np.exp(beta).tolist(),
        "lower": np.exp(beta - 1.959963984540054 * se).tolist(),
        "upper": np.exp(beta + 1.959963984540054 * se).tolist(),
        "p_value": (2 * norm.sf(np.abs(z))).tolist(),
        "loglik": ev.loglik,
        "loglik_null": state["loglik_null"],
        "n": sum(int(a["n"]) for a in answers),
        "events": sum(int(a["events"]) for a in answers),
    }
