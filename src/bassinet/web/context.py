"""Per-request plumbing shared by the pages: the session, the signed-in actor, CSRF, rendering."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bassinet.access import Action, Actor, load_actor, permits
from bassinet.errors import DataError
from bassinet.registry.models import User
from bassinet.registry.vocabulary import field_label, label
from bassinet.web import sessions
from bassinet.web.security import csrf_matches
from bassinet.web.sessions import WebState
from bassinet.web.settings import WebSettings

TEMPLATES = Path(__file__).parent / "templates"

#: Autoescape everywhere: every value from the data is HTML-escaped unless a template says
#: otherwise, which only the inline SVG of a figure (drawn by matplotlib, its text escaped) does.
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CSRFRefused(Exception):
    """A form came without the session's CSRF token: answered 403, nothing done."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def current_state(request: Request) -> WebState | None:
    """The request's live session, if any (cached on the request)."""
    if "bassinet_state" not in request.scope:
        settings = settings_of(request)
        request.scope["bassinet_state"] = sessions.load(
            engine_of(request), request.cookies.get(settings.cookie_name), settings
        )
    state: WebState | None = request.scope["bassinet_state"]
    return state


@dataclass(frozen=True)
class Visit:
    """A signed-in request: its session and its actor."""

    state: WebState
    actor: Actor


