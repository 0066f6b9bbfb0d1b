"""Cox regression over rounds equals the central fit: by files, in memory, and over two running servers."""

from __future__ import annotations

import io
import json
import math
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bassinet.access import authenticate_token
from bassinet.endpoints import ClinicalRecords
from bassinet.errors import DataError
from bassinet.federate import FederatedPlan, analysis_rows, summarise
from bassinet.federate._cox import (
    RESULT,
    ROUND,
    SiteCoxData,
    answer_cox_round,
    efron,
    pooled_sums,
    risk_set_sums,
    start_cox,
    step_cox,
)
from bassinet.federate._http import make_server, run_cox_over_http
from bassinet.federate._messages import Message, dumps
from bassinet.plans import PlanResult
from bassinet.registry import init_registry, make_engine
from bassinet.survival import coxph
from tests.federate.conftest import Sites, site_token, split_at_random, split_by_group

COX = "dfs_multivariable"
MODEL = ["kmt2a_r", "age_lt_6m", "wbc_ge_300", "poor_prednisone", "cd10", "sex"]


def wire(message: Message) -> Message:
    """What the other side reads: the sealed JSON text, parsed."""
    parsed: Message = json.loads(dumps(message))
    return parsed


def fit_over_rounds(fplan: FederatedPlan, sites: Sites) -> Message:
    summaries = [wire(summarise(fplan, r, name)[0]) for name, r in sites.items()]
    caches: dict[str, dict[str, SiteCoxData]] = {name: {} for name in sites}
    message = wire(start_cox(fplan, COX, summaries))
    while message["kind"] == ROUND:
        answers = [
            (name, wire(answer_cox_round(fplan, r, name, message, cache=caches[name])))
            for name, r in sites.items()
        ]
        message = wire(step_cox(message, answers))
    return message


def design(fplan: FederatedPlan, records: ClinicalRecords) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The central model's rows, built here as plans.run_plan builds them (complete cases)."""
    rows = analysis_rows(fplan, records, COX)
    frame = rows.frame[MODEL]
    complete = frame.notna().all(axis=1).to_numpy()
    frame = frame[complete]
    x = np.column_stack(
        [frame[name].astype(float) for name in MODEL[:4]]
        + [(frame["cd10"] == "positive").astype(float), (frame["sex"] == "M").astype(float)]
    )
    return rows.time[complete], rows.status[complete], x


def test_efron_sums_give_the_hand_computed_log_likelihood() -> None:
    # Site A: (t=1, death, x=1), (t=2, censored, x=0); site B: (t=1, death, x=0), (t=3, death, x=1).
    # At t=1 two tied deaths among all four: Efron's risk sets S0 and S0 - D0/2 with
    # S0 = 2e^b + 2, D0 = e^b + 1; at t=3 the one death is alone in its risk set (term 0).
    # loglik(b) = b - log(2e^b + 2) - log(1.5e^b + 1.5).
    b = 0.5
    a = SiteCoxData(np.array([1.0, 2.0]), np.array([True, False]), np.array([[1.0], [0.0]]))
    c = SiteCoxData(np.array([1.0, 3.0]), np.array([True, True]), np.array([[0.0], [1.0]]))
    beta = np.array([b])
    ev = efron(pooled_sums([risk_set_sums(a, beta), risk_set_sums(c, beta)], 1), beta)
    expected = b - math.log(2 * math.exp(b) + 2) - math.log(1.5 * math.exp(b) + 1.5)
    assert ev.loglik == pytest.approx(expected, rel=1e-14)
    central = coxph([1, 2, 1, 3], [1, 0, 1, 1], [[1.0], [0.0], [0.0], [1.0]], init=[b])
    assert ev.loglik == pytest.approx(central.loglik_null, rel=1e-12)


@pytest.fixture(scope="module")
def by_group_fit(day_plan: FederatedPlan, interfant: ClinicalRecords) -> Message:
    return fit_over_rounds(day_plan, split_by_group(interfant))


