"""The checks of an actor's scope, counted per centre; the ``bassinet quality check`` command.

The access tests' world (Rotterdam, Utrecht, Monza; two infants each, entered on the day of
diagnosis with only the fields the import requires), on each store. Each infant lacks six
fields due by now (wbc, CNS status, immunophenotype, CD10, KMT2A partner, day-8 count): six
errors. ROT-1 also has a relapse without a remission before it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bassinet.access.policy import POLICY, Actor, Permission
from bassinet.application import local_operator
from bassinet.application.quality import CentreQuality, check_scope
from bassinet.cli import app
from bassinet.errors import AccessDenied
from bassinet.quality import parse_rules
from bassinet.registry import models as m
from bassinet.registry import registry_session
from tests.access.conftest import World, build_world

EXACTLY_A_YEAR = dt.date(2022, 1, 1)  # last contact 2021-01-01
A_YEAR_AND_A_DAY = dt.date(2022, 1, 2)


@pytest.fixture
def world(engine: Engine) -> World:
    built = build_world(engine)
    with registry_session(engine, actor="test setup") as session:
        rot1 = session.query(m.Patient).filter_by(study_id="ROT-1").one()
        session.add(
            m.Event(patient=rot1, event_type="relapse", event_date=dt.date(2020, 6, 1), relapse_site="CNS")
        )
    return built


def data_manager_of(world: World, centre: str) -> Actor:
    role = m.Role.DATA_MANAGER
    grant = Permission(role, m.ScopeKind.CENTRE, centre, frozenset({world.centre_ids[centre]}), POLICY[role])
    return Actor(user_id=5, username=f"dm-{centre}", permissions=(grant,))


def test_the_whole_study_is_counted_per_centre(world: World) -> None:
    report = check_scope(local_operator("qa"), world.engine, as_of=EXACTLY_A_YEAR)
    assert report.patients == 6
    assert report.centres == (
        CentreQuality("Monza", 2, 2, 12, 0),
        CentreQuality("Rotterdam", 2, 2, 13, 0),
        CentreQuality("Utrecht", 2, 2, 12, 0),
    )
    assert report.by_check() == {"required": 36, "relapse_without_remission": 1}
    (relapse,) = [f for f in report.findings if f.check == "relapse_without_remission"]
    assert (relapse.study_id, relapse.centre, relapse.field) == ("ROT-1", "Rotterdam", "event_date")
    assert relapse.record.startswith("events:")


def test_a_year_and_a_day_without_contact_warns_for_every_infant(world: World) -> None:
    report = check_scope(local_operator("qa"), world.engine, as_of=A_YEAR_AND_A_DAY)
    assert report.warnings == 6
    assert {f.study_id for f in report.findings if f.check == "no_contact"} == {
        "ROT-1",
        "ROT-2",
        "UTR-1",
        "UTR-2",
        "MON-1",
        "MON-2",
    }


def test_a_data_manager_sees_only_their_centre(world: World) -> None:
    report = check_scope(data_manager_of(world, "Utrecht"), world.engine, as_of=EXACTLY_A_YEAR)
    assert [c.centre for c in report.centres] == ["Utrecht"]
    assert {f.study_id for f in report.findings} == {"UTR-1", "UTR-2"}


def test_naming_a_centre_outside_the_scope_gives_no_patient(world: World) -> None:
    report = check_scope(
        data_manager_of(world, "Utrecht"), world.engine, as_of=EXACTLY_A_YEAR, centre="Monza"
    )
    assert report.patients == 0
    assert report.findings == ()


def test_an_administrator_without_patient_access_is_refused(world: World) -> None:
    role = m.Role.ADMINISTRATOR
    admin = Actor(1, "admin", (Permission(role, m.ScopeKind.STUDY, "", None, POLICY[role]),))
    with pytest.raises(AccessDenied, match="admin may not read_patients"):
        check_scope(admin, world.engine)


def test_study_rules_run_on_the_scope(world: World) -> None:
    rules = parse_rules(
        "rules:\n- {id: rotterdam_relapse, when: 'centre == \"Rotterdam\" and events.length > 0',"
        " field: events, severity: warning, message: a relapse at Rotterdam}\n"
    )
    report = check_scope(local_operator("qa"), world.engine, as_of=EXACTLY_A_YEAR, rules=rules)
    assert report.rules == ("rotterdam_relapse",)
    assert [(f.study_id, f.check) for f in report.findings if f.severity == "warning"] == [
        ("ROT-1", "rotterdam_relapse")
    ]


runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250", "BASSINET_USER": "cli-test"})
    return result.exit_code, result.stdout, result.stderr


def test_the_command_prints_counts_per_centre_and_the_findings(
    world: World, registry_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n- {id: no_wbc, when: 'wbc == null', field: wbc, severity: warning, message: no WBC yet}\n"
    )
    code, out, _ = cli("quality", "check", "-r", registry_url, "--as-of", "2022-01-02", "--rules", str(rules))
    assert code == 0
    assert (
        "data quality as of 2022-01-02: 6 patient(s), 37 error(s), 12 warning(s); study rules: no_wbc" in out
    )
    assert re.search(r"│ Rotterdam\s*│\s*2 │\s*2 │\s*13 │\s*4 │", out)
    assert "relapse on 2020-06-01 has no complete remission (CR) assessed before it" in out
    assert "no WBC yet" in out


def test_a_bad_rules_file_exits_1_naming_the_rule(world: World, registry_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- {id: a, when: 'wbcc == null', field: wbc, severity: warning, message: m}\n")
    code, out, err = cli("quality", "check", "-r", registry_url, "--rules", str(rules))
    assert code == 1
    assert "rule 'a': key 'when': unknown name 'wbcc'" in " ".join(err.split())
    assert out == ""


def test_a_bad_as_of_date_is_refused(world: World, registry_url: str) -> None:
    code, _, err = cli("quality", "check", "-r", registry_url, "--as-of", "1/2/2022")
    assert code != 0
    assert "--as-of is '1/2/2022': give a date as YYYY-MM-DD" in err
