"""Signing in and out through the pages: password, TOTP, enrolment, sessions, lockout, CSRF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role, read_security_log
from bassinet.access.security_log import SecurityEvent
from bassinet.errors import ConfigurationError
from bassinet.registry import init_registry, make_engine
from bassinet.registry import models as m
from bassinet.web import WebSettings, admin, auth, create_app, pages, sessions
from bassinet.web.security import local_path
from bassinet.web.settings import settings_from_environment
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site, csrf_of, sign_in


def _events(site: Site, username: str) -> list[str]:
    with Session(site.world.engine) as session:
        return [e.event for e in read_security_log(session, subject=username)]


def test_a_centre_user_signs_in_with_the_password_and_the_session_id_changes(site: Site) -> None:
    client = site.client()
    client.get("/login")
    before = client.cookies["bassinet_session"]
    sign_in(site, client, "dm_rot")
    after = client.cookies["bassinet_session"]
    assert after != before
    page = client.get("/patients")
    assert page.status_code == 200
    assert "ROT-1" in page.text and "UTR-1" not in page.text and "MON-1" not in page.text
    # the anonymous session's id no longer opens anything
    stale = site.client()
    stale.cookies.set("bassinet_session", before)
    assert stale.get("/patients", follow_redirects=False).status_code == 303


def test_the_session_is_stored_hashed_and_the_cookie_is_httponly_and_lax(site: Site) -> None:
    client = site.client()
    response = client.get("/login")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session_id = client.cookies["bassinet_session"]
    with Session(site.world.engine) as session:
        stored = list(session.scalars(select(m.WebSession.session_hash)))
    assert session_id not in stored and len(stored) >= 1


def test_the_cookie_is_secure_under_https(site: Site) -> None:
    client = site.client()
    client.base_url = client.base_url.copy_with(scheme="https")  # type: ignore[misc]
    response = client.get("https://testserver/login")
    assert "Secure" in response.headers["set-cookie"]
    forced = site.client(secure_cookies=True).get("/login")
    assert "Secure" in forced.headers["set-cookie"]


def test_a_study_wide_user_is_asked_for_the_code_and_a_wrong_one_is_refused(site: Site) -> None:
    client = site.client()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "stat", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/login/code"
    assert client.get("/patients", follow_redirects=False).status_code == 303  # not signed in yet
    page = client.get("/login/code")
    wrong = client.post("/login/code", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "sign-in refused" in wrong.text
    right = client.post(
        "/login/code",
        data={"code": site.code_for("stat"), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert right.status_code == 303
    listing = client.get("/patients").text
    assert all(s in listing for s in ("ROT-1", "UTR-1", "MON-1"))
    assert _events(site, "stat")[-2:] == ["login_failed", "login"]


def test_a_user_who_needs_a_second_factor_enrols_one_at_sign_in(site: Site) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "new_group_monitor", PASSWORD, actor="test")
        grant_role(session, "new_group_monitor", "monitor", actor="test", study_group="AIEOP")
        session.execute(update(m.User).where(m.User.username == "new_group_monitor").values(totp_secret=None))
    client = site.client()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "new_group_monitor", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/login/enrol"
    page = client.get("/login/enrol")
    secret = "".join(page.text.split('<code class="secret">')[1].split("</code>")[0].split())
    assert "otpauth://totp/" in page.text and len(secret) == 32
    bad = client.post("/login/enrol", data={"code": "123456", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 401
    good = client.post(
        "/login/enrol",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert "MON-1" in client.get("/patients").text
    with Session(site.world.engine) as session:
        stored = session.scalars(
            select(m.User.totp_secret).where(m.User.username == "new_group_monitor")
        ).one()
    assert stored == secret
    assert "totp_enrolled" in _events(site, "new_group_monitor")


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(site: Site) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "victim", PASSWORD, actor="test")
        grant_role(session, "victim", "clinician", actor="test", centre="Monza")
    client = site.client()
    for attempt in range(5):
        page = client.get("/login")
        refused = client.post(
            "/login",
            data={
                "username": "victim",
                "password": f"wrong guess {attempt}",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert refused.status_code == 401
    page = client.get("/login")
    right = client.post(
        "/login", data={"username": "victim", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert right.status_code == 401 and "locked" in right.text
    events = _events(site, "victim")
    assert events.count("login_failed") == 6 and "lockout" in events and "login" not in events


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/login", {"username": "dm_rot", "password": PASSWORD}),
        ("/login/code", {"code": "123456"}),
        ("/login/enrol", {"code": "123456"}),
    ],
)
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_sign_in_form_without_its_csrf_token_is_refused(
    site: Site, path: str, form: dict[str, str], token: str | None
) -> None:
    client = site.client()
    client.get("/login")
    data = dict(form) if token is None else {**form, "csrf_token": token}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "security token" in response.text
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_every_form_of_a_signed_in_user_is_refused_without_its_csrf_token(site: Site) -> None:
    app = create_app(site.url)
    client = TestClient(app)
    sign_in(site, client, "admin")
    posts = [
        route.path
        for router in (auth.router, pages.router, admin.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        and "POST" in route.methods
        and not route.path.startswith(("/api", "/login"))
    ]
    assert {"/logout", "/admin/users", "/admin/grants", "/admin/centres"} <= set(posts)
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(
                path, data={**data, "username": "csrf_victim", "password": PASSWORD, "name": "X"}
            )
            assert response.status_code == 403, path
    with Session(site.world.engine) as session:
        assert session.scalars(select(m.User).where(m.User.username == "csrf_victim")).first() is None
        assert session.scalars(select(m.Centre).where(m.Centre.name == "X")).first() is None
    assert client.get("/admin").status_code == 200  # still signed in: the refused logout did nothing


def test_sign_out_ends_the_session_and_is_logged(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "cli_rot")
    old = client.cookies["bassinet_session"]
    page = client.get("/account")
    response = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    replay = site.client()
    replay.cookies.set("bassinet_session", old)
    assert replay.get("/account", follow_redirects=False).status_code == 303
    assert _events(site, "cli_rot")[-2:] == ["login", "logout"]


def test_an_idle_session_expires(tmp_path: Path) -> None:
    settings = WebSettings(idle_timeout=dt.timedelta(minutes=30))
    url = f"sqlite:///{tmp_path / 'idle.db'}"
    init_registry(url)
    engine = make_engine(url)
    t0 = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    state = sessions.create(engine, now=t0)
    assert sessions.load(engine, state.session_id, settings, now=t0 + dt.timedelta(minutes=29)) is not None
    # last seen at 12:29: still alive at 12:58, gone after 12:59
    assert sessions.load(engine, state.session_id, settings, now=t0 + dt.timedelta(minutes=58)) is not None
    assert (
        sessions.load(engine, state.session_id, settings, now=t0 + dt.timedelta(minutes=88, seconds=1))
        is None
    )
    assert (
        sessions.load(engine, state.session_id, settings, now=t0 + dt.timedelta(minutes=59)) is None
    )  # deleted
    engine.dispose()


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/patients?page=2", "/patients?page=2"),
        ("/", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("patients", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
    ],
)
def test_only_a_local_path_is_followed_after_sign_in(target: str, kept: str) -> None:
    assert local_path(target) == kept


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(site: Site, target: str) -> None:
    client = site.client()
    page = client.get("/login", params={"next": target})
    assert "evil" not in page.text
    response = client.post(
        "/login",
        data={"username": "dm_rot", "password": PASSWORD, "next": target, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_page_asked_for_before_sign_in_is_reached_after_it(site: Site) -> None:
    client = site.client()
    response = client.get("/patients?q=ROT", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/patients%3Fq%3DROT"
    sign_in(site, client, "dm_rot", next_path="/patients?q=ROT")


def test_the_sign_in_log_names_no_secret(site: Site) -> None:
    with Session(site.world.engine) as session:
        details = " ".join(str(e.detail) for e in session.scalars(select(m.SecurityEntry)))
    assert PASSWORD not in details
    assert SecurityEvent.LOGIN.value == "login"


def test_serve_reads_its_settings_from_the_environment() -> None:
    settings = settings_from_environment(
        {
            "BASSINET_SECURE_COOKIES": "1",
            "BASSINET_IDLE_MINUTES": "15",
            "BASSINET_OIDC_ISSUER": "https://idp.example",
            "BASSINET_OIDC_CLIENT_ID": "bassinet",
            "BASSINET_OIDC_CLIENT_SECRET": "s",
        }
    )
    assert settings.secure_cookies is True and settings.idle_timeout == dt.timedelta(minutes=15)
    assert settings.oidc is not None and settings.oidc.issuer == "https://idp.example"
    assert settings_from_environment({}) == WebSettings()
    with pytest.raises(ConfigurationError, match="BASSINET_OIDC_CLIENT_SECRET not set"):
        settings_from_environment({"BASSINET_OIDC_ISSUER": "x", "BASSINET_OIDC_CLIENT_ID": "y"})
    with pytest.raises(ConfigurationError, match="BASSINET_IDLE_MINUTES is '0'"):
        settings_from_environment({"BASSINET_IDLE_MINUTES": "0"})


def test_a_half_finished_sign_in_expires_sooner_than_a_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pending.db'}"
    init_registry(url)
    engine = make_engine(url)
    settings = WebSettings()
    t0 = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        add_user(session, "pending", PASSWORD, actor="test")
        user_id = session.scalars(select(m.User.id).where(m.User.username == "pending")).one()
    waiting = sessions.create(engine, stage="password", user_id=user_id, now=t0)
    assert sessions.load(engine, waiting.session_id, settings, now=t0 + dt.timedelta(minutes=4)) is not None
    assert (
        sessions.load(engine, waiting.session_id, settings, now=t0 + dt.timedelta(minutes=9, seconds=1))
        is None
    )
    engine.dispose()


def test_a_refused_sign_in_keeps_the_username_escaped_and_never_the_password(site: Site) -> None:
    client = site.client()
    page = client.get("/login")
    refused = client.post(
        "/login",
        data={"username": '"><b>x', "password": "not the password at all", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 401
    assert 'value="&#34;&gt;&lt;b&gt;x"' in refused.text and "<b>x" not in refused.text
    assert "not the password at all" not in refused.text
