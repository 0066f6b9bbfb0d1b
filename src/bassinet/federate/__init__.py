"""Pooled analysis without pooling patients: exact survival statistics from count tables and rounds.

Each site runs the plan on its own registry and sends count tables (:func:`summarise`);
the coordinator checks the files and pools them (:func:`combine`) into Kaplan–Meier,
Aalen–Johansen, log-rank and Gray results equal to the analysis of the pooled rows. A
Cox model is fitted over rounds (:func:`start_cox`, :func:`answer_cox_round`,
:func:`step_cox`), over files or HTTP (:func:`make_server`, :func:`run_cox_over_http`).
Messages are JSON with a content hash (:func:`write_message`, :func:`read_message`);
the pooled report (:func:`pooled_report`, :func:`write_pooled_report`) is the plan's
:class:`bassinet.plans.PlanResult`, written by :mod:`bassinet.report` as the central one.
docs/federated.md describes the protocol and what each message discloses.
"""

from bassinet.federate._cox import (
    ANSWER,
    RESULT,
    ROUND,
    answer_cox_round,
    check_answers,
    start_cox,
    step_cox,
)
from bassinet.federate._http import fetch_summary, make_server, run_cox_over_http
from bassinet.federate._messages import read_message, write_message
from bassinet.federate._plan import Disclosure, FederatedPlan, load_federated_plan
from bassinet.federate._pooled import (
    PooledAnalysis,
    PooledEstimate,
    PooledGroup,
    PooledResult,
    PooledTest,
    check_site_files,
    combine,
    pool,
)
from bassinet.federate._report import pooled_report, write_pooled_report
from bassinet.federate._result import pooled_plan_result
from bassinet.federate._site import SUMMARY, AnalysisRows, analysis_rows, merge_small_cells, summarise

__all__ = [
    "ANSWER",
    "RESULT",
    "ROUND",
    "SUMMARY",
    "AnalysisRows",
    "Disclosure",
    "FederatedPlan",
    "PooledAnalysis",
    "PooledEstimate",
    "PooledGroup",
    "PooledResult",
    "PooledTest",
    "analysis_rows",
    "answer_cox_round",
    "check_answers",
    "check_site_files",
    "combine",
    "fetch_summary",
    "load_federated_plan",
    "make_server",
    "merge_small_cells",
    "pool",
    "pooled_plan_result",
    "pooled_report",
    "read_message",
    "run_cox_over_http",
    "start_cox",
    "step_cox",
    "summarise",
    "write_message",
    "write_pooled_report",
]
