"""The protocol panel of the patient page and its actions: stratify, randomise (confirmed), explain."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.registry import models as m
from bassinet.registry import registry_session
from bassinet.web.protocol_pages import plain_refusal
from tests.web._protocol_world import _infant, add_protocol_patients, make_key
from tests.web.conftest import SCRIPT, Site, csrf_of, sign_in


@pytest.fixture(scope="module")
def world(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """The site with the protocol patients and a randomisation key; their row ids by study ID."""
    engine = site.world.engine
    add_protocol_patients(engine)
    key = make_key(engine, tmp_path_factory.mktemp("key"))
    with Session(engine) as session:
        ids = {p.study_id: p.id for p in session.scalars(select(m.Patient))}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BASSINET_RANDOMISATION_KEY", str(key))
        yield ids


def _client(site: Site, username: str) -> TestClient:
    client = site.client()
    sign_in(site, client, username)
    return client


def _main(html: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert match is not None
    return match.group(1)


def _panel(html: str) -> str:
    match = re.search(r'<section aria-labelledby="protocol".*?</section>', html, re.S)
    assert match is not None, "no protocol panel on the page"
    return match.group(0)


def _allocations(site: Site, study_id: str) -> list[m.Allocation]:
    with Session(site.world.engine) as session:
        return list(
            session.scalars(select(m.Allocation).join(m.Patient).where(m.Patient.study_id == study_id))
        )


def test_a_clinician_sees_the_risk_group_the_transplant_indication_their_reasons_and_the_buttons(
    site: Site, world: dict[str, int]
) -> None:
    page = _client(site, "cli_rot").get(f"/patients/{world['ROT-HR']}")
    panel = _panel(page.text)
    assert re.search(r'id="risk-group"><strong>high risk</strong> \(HR\)', panel)
    assert re.search(r'id="transplant-indication"><strong>indicated</strong>', panel)
    assert "Risk group: HR (interfant-06)" in panel  # the explanation's own heading
    assert "KMT2A rearranged" in panel and "this criterion is met." in panel
    assert "holds:" not in panel
    assert "not complete" not in panel
    assert "No stratification decision stored yet." in panel
    for button in ('id="stratify"', 'id="explain-clinician"', 'id="explain-family"'):
        assert button in panel
    # not yet stratified: no Randomise button, the reason instead (cold review)
    assert 'id="randomise"' not in panel
    assert "stratify the patient first (the Stratify button)." in panel


def test_an_incomplete_patient_shows_what_is_missing_in_words(site: Site, world: dict[str, int]) -> None:
    panel = _panel(_client(site, "cli_rot").get(f"/patients/{world['ROT-MR']}").text)
    assert re.search(r'id="risk-group"><strong>medium risk</strong> \(MR\)', panel)
    assert 'id="transplant-indication">not decided yet' in panel
    assert "The facts of these decisions are not complete" in panel
    assert "(called MRD) before the course the doctors call OCTADAD is not recorded yet" in panel


def test_an_aml_patient_gets_no_rule_applies_never_the_all_protocol(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    page = client.get(f"/patients/{world['ROT-AML']}")
    panel = _panel(page.text)
    assert "No rule applies." in panel
    assert "Bassinet has no AML protocol rules yet" in panel
    assert 'id="risk-group"' not in panel and "Randomise" not in panel and 'id="stratify"' not in panel
    refused = client.post(
        f"/patients/{world['ROT-AML']}/protocol/stratify", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 409
    assert "ROT-AML has AML: no rule applies." in refused.text
    confirm = client.get(f"/patients/{world['ROT-AML']}/protocol/randomise")
    assert confirm.status_code == 409
    assert "the patient has AML: no rule applies (Interfant-06 randomises ALL only)." in confirm.text
    with Session(site.world.engine) as session:
        stored = session.scalars(
            select(m.RiskAssignment).join(m.Patient).where(m.Patient.study_id == "ROT-AML")
        ).all()
    assert stored == []


@pytest.mark.parametrize("username", ["dm_rot", "mon_rot"])
def test_roles_without_the_actions_see_no_buttons_and_are_refused(
    site: Site, world: dict[str, int], username: str
) -> None:
    client = _client(site, username)
    page = client.get(f"/patients/{world['ROT-MR']}")
    panel = _panel(page.text)
    assert re.search(r'id="risk-group"><strong>medium risk</strong> \(MR\)', panel)
    assert "<form" not in panel and "Reasons" not in panel
    token = csrf_of(page.text)
    for response in (
        client.post(f"/patients/{world['ROT-MR']}/protocol/stratify", data={"csrf_token": token}),
        client.get(f"/patients/{world['ROT-MR']}/protocol/randomise"),
        client.post(
            f"/patients/{world['ROT-MR']}/protocol/randomise", data={"csrf_token": token, "stratum": "x"}
        ),
        client.get(f"/patients/{world['ROT-MR']}/protocol/explain?for=clinician"),
    ):
        assert response.status_code == 403
        assert "Your role does not allow" in response.text
    assert _allocations(site, "ROT-MR") == []


def test_another_centres_patient_is_not_found(site: Site, world: dict[str, int]) -> None:
    client = _client(site, "cli_rot")
    token = csrf_of(client.get("/patients").text)
    target = world["UTR-HR"]
    for response in (
        client.get(f"/patients/{target}/protocol/randomise"),
        client.post(f"/patients/{target}/protocol/stratify", data={"csrf_token": token}),
        client.post(f"/patients/{target}/protocol/randomise", data={"csrf_token": token, "stratum": ""}),
        client.get(f"/patients/{target}/protocol/explain"),
    ):
        assert response.status_code == 404
        assert f"no patient with id {target}" in response.text
    assert _allocations(site, "UTR-HR") == []


def test_stratify_needs_the_csrf_token_and_is_audited_as_the_user(site: Site, world: dict[str, int]) -> None:
    client = _client(site, "cli_rot")
    target = world["ROT-MR"]
    refused = client.post(f"/patients/{target}/protocol/stratify", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    unstratified = client.get(f"/patients/{target}/protocol/randomise")
    assert unstratified.status_code == 409
    assert "stratify the patient first (the Stratify button)." in unstratified.text
    assert "bassinet stratify" not in unstratified.text
    page = client.get(f"/patients/{target}")
    done = client.post(
        f"/patients/{target}/protocol/stratify",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{target}#protocol"
    assert "Stored stratification decision: MR (current)." in _panel(client.get(f"/patients/{target}").text)
    with Session(site.world.engine) as session:
        actors = set(
            session.scalars(
                select(m.AuditEntry.actor).where(
                    m.AuditEntry.table_name == "risk_assignment", m.AuditEntry.patient_id == target
                )
            )
        )
    assert actors == {"cli_rot"}


def test_randomise_confirms_the_stratum_never_the_arm_then_allocates_once(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    target = world["ROT-HR"]
    page = client.get(f"/patients/{target}")
    client.post(f"/patients/{target}/protocol/stratify", data={"csrf_token": csrf_of(page.text)})
    confirm = client.get(f"/patients/{target}/protocol/randomise")
    assert confirm.status_code == 200
    main = _main(confirm.text)
    assert '<p class="stratum" id="stratum"><strong>HR / DCOG</strong></p>' in main
    assert not re.search(r"\bIB\b|ADE", main)  # the next arm is never shown before the draw
    assert _allocations(site, "ROT-HR") == []  # the confirmation step writes nothing
    token = csrf_of(confirm.text)
    stale = client.post(
        f"/patients/{target}/protocol/randomise", data={"csrf_token": token, "stratum": "MR / DCOG"}
    )
    assert stale.status_code == 409
    assert "the stratum is now HR / DCOG, not the MR / DCOG you confirmed" in stale.text
    assert _allocations(site, "ROT-HR") == []
    drawn = client.post(
        f"/patients/{target}/protocol/randomise", data={"csrf_token": token, "stratum": "HR / DCOG"}
    )
    assert drawn.status_code == 200
    [allocation] = _allocations(site, "ROT-HR")
    assert allocation.allocated_by == "cli_rot" and allocation.stratum == "HR / DCOG"
    assert f'<dd id="arm"><strong>{allocation.arm}</strong></dd>' in drawn.text
    panel = _panel(client.get(f"/patients/{target}").text)
    assert f"Randomised: arm <strong>{allocation.arm}</strong>, stratum HR / DCOG" in panel
    again = client.get(f"/patients/{target}/protocol/randomise")
    assert again.status_code == 409
    refusal = re.search(r'id="refusal">([^<]*)<', again.text)
    assert refusal is not None
    assert refusal.group(1).startswith(f"ROT-HR is not randomised: arm {allocation.arm} is already on record")
    assert refusal.group(1).endswith("a patient is randomised once.")
    twice = client.post(
        f"/patients/{target}/protocol/randomise", data={"csrf_token": token, "stratum": "HR / DCOG"}
    )
    assert twice.status_code == 409 and "a patient is randomised once." in twice.text
    assert len(_allocations(site, "ROT-HR")) == 1
    with Session(site.world.engine) as session:
        audited = set(
            session.scalars(
                select(m.AuditEntry.actor).where(
                    m.AuditEntry.table_name == "allocation", m.AuditEntry.patient_id == target
                )
            )
        )
    assert audited == {"cli_rot"}


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ("clinician", "Allogeneic SCT: undetermined"),
        ("family", "Questions to ask your care team"),
    ],
)
def test_the_explanation_is_printable_for_clinician_and_family(
    site: Site, world: dict[str, int], audience: str, expected: str
) -> None:
    page = _client(site, "cli_rot").get(f"/patients/{world['ROT-MR']}/protocol/explain?for={audience}")
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/static/protocol-print.css" media="print">' in page.text
    assert f"<h2>{expected}</h2>" in page.text
    assert f"explanation-{audience}" in page.text


def test_an_explanation_for_nobody_is_refused(site: Site, world: dict[str, int]) -> None:
    page = _client(site, "cli_rot").get(f"/patients/{world['ROT-MR']}/protocol/explain?for=press")
    assert page.status_code == 400
    assert "explanation for &#39;press&#39;: choose clinician or family" in page.text


def test_a_hostile_study_id_is_shown_escaped_in_the_panel_and_the_explanation(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    target = site.patient_ids[SCRIPT]
    for path in (f"/patients/{target}", f"/patients/{target}/protocol/explain?for=clinician"):
        page = client.get(path)
        assert page.status_code == 200
        assert SCRIPT not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_print_stylesheet_hides_the_site_around_the_text(site: Site) -> None:
    css = site.client().get("/static/protocol-print.css")
    assert css.status_code == 200
    assert re.search(r"header\.top, footer[^{]*\{ display: none !important; \}", css.text)


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        (
            "R1 is not randomised: no stored stratification decision: run `bassinet stratify R1` first",
            "R1 is not randomised: no stored stratification decision: stratify the patient first "
            "(the Stratify button).",
        ),
        (
            "R1 is not randomised: the request (2026-01-02) is after the last contact (2026-01-01): the "
            "registry does not know the patient's state on that date; record the follow-up (`bassinet "
            "correct R1 last_contact_date=...`) first, or give --on the date of the request",
            "R1 is not randomised: the request (2026-01-02) is after the last contact (2026-01-01): the "
            "registry does not know the patient's state on that date; record the follow-up first.",
        ),
        (
            "no randomisation key: give --key PATH or set BASSINET_RANDOMISATION_KEY",
            "Randomisation is not set up on this server (no randomisation key): ask the trial office.",
        ),
        ("already a sentence.", "Already a sentence."),
    ],
)
def test_refusals_are_plain_sentences_without_command_lines(message: str, sentence: str) -> None:
    assert plain_refusal(message) == sentence


@pytest.mark.parametrize(
    ("may_edit", "sentence"),
    [
        (True, "R1 is not randomised: the request is late; record the follow-up first."),
        (
            False,
            "R1 is not randomised: the request is late; ask the centre's data manager to record the "
            "follow-up.",
        ),
    ],
)
def test_a_user_who_may_not_edit_is_told_to_ask_the_data_manager_to_record_a_fact(
    may_edit: bool, sentence: str
) -> None:
    message = (
        "R1 is not randomised: the request is late; record the follow-up (`bassinet correct R1 "
        "last_contact_date=...`) first, or give --on the date of the request"
    )
    assert plain_refusal(message, may_edit=may_edit) == sentence


def test_without_a_randomisation_key_the_page_says_so_and_draws_nothing(
    site: Site, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(site, "cli_rot")
    target = world["ROT-MR"]
    page = client.get(f"/patients/{target}")
    client.post(f"/patients/{target}/protocol/stratify", data={"csrf_token": csrf_of(page.text)})
    monkeypatch.delenv("BASSINET_RANDOMISATION_KEY")
    refused = client.post(
        f"/patients/{target}/protocol/randomise",
        data={"csrf_token": csrf_of(page.text), "stratum": "MR / DCOG"},
    )
    assert refused.status_code == 409
    assert "Randomisation is not set up on this server (no randomisation key): ask the trial office." in (
        refused.text
    )
    assert _allocations(site, "ROT-MR") == []


# -- cold review (issue 19): reasons in sentences, Stratify confirmed like Randomise, no Randomise
# button where the patient is not eligible (the reason instead), whom to ask for missing facts.


def _fresh(site: Site, study_id: str, *, born: dt.date, wbc: float) -> int:
    """A new Rotterdam infant as the protocol world's (not stratified: other tests stratify theirs)."""
    with registry_session(site.world.engine, actor="test setup") as session:
        rotterdam = session.scalars(select(m.Centre).where(m.Centre.name == "Rotterdam")).one()
        patient = _infant(rotterdam, study_id, born=born, wbc=wbc)
        session.add(patient)
        session.flush()
        return int(patient.id)


