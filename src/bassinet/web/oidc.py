"""Single sign-on with OpenID Connect (authorization-code flow); ID tokens checked with joserfc.

The sign-in page links to ``/login/oidc``, which sends the browser to the provider with a
fresh ``state`` (bound to the anonymous session: it is the flow's CSRF token) and
``nonce``. The provider sends it back to ``/login/oidc/callback`` with a code, which is
exchanged for an ID token; the token's signature (the provider's published keys), issuer,
audience, expiry and nonce are checked (OpenID Connect Core 1.0, section 3.1.3.7) before
its username claim names a local account. What follows is as after a password: the
account's TOTP code or its enrolment where required, and a new session.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from bassinet.access.accounts import REFUSED
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.access.signin import check_external
from bassinet.errors import AuthenticationFailed
from bassinet.web import sessions
from bassinet.web.auth import after_first_factor
from bassinet.web.context import current_state, engine_of, redirect, render, set_session_cookie, settings_of
from bassinet.web.security import csrf_matches
from bassinet.web.settings import OIDCSettings

router = APIRouter()
TIMEOUT = 10.0
#: Signature algorithms accepted for ID tokens (never "none", never a symmetric one).
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]


def _settings(request: Request) -> OIDCSettings:
    oidc = settings_of(request).oidc
    if oidc is None:
        raise HTTPException(404, "single sign-on is not configured")
    return oidc


def _metadata(request: Request, oidc: OIDCSettings) -> dict[str, Any]:
    cached: dict[str, Any] | None = getattr(request.app.state, "oidc_metadata", None)
    if cached is None:
        url = oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
        cached = dict(httpx.get(url, timeout=TIMEOUT).raise_for_status().json())
        request.app.state.oidc_metadata = cached
    return cached


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/login/oidc")
def oidc_start(request: Request) -> Response:
    oidc = _settings(request)
    engine = engine_of(request)
    state = current_state(request)
    if state is None or state.stage != "anonymous":
        if state is not None:
            sessions.destroy(engine, state.session_id)
        state = sessions.create(engine)
    flow_state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    sessions.remember_oidc(engine, state, flow_state, nonce)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": oidc.client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": "openid profile",
            "state": flow_state,
            "nonce": nonce,
        }
    )
    response = redirect(_metadata(request, oidc)["authorization_endpoint"] + "?" + query)
    set_session_cookie(response, request, state)
    return response


def _refuse(request: Request, reason: str) -> Response:
    with Session(engine_of(request)) as session, session.begin():
        log_security_event(session, SecurityEvent.LOGIN_FAILED, actor="single sign-on", detail=reason)
    fresh = sessions.create(engine_of(request))
    page = render(request, "login.html", state=fresh, next="/", error=REFUSED, status_code=401, sso=None)
    set_session_cookie(page, request, fresh)
    return page


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    oidc = _settings(request)
    current = current_state(request)
    if current is None or current.stage != "anonymous" or not csrf_matches(current.oidc_state, state):
        return _refuse(request, "single sign-on: unknown or replayed state")
    nonce = current.oidc_nonce
    if not nonce:
        return _refuse(request, "single sign-on: no nonce kept for this state")
    sessions.destroy(engine_of(request), current.session_id)  # the state and nonce are used once
    metadata = _metadata(request, oidc)
    try:
        tokens = (
            httpx.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": _redirect_uri(request),
                },
                auth=(oidc.client_id, oidc.client_secret),
                timeout=TIMEOUT,
            )
            .raise_for_status()
            .json()
        )
        keys = KeySet.import_key_set(
            httpx.get(metadata["jwks_uri"], timeout=TIMEOUT).raise_for_status().json()
        )
        token = jwt.decode(tokens["id_token"], keys, algorithms=ALGORITHMS)
        JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata.get("issuer", oidc.issuer)},
            aud={"essential": True, "value": oidc.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(token.claims)
        claims = token.claims
        username = str(claims[oidc.username_claim])
    except (httpx.HTTPError, JoseError, KeyError, ValueError) as exc:
        return _refuse(request, f"single sign-on: {type(exc).__name__}: {exc}"[:500])
    try:
        step = check_external(engine_of(request), username, provider=oidc.issuer)
    except AuthenticationFailed:
        fresh = sessions.create(engine_of(request))
        page = render(request, "login.html", state=fresh, next="/", error=REFUSED, status_code=401, sso=None)
        set_session_cookie(page, request, fresh)
        return page
    return after_first_factor(request, None, step, "/")
