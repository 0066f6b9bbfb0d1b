"""Single sign-on against an OpenID Connect provider started inside the test (uvicorn on a free port).

The provider signs ID tokens with its own RSA key and publishes it; it says who signs in
(``who``) and can be told to misbehave (another nonce, another audience, a foreign key).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from bassinet.access import read_security_log
from bassinet.web import create_app
from bassinet.web.settings import OIDCSettings, WebSettings
from tests.web._api_world import free_port as _free_port
from tests.web.conftest import Site

CLIENT_ID, CLIENT_SECRET = "bassinet", "s3cret-for-tests"


@dataclass
class Provider:
    issuer: str
    key: Any
    who: str = "dm_rot"
    nonce_override: str | None = None
    audience: str = CLIENT_ID
    foreign_key: bool = False
    codes: dict[str, dict[str, str]] = field(default_factory=dict)


def provider_app(p: Provider) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def metadata() -> dict[str, str]:
        return {
            "issuer": p.issuer,
            "authorization_endpoint": p.issuer + "/authorize",
            "token_endpoint": p.issuer + "/token",
            "jwks_uri": p.issuer + "/jwks",
        }

    @app.get("/authorize")
    def authorize(redirect_uri: str, state: str, nonce: str, client_id: str) -> RedirectResponse:
        assert client_id == CLIENT_ID
        code = secrets.token_urlsafe(16)
        p.codes[code] = {"nonce": nonce, "who": p.who, "redirect_uri": redirect_uri}
        return RedirectResponse(redirect_uri + "?" + urlencode({"code": code, "state": state}))

    @app.post("/token")
    def token(request: Request, code: str = Form(), redirect_uri: str = Form()) -> JSONResponse:
        auth = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)._auth_header
        if request.headers.get("authorization") != auth:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = p.codes.pop(code, None)
        if grant is None or grant["redirect_uri"] != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": p.issuer,
            "sub": "sub-" + grant["who"],
            "aud": p.audience,
            "iat": now,
            "exp": now + 300,
            "nonce": p.nonce_override or grant["nonce"],
            "preferred_username": grant["who"],
        }
        key = RSAKey.generate_key(2048) if p.foreign_key else p.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return JSONResponse({"access_token": "x", "token_type": "Bearer", "id_token": id_token})

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        public = p.key.as_dict(private=False)
        public.update(kid="k1", use="sig", alg="RS256")
        return {"keys": [public]}

    return app


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    port = _free_port()
    p = Provider(f"http://127.0.0.1:{port}", RSAKey.generate_key(2048))
    server = uvicorn.Server(uvicorn.Config(provider_app(p), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield p
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def reset(provider: Provider) -> Iterator[Provider]:
    yield provider
    provider.who, provider.nonce_override, provider.audience, provider.foreign_key = (
        "dm_rot",
        None,
        CLIENT_ID,
        False,
    )


def _client(site: Site, provider: Provider) -> TestClient:
    settings = WebSettings(
        oidc=OIDCSettings(provider.issuer, CLIENT_ID, CLIENT_SECRET, label="Hospital sign-in")
    )
    return TestClient(create_app(site.url, settings=settings))


def _round_trip(client: TestClient) -> httpx.Response:
    """Follow the flow: Bassinet -> provider (a real HTTP server) -> Bassinet's callback."""
    assert "Hospital sign-in" in client.get("/login").text
    start = client.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/login/oidc/callback"
    return client.get(back.path + "?" + back.query, follow_redirects=False)


def test_single_sign_on_signs_a_local_account_in(site: Site, reset: Provider) -> None:
    client = _client(site, reset)
    before = client.get("/login") and client.cookies["bassinet_session"]
    response = _round_trip(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.cookies["bassinet_session"] != before
    listing = client.get("/patients").text
    assert "ROT-1" in listing and "UTR-1" not in listing
    with Session(site.world.engine) as session:
        last = read_security_log(session, subject="dm_rot")[-1]
    assert last.event == "login" and "single sign-on" in str(last.detail)


def test_single_sign_on_still_asks_for_the_second_factor(site: Site, reset: Provider) -> None:
    reset.who = "stat"
    client = _client(site, reset)
    response = _round_trip(client)
    assert response.headers["location"] == "/login/code"
    assert client.get("/patients", follow_redirects=False).status_code == 303  # not yet signed in


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("nonce_override", "another-nonce"),
        ("audience", "another-client"),
        ("foreign_key", True),
        ("who", "nobody"),
    ],
)
def test_a_token_that_fails_a_check_or_names_no_account_is_refused(
    site: Site, reset: Provider, change: str, value: object
) -> None:
    setattr(reset, change, value)
    client = _client(site, reset)
    response = _round_trip(client)
    assert response.status_code == 401 and "sign-in refused" in response.text
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_a_callback_without_the_sessions_state_is_refused(site: Site, reset: Provider) -> None:
    client = _client(site, reset)
    start = client.get("/login/oidc", follow_redirects=False)
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(at_provider.headers["location"])
    stranger = _client(site, reset)  # another browser, without the session that started the flow
    stranger.get("/login")
    refused = stranger.get(back.path + "?" + back.query, follow_redirects=False)
    assert refused.status_code == 401
    forged = dict(parse_qs(back.query))
    replay = client.get(back.path + "?" + urlencode({"code": forged["code"][0], "state": "forged"}))
    assert replay.status_code == 401
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_without_configuration_there_is_no_single_sign_on(site: Site) -> None:
    client = site.client()
    assert "/login/oidc" not in client.get("/login").text
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404
