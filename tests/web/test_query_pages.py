"""The /queries pages: a monitor raises, the data manager answers with a correction, the monitor
closes; a monitor of another centre gets 404; a POST without the CSRF token does nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.registry import models as m
from tests.access.conftest import PASSWORD
from tests.web.conftest import SCRIPT, Site, csrf_of, sign_in


def signed_in(site: Site, username: str) -> tuple[TestClient, str]:
    client = site.client()
    sign_in(site, client, username)
    return client, csrf_of(client.get("/queries").text)


def test_raise_answer_with_a_correction_and_close(site: Site) -> None:
    monitor, token = signed_in(site, "mon_rot")
    raised = monitor.post(
        "/queries",
        data={"csrf_token": token, "study_id": "ROT-2", "field": "wbc", "question": "WBC? <b>lab</b>"},
        follow_redirects=False,
    )
    assert raised.status_code == 303
    query_id = int(re.fullmatch(r"/queries\?done=raised\+(\d+)", raised.headers["location"])[1])  # type: ignore[index]
    page = monitor.get("/queries").text
    assert "WBC? &lt;b&gt;lab&lt;/b&gt;" in page and "<b>lab</b>" not in page
    assert re.search(rf"<td>{query_id}</td><td>Rotterdam</td>.*?<td>0</td><td>open</td>", page)

    manager, token = signed_in(site, "dm_rot")
    answered = manager.post(
        f"/queries/{query_id}/answer",
        data={
            "csrf_token": token,
            "answer": "from the lab sheet",
            "corrections": "wbc=412",
            "reason": "lab sheet",
        },
        follow_redirects=False,
    )
    assert answered.status_code == 303
    with Session(site.world.engine) as session:
        assert session.scalars(select(m.Patient.wbc).where(m.Patient.study_id == "ROT-2")).one() == 412.0

    monitor, token = signed_in(site, "mon_rot")
    closed = monitor.post(f"/queries/{query_id}/close", data={"csrf_token": token}, follow_redirects=False)
    assert closed.status_code == 303
    assert f"<td>{query_id}</td>" not in monitor.get("/queries").text


def test_a_monitor_of_another_centre_gets_404(site: Site) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "mon_utr_q", PASSWORD, actor="test")
        grant_role(session, "mon_utr_q", "monitor", actor="test", centre="Utrecht")
    monitor, token = signed_in(site, "mon_rot")
    raised = monitor.post(
        "/queries",
        data={"csrf_token": token, "study_id": "ROT-1", "field": "wbc", "question": "WBC?"},
        follow_redirects=False,
    )
    query_id = int(raised.headers["location"].rsplit("+", 1)[1])
    manager, token = signed_in(site, "dm_rot")
    manager.post(f"/queries/{query_id}/answer", data={"csrf_token": token, "answer": "pending"})
    other, token = signed_in(site, "mon_utr_q")
    assert "ROT-1" not in other.get("/queries").text
    refused = other.post(f"/queries/{query_id}/close", data={"csrf_token": token}, follow_redirects=False)
    missing = other.post("/queries/999999/close", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == missing.status_code == 404
    raised_there = other.post(
        "/queries",
        data={"csrf_token": token, "study_id": "ROT-1", "field": "wbc", "question": "?"},
        follow_redirects=False,
    )
    assert raised_there.status_code == 404


def test_a_data_manager_may_not_raise_and_a_post_without_csrf_does_nothing(site: Site) -> None:
    manager, token = signed_in(site, "dm_rot")
    refused = manager.post(
        "/queries",
        data={"csrf_token": token, "study_id": "ROT-1", "field": "wbc", "question": "?"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    monitor, _ = signed_in(site, "mon_rot")
    forged = monitor.post(
        "/queries", data={"study_id": SCRIPT, "field": "wbc", "question": "?"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with Session(site.world.engine) as session:
        assert session.scalars(select(m.DataQuery).where(m.DataQuery.question == "?")).all() == []


@pytest.mark.parametrize(
    ("done", "shown"),
    [
        ("raised 12", "Query 12 raised."),
        ("closed 3", "Query 3 closed."),
        ("anything", None),
        ("raised <b>12</b>", None),
        ("raised 12 and your account is suspended", None),
    ],
)
def test_the_confirmation_shows_only_a_step_and_a_number(done: str, shown: str | None) -> None:
    from bassinet.web.query_pages import _done

    text = _done(done)
    assert (f"Query {text}." if text else None) == shown
