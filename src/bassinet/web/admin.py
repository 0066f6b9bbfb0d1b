"""Administration (administrators only): users, their grants, and centres."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import Action, add_user, authorise, disable_user, grant_role, list_users, revoke_role
from bassinet.application import admin as application_admin
from bassinet.errors import DataError
from bassinet.registry import models as m
from bassinet.registry import registry_session
from bassinet.registry.models import Role
from bassinet.web.context import Posted, SignedIn, Visit, engine_of, render

router = APIRouter(prefix="/admin")

Text = Annotated[str, Form()]


def _page(request: Request, visit: Visit, *, message: str | None = None, error: str | None = None,
          status_code: int = 200) -> Response:  # fmt: skip
    authorise(visit.actor, Action.MANAGE_USERS)
    with Session(engine_of(request)) as session:
        users = list_users(session)
        centres = [
            (c.name, c.study_group.name if c.study_group else "")
            for c in session.scalars(select(m.Centre).order_by(m.Centre.name))
        ]
        groups = list(session.scalars(select(m.StudyGroup.name).order_by(m.StudyGroup.name)))
    return render(
        request,
        "admin.html",
        visit=visit,
        users=users,
        centres=centres,
        groups=groups,
        roles=[r.value for r in Role],
        message=message,
        error=error,
        status_code=status_code,
    )


@router.get("")
def admin(request: Request, visit: SignedIn) -> Response:
    return _page(request, visit)


def _change(request: Request, visit: Visit, done: str, work: object) -> Response:
    authorise(visit.actor, Action.MANAGE_USERS)
    try:
        assert callable(work)
        extra = work()
    except DataError as exc:
        return _page(request, visit, error=str(exc), status_code=400)
    return _page(request, visit, message=done + (f" {extra}" if extra else ""))


@router.post("/users")
def new_user(
    request: Request, visit: Posted, username: Text = "", password: Text = "", full_name: Text = ""
) -> Response:
    def work() -> str | None:
        with Session(engine_of(request)) as session, session.begin():
            add_user(session, username.strip(), password, actor=visit.actor.username, full_name=full_name)
        return None

    return _change(request, visit, f"added user {username.strip()!r}.", work)


@router.post("/users/disable")
def disable(request: Request, visit: Posted, username: Text = "") -> Response:
    def work() -> str | None:
        if username == visit.actor.username:
            raise DataError("you cannot disable your own account: ask another administrator")
        with Session(engine_of(request)) as session, session.begin():
            disable_user(session, username, actor=visit.actor.username)
        return None

    return _change(request, visit, f"disabled user {username!r}.", work)


@router.post("/users/enable")
def enable(request: Request, visit: Posted, username: Text = "") -> Response:
    def work() -> str | None:
        application_admin.enable_user(visit.actor, engine_of(request), username)
        return None

    return _change(request, visit, f"enabled user {username!r}.", work)


@router.post("/users/unlock")
def unlock(request: Request, visit: Posted, username: Text = "") -> Response:
    def work() -> str | None:
        application_admin.unlock_user(visit.actor, engine_of(request), username)
        return None

    return _change(request, visit, f"unlocked user {username!r}.", work)


#: The study-group choice that stands for every centre: a grant over the whole study must
#: be chosen, never the result of leaving both choices empty (a forgotten centre would
#: otherwise open every centre's patients to a centre's data manager).
WHOLE_STUDY = "*"


def _scope(centre: str, study_group: str) -> tuple[str | None, str | None]:
    """(centre, study group) of a grant form; (None, None) only for an explicit whole study."""
    if study_group == WHOLE_STUDY:
        if centre:
            raise DataError("choose a centre or the whole study, not both")
        return None, None
    if not centre and not study_group:
        raise DataError("choose the grant's centre, its study group, or 'the whole study'")
    return (centre or None), (study_group or None)


@router.post("/grants")
def grant(
    request: Request,
    visit: Posted,
    username: Text = "",
    role: Text = "",
    centre: Text = "",
    study_group: Text = "",
) -> Response:
    def work() -> str | None:
        if not role:
            raise DataError("choose a role to grant")
        c, g = _scope(centre, study_group)
        with Session(engine_of(request)) as session, session.begin():
            enrolment = grant_role(
                session, username, role, actor=visit.actor.username, centre=c, study_group=g
            )
        if enrolment.totp_uri:
            return (
                "A second factor is now required and was enrolled: give the user this URI once: "
                + enrolment.totp_uri
            )
        return None

    return _change(request, visit, f"granted {role} to {username!r}.", work)


@router.post("/grants/revoke")
def revoke(
    request: Request,
    visit: Posted,
    username: Text = "",
    role: Text = "",
    centre: Text = "",
    study_group: Text = "",
) -> Response:
    def work() -> str | None:
        c, g = _scope(centre, study_group)
        with Session(engine_of(request)) as session, session.begin():
            revoke_role(session, username, role, actor=visit.actor.username, centre=c, study_group=g)
        return None

    return _change(request, visit, f"revoked {role} from {username!r}.", work)


@router.post("/centres")
def new_centre(request: Request, visit: Posted, name: Text = "", study_group: Text = "") -> Response:
    def work() -> str | None:
        title = name.strip()
        if not title or len(title) > 200:
            raise DataError("a centre's name has 1 to 200 characters")
        with registry_session(engine_of(request), actor=visit.actor.username) as session:
            if session.scalars(select(m.Centre.id).where(m.Centre.name == title)).first() is not None:
                raise DataError(f"centre {title!r} already exists")
            group = None
            if study_group:
                group = session.scalars(select(m.StudyGroup).where(m.StudyGroup.name == study_group)).first()
                if group is None:
                    raise DataError(f"unknown study group {study_group!r}")
            session.add(m.Centre(name=title, study_group=group))
        return None

    return _change(request, visit, f"added centre {name.strip()!r}.", work)
