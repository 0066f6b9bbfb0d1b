"""Stored decisions and randomisation, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
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
from bassinet.registry.store import registry_session
from tests.protocols.registry_data import infant, load, make_key, ready, remission

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

ON = dt.date(2019, 6, 10)  # after the remission assessment of 2019-06-05


def test_an_eligible_patient_is_allocated_and_the_arm_stored(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    result = rnd.randomise(engine, "R1", actor="trial office", key=key, on=ON)
    assert result.arm in rnd.ARMS and result.position == 0
    assert result.stratum == "MR / DCOG" and result.allocated_on == ON
    with registry_session(engine, actor="reader") as session:
        stored = session.scalars(select(m.Patient).where(m.Patient.study_id == "R1")).one()
        assert stored.randomisation_arm is not None and stored.randomisation_arm.value == result.arm
        assert stored.randomisation_date == ON
        allocation = session.scalars(select(m.Allocation)).one()
        decision = session.scalars(select(m.RiskAssignment)).one()
    assert (allocation.decision_id, allocation.protocol_version) == (decision.id, decision.version)
    assert allocation.source == "bassinet"


def _allocations(engine: Engine) -> list[tuple[str, str]]:
    with registry_session(engine, actor="reader") as session:
        return [(a.arm, a.source) for a in session.scalars(select(m.Allocation))]


def test_asking_twice_is_refused_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    first = rnd.randomise(engine, "R1", actor="a", key=key, on=ON)
    with pytest.raises(rnd.NotEligible, match=rf"R1 is not randomised: arm {first.arm} is already on record"):
        rnd.randomise(engine, "R1", actor="b", key=key, on=ON)
    assert _allocations(engine) == [(first.arm, "bassinet")]


def test_a_historical_arm_is_a_recorded_allocation_and_is_not_randomised_again(
    engine: Engine, tmp_path: Path
) -> None:
    key = ready(
        engine, tmp_path, [infant("H1", randomisation_arm="ADE_MAE", randomisation_date="2019-06-08")]
    )
    assert _allocations(engine) == [("ADE_MAE", "recorded")]
    with pytest.raises(
        rnd.NotEligible,
        match=r"H1 is not randomised: arm ADE_MAE is already on record \(recorded, allocated 2019-06-08\)",
    ):
        rnd.randomise(engine, "H1", actor="a", key=key, on=ON)
    assert _allocations(engine) == [("ADE_MAE", "recorded")]
    [row] = rnd.balance(engine, actor="stat", role="unblinded-statistician")
    assert (row.stratum, row.counts) == ("MR / DCOG", {"IB": 0, "ADE_MAE": 1})


def test_a_recorded_arm_takes_no_slot_of_the_sequence(engine: Engine, tmp_path: Path) -> None:
    key = ready(
        engine,
        tmp_path,
        [infant("H1", randomisation_arm="IB", randomisation_date="2019-06-08"), infant("R1"), infant("R2")],
    )
    drawn = [rnd.randomise(engine, s, actor="a", key=key, on=ON) for s in ("R1", "R2")]
    assert [d.position for d in drawn] == [0, 1]
    sequence = rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason="check", positions=2, key=key)
    assert [d.arm for d in drawn] == sequence


@pytest.mark.parametrize(
    ("events", "courses", "on", "message"),
    [
        (
            [{"event_type": "relapse", "event_date": "2019-06-08", "relapse_site": "bone_marrow"}],
            [],
            ON,
            "relapse on 2019-06-08, on or before the request",
        ),
        (
            [{"event_type": "death", "event_date": "2019-06-09", "death_cause": "infection"}],
            [],
            ON,
            "death on 2019-06-09, on or before the request",
        ),
        ([], [{"course": "IB", "start_date": "2019-06-07"}], ON, "course IB started on 2019-06-07"),
        ([], [], dt.date(2019, 6, 1), "is before the remission assessment of 2019-06-05"),
        (
            [],
            [],
            dt.date(2022, 7, 1),
            r"the request \(2022-07-01\) is after the last contact \(2022-06-30\): the registry "
            "does not know the patient's state on that date",
        ),
    ],
)
def test_randomisation_outside_the_window_is_refused_with_the_reason(
    engine: Engine,
    tmp_path: Path,
    events: list[dict[str, str]],
    courses: list[dict[str, str]],
    on: dt.date,
    message: str,
) -> None:
    dead = (
        {"vital_status": "dead", "last_contact_date": "2019-06-09"}
        if any(e["event_type"] == "death" for e in events)
        else {}
    )
    long: dict[str, list[dict[str, str]]] = {}
    if events:
        long["events"] = [{"study_id": "W1", **e} for e in events]
    if courses:
        long["courses"] = [{"study_id": "W1", **c} for c in courses]
    key = ready(engine, tmp_path, [infant("W1", **dead)], **long)
    with pytest.raises(rnd.NotEligible, match=message):
        rnd.randomise(engine, "W1", actor="a", key=key, on=on)
    assert _allocations(engine) == []


def test_a_stale_decision_is_refused_until_stratified_again(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("S1")])
    load(engine, tmp_path / "again", [infant("S1", wbc="350", date_of_birth="2019-01-10")])  # now HR
    with pytest.raises(
        rnd.NotEligible,
        match=r"stored stratification decision \(MR, .*\) is not current.*HR.*"
        r"run `bassinet stratify S1` first",
    ):
        rnd.randomise(engine, "S1", actor="a", key=key, on=ON)
    assert _allocations(engine) == []
    stratify(engine, actor="statistician")
    assert rnd.randomise(engine, "S1", actor="a", key=key, on=ON).stratum == "HR / DCOG"


def test_without_a_stored_decision_randomise_asks_for_stratify(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [infant("S1")])
    key = make_key(engine, tmp_path / "key")
    with pytest.raises(
        rnd.NotEligible, match=r"no stored stratification decision: run `bassinet stratify S1`"
    ):
        rnd.randomise(engine, "S1", actor="a", key=key, on=ON)


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
    key = ready(engine, tmp_path, [infant("X1", **changes)], remissions=[remission("X1", remission_status)])
    with pytest.raises(rnd.NotEligible, match=message):
        rnd.randomise(engine, "X1", actor="a", key=key, on=ON)
    assert _allocations(engine) == []


def test_a_patient_without_a_study_group_is_not_allocated(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("X1", study_group="", original_country="")])
    with pytest.raises(rnd.NotEligible, match="missing: study group"):
        rnd.randomise(engine, "X1", actor="a", key=key, on=ON)


def test_every_allocation_is_audited_with_stratum_arm_and_position(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    result = rnd.randomise(engine, "R1", actor="trial office", key=key, on=ON)
    with registry_session(engine, actor="reader") as session:
        entries = session.scalars(select(m.AuditEntry).where(m.AuditEntry.table_name == "allocation")).all()
    fields = {e.field: e.new_value for e in entries}
    assert fields["stratum"] == "MR / DCOG" and fields["arm"] == result.arm and fields["position"] == "0"
    assert {e.actor for e in entries} == {"trial office"}
    assert {e.reason for e in entries} == {"randomised (interfant-06, stratum MR / DCOG)"}


def test_balance_by_stratum_only_for_the_unblinded_statistician_and_recorded(
    engine: Engine, tmp_path: Path
) -> None:
    key = ready(engine, tmp_path, [infant(f"R{i}") for i in range(6)])
    for i in range(6):
        rnd.randomise(engine, f"R{i}", actor="a", key=key, on=ON)
    [row] = rnd.balance(engine, actor="stat", role="unblinded-statistician")
    assert row.stratum == "MR / DCOG" and sum(row.counts.values()) == 6
    assert abs(row.counts["IB"] - row.counts["ADE_MAE"]) <= 3
    [total] = rnd.balance(engine, actor="office", role="trial-office")
    assert total.stratum == "all strata" and total.counts == row.counts
    with pytest.raises(DataError, match="role 'clinician' may not see the allocation balance"):
        rnd.balance(engine, actor="dr", role="clinician")
    with registry_session(engine, actor="reader") as session:
        views = [(v.actor, v.role, v.detail) for v in session.scalars(select(m.BalanceView))]
    assert views == [("stat", "unblinded-statistician", "by stratum"), ("office", "trial-office", "totals")]


def test_unblinding_needs_a_reason_and_is_recorded(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant(f"R{i}") for i in range(4)])
    arms = [rnd.randomise(engine, f"R{i}", actor="a", key=key, on=ON).arm for i in range(4)]
    with pytest.raises(DataError, match="needs a stated reason"):
        rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason=" ", positions=4, key=key)
    sequence = rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason="safety review", positions=10, key=key)
    assert sequence[:4] == arms and len(sequence) == 10
    with registry_session(engine, actor="reader") as session:
        [record] = session.scalars(select(m.Unblinding)).all()
    assert (record.actor, record.reason, record.positions) == ("dsmb", "safety review", 10)


def test_unblinding_an_unknown_stratum_is_refused(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    with pytest.raises(DataError, match=r"stratum 'MR / NOPE' does not exist; strata: HR / DCOG, MR / DCOG"):
        rnd.unblind(engine, "MR / NOPE", actor="dsmb", reason="look", positions=4, key=key)
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Unblinding)).all() == []


def test_the_public_api_offers_no_way_to_read_the_sequence_but_unblind() -> None:
    public = [n for n in dir(rnd) if not n.startswith("_") and callable(getattr(rnd, n))]
    readers = {n for n in public if getattr(getattr(rnd, n), "__module__", "") == rnd.__name__}
    assert readers == {
        "Assignment",
        "NotEligible",
        "StratumBalance",
        "balance",
        "preview",  # the stratum for a confirmation step: checks only, no key, never an arm
        "randomise",
        "record_arm",
        "strata",
        "stratum_of",
        "unblind",
    }


WORKER = """
import datetime, sys
from bassinet.protocols.randomise import NotEligible, randomise
from bassinet.registry import make_engine
engine = make_engine(sys.argv[1])
try:
    result = randomise(engine, sys.argv[2], actor="worker", key=__import__("pathlib").Path(sys.argv[3]),
                       on=datetime.date(2019, 6, 10))
