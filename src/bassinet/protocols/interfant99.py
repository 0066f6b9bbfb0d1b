"""Interfant-99 (the predecessor, used as historical control): risk by prednisone response and MRD.

Rules (../shared/docs/domain.md): risk by the prednisone response (poor: >= 1000
blasts/uL on day 8 after the prednisone prephase); MRD at the end of induction (TP2)
and at the end of consolidation (TP3): MRD >= 1e-4 at TP3 is high risk, MRD < 1e-4 at
both time points low risk, and anything else intermediate.
"""

from __future__ import annotations

from bassinet.protocols.decisions import Criterion, Decision
from bassinet.protocols.facts import PatientFacts

NAME = "interfant-99"
VERSION = "Interfant-99 (1999)"
POOR_PREDNISONE_BLASTS = 1000.0
MRD_THRESHOLD = 1e-4


def risk_group(facts: PatientFacts) -> Decision:
    """Risk by prednisone response: HR (poor response) or SR (good response)."""
    question = "risk group"
    if facts.leukemia_type == "AML":
        return Decision(
            NAME,
            VERSION,
            question,
            None,
            (Criterion("leukemia", "AML: Interfant-99 stratifies ALL", False),),
            notes=("Interfant-99 is a protocol for ALL",),
        )
    if facts.day8_blasts is None:
        return Decision(
            NAME,
            VERSION,
            question,
            None,
            (Criterion("prednisone", "day-8 blast count unknown", None),),
            missing=("day8_blasts",),
        )
    poor = facts.day8_blasts >= POOR_PREDNISONE_BLASTS
    text = (
        f"day-8 blasts {facts.day8_blasts:g}/uL {'>=' if poor else '<'} {POOR_PREDNISONE_BLASTS:g}: "
        f"{'poor' if poor else 'good'} prednisone response"
    )
    return Decision(NAME, VERSION, question, "HR" if poor else "SR", (Criterion("prednisone", text, poor),))


def mrd_risk_group(facts: PatientFacts) -> Decision:
    """MRD risk: HR if MRD >= 1e-4 at TP3; LR if < 1e-4 at TP2 and TP3; otherwise MR."""
    question = "MRD risk group"
    tp2, tp3 = facts.mrd_at("end_of_induction"), facts.mrd_at("end_of_consolidation")
    criteria = []
    tp3_high = None if tp3 is None else tp3.at_least(MRD_THRESHOLD)
    tp2_high = None if tp2 is None else tp2.at_least(MRD_THRESHOLD)
    for label, result, high in (
        ("TP2 (end of induction)", tp2, tp2_high),
        ("TP3 (end of consolidation)", tp3, tp3_high),
    ):
        if result is None:
            criteria.append(Criterion(label, f"MRD at {label} unknown", None))
        elif high is None:
            criteria.append(
                Criterion(label, f"{result.describe()} at {label}: not comparable with 1e-4", None)
            )
        else:
            criteria.append(
                Criterion(label, f"{result.describe()} at {label} {'>=' if high else '<'} 1e-4", high)
            )
    if tp3_high:
        return Decision(NAME, VERSION, question, "HR", tuple(criteria))
    if tp3_high is False and tp2_high is False:
        return Decision(NAME, VERSION, question, "LR", tuple(criteria))
    if tp3_high is False and tp2_high:
        return Decision(NAME, VERSION, question, "MR", tuple(criteria))
    missing = tuple(c.name for c in criteria if c.met is None)
    return Decision(NAME, VERSION, question, None, tuple(criteria), missing=missing)