def _stored(site: Site, study_id: str) -> list[m.RiskAssignment]:
    with Session(site.world.engine) as session:
        return list(
            session.scalars(select(m.RiskAssignment).join(m.Patient).where(m.Patient.study_id == study_id))
        )


def test_the_clinicians_reasons_are_sentences_not_rule_engine_words(
    site: Site, world: dict[str, int]
) -> None:
    pid = _fresh(site, "COLD-HR1", born=dt.date(2025, 1, 1), wbc=400.0)
    panel = _panel(_client(site, "cli_rot").get(f"/patients/{pid}").text)
    assert "KMT2A rearranged" in panel and ": this criterion is met.</li>" in panel
    for engine_word in ("holds:", "does not hold:", "unknown: ", "missing: ", "note: "):
        assert engine_word not in panel


def test_stratify_asks_for_confirmation_showing_what_will_be_recorded_and_writes_nothing(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    pid = _fresh(site, "COLD-HR2", born=dt.date(2025, 1, 1), wbc=400.0)
    panel = _panel(client.get(f"/patients/{pid}").text)
    assert f'<form method="get" action="/patients/{pid}/protocol/stratify">' in panel
    confirm = client.get(f"/patients/{pid}/protocol/stratify")
    assert confirm.status_code == 200
    main = _main(confirm.text)
    assert "<h1>Stratify COLD-HR2?</h1>" in main
    assert '<dd id="stratify-group"><strong>high risk</strong> (HR)</dd>' in main
    assert '<dd id="stratify-transplant">indicated</dd>' in main
    assert 'id="confirm-stratify"' in main
    assert _stored(site, "COLD-HR2") == []  # the confirmation step writes nothing
    done = client.post(
        f"/patients/{pid}/protocol/stratify",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert [a.risk_group for a in _stored(site, "COLD-HR2")] == ["HR"]  # the decision shown


def test_randomise_is_not_offered_where_the_patient_is_not_eligible_the_refusal_is_shown(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    pid = _fresh(site, "COLD-MR1", born=dt.date(2024, 9, 1), wbc=100.0)
    panel = _panel(client.get(f"/patients/{pid}").text)
    assert 'id="randomise"' not in panel
    why_not = re.search(r'<p id="randomise-refusal">(.*?)</p>', panel, re.S)
    assert why_not is not None
    assert why_not.group(1).startswith("Not randomisable now: COLD-MR1 is not randomised")
    assert "bassinet " not in why_not.group(1)  # no command line


def test_a_clinician_is_told_to_ask_the_data_manager_for_missing_facts_by_label(
    site: Site, world: dict[str, int]
) -> None:
    pid = _fresh(site, "COLD-MR2", born=dt.date(2024, 9, 1), wbc=100.0)
    panel = _panel(_client(site, "cli_rot").get(f"/patients/{pid}").text)
    ask = re.search(r'<p id="ask-data-manager">(.*?)</p>', panel, re.S)
    assert ask is not None
    assert ask.group(1) == (
        "Ask the centre's data manager to enter them: the MRD measurement at the start of OCTADAD."
    )
    manager = _panel(_client(site, "dm_rot").get(f"/patients/{pid}").text)
    assert "The facts of these decisions are not complete" in manager
    assert 'id="ask-data-manager"' not in manager  # the data manager enters them


def test_the_stored_decisions_list_marks_a_decision_the_facts_no_longer_give(
    site: Site, world: dict[str, int]
) -> None:
    client = _client(site, "cli_rot")
    pid = _fresh(site, "COLD-HR3", born=dt.date(2025, 1, 1), wbc=400.0)
    page = client.get(f"/patients/{pid}")
    client.post(f"/patients/{pid}/protocol/stratify", data={"csrf_token": csrf_of(page.text)})
    assert 'id="decision-stale"' not in client.get(f"/patients/{pid}").text  # current: no mark
    with registry_session(site.world.engine, actor="test setup") as session:
        session.get(m.Patient, pid).wbc = 100.0  # type: ignore[union-attr]
    html = client.get(f"/patients/{pid}").text
    assert "no longer current: the facts changed since; stratify again." in _panel(html)
    decisions = re.search(r'<section aria-labelledby="decisions">.*?</section>', html, re.S)
    assert decisions is not None
    assert (
        '<p class="stale" id="decision-stale">No longer current: the facts changed since; stratify again.</p>'
        in decisions.group(0)
    )
