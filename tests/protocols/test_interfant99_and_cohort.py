"""Interfant-99 and the transplant-cohort categories: case tables at the boundaries."""

from __future__ import annotations

import pytest

from bassinet.errors import ConfigurationError, DataError
from bassinet.protocols import MRD, PROTOCOLS, PatientFacts, get_protocol, interfant99, transplant_cohort


@pytest.mark.parametrize(("blasts", "expected"), [(999.0, "SR"), (1000.0, "HR"), (None, None)])
def test_interfant99_risk_by_prednisone_response(blasts: float | None, expected: str | None) -> None:
    # "risk by prednisone response": poor is >= 1000 blasts/uL on day 8
    assert (
        interfant99.risk_group(PatientFacts("P", leukemia_type="ALL", day8_blasts=blasts)).outcome == expected
    )


def mrd(tp2: float | str | None, tp3: float | str | None) -> PatientFacts:
    results = []
    for point, value in (("end_of_induction", tp2), ("end_of_consolidation", tp3)):
        if value is None:
            continue
        if isinstance(value, str):
            results.append(MRD(point, value))  # type: ignore[arg-type]
        else:
            results.append(MRD(point, "quantified", value))  # type: ignore[arg-type]
    return PatientFacts("P", leukemia_type="ALL", mrd=tuple(results))


@pytest.mark.parametrize(
    ("tp2", "tp3", "expected"),
    [
        (1e-2, 1e-4, "HR"),  # ">= 1e-4 at TP3 high risk"
        (1e-2, 9.99e-5, "MR"),
        (9.99e-5, 9.99e-5, "LR"),  # "< 1e-4 at both low risk"
        ("negative", "negative", "LR"),
        (1e-4, "negative", "MR"),
        (None, 1e-3, "HR"),
        (None, 1e-5, None),  # TP2 unknown: LR or MR cannot be told apart
        ("positive_nq", 1e-5, None),
    ],
)
def test_interfant99_mrd_risk_case_table(tp2: object, tp3: object, expected: str | None) -> None:
    assert interfant99.mrd_risk_group(mrd(tp2, tp3)).outcome == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"), [("CR1", "CR1"), ("CR2+", "CR2+"), ("NR", "NR"), (None, None)]
)
def test_pre_transplant_status_categories(status: str | None, expected: str | None) -> None:
    assert transplant_cohort.pre_transplant_status(status).outcome == expected


def test_an_unknown_pre_transplant_status_is_refused() -> None:
    with pytest.raises(DataError, match="remission status is 'CR3'"):
        transplant_cohort.pre_transplant_status("CR3")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (MRD("pre_transplant", "negative", None, "FCM"), "negative (FCM)"),
        (MRD("pre_transplant", "quantified", 1e-5, "PCR"), "positive (PCR)"),
        (MRD("pre_transplant", "quantified", 0.0, "FCM"), "negative (FCM)"),
        (MRD("pre_transplant", "positive_nq", None, "PCR"), "positive (PCR)"),
    ],
)
def test_mrd_status_before_transplant_by_method(result: MRD, expected: str) -> None:
    assert transplant_cohort.mrd_status(result).outcome == expected


def test_protocols_are_found_by_name() -> None:
    assert set(PROTOCOLS) == {"interfant-06", "interfant-99"}
    assert get_protocol("interfant-06").NAME == "interfant-06"
    with pytest.raises(
        ConfigurationError, match="no protocol called 'interfant-07'; protocols: interfant-06"
    ):
        get_protocol("interfant-07")


def test_the_rules_import_neither_sqlalchemy_nor_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bassinet.protocols.interfant06, bassinet.protocols.interfant99, "
        "bassinet.protocols.transplant_cohort; "
        "print([m for m in ('sqlalchemy', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
