"""The categories of the 126-infant allo-HSCT cohort (../shared/seeds/000_c0cc4482fbbb1783.txt).

Remission status before transplant (CR1, CR2 or later, no remission) is recorded with
the transplant; MRD status before transplant is positive (any detectable residual
disease: a quantified fraction > 0, or positive but not quantifiable) or negative, by
method (flow cytometry or PCR), as the study reports its subgroups.
"""

from __future__ import annotations

from bassinet.protocols.decisions import Criterion, Decision
from bassinet.protocols.facts import MRD

NAME = "hsct-infants"
VERSION = "allo-HSCT infant cohort (2013-2024)"
STATUS_LABELS = {
    "CR1": "first complete remission (CR1)",
    "CR2+": "second or later remission (CR2 or later)",
    "NR": "no remission (NR)",
}


def pre_transplant_status(status: str | None) -> Decision:
    """The remission-status category before transplant."""
    if status is None:
        return Decision(NAME, VERSION, "remission before transplant", None, missing=("remission_status",))
    label = STATUS_LABELS.get(status)
    if label is None:
        from bassinet.errors import DataError

        raise DataError(f"remission status is {status!r}: one of {', '.join(STATUS_LABELS)}")
    return Decision(
        NAME,
        VERSION,
        "remission before transplant",
        status,
        (Criterion("remission", f"before transplant in {label}", True),),
    )


def mrd_status(mrd: MRD | None) -> Decision:
    """MRD before transplant as positive or negative, with the method."""
    question = "MRD before transplant"
    if mrd is None:
        return Decision(NAME, VERSION, question, None, missing=("MRD before transplant",))
    positive = mrd.result == "positive_nq" or (mrd.result == "quantified" and (mrd.value or 0) > 0)
    method = mrd.method or "unknown method"
    outcome = f"{'positive' if positive else 'negative'} ({method})"
    return Decision(NAME, VERSION, question, outcome, (Criterion("mrd", mrd.describe(), positive),))
