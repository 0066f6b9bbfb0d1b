"""Pooled analysis without pooling patients: exact survival statistics from count tables and rounds.

Each site runs the plan on its own registry and sends count tables (:func:`summarise`);
the coordinator checks the files and pools them (:func:`combine`) into Kaplan–Meier,
Aalen–Johansen, log-rank and Gray results equal to the analysis of the pooled rows. A
Cox model is fitted over rounds (:func:`start_cox`, :func:`answer_cox_round`,
:func:`step_cox`), over files or HTTP (:func:`serve`, :func:`run_cox_over_http`).
docs/federated.md describes the protocol and what each message discloses.
"""

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
from bassinet.federate._site import AnalysisRows, analysis_rows, merge_small_cells, summarise

__all__ = [
    "AnalysisRows",
    "Disclosure",
    "FederatedPlan",
    "PooledAnalysis",
    "PooledEstimate",
    "PooledGroup",
    "PooledResult",
    "PooledTest",
    "analysis_rows",
    "check_site_files",
    "combine",
    "load_federated_plan",
    "merge_small_cells",
    "pool",
    "read_message",
    "summarise",
    "write_message",
]
