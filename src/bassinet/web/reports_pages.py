"""The report pages: run a shipped or uploaded plan as a background job, follow its progress,
list past reports with their plan and data hashes, open and download their files.

Server-rendered and usable without JavaScript (a running job's page refreshes itself with a
``<meta http-equiv="refresh">``). The signed-in actor comes from :func:`page_actor`, which
reads ``request.state.actor`` (set by the web application's session middleware); the
application may instead override the dependency. Every page needs ``run_report``
somewhere; a report outside the actor's scope is 404 like one that does not exist. Plan
titles and every other value are escaped by Jinja2's autoescape. A report's HTML is served
with a Content-Security-Policy that runs no script, so a hostile plan cannot act in the
application's origin even if it got past the report's own escaping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, TemplateNotFound

from bassinet.access import AccessDenied, Action, Actor, authorise
from bassinet.errors import BassinetError, DataError
from bassinet.web import jobs
from bassinet.web.context import nav

pages = APIRouter()

TEMPLATES = Path(__file__).parent / "templates"
_own_templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True))

#: Served with a report's HTML: styles and inline images only, never a script or a frame.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)


def page_actor(request: Request) -> Actor:
    """The signed-in user, as the web application's sessions put it in ``request.state.actor``."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in to see the reports.")
    return actor


def reporter(actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    """The signed-in user, if some grant lets them run reports; else 403."""
    try:
        authorise(actor, Action.RUN_REPORT)
    except AccessDenied as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    return actor


Reporter = Annotated[Actor, Depends(reporter)]


def _templates(request: Request) -> Jinja2Templates:
    """The application's templates (``app.state.templates``, with its base.html and globals) if
    they hold the report pages, else this module's own (same folder, autoescaped)."""
    shared = getattr(request.app.state, "templates", None)
    if isinstance(shared, Jinja2Templates):
        try:
            shared.get_template("reports/job.html")
        except TemplateNotFound:
            return _own_templates
        return shared
    return _own_templates


def _render(request: Request, name: str, context: dict[str, Any], code: int = 200) -> HTMLResponse:
    actor = request.state.actor if hasattr(request.state, "actor") else None
    context = {
        "actor": actor,
        "user": actor.username if isinstance(actor, Actor) else None,
        "nav": nav(actor if isinstance(actor, Actor) else None),
        "request_path": request.url.path,
        "csrf_token": getattr(request.state, "csrf_token", None),
        "list_url": request.url_for("report_list"),
        "run_url": request.url_for("report_run"),
        "upload_url": request.url_for("report_upload"),
        "job_url": lambda job_id: request.url_for("report_page", report_id=job_id),
        "file_url": lambda job_id, name: request.url_for("report_file_page", report_id=job_id, name=name),
        **context,
    }
    return _templates(request).TemplateResponse(request, name, context, status_code=code)


def _engine(request: Request) -> Any:
    return request.app.state.engine


@pages.get("/reports", response_class=HTMLResponse, name="report_list")
def report_list(request: Request, actor: Reporter) -> HTMLResponse:
    return _render(
        request,
        "reports/list.html",
        {"jobs": jobs.list_jobs(_engine(request), actor), "shipped": jobs.shipped_plan_names()},
    )


def _started(request: Request, actor: Actor, **plan: Any) -> RedirectResponse:
    runner = jobs.runner_for(request.app.state)
    try:
        job = runner.start(actor, **plan)
    except BassinetError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc).splitlines()[0]) from None
    return RedirectResponse(request.url_for("report_page", report_id=job.id), status.HTTP_303_SEE_OTHER)


@pages.post("/reports/run", name="report_run")
def report_run(
    request: Request, actor: Reporter, plan: Annotated[str, Form(max_length=100)]
) -> RedirectResponse:
    return _started(request, actor, plan=plan)


@pages.post("/reports/upload", name="report_upload")
async def report_upload(
    request: Request, actor: Reporter, plan_file: Annotated[UploadFile, File()]
) -> RedirectResponse:
    content = await plan_file.read(jobs.MAX_PLAN_BYTES + 1)
    if len(content) > jobs.MAX_PLAN_BYTES:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"The uploaded plan is too large: a plan file may be at most {jobs.MAX_PLAN_BYTES // 1024} kB.",
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "The uploaded plan is not UTF-8 text: save the file as UTF-8 and upload it again.",
        ) from None
    return _started(request, actor, plan_text=text, upload_name=plan_file.filename or "uploaded-plan.yaml")


@pages.get("/reports/{report_id}", response_class=HTMLResponse, name="report_page")
def report_page(request: Request, actor: Reporter, report_id: int) -> HTMLResponse:
    try:
        job = jobs.get_job(_engine(request), actor, report_id)
    except DataError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _render(request, "reports/job.html", {"job": job})


@pages.get("/reports/{report_id}/files/{name}", name="report_file_page")
def report_file_page(
    request: Request, actor: Reporter, report_id: int, name: str, download: Annotated[bool, Query()] = False
) -> FileResponse:
    try:
        path = jobs.download(_engine(request), actor, report_id, name)
    except DataError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    inline = not download and path.suffix in (".html", ".pdf")
    return FileResponse(
        path,
        media_type=jobs.media_type(path),
        filename=name,
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff"}
        | ({"Content-Security-Policy": REPORT_CSP} if path.suffix == ".html" else {}),
    )
