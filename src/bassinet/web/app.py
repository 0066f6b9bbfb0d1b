"""The web application: sign-in, pages and (when present) the JSON API, on one registry.

:func:`create_app` builds the FastAPI application. The registry's SQLAlchemy engine is
at ``request.app.state.engine`` and the :class:`WebSettings` at
``request.app.state.settings``; the pages extend ``templates/base.html`` (blocks
``title`` and ``content``); the API router of :mod:`bassinet.web.api`, where it exists,
is served under ``/api/v1``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bassinet.access import Actor
from bassinet.errors import AccessDenied, DataError, RegistryError
from bassinet.registry import make_engine
from bassinet.registry.store import require_current
from bassinet.web import (
    admin,
    auth,
    forms,
    oidc,
    pages,
    protocol_pages,
    quality_pages,
    query_pages,
    reports_pages,
    signoff_pages,
    upload,
)
from bassinet.web.cache import ScopeCache
from bassinet.web.context import (
    CSRFRefused,
    SignInRequired,
    current_state,
    refusal_in_words,
    render,
    sign_in_redirect,
    visit,
    visit_if_signed_in,
)
from bassinet.web.security import HEADERS, csrf_matches
from bassinet.web.settings import WebSettings

STATIC = Path(__file__).parent / "static"


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": message}, status_code=status)
    if status == 403:
        title, message = "Not allowed", refusal_in_words(message)
    signed = visit_if_signed_in(request)
    return render(
        request,
        "error.html",
        visit=signed,
        state=current_state(request),
        status_code=status,
        title=title,
        message=message,
    )


#: The largest id a registry row can have (PostgreSQL's INTEGER, the type of every row id).
LARGEST_ROW_ID = 2**31 - 1


def _beyond_any_row(path: str) -> bool:
    """Whether a page's path holds a number no row id can be (the stores would fail on it).

    The pages name patients, records, reports and queries by their row ids; a larger
    number is "not found" like any missing id, here in one place, rather than an overflow
    in the database driver (a 500 found by a cold review). The API names patients by study
    ID, which may be any digits, so it is left alone.
    """
    if path.startswith("/api/"):
        return False
    return any(part.isdigit() and int(part) > LARGEST_ROW_ID for part in path.split("/"))


def create_app(registry_url: str | None = None, *, settings: WebSettings | None = None) -> FastAPI:
    """The web application on the registry at ``registry_url`` (default: as ``bassinet`` finds it).

    The registry must be initialised and at the newest schema (``bassinet init``).
    """
    engine = make_engine(registry_url)
    require_current(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Bassinet",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings or WebSettings()
    app.state.dashboard_cache = ScopeCache[pages.DashboardView](size=32)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if _beyond_any_row(request.url.path):
            response = _error_page(request, 404, "Not found", "no such page")
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return _error_page(request, 401, "Sign in", "sign in first")
        return sign_in_redirect(exc.next_path)

    @app.exception_handler(CSRFRefused)
    async def _csrf(request: Request, _exc: CSRFRefused) -> Response:
        return _error_page(
            request,
            403,
            "Form refused",
            "The form was refused: its security token is missing or out of date. "
            "Reload the page and try again.",
        )

    @app.exception_handler(RegistryError)
    async def _not_found(request: Request, exc: RegistryError) -> Response:
        return _error_page(request, 404, "Not found", str(exc))

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        return _error_page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(DataError)
    async def _bad(request: Request, exc: DataError) -> Response:
        return _error_page(request, 400, "Not understood", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed here"}
        return _error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            from fastapi.exception_handlers import request_validation_exception_handler

            return await request_validation_exception_handler(request, exc)
        return _error_page(request, 404, "Not found", "no such page")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(oidc.router)
    app.include_router(forms.router)  # before pages: /patients/new is not /patients/{id}
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(reports_pages.pages)
    app.include_router(protocol_pages.router)
    app.include_router(upload.router)
    app.include_router(quality_pages.router)
    app.include_router(query_pages.router)
    app.include_router(signoff_pages.router)
    app.dependency_overrides[reports_pages.page_actor] = _signed_in_actor
    _include_api(app)
    return app


#: The import string of :func:`app_from_environment`, for ``uvicorn --factory`` (several workers).
APP_FACTORY = "bassinet.web.app:app_from_environment"


def app_from_environment() -> FastAPI:
    """The application on ``$BASSINET_DATABASE_URL`` with the settings of the environment.

    What each uvicorn worker process builds when ``bassinet serve --workers N`` runs more
    than one (uvicorn then needs the application as an import string, not an object).
    """
    import os

    from bassinet.web.settings import settings_from_environment

    return create_app(None, settings=settings_from_environment(os.environ))


async def _signed_in_actor(request: Request) -> Actor:
    """The report pages' actor: the signed-in visit's, with the CSRF token checked on a POST.

    The report pages ask for :func:`bassinet.web.reports_pages.page_actor`; here it is the
    session's user (a redirect to sign-in without one), and a form posted without the
    session's CSRF token is refused like every other form of the application.
    """
    signed = visit(request)
    if request.method == "POST":
        form = await request.form()
        token = form.get("csrf_token")
        if not isinstance(token, str) or not csrf_matches(signed.state.csrf_token, token):
            raise CSRFRefused()
    request.state.actor = signed.actor
    request.state.csrf_token = signed.state.csrf_token
    return signed.actor


def _include_api(app: FastAPI) -> None:
    """Serve :mod:`bassinet.web.api`'s ``router`` under ``/api/v1`` when that module exists."""
    try:
        api = importlib.import_module("bassinet.web.api")
    except ModuleNotFoundError as exc:
        if exc.name != "bassinet.web.api":
            raise
        return
    app.include_router(api.router, prefix="/api/v1")
