"""A small multi-centre registry served by the web application, on each store.

The access tests' world (DCOG: Rotterdam, Utrecht; AIEOP: Monza; two patients each) plus
a patient and a centre whose names are markup, and accounts of each role. Users whose
grants need a second factor have one enrolled; :func:`code_for` gives a code the server
has not yet accepted (each code is accepted once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.registry import init_registry, make_engine, registry_session
from bassinet.registry import models as m
from bassinet.web import WebSettings, create_app
from tests.access.conftest import PASSWORD, World, _patient, _url, build_world
from tests.web._totp import fresh_code

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@dataclass
class Site:
    world: World
    url: str
    secrets: dict[str, str]
    patient_ids: dict[str, int]  # study ID -> database id
    used: dict[str, int] = field(default_factory=dict)

    def client(self, **settings: object) -> TestClient:
        return TestClient(create_app(self.url, settings=WebSettings(**settings)))  # type: ignore[arg-type]

    def code_for(self, username: str) -> str:
        """A TOTP code of a step the server has not accepted yet for ``username``."""
        return fresh_code(self.world.engine, username, self.secrets[username], self.used)


USERS = {
    # username: grants (role, centre, study group)
    "dm_rot": [("data_manager", "Rotterdam", None)],
    "cli_rot": [("clinician", "Rotterdam", None)],
    "mon_rot": [("monitor", "Rotterdam", None)],
    "stat": [("trial_statistician", None, None)],
    "admin": [("administrator", None, None)],
    "mon_dcog": [("monitor", None, "DCOG")],
}


def build_site(engine: Engine, url: str) -> Site:
    world = build_world(engine)
    with registry_session(engine, actor="test setup") as session:
        rotterdam = session.scalars(select(m.Centre).where(m.Centre.name == "Rotterdam")).one()
        group = session.scalars(select(m.StudyGroup).where(m.StudyGroup.name == "DCOG")).one()
        odd = m.Centre(name=IMG + " centre", study_group=group)
        session.add_all(
            [_patient(rotterdam, SCRIPT), _patient(odd, IMG), _patient(rotterdam, "=HYPERLINK(1)")]
        )
    secrets: dict[str, str] = {}
    with Session(engine) as session, session.begin():
        for username, grants in USERS.items():
            enrolment = add_user(session, username, PASSWORD, actor="test")
            uri = enrolment.totp_uri
            for role, centre, group_name in grants:
                uri = (
                    grant_role(
                        session, username, role, actor="test", centre=centre, study_group=group_name
                    ).totp_uri
                    or uri
                )
            if uri:
                match = re.search(r"secret=([A-Z2-7]+)", uri)
                assert match is not None
                secrets[username] = match.group(1)
    with Session(engine) as session:
        ids = {p.study_id: p.id for p in session.scalars(select(m.Patient))}
    return Site(world, url, secrets, ids)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One registry per module and store; tests that change accounts use their own usernames."""
    url = _url(request.param, tmp_path_factory.mktemp("web"))
    init_registry(url)
    engine = make_engine(url)
    yield build_site(engine, url)
    engine.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


class Codes(Protocol):
    """Anything that gives a fresh TOTP code for a username (a :class:`Site`, an API world)."""

    def code_for(self, username: str) -> str: ...


def sign_in(site: Codes, client: httpx.Client, username: str, *, next_path: str = "/") -> None:
    """Sign ``username`` in through the pages (password, then a code where enrolled)."""
    page = client.get("/login", params={"next": next_path})
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "next": next_path,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/code"):
        page = client.get(response.headers["location"])
        response = client.post(
            "/login/code",
            data={"code": site.code_for(username), "next": next_path, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path

# The API tests' world (a user and token per role x scope) is a fixture here too.
from tests.web._api_world import api_world  # noqa: E402, F401

# The browser tests' server (uvicorn on the site) and headless Chromium.
from tests.web._browser import browser, server  # noqa: E402, F401
