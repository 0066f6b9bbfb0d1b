"""The protocol commands of `bassinet`, in-process on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bassinet.registry import init_registry, make_engine
from tests.protocols.registry_data import infant, load
from tests.test_cli import run


@pytest.fixture
def url(tmp_path: Path) -> str:
    registry = f"sqlite:///{tmp_path / 'p.db'}"
    init_registry(registry)
    engine: Engine = make_engine(registry)
    load(
        engine,
        tmp_path / "in",
        [
            infant("MR1"),
            infant("HR1", date_of_birth="2019-01-10", wbc="412"),
            infant("LR1", kmt2a_status="germline", kmt2a_partner=""),
        ],
    )
    engine.dispose()
    return registry


def test_stratify_all_prints_groups_and_reasons(url: str) -> None:
    code, output, _ = run("stratify", "--all", "--registry", url)
    assert code == 0
    assert "HR1" in output and "HR" in output and "WBC 412 x10^9/L >= 300" in output


def test_stratify_names_the_missing_fact_when_no_group_is_given(url: str, tmp_path: Path) -> None:
    # KMT2A rearranged, under 6 months, WBC < 300, day-8 blasts unknown: criteria hold, yet no group.
    engine = make_engine(url)
    load(engine, tmp_path / "more", [infant("U1", date_of_birth="2019-01-10", wbc="100", day8_blasts="")])
    engine.dispose()
    code, output, _ = run("stratify", "U1", "--registry", url)
    assert code == 0
    line = next(line for line in output.splitlines() if "U1" in line)
    assert "none" in line and "missing day8_blasts" in line


def test_stratify_needs_a_patient_or_all(url: str) -> None:
    assert run("stratify", "--registry", url)[0] == 2


@pytest.fixture
def key(url: str, tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "interfant06.key"
    path.parent.mkdir()
    code, output, _ = run("randomise", "--init-key", str(path), "--registry", url)
    assert code == 0 and "mode 0600" in output
    assert run("stratify", "--all", "--registry", url)[0] == 0
    return path


def test_randomise_then_balance(url: str, key: Path) -> None:
    code, output, _ = run("randomise", "MR1", "--key", str(key), "--on", "2019-06-10", "--registry", url)
    assert code == 0 and "MR1 allocated" in output and "MR / DCOG" in output
    code, output, _ = run("randomise", "--balance", "--role", "unblinded-statistician", "--registry", url)
    assert code == 0 and "MR / DCOG" in output and "this view is recorded" in output
    code, output, _ = run("randomise", "--balance", "--role", "trial-office", "--registry", url)
    assert code == 0 and "all strata" in output and "MR / DCOG" not in output


def test_a_second_randomisation_exits_1_and_says_why(url: str, key: Path) -> None:
    assert run("randomise", "MR1", "--key", str(key), "--on", "2019-06-10", "--registry", url)[0] == 0
    code, _, errors = run("randomise", "MR1", "--key", str(key), "--on", "2019-06-11", "--registry", url)
    assert code == 1 and "MR1 is not randomised: arm" in errors and "a patient is randomised once" in errors


def test_randomising_an_lr_patient_exits_1_with_the_reason(url: str, key: Path) -> None:
    code, _, errors = run("randomise", "LR1", "--key", str(key), "--registry", url)
    assert code == 1
    assert "LR1 is not randomised: risk group LR: LR is not randomised (gets IB)" in errors


def test_unblind_shows_the_sequence_and_says_it_is_recorded(url: str, key: Path) -> None:
    run("randomise", "MR1", "--key", str(key), "--on", "2019-06-10", "--registry", url)
    code, output, _ = run(
        "unblind",
        "--stratum",
        "MR / DCOG",
        "--reason",
        "DSMB review",
        "--positions",
        "4",
        "--key",
        str(key),
        "--registry",
        url,
    )
    assert code == 0 and "this unblinding is recorded" in output
    assert sum(arm in output for arm in ("IB", "ADE_MAE")) >= 1


@pytest.mark.parametrize(
    ("audience", "expected"), [("clinician", "Risk group: HR"), ("family", "Questions to ask your care team")]
)
def test_explain_for_each_audience(url: str, audience: str, expected: str) -> None:
    code, output, _ = run("explain", "HR1", "--for", audience, "--registry", url)
    assert code == 0 and expected in output


def test_explain_as_html(url: str) -> None:
    code, output, _ = run("explain", "HR1", "--for", "family", "--html", "--registry", url)
    assert code == 0 and output.startswith("<!doctype html>")


def test_explain_refuses_an_unknown_audience(url: str) -> None:
    assert run("explain", "HR1", "--for", "press", "--registry", url)[0] == 2


def test_a_key_file_others_can_read_is_a_one_line_error(url: str, key: Path) -> None:
    key.chmod(0o644)
    code, output, errors = run("randomise", "MR1", "--key", str(key), "--on", "2019-06-10", "--registry", url)
    assert code == 1 and output == ""
    assert "has mode 0644: others can read it; it must be 0600" in errors and errors.count("\n") == 1


def test_unblinding_an_unknown_stratum_exits_1(url: str, key: Path) -> None:
    code, _, errors = run(
        "unblind", "--stratum", "LR / DCOG", "--reason", "look", "--key", str(key), "--registry", url
    )
    assert code == 1 and "stratum 'LR / DCOG' does not exist; strata: HR / DCOG, MR / DCOG" in errors
