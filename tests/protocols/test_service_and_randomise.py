"""Stored decisions and randomisation, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bassinet.errors import DataError, RegistryError
from bassinet.protocols import randomise as rnd
from bassinet.protocols.service import stratify
from bassinet.registry import models as m
from bassinet.registry.frames import TABLES
from bassinet.registry.store import registry_session
from tests.protocols.registry_data import infant, load, remission

# -- stored decisions --------------------------------------------------------------------------------


def test_stratify_stores_each_group_with_its_reasons(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        tmp_path,
        [
            infant("MR1"),
            infant("LR1", kmt2a_status="germline", kmt2a_partner=""),
            infant("AML1", leukemia_type="AML"),
        ],
    )
    results = {r.study_id: r for r in stratify(engine, actor="statistician")}
    assert {s: r.decision.outcome for s, r in results.items()} == {"MR1": "MR", "LR1": "LR", "AML1": None}
    assert {r.change for r in results.values()} == {"new"}
    with registry_session(engine, actor="reader") as session:
        stored = {a.patient_id: a for a in session.scalars(select(m.RiskAssignment))}
        assert len(stored) == 3
        mr = next(a for a in stored.values() if a.risk_group == "MR")
        assert "KMT2A rearranged (AFF1)" in [c["text"] for c in mr.decision["criteria"]]


def test_a_changed_group_is_updated_and_audited(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "a", [infant("P1", date_of_birth="2019-01-10")])  # under 6 months, WBC 100
    assert stratify(engine, actor="s")[0].decision.outcome == "MR"
    assert stratify(engine, actor="s")[0].change == "unchanged"
    load(engine, tmp_path / "b", [infant("P1", date_of_birth="2019-01-10", wbc="350")])
    [result] = stratify(engine, actor="second run")
    assert (result.change, result.previous_group, result.decision.outcome) == ("changed", "MR", "HR")
    with registry_session(engine, actor="reader") as session:
        entries = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.table_name == "risk_assignment",
                m.AuditEntry.field == "risk_group",
                m.AuditEntry.action == "update",
            )
        ).all()
    assert [(e.old_value, e.new_value, e.actor) for e in entries] == [("MR", "HR", "second run")]


def test_stratifying_an_unknown_patient_is_refused(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("P1")])
    with pytest.raises(RegistryError, match="no patient with study ID 'NOPE'"):
        stratify(engine, actor="s", study_ids=["NOPE"])


# -- randomisation ---------------------------------------------------------------------------------


def test_an_eligible_patient_is_allocated_and_the_arm_stored(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("R1")])
    result = rnd.randomise(engine, "R1", actor="trial office")
    assert result.arm in rnd.ARMS and result.position == 0 and result.new
    assert result.stratum == "MR / DCOG"
    with registry_session(engine, actor="reader") as session:
        stored = session.scalars(select(m.Patient).where(m.Patient.study_id == "R1")).one()
        assert stored.randomisation_arm is not None and stored.randomisation_arm.value == result.arm


def test_asking_twice_returns_the_same_arm(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("R1")])
    first = rnd.randomise(engine, "R1", actor="a")
    second = rnd.randomise(engine, "R1", actor="b")
    assert (second.arm, second.position, second.new) == (first.arm, first.position, False)


@pytest.mark.parametrize(
    ("changes", "remission_status", "message"),
    [
        ({"kmt2a_status": "germline", "kmt2a_partner": ""}, "CR", "risk group LR: LR is not randomised"),
        ({}, "no_CR", "not in complete remission after induction"),
        ({"kmt2a_status": "unknown", "kmt2a_partner": ""}, "CR", "risk group not known"),
        ({"leukemia_type": "AML"}, "CR", "risk group not known"),
    ],
)
def test_an_ineligible_patient_gets_the_reason_never_an_arm(
    engine: Engine, tmp_path: Path, changes: dict[str, str], remission_status: str, message: str
) -> None:
    load(engine, tmp_path, [infant("X1", **changes)], [remission("X1", remission_status)])
    with pytest.raises(rnd.NotEligible, match=message):
        rnd.randomise(engine, "X1", actor="a")
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Allocation)).all() == []


def test_a_patient_without_a_study_group_is_not_allocated(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("X1", study_group="", original_country="")])
    with pytest.raises(rnd.NotEligible, match="missing: study group"):
        rnd.randomise(engine, "X1", actor="a")


def test_every_allocation_is_audited_with_stratum_arm_and_position(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("R1")])
    result = rnd.randomise(engine, "R1", actor="trial office")
    with registry_session(engine, actor="reader") as session:
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.table_name == "allocation")).all()
    fields = {e.field: e.new_value for e in entries}
    assert fields["stratum"] == "MR / DCOG" and fields["arm"] == result.arm and fields["position"] == "0"
    assert {e.actor for e in entries} == {"trial office"}


def test_the_secret_is_never_exported_or_audited(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("R1")])
    rnd.randomise(engine, "R1", actor="a")
    with registry_session(engine, actor="reader") as session:
        secret = session.scalars(select(m.RandomisationKey.secret)).one()
        audited = session.scalars(select(m.AuditEntry.new_value)).all()
    assert secret not in audited
    assert "randomisation_key" not in {t.name for t in TABLES.values()}


def test_balance_shows_counts_per_stratum(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant(f"R{i}") for i in range(6)])
    for i in range(6):
        rnd.randomise(engine, f"R{i}", actor="a")
    [row] = rnd.balance(engine)
    assert row.stratum == "MR / DCOG" and sum(row.counts.values()) == 6
    assert abs(row.counts["IB"] - row.counts["ADE_MAE"]) <= 3


def test_unblinding_needs_a_reason_and_is_recorded(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant(f"R{i}") for i in range(4)])
    arms = [rnd.randomise(engine, f"R{i}", actor="a").arm for i in range(4)]
    with pytest.raises(DataError, match="needs a stated reason"):
        rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason=" ", positions=4)
    sequence = rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason="safety review", positions=10)
    assert sequence[:4] == arms and len(sequence) == 10
    with registry_session(engine, actor="reader") as session:
        [record] = session.scalars(select(m.Unblinding)).all()
    assert (record.actor, record.reason, record.positions) == ("dsmb", "safety review", 10)


def test_the_public_api_offers_no_way_to_read_the_sequence_but_unblind() -> None:
    public = [n for n in dir(rnd) if not n.startswith("_") and callable(getattr(rnd, n))]
    readers = {n for n in public if getattr(getattr(rnd, n), "__module__", "") == rnd.__name__}
    assert readers == {"Assignment", "NotEligible", "StratumBalance", "balance", "randomise", "unblind"}


WORKER = """
import sys
from bassinet.protocols.randomise import randomise
from bassinet.registry import make_engine
engine = make_engine(sys.argv[1])
result = randomise(engine, sys.argv[2], actor="worker")
print(result.position, result.arm)
"""


def test_simultaneous_requests_never_receive_the_same_slot(engine: Engine, tmp_path: Path) -> None:
    n = 8
    load(engine, tmp_path, [infant(f"C{i}") for i in range(n)])
    url = engine.url.render_as_string(hide_password=False)
    rnd.randomise(engine, "C0", actor="first")  # creates the secret
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, f"C{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for i in range(1, n)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-500:] for o in outputs]
    positions = sorted(int(o[0].split()[0]) for o in outputs)
    assert positions == list(range(1, n))
    sequence = rnd.unblind(engine, "MR / DCOG", actor="test", reason="verify", positions=n)
    by_position = {int(o[0].split()[0]): o[0].split()[1] for o in outputs}
    assert all(sequence[p] == arm for p, arm in by_position.items())