except NotEligible as exc:
    print("refused", exc)
    sys.exit(1)
print(result.position, result.arm)
"""


def _workers(url: str, key: Path, study_ids: list[str]) -> list[tuple[int, str, str]]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, study_id, str(key)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for study_id in study_ids
    ]
    outputs = [w.communicate(timeout=180) for w in workers]
    return [(w.returncode, o[0], o[1]) for w, o in zip(workers, outputs, strict=True)]


def test_simultaneous_requests_never_receive_the_same_slot(engine: Engine, tmp_path: Path) -> None:
    n = 6
    key = ready(engine, tmp_path, [infant(f"C{i}") for i in range(n)])
    url = engine.url.render_as_string(hide_password=False)
    results = _workers(url, key, [f"C{i}" for i in range(n)])
    assert all(code == 0 for code, _, _ in results), [e[-500:] for _, _, e in results]
    positions = sorted(int(o.split()[0]) for _, o, _ in results)
    assert positions == list(range(n))
    sequence = rnd.unblind(engine, "MR / DCOG", actor="test", reason="verify", positions=n, key=key)
    by_position = {int(o.split()[0]): o.split()[1] for _, o, _ in results}
    assert all(sequence[p] == arm for p, arm in by_position.items())


def test_eight_simultaneous_requests_for_one_patient_allocate_once(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("ONE")])
    url = engine.url.render_as_string(hide_password=False)
    results = _workers(url, key, ["ONE"] * 8)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [1] * 7, [e[-500:] for _, _, e in results]
    refusals = [o for code, o, _ in results if code == 1]
    assert all("ONE is not randomised: arm" in o and "already on record" in o for o in refusals)
    assert len(_allocations(engine)) == 1
