"""Pooled results against R on the pooled rows: the Cox model, the stratified log-rank and Gray tests.

R sees the rows (what the sites never send); Bassinet sees only the sites' messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.federate import (
    ROUND,
    FederatedPlan,
    analysis_rows,
    answer_cox_round,
    combine,
    start_cox,
    step_cox,
    summarise,
)
from bassinet.federate._messages import Message, dumps
from tests.federate.conftest import split_at_random
from tests.survival.r_oracle import assert_close, run_r

MODEL = ["kmt2a_r", "age_lt_6m", "wbc_ge_300", "poor_prednisone", "cd10", "sex"]


def wire(message: Message) -> Message:
    parsed: Message = json.loads(dumps(message))
    return parsed


@pytest.fixture(scope="module")
def setting(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> tuple[FederatedPlan, dict[str, ClinicalRecords], list[Message]]:
    fplan = make_plan(stratify_by_site=True)
    sites = split_at_random(interfant, 3, seed=21)
    return fplan, sites, [wire(summarise(fplan, r, name)[0]) for name, r in sites.items()]


def pooled_rows(fplan: FederatedPlan, sites: dict[str, ClinicalRecords], analysis_id: str) -> pd.DataFrame:
    frames = []
    for name, records in sites.items():
        rows = analysis_rows(fplan, records, analysis_id)
        frame = rows.frame.assign(time=rows.time, status=rows.status, label=rows.label, site=name)
        frames.append(frame.reset_index(drop=True))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.r
def test_stratified_log_rank_and_gray_tests_equal_r(
    setting: tuple[FederatedPlan, dict[str, ClinicalRecords], list[Message]],
) -> None:
    fplan, sites, summaries = setting
    result = combine([(m["site"], m) for m in summaries])
    efs = pooled_rows(fplan, sites, "efs_risk")
    r = run_r(
        "f <- survdiff(Surv(time, status) ~ label + strata(site), data = d)\nout <- list(chisq = f$chisq)",
        efs[["time", "status", "label", "site"]],
    )
    found = next(a for a in result.analyses if a.id == "efs_risk").test
    assert found is not None and found.stratified_by_site
    assert_close(found.statistic, r["chisq"], what="stratified log-rank")
    cir = pooled_rows(fplan, sites, "cir_arm")
    r = run_r(
        "g <- cuminc(d$time, d$status, d$label, strata = d$site, cencode = 0)\n"
        "out <- list(stat = g$Tests[, 'stat'])",
        cir[["time", "status", "label", "site"]],
    )
    found = next(a for a in result.analyses if a.id == "cir_arm").test
    assert found is not None
    assert_close(found.statistic, r["stat"][0], what="stratified Gray test, cause 1")


@pytest.mark.r
def test_pooled_cox_stratified_by_site_equals_r_to_1e_8(
    setting: tuple[FederatedPlan, dict[str, ClinicalRecords], list[Message]],
) -> None:
    fplan, sites, summaries = setting
    message = wire(start_cox(fplan, "dfs_multivariable", summaries))
    while message["kind"] == ROUND:
        answers = [(n, wire(answer_cox_round(fplan, r, n, message))) for n, r in sites.items()]
        message = wire(step_cox(message, answers))
    d = pooled_rows(fplan, sites, "dfs_multivariable")[["time", "status", "site", *MODEL]].dropna()
    d = d.assign(cd10=(d["cd10"] == "positive").astype(int), sex=(d["sex"] == "M").astype(int))
    d[MODEL[:4]] = d[MODEL[:4]].astype(int)
    # R iterated to its own maximum (eps 1e-14), where the federated fit also ends.
    r = run_r(
        "f <- coxph(Surv(time, status) ~ kmt2a_r + age_lt_6m + wbc_ge_300 + poor_prednisone + cd10 + sex"
        " + strata(site), data = d, ties = 'efron', control = coxph.control(eps = 1e-14, iter.max = 100))\n"
        "out <- list(coef = coef(f), se = sqrt(diag(vcov(f))), loglik = f$loglik)",
        d,
    )
    assert_close(message["coef"], r["coef"], rtol=1e-8, what="coefficients")
    assert_close(message["std_err"], r["se"], rtol=1e-8, what="standard errors")
    assert_close([message["loglik_null"], message["loglik"]], r["loglik"], rtol=1e-10, what="log-likelihoods")
    assert message["n"] == len(d) and message["events"] == int(np.sum(d["status"]))