def test_the_cox_rounds_over_the_study_groups_converge_to_the_central_report(
    by_group_fit: Message, central: PlanResult
) -> None:
    terms = next(a for a in central.analyses if a.id == COX).model
    assert by_group_fit["kind"] == RESULT
    assert len(by_group_fit["sites"]) == 18
    assert by_group_fit["names"] == [t.term for t in terms]
    # The central fit stops when a Newton step no longer changes the log-likelihood beyond
    # rounding, which leaves its coefficients up to ~2e-8 from the maximum (its score there
    # is ~1e-6; the pooled one's ~1e-14, see the next test), so the report's hazard ratios
    # agree to 1e-7 here and the maximum itself to 1e-10 below.
    np.testing.assert_allclose(by_group_fit["hazard_ratio"], [t.hazard_ratio for t in terms], rtol=1e-7)
    np.testing.assert_allclose(by_group_fit["lower"], [t.lower for t in terms], rtol=1e-7)
    np.testing.assert_allclose(by_group_fit["upper"], [t.upper for t in terms], rtol=1e-7)
    np.testing.assert_allclose(by_group_fit["p_value"], [t.p_value for t in terms], rtol=1e-6)


def test_the_pooled_fit_equals_coxph_on_the_pooled_rows(
    by_group_fit: Message, day_plan: FederatedPlan, interfant: ClinicalRecords
) -> None:
    time, status, x = design(day_plan, interfant)
    fit = coxph(time, status, x)
    np.testing.assert_allclose(by_group_fit["coef"], fit.coef, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(by_group_fit["std_err"], np.sqrt(np.diag(fit.var)), rtol=1e-7)
    np.testing.assert_allclose(by_group_fit["loglik"], fit.loglik, rtol=1e-12)
    np.testing.assert_allclose(by_group_fit["loglik_null"], fit.loglik_null, rtol=1e-12)
    assert (by_group_fit["n"], by_group_fit["events"]) == (fit.n, fit.n_events)
    # started at the pooled coefficients, the central fit stays there: they are its maximum
    again = coxph(time, status, x, init=by_group_fit["coef"])
    np.testing.assert_allclose(by_group_fit["coef"], again.coef, rtol=1e-10)
    np.testing.assert_allclose(by_group_fit["std_err"], np.sqrt(np.diag(again.var)), rtol=1e-8)


def test_stratified_by_site_the_rounds_equal_the_central_stratified_fit(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(stratify_by_site=True)
    sites = split_at_random(interfant, 3, seed=4)
    result = fit_over_rounds(fplan, sites)
    assert result["mode"] == "stratified"
    parts = [(name, design(fplan, r)) for name, r in sites.items()]
    fit = coxph(
        np.concatenate([p[0] for _, p in parts]),
        np.concatenate([p[1] for _, p in parts]),
        np.vstack([p[2] for _, p in parts]),
        strata=np.concatenate([[name] * len(p[0]) for name, p in parts]),
    )
    np.testing.assert_allclose(result["coef"], fit.coef, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(result["std_err"], np.sqrt(np.diag(fit.var)), rtol=1e-7)
    again = coxph(
        *(np.concatenate([p[i] for _, p in parts]) for i in (0, 1)),
        np.vstack([p[2] for _, p in parts]),
        strata=np.concatenate([[name] * len(p[0]) for name, p in parts]),
        init=result["coef"],
    )
    np.testing.assert_allclose(result["coef"], again.coef, rtol=1e-10)


@dataclass
class Servers:
    urls: list[str]
    tokens: list[str]
    logs: list[io.StringIO]
    registry: str


@pytest.fixture
def two_servers(day_plan: FederatedPlan, interfant: ClinicalRecords, tmp_path: Path) -> Iterator[Servers]:
    """Two sites answering over HTTP; each checks tokens against its own (empty) registry."""
    sites = split_at_random(interfant, 2, seed=9)
    servers, tokens, logs, engines = [], [], [], []
    for name, records in sites.items():
        url = f"sqlite:///{tmp_path / name}.db"
        init_registry(url)
        tokens.append(site_token(url))
        engine = make_engine(url)
        engines.append(engine)
        logs.append(io.StringIO())
        servers.append(
            make_server(
                day_plan, records, name, log=logs[-1],
                authenticate=lambda secret, e=engine: authenticate_token(e, secret),  # type: ignore[misc]
            )
        )  # fmt: skip
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield Servers([f"http://127.0.0.1:{s.server_address[1]}" for s in servers], tokens, logs,
                  f"sqlite:///{tmp_path / 'site-0'}.db")  # fmt: skip
    for s in servers:
        s.shutdown()
        s.server_close()
    for e in engines:
        e.dispose()


def test_over_two_running_servers_the_rounds_converge_to_the_central_fit(
    two_servers: Servers, day_plan: FederatedPlan, interfant: ClinicalRecords
) -> None:
    result = run_cox_over_http(day_plan, COX, two_servers.urls, two_servers.tokens)
    fit = coxph(*design(day_plan, interfant))
    assert result["kind"] == RESULT and result["sites"] == ["site-0", "site-1"]
    np.testing.assert_allclose(result["coef"], fit.coef, rtol=1e-7, atol=1e-8)
    again = coxph(*design(day_plan, interfant), init=result["coef"])
    np.testing.assert_allclose(result["coef"], again.coef, rtol=1e-10)
    # each request is logged at the site: who, what, how many bytes left
    lines = two_servers.logs[0].getvalue().splitlines()
    assert len(lines) == 1 + result["rounds"]
    assert re.fullmatch(
        r"\S+Z site site-0: coordinator \(token \d+\) GET /summary -> 200, \d+ bytes", lines[0]
    )
    assert re.fullmatch(
        r"\S+Z site site-0: coordinator \(token \d+\) POST /cox \(analysis dfs_multivariable, round 1\) "
        r"-> 200, \d+ bytes",
        lines[1],
    )


def test_a_server_answers_nothing_without_a_valid_token_of_someone_who_may_run_reports(
    two_servers: Servers,
) -> None:
    from bassinet.federate._http import _request

    url = two_servers.urls[0] + "/summary"
    request = urllib.request.Request(url)  # no Authorization header at all
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["error"].startswith("no token: send 'Authorization: Bearer")
    with pytest.raises(DataError, match=r"refused \(401\): token refused: unknown, expired or revoked"):
        _request(url, "bsn_" + "x" * 43)
    with pytest.raises(DataError, match=r"refused \(401\)"):
        _request(url, two_servers.tokens[1])  # the other site's token: not of this registry
    clinician = site_token(two_servers.registry, "clinician", role="clinician")
    with pytest.raises(
        DataError, match=r"refused \(403\): clinician may not run reports over every centre of this registry"
    ):
        _request(url, clinician)
    log = two_servers.logs[0].getvalue()
    assert "- GET /summary -> 401" in log
    assert "clinician (token " in log and "-> 403" in log
    assert "-> 200" not in log  # nothing left the site


def test_a_server_refuses_a_round_of_another_plan_with_the_reason(
    two_servers: Servers, make_plan: Callable[..., FederatedPlan], day_plan: FederatedPlan
) -> None:
    other = make_plan(min_cell=2)
    urls, tokens = two_servers.urls, two_servers.tokens
    with pytest.raises(
        DataError, match=rf"{urls[0]}: the site runs plan {day_plan.sha256}, not {other.sha256}"
    ):
        run_cox_over_http(other, COX, urls[:1], tokens[:1])
    round_message = start_cox(other, COX, [{"site": "site-0", "analyses": [{"id": COX, "cox_levels": {}}]}])
    from bassinet.federate._http import _request

    with pytest.raises(DataError, match=r"refused \(400\): round: plan hash .* is not this site.s plan"):
        _request(urls[0] + "/cox", tokens[0], dumps(round_message))


def test_with_weeks_the_rounds_equal_the_central_fit_on_rows_rounded_to_weeks(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(time_unit="week")
    result = fit_over_rounds(fplan, split_at_random(interfant, 3, seed=6))
    time, status, x = design(fplan, interfant)  # every patient's time rounded up to its week
    assert np.allclose(time / 7, np.round(time / 7))
    again = coxph(time, status, x, init=result["coef"])
    np.testing.assert_allclose(result["coef"], again.coef, rtol=1e-10)
    np.testing.assert_allclose(result["coef"], coxph(time, status, x).coef, rtol=1e-7, atol=1e-8)
    assert (
        abs(result["coef"][0] - coxph(*design(make_plan(), interfant)).coef[0]) > 1e-6
    )  # weeks did change it