def _here(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


def visit(request: Request) -> Visit:
    """The signed-in visit, or a redirect to the sign-in page (for a page that needs one)."""
    state = current_state(request)
    if state is None or state.stage != "signed_in" or state.user_id is None:
        raise SignInRequired(_here(request) if request.method == "GET" else "/")
    with Session(engine_of(request)) as session:
        username = state.username
        if username is None:  # a state not read by sessions.load (which checks the user)
            user = session.get(User, state.user_id)
            if user is None or user.disabled:
                raise SignInRequired(_here(request))
            username = user.username
        try:
            actor = load_actor(session, username)
        except DataError:  # the user was deleted since the session was read
            raise SignInRequired(_here(request)) from None
    return Visit(state, actor)


def visit_if_signed_in(request: Request) -> Visit | None:
    """The signed-in visit, or ``None`` (never a redirect): for pages anyone may see, such as errors."""
    try:
        return visit(request)
    except SignInRequired:
        return None


#: Each :class:`~bassinet.access.Action` in the words a refused user reads: "Your role does
#: not allow ...". The one place the web app words a refusal.
ACTION_WORDS: dict[Action, str] = {
    Action.READ_PATIENTS: "viewing patients",
    Action.EDIT_PATIENTS: "editing patients",
    Action.IMPORT: "importing data",
    Action.STRATIFY: "stratifying patients",
    Action.RANDOMISE: "randomising patients",
    Action.EXPLAIN: "explaining risk groups",
    Action.VIEW_AUDIT: "viewing the audit trail",
    Action.VIEW_BALANCE: "viewing the allocation balance",
    Action.RUN_REPORT: "running reports",
    Action.EXPORT_DEIDENTIFIED: "exporting de-identified data",
    Action.EXPORT_IDENTIFIED: "exporting identified data",
    Action.MANAGE_USERS: "managing users",
    Action.RAISE_QUERY: "raising data queries",
    Action.ANSWER_QUERY: "answering data queries",
    Action.VERIFY_SOURCE: "verifying source data",
    Action.LOCK_RECORD: "locking casebooks",
    Action.SIGN_RECORD: "signing casebooks",
}

#: Risk groups in words, for the pages: the protocols' decisions store the code (Interfant-06:
#: LR, MR, HR; Interfant-99's prednisone response: SR, HR). A code not listed is shown as it is.
RISK_GROUP_WORDS: dict[str, str] = {
    "LR": "low risk",
    "SR": "standard risk",
    "MR": "medium risk",
    "HR": "high risk",
}

#: Leukemia types in words, for the pages (the registry stores ALL or AML).
LEUKEMIA_WORDS: dict[str, str] = {
    "ALL": "acute lymphoblastic leukemia",
    "AML": "acute myeloid leukemia",
}


def risk_group_words(code: str | None) -> str:
    """``"HR"`` -> "high risk"; no risk group -> "" (an unknown code is shown unchanged)."""
    return "" if code is None else RISK_GROUP_WORDS.get(code, code)


def leukemia_words(code: str | None) -> str:
    """``"ALL"`` -> "acute lymphoblastic leukemia" (an unknown code is shown unchanged)."""
    return "" if code is None else LEUKEMIA_WORDS.get(code, code)


def _vocabulary_codes() -> frozenset[str]:
    """Every code of the registry's vocabulary and every role: the stored values shown in words."""
    from enum import StrEnum

    from bassinet.registry import vocabulary
    from bassinet.registry.models import Role

    enums: list[type[StrEnum]] = [
        e for e in vars(vocabulary).values() if isinstance(e, type) and issubclass(e, StrEnum)
    ]
    enums.append(Role)
    return frozenset(str(member.value) for enum in enums for member in enum)


_CODES = _vocabulary_codes()
#: Stored yes/no values (booleans as the audit trail writes them) in words.
_YES_NO = {"True": "yes", "False": "no", "true": "yes", "false": "no"}


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")


def value_words(value: object, field: str = "") -> str:
    """A stored value as a page shows it: a code in words, a boolean as yes or no, data unchanged.

    ``"HR"`` of a risk group -> "high risk", ``"data_manager"`` -> "data manager",
    ``"True"`` -> "yes". Only vocabulary codes (and risk groups in a field named for them)
    are translated: a study ID or a name with an underscore is shown exactly as stored.
    """
    text = "" if value is None else str(value)
    if text in _YES_NO:
        return _YES_NO[text]
    if _TIMESTAMP.fullmatch(text):  # a stored instant as the audit trail writes it: to the second, UTC
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")
    if "risk" in field or field == "stratum" or field == "outcome":
        return RISK_GROUP_WORDS.get(text, text)
    if field == "leukemia_type":
        return leukemia_words(text)
    return label(text) if text in _CODES else text


environment.filters["risk_group_words"] = risk_group_words
environment.filters["value_words"] = value_words
environment.filters["leukemia_words"] = leukemia_words
#: Record kinds as the pages name them (data-quality findings refer to ``KIND:ID``).
RECORD_KIND_WORDS = {
    "remissions": "remission assessment",
    "mrd": "MRD measurement",
    "courses": "treatment course",
    "transplants": "transplant",
    "events": "event",
}


def record_words(ref: str) -> str:
    """A finding's record in words: ``"patient"`` -> "patient", ``"mrd:12"`` -> "MRD measurement 12"."""
    kind, _, number = ref.partition(":")
    if not number:
        return label(kind)
    return f"{RECORD_KIND_WORDS.get(kind, label(kind))} {number}"


environment.filters["field_label"] = field_label
environment.filters["record_words"] = record_words
environment.filters["words"] = label  # a vocabulary code in words: "resistant_disease" -> "resistant disease"

_REFUSAL = re.compile(r"^\S+ may not (?P<action>[a-z_]+)(?P<rest>.*)$")


def refusal_in_words(message: str) -> str:
    """A refusal such as ``"monitor may not run_report"`` as a sentence a user understands.

    ``"... may not run_report"`` becomes "Your role does not allow running reports.";
    ``" at centre 3"`` and ``" for the whole study"`` are kept in words; any other
    message is returned unchanged.
    """
    match = _REFUSAL.match(message.strip())
    if match is None:
        return message
    try:
        words = ACTION_WORDS[Action(match["action"])]
    except ValueError:
        return message
    rest = match["rest"].strip()
    centre = re.fullmatch(r"at centre (\d+)", rest)
    if centre:
        rest = f"at this centre ({centre[1]})"
    elif rest and rest != "for the whole study":
        rest = ""
    return f"Your role does not allow {words}{' ' + rest if rest else ''}."


def posted_visit(request: Request, csrf_token: Annotated[str, Form()] = "") -> Visit:
    """A signed-in visit posting a form, whose CSRF token must match the session's."""
    state = current_state(request)
    if state is None or not csrf_matches(state.csrf_token, csrf_token):
        raise CSRFRefused()
    return visit(request)


SignedIn = Annotated[Visit, Depends(visit)]
Posted = Annotated[Visit, Depends(posted_visit)]


def secure(request: Request) -> bool:
    choice = settings_of(request).secure_cookies
    return request.url.scheme == "https" if choice is None else choice


def set_session_cookie(response: Response, request: Request, state: WebState) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure under HTTPS; no expiry (the browser
    forgets it when closed, the server after the idle timeout)."""
    response.set_cookie(
        settings_of(request).cookie_name,
        state.session_id,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def sign_in_redirect(next_path: str) -> RedirectResponse:
    return redirect("/login?next=" + quote(next_path, safe="/"))


def nav(actor: Actor | None) -> dict[str, bool]:
    """Which parts of the site the navigation offers the actor."""
    if actor is None:
        return {}
    return {
        "patients": permits(actor, Action.READ_PATIENTS),
        "audit": permits(actor, Action.VIEW_AUDIT),
        "admin": permits(actor, Action.MANAGE_USERS),
        "reports": permits(actor, Action.RUN_REPORT),
        "edit": permits(actor, Action.EDIT_PATIENTS),
        "upload": permits(actor, Action.IMPORT),
    }


def render(
    request: Request,
    template: str,
    *,
    visit: Visit | None = None,
    state: WebState | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: the template with the user, the navigation and the session's CSRF token."""
    session_state = visit.state if visit is not None else state
    actor = visit.actor if visit is not None else None
    html = environment.get_template(template).render(
        request_path=request.url.path,
        user=actor.username if actor else None,
        nav=nav(actor),
        csrf_token=session_state.csrf_token if session_state else "",
        year=dt.date.today().year,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
