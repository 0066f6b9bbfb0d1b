"""Signing in (password, then TOTP code, or the enrolment of one) and signing out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bassinet.access import totp
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.access.signin import Next, PasswordStep, check_code, check_password, confirm_enrolment
from bassinet.errors import AuthenticationFailed
from bassinet.registry.models import User
from bassinet.web import sessions
from bassinet.web.context import (
    CSRFRefused,
    Posted,
    current_state,
    engine_of,
    redirect,
    render,
    set_session_cookie,
    settings_of,
)
from bassinet.web.security import csrf_matches, local_path
from bassinet.web.sessions import WebState

router = APIRouter()

Text = Annotated[str, Form()]


def _fresh(request: Request, state: WebState | None, **kwargs: object) -> WebState:
    """A new session replacing ``state``: the id and CSRF token change at every sign-in step."""
    engine = engine_of(request)
    if state is not None:
        sessions.destroy(engine, state.session_id)
    return sessions.create(engine, **kwargs)  # type: ignore[arg-type]


def _posted_state(request: Request, csrf_token: str, *stages: str) -> WebState:
    state = current_state(request)
    if state is None or not csrf_matches(state.csrf_token, csrf_token):
        raise CSRFRefused()
    if state.stage not in stages:
        raise CSRFRefused()
    return state


def _with_cookie(response: Response, request: Request, state: WebState) -> Response:
    set_session_cookie(response, request, state)
    return response


def _sso_label(request: Request) -> str | None:
    oidc = settings_of(request).oidc
    return oidc.label if oidc is not None else None


def _next_query(target: str) -> str:
    return "?next=" + quote(target, safe="/") if target != "/" else ""


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    target = local_path(next)
    state = current_state(request)
    if state is not None and state.stage == "signed_in":
        return redirect(target)
    if state is None or state.stage != "anonymous":
        sessions.purge(engine_of(request), request.app.state.settings)
        state = _fresh(request, state)
    page = render(request, "login.html", state=state, next=target, error=None, sso=_sso_label(request))
    return _with_cookie(page, request, state)


@router.post("/login")
def login(
    request: Request,
    username: Text = "",
    password: Text = "",
    next: Text = "/",
    csrf_token: Text = "",
) -> Response:
    state = _posted_state(request, csrf_token, "anonymous", "password", "enrol")
    target = local_path(next)
    try:
        step = check_password(engine_of(request), username.strip(), password)
    except AuthenticationFailed as exc:
        fresh = _fresh(request, state)
        page = render(
            request,
            "login.html",
            state=fresh,
            next=target,
            error=str(exc),
            status_code=401,
            sso=_sso_label(request),
            username=username.strip()[:100],
        )
        return _with_cookie(page, request, fresh)
    return after_first_factor(request, state, step, target)


def after_first_factor(request: Request, state: WebState | None, step: PasswordStep, target: str) -> Response:
    """Where an accepted first factor (a password, or a single sign-on) leads, in a new session."""
    if step.next is Next.DONE:
        fresh = _fresh(request, state, stage="signed_in", user_id=step.user_id)
        return _with_cookie(redirect(target), request, fresh)
    if step.next is Next.CODE:
        fresh = _fresh(request, state, stage="password", user_id=step.user_id)
        return _with_cookie(redirect("/login/code" + _next_query(target)), request, fresh)
    fresh = _fresh(request, state, stage="enrol", user_id=step.user_id, pending_totp_secret=totp.new_secret())
    return _with_cookie(redirect("/login/enrol" + _next_query(target)), request, fresh)


@router.get("/login/code")
def code_form(request: Request, next: str = "/") -> Response:
    state = current_state(request)
    if state is None or state.stage != "password":
        return redirect("/login")
    return render(request, "login_code.html", state=state, next=local_path(next), error=None)


@router.post("/login/code")
def login_code(request: Request, code: Text = "", next: Text = "/", csrf_token: Text = "") -> Response:
    state = _posted_state(request, csrf_token, "password")
    assert state.user_id is not None
    target = local_path(next)
    try:
        actor = check_code(engine_of(request), state.user_id, code)
    except AuthenticationFailed as exc:
        return render(request, "login_code.html", state=state, next=target, error=str(exc), status_code=401)
    fresh = _fresh(request, state, stage="signed_in", user_id=actor.user_id)
    return _with_cookie(redirect(target), request, fresh)


def _enrolment(request: Request, state: WebState) -> dict[str, str]:
    assert state.pending_totp_secret is not None and state.user_id is not None
    with Session(engine_of(request)) as session:
        user = session.get(User, state.user_id)
        username = user.username if user else "?"
    secret = state.pending_totp_secret
    return {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": totp.provisioning_uri(secret, username),
    }


@router.get("/login/enrol")
def enrol_form(request: Request, next: str = "/") -> Response:
    state = current_state(request)
    if state is None or state.stage != "enrol":
        return redirect("/login")
    return render(
        request,
        "login_enrol.html",
        state=state,
        next=local_path(next),
        error=None,
        enrolment=_enrolment(request, state),
    )


@router.post("/login/enrol")
def login_enrol(request: Request, code: Text = "", next: Text = "/", csrf_token: Text = "") -> Response:
    state = _posted_state(request, csrf_token, "enrol")
    assert state.user_id is not None and state.pending_totp_secret is not None
    target = local_path(next)
    try:
        actor = confirm_enrolment(engine_of(request), state.user_id, state.pending_totp_secret, code)
    except AuthenticationFailed as exc:
        return render(
            request,
            "login_enrol.html",
            state=state,
            next=target,
            error=str(exc),
            status_code=401,
            enrolment=_enrolment(request, state),
        )
    fresh = _fresh(request, state, stage="signed_in", user_id=actor.user_id)
    return _with_cookie(redirect(target), request, fresh)


@router.post("/logout")
def logout(request: Request, visit: Posted) -> Response:
    engine = engine_of(request)
    sessions.destroy(engine, visit.state.session_id)
    with Session(engine) as session, session.begin():
        log_security_event(
            session, SecurityEvent.LOGOUT, actor=visit.actor.username, subject=visit.actor.username
        )
    response = redirect("/login")
    response.delete_cookie(request.app.state.settings.cookie_name, path="/")
    return response
