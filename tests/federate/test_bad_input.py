"""Files that cannot be pooled are refused, each with its reason, and nothing is computed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.errors import DataError
from bassinet.federate import FederatedPlan, analysis_rows, combine, summarise
from bassinet.federate._cox import answer_cox_round, start_cox, step_cox
from bassinet.federate._messages import Message, dumps, seal

COX = "dfs_multivariable"
MODEL = ["kmt2a_r", "age_lt_6m", "wbc_ge_300", "poor_prednisone", "cd10", "sex"]


def wire(message: Message) -> Message:
    parsed: Message = json.loads(dumps(message))
    return parsed


@pytest.fixture(scope="module")
def small_sites(interfant: ClinicalRecords) -> dict[str, ClinicalRecords]:
    ids = interfant.patients["study_id"].to_numpy()
    return {"A": interfant.subset(ids[:60]), "B": interfant.subset(ids[60:130])}


@pytest.fixture(scope="module")
def files(day_plan: FederatedPlan, small_sites: dict[str, ClinicalRecords]) -> dict[str, Message]:
    return {name: wire(summarise(day_plan, r, name)[0]) for name, r in small_sites.items()}


def test_two_good_files_are_pooled(files: dict[str, Message]) -> None:
    result = combine([("a.json", files["A"]), ("b.json", files["B"])])
    assert result.sites == ("A", "B")
    assert next(a for a in result.analyses if a.id == "os_all").n == 130


def test_files_from_different_plans_are_refused(
    make_plan: Callable[..., FederatedPlan],
    small_sites: dict[str, ClinicalRecords],
    files: dict[str, Message],
) -> None:
    other = wire(summarise(make_plan(min_cell=2), small_sites["B"], "B")[0])
    with pytest.raises(DataError, match=r"^b\.json: plan hash \w+ differs from \w+ in a\.json"):
        combine([("a.json", files["A"]), ("b.json", other)])


def test_the_odd_plan_out_is_blamed_with_the_line_that_differs(
    make_plan: Callable[..., FederatedPlan],
    small_sites: dict[str, ClinicalRecords],
    files: dict[str, Message],
) -> None:
    # Tried as a user: with the odd file first, every other site was blamed
    # ("COALL.json: plan hash ... differs from ... in DCOG-other.json") and nothing said
    # what differs between the plans.
    other = wire(summarise(make_plan(min_cell=2), small_sites["B"], "C")[0])
    with pytest.raises(
        DataError,
        match=r"^c\.json: plan hash \w+ differs from \w+ in a\.json "
        r"\(plan line \d+: 'min_cell: 2' here, 'min_cell: 1' there\)",
    ):
        combine([("c.json", other), ("a.json", files["A"]), ("b.json", files["B"])])


def test_files_from_different_versions_are_refused(files: dict[str, Message]) -> None:
    older = seal({**files["B"], "version": "0.0.1"})
    with pytest.raises(DataError, match=r"^b\.json: Bassinet version 0\.0\.1 differs from .* in a\.json"):
        combine([("a.json", files["A"]), ("b.json", older)])


def test_a_tampered_file_is_refused(files: dict[str, Message]) -> None:
    changed = copy.deepcopy(files["B"])
    table = next(e for e in changed["analyses"] if e["id"] == "os_all")["groups"][0]
    table["censored"][-1] += 1
    with pytest.raises(DataError, match=r"^b\.json: content hash mismatch \(file says \w+, content is \w+\)"):
        combine([("a.json", files["A"]), ("b.json", changed)])


def test_a_resealed_table_whose_counts_do_not_add_up_is_refused(files: dict[str, Message]) -> None:
    changed = copy.deepcopy(files["B"])
    table = next(e for e in changed["analyses"] if e["id"] == "os_all")["groups"][0]
    table["censored"][-1] += 1
    with pytest.raises(
        DataError, match=r"site 'B', analysis os_all, group 'all': the numbers at risk do not add up"
    ):
        combine([("a.json", files["A"]), ("b.json", seal(changed))])


def test_a_negative_count_is_refused(files: dict[str, Message]) -> None:
    changed = copy.deepcopy(files["B"])
    table = next(e for e in changed["analyses"] if e["id"] == "os_all")["groups"][0]
    table["events"][0][0] = -1
    with pytest.raises(DataError, match="a count is negative"):
        combine([("a.json", files["A"]), ("b.json", seal(changed))])


def test_a_time_edited_to_nan_is_refused_with_a_message_not_a_traceback(files: dict[str, Message]) -> None:
    # Python's json reads NaN; hashing it again raised "Out of range float values are not
    # JSON compliant" as a traceback at the coordinator.
    changed = copy.deepcopy(files["B"])
    next(e for e in changed["analyses"] if e["id"] == "os_all")["groups"][0]["time"][0] = float("nan")
    with pytest.raises(DataError, match=r"^b\.json: holds NaN or Infinity, which JSON does not allow"):
        combine([("a.json", files["A"]), ("b.json", changed)])


@pytest.mark.parametrize("value", [6.5, "6", True])
def test_a_count_that_is_not_a_whole_number_is_refused(files: dict[str, Message], value: object) -> None:
    # 6.5 was truncated to 6 and "6" read as 6, silently, when resealed by hand.
    changed = copy.deepcopy(files["B"])
    table = next(e for e in changed["analyses"] if e["id"] == "os_all")["groups"][0]
    table["events"][0][0] = value
    with pytest.raises(
        DataError,
        match=rf"^site 'B', analysis os_all, group 'all': 'events' holds {value!r}: a count is a whole",
    ):
        combine([("a.json", files["A"]), ("b.json", seal(changed))])


def test_a_site_given_twice_is_refused(files: dict[str, Message]) -> None:
    with pytest.raises(
        DataError, match=r"^copy\.json: site 'A' is already given by a\.json: a site counts once"
    ):
        combine([("a.json", files["A"]), ("b.json", files["B"]), ("copy.json", files["A"])])


def test_a_message_of_another_kind_and_no_file_are_refused(files: dict[str, Message]) -> None:
    with pytest.raises(DataError, match=r"^r\.json: is a 'bassinet-federate-cox-round' message"):
        combine([("r.json", {**files["A"], "kind": "bassinet-federate-cox-round"})])
    with pytest.raises(DataError, match="no site file given"):
        combine([])


@pytest.fixture(scope="module")
def first_round(day_plan: FederatedPlan, files: dict[str, Message]) -> Message:
    return wire(start_cox(day_plan, COX, list(files.values())))


@pytest.fixture(scope="module")
def answers(
    day_plan: FederatedPlan, small_sites: dict[str, ClinicalRecords], first_round: Message
) -> dict[str, Message]:
    return {name: wire(answer_cox_round(day_plan, r, name, first_round)) for name, r in small_sites.items()}


def test_a_cox_round_with_every_answer_moves_on(first_round: Message, answers: dict[str, Message]) -> None:
    nxt = step_cox(first_round, list(answers.items()))
    assert nxt["round"] == 2 and np.any(np.array(nxt["beta"]) != 0)


def test_a_cox_round_missing_a_site_is_refused(first_round: Message, answers: dict[str, Message]) -> None:
    with pytest.raises(
        DataError, match="round 1: no answer from site 'B': every site must answer every round"
    ):
        step_cox(first_round, [("a.json", answers["A"])])


def test_a_site_answering_twice_is_refused(first_round: Message, answers: dict[str, Message]) -> None:
    with pytest.raises(DataError, match=r"^a2\.json: site 'A' answered twice"):
        step_cox(first_round, [("a.json", answers["A"]), ("b.json", answers["B"]), ("a2.json", answers["A"])])


def test_an_answer_to_another_round_is_refused(first_round: Message, answers: dict[str, Message]) -> None:
    stale = seal({**answers["B"], "round": 7})
    with pytest.raises(DataError, match=r"^b\.json: round 7 is not the round's \(1\)"):
        step_cox(first_round, [("a.json", answers["A"]), ("b.json", stale)])


def test_an_answer_from_an_unknown_site_is_refused(first_round: Message, answers: dict[str, Message]) -> None:
    stranger = seal({**answers["B"], "site": "C"})
    with pytest.raises(DataError, match=r"^c\.json: site 'C' is not one of the round's sites \['A', 'B'\]"):
        step_cox(first_round, [("a.json", answers["A"]), ("c.json", stranger)])


def test_a_tampered_round_is_refused_by_the_site(
    day_plan: FederatedPlan, small_sites: dict[str, ClinicalRecords], first_round: Message
) -> None:
    changed = {**first_round, "beta": [1.0] * len(first_round["beta"])}
    with pytest.raises(DataError, match=r"^round\.json: content hash mismatch"):
        answer_cox_round(day_plan, small_sites["A"], "A", changed, "round.json")


def test_a_site_not_in_the_round_refuses_to_answer(
    day_plan: FederatedPlan, small_sites: dict[str, ClinicalRecords], first_round: Message
) -> None:
    with pytest.raises(DataError, match=r"site 'Z' is not one of the round's sites"):
        answer_cox_round(day_plan, small_sites["A"], "Z", first_round)


def _unrefused(summary: Message, fplan: FederatedPlan, site: ClinicalRecords) -> Message:
    """The summary as if the site had not refused the Cox analysis (a round made by hand)."""
    frame = analysis_rows(fplan, site, COX).frame[MODEL].dropna()
    levels = {n: sorted(frame[n].astype(str).unique()) for n in MODEL if not set(frame[n]) <= {True, False}}
    entries = [e if e["id"] != COX else {"id": COX, "cox_levels": levels} for e in summary["analyses"]]
    return {**summary, "analyses": entries}


def test_a_site_with_fewer_complete_cases_than_min_group_refuses_the_model_and_the_round(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(min_group=200)
    site = interfant.subset(interfant.patients["study_id"].iloc[:100])
    summary = wire(summarise(fplan, site, "A")[0])
    # cox-start said nothing of the refusal: the sites learnt it only at their first answer
    with pytest.raises(
        DataError,
        match=r"^site 'A' refused analysis dfs_multivariable: fewer than min_group=200 patients with every "
        r"model variable known; start the rounds without that site's file",
    ):
        start_cox(fplan, COX, [summary])
    round_message = wire(start_cox(fplan, COX, [_unrefused(summary, fplan, site)]))
    with pytest.raises(
        DataError, match=r"analysis dfs_multivariable: refused: \d+ complete cases, fewer than min_group=200"
    ):
        answer_cox_round(fplan, site, "A", round_message)


def test_a_site_whose_cox_rows_stay_below_min_cell_refuses_the_round(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(min_cell=1000)
    site = interfant.subset(interfant.patients["study_id"].iloc[:100])
    summary = wire(summarise(fplan, site, "A")[0])
    round_message = wire(start_cox(fplan, COX, [_unrefused(summary, fplan, site)]))
    with pytest.raises(
        DataError,
        match=r"analysis dfs_multivariable: refused: a count of deaths or censorings below min_cell=1000",
    ):
        answer_cox_round(fplan, site, "A", round_message)


def test_a_rare_value_of_a_model_variable_refuses_the_model_without_naming_the_value(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    # cox_levels listed every level a site had: a level of one patient left the site by its name
    site = interfant.subset(interfant.patients["study_id"].iloc[:100])
    rows = analysis_rows(make_plan(), site, COX).frame
    counts = {name: rows[name].dropna().astype(str).value_counts() for name in MODEL}
    rarest = min(int(c.min()) for c in counts.values())
    fplan = make_plan(min_cell=rarest + 1)
    message, notes = summarise(fplan, site, "A")
    entry = next(e for e in message["analyses"] if e["id"] == COX)
    assert set(entry) == {"id", "refused"}
    assert entry["refused"].startswith("variable '")
    assert f"a value held by fewer than min_cell={rarest + 1} patients" in entry["refused"]
    assert any(n.startswith(f"{COX}: refused: variable '") for n in notes)
    allowed = wire(summarise(make_plan(min_cell=rarest), site, "A")[0])
    assert "cox_levels" in next(e for e in allowed["analyses"] if e["id"] == COX)


def test_a_round_whose_coefficients_overflow_is_refused_with_the_reason(
    day_plan: FederatedPlan, small_sites: dict[str, ClinicalRecords], first_round: Message
) -> None:
    huge = seal({**first_round, "beta": [800.0] * len(first_round["beta"])})
    with pytest.raises(DataError, match=r"^round: exp\(x'b\) overflows at the round's coefficients"):
        answer_cox_round(day_plan, small_sites["A"], "A", huge)


def test_a_step_on_the_wrong_kind_of_file_names_that_file(files: dict[str, Message]) -> None:
    # cox-step said "round: is a 'bassinet-federate-cox-result' message", not the file's name
    with pytest.raises(DataError, match=r"^round-6\.json: is a 'bassinet-federate-summary' message"):
        step_cox(files["A"], [], source="round-6.json")
