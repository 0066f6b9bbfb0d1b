"""The pages: dashboard, patient list (and its CSV), patient page, audit browser."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bassinet.access import Action, Actor, permits
from bassinet.access.security_log import SecurityEvent, log_security_event
from bassinet.application import queries
from bassinet.registry.escaping import spreadsheet_cell
from bassinet.web import protocol_pages, query_pages, signoff_pages
from bassinet.web.cache import ScopeCache
from bassinet.web.context import SignedIn, engine_of, redirect, render, settings_of
from bassinet.web.figures import survival_svg

router = APIRouter()

CSV_COLUMNS = (
    "study_id",
    "centre",
    "sex",
    "diagnosis_date",
    "leukemia_type",
    "risk_group",
    "vital_status",
    "last_contact_date",
)


@dataclass(frozen=True)
class DashboardView:
    """What the dashboard of one scope shows at one version of the data, figures drawn."""

    board: queries.Dashboard
    efs_svg: str | None
    os_svg: str | None


def dashboard_cache(request: Request) -> ScopeCache[DashboardView]:
    """The application's cache of dashboards, by (scope, data version)."""
    cache: ScopeCache[DashboardView] = request.app.state.dashboard_cache
    return cache


def _dashboard_view(session: Session, actor: Actor) -> DashboardView:
    board = queries.dashboard(session, actor)
    s = board.survival
    return DashboardView(
        board,
        survival_svg(s.efs_time, s.efs_event, "event-free survival") if s.efs_time else None,
        survival_svg(s.os_time, s.os_event, "overall survival") if s.os_time else None,
    )


@router.get("/")
def home(request: Request, visit: SignedIn) -> Response:
    if not permits(visit.actor, Action.READ_PATIENTS):
        return redirect("/admin" if permits(visit.actor, Action.MANAGE_USERS) else "/account")
    engine = engine_of(request)
    with Session(engine) as session:
        # The version is read first: a write committed meanwhile leaves the entry newer than its key.
        key = (visit.actor.centres_for(Action.READ_PATIENTS), queries.data_version(session))

    def compute() -> DashboardView:
        with Session(engine) as session:
            return _dashboard_view(session, visit.actor)

    # No database connection is held while waiting for another request computing the same entry.
    view = dashboard_cache(request).get(key, compute)
    board = view.board
    by_month: dict[tuple[str, str], int] = {}
    by_centre: dict[tuple[str, str], int] = {}
    for a in board.accrual:
        year, month = a.month.split("-")
        by_month[year, month] = by_month.get((year, month), 0) + a.count
        by_centre[a.centre, year] = by_centre.get((a.centre, year), 0) + a.count
    years = sorted({year for year, _ in by_month})
    centre_totals: dict[str, int] = {}
    for (centre, _year), n in by_centre.items():
        centre_totals[centre] = centre_totals.get(centre, 0) + n
    centres = sorted(centre_totals, key=lambda c: (-centre_totals[c], c))
    return render(
        request,
        "dashboard.html",
        visit=visit,
        board=board,
        years=years,
        months=[f"{k:02d}" for k in range(1, 13)],
        by_month=by_month,
        centres=centres,
        centre_totals=centre_totals,
        by_centre=by_centre,
        efs_svg=view.efs_svg,
        os_svg=view.os_svg,
    )


@router.get("/account")
def account(request: Request, visit: SignedIn) -> Response:
    grants = [p.describe() for p in visit.actor.permissions]
    return render(request, "account.html", visit=visit, grants=grants)


def _whole_number(text: str, label: str, problems: list[str]) -> int | None:
    """``text`` as a whole number from 1; a problem naming ``label`` and the value otherwise."""
    if text.strip().isdigit() and int(text) >= 1:
        return int(text)
    problems.append(f"{label} {text!r} not understood: give a whole number from 1; ignored.")
    return None


#: The page sizes a reader may choose on the patient list (besides the site's own default).
PAGE_SIZES = (20, 50, 100)


def page_sizes(default: int) -> tuple[int, ...]:
    """The page sizes offered: :data:`PAGE_SIZES` and the site's default."""
    return tuple(sorted({*PAGE_SIZES, default}))


def _filter(
    request: Request, page_size: int, *, paged: bool = True
) -> tuple[queries.PatientFilter, list[str]]:
    """The patient filter asked for, and a message for each value not understood (then ignored).

    ``page_size`` is the site's default; the query's ``size`` may choose another of
    :func:`page_sizes`.
    """
    q = request.query_params
    problems: list[str] = []
    size = page_size
    if paged and q.get("size"):
        offered = page_sizes(page_size)
        text = q["size"].strip()
        if text.isdigit() and int(text) in offered:
            size = int(text)
        else:
            choices = ", ".join(str(n) for n in offered)
            problems.append(
                f"Patients per page {q['size']!r} not understood: choose {choices}; showing {page_size}."
            )
    sort = q.get("sort") or "study_id"
    if sort not in queries.SORTS:
        problems.append(f"Sort column {sort!r} not understood; sorted by study ID.")
        sort = "study_id"
    order = q.get("order") or "asc"
    if order not in ("asc", "desc"):
        problems.append(f"Order {order!r} not understood: asc or desc; ascending.")
    status = q.get("status") or None
    if status is not None and status not in ("alive", "dead"):
        problems.append(f"Status {status!r} not understood: alive or dead; ignored.")
        status = None
    page = 1
    if paged and q.get("page"):
        page = _whole_number(q["page"], "Page", problems) or 1
    return (
        queries.PatientFilter(
            search=q.get("q") or None,
            centre=q.get("centre") or None,
            protocol=q.get("protocol") or None,
            risk_group=q.get("risk_group") or None,
            status=status,
            sort=sort,
            descending=order == "desc",
            page=page,
            page_size=size,
        ),
        problems,
    )


def _query(chosen: queries.PatientFilter, default_size: int | None = None, **changes: object) -> str:
    """The query string of ``chosen`` with ``changes``; the page size only if not the default."""
    values: dict[str, object] = {
        "q": chosen.search or "",
        "centre": chosen.centre or "",
        "protocol": chosen.protocol or "",
        "risk_group": chosen.risk_group or "",
        "status": chosen.status or "",
        "sort": chosen.sort,
        "order": "desc" if chosen.descending else "asc",
        "page": chosen.page,
        "size": "" if chosen.page_size == default_size else chosen.page_size,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v not in ("", None)})


@router.get("/patients")
def patients(request: Request, visit: SignedIn) -> Response:
    default_size = settings_of(request).page_size
    chosen, problems = _filter(request, default_size)
    with Session(engine_of(request)) as session:
        listing = queries.list_patients(session, visit.actor, chosen)
    links = {
        column: _query(
            chosen,
            default_size,
            sort=column,
            order="desc" if chosen.sort == column and not chosen.descending else "asc",
            page=1,
        )
        for column in queries.SORTS
    }
    can_export = permits(visit.actor, Action.EXPORT_IDENTIFIED) or permits(
        visit.actor, Action.EXPORT_DEIDENTIFIED
    )
    return render(
        request,
        "patients.html",
        visit=visit,
        listing=listing,
        chosen=chosen,
        sort_links=links,
        previous=_query(chosen, default_size, page=listing.page - 1) if listing.page > 1 else None,
        following=(
            _query(chosen, default_size, page=listing.page + 1) if listing.page < listing.pages else None
        ),
        csv_query=_query(chosen, page="", size=""),
        page_sizes=page_sizes(default_size),
        can_export=can_export,
        problems=problems,
    )


@router.get("/patients.csv")
def patients_csv(request: Request, visit: SignedIn) -> Response:
    chosen, _problems = _filter(request, settings_of(request).page_size, paged=False)
    engine = engine_of(request)
    with Session(engine) as session, session.begin():
        rows = queries.export_patients(session, visit.actor, chosen)
        log_security_event(
            session,
            SecurityEvent.EXPORT,
            actor=visit.actor.username,
            subject=visit.actor.username,
            detail=f"patient list CSV from the web: {len(rows)} patients; "
            f"filter {_query(chosen, page='', size='') or 'none'}",
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet_cell(_cell(getattr(row, c))) for c in CSV_COLUMNS])
    stamp = dt.date.today().isoformat()
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="patients-{stamp}.csv"'},
    )


def _cell(value: object) -> object:
    return "" if value is None else str(value)


@router.get("/patients/{patient_id}")
def patient(request: Request, patient_id: int, visit: SignedIn) -> Response:
    with Session(engine_of(request)) as session:
        detail = queries.patient_detail(session, visit.actor, patient_id)
    return render(
        request,
        "patient.html",
        visit=visit,
        p=detail,
        protocol=protocol_pages.panel(request, visit, patient_id),
        dq=query_pages.patient_panel(request, visit, patient_id),
        monitoring=signoff_pages.panel(request, visit, patient_id),
    )


def _date(text: str | None, label: str, problems: list[str]) -> dt.date | None:
    """``text`` as an ISO date; a problem naming ``label`` and the value otherwise."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{label} {text!r} is not a date (YYYY-MM-DD); ignored.")
        return None


@router.get("/audit")
def audit(request: Request, visit: SignedIn) -> Response:
    q = request.query_params
    problems: list[str] = []
    run = q.get("import_run") or q.get("run") or ""
    chosen = queries.AuditFilter(
        study_id=q.get("patient") or None,
        import_run=_whole_number(run, "Import run", problems) if run else None,
        user=q.get("user") or None,
        since=_date(q.get("since"), "From date", problems),
        until=_date(q.get("until"), "Until date", problems),
        page=(_whole_number(q["page"], "Page", problems) or 1) if q.get("page") else 1,
    )
    with Session(engine_of(request)) as session:
        entries = queries.audit_entries(session, visit.actor, chosen)
    base = {
        "patient": chosen.study_id or "",
        "import_run": chosen.import_run or "",
        "user": chosen.user or "",
        "since": chosen.since.isoformat() if chosen.since else "",
        "until": chosen.until.isoformat() if chosen.until else "",
    }

    def link(page_number: int) -> str:
        return urlencode({k: v for k, v in {**base, "page": page_number}.items() if v not in ("", None)})

    return render(
        request,
        "audit.html",
        visit=visit,
        entries=entries,
        chosen=chosen,
        problems=problems,
        previous=link(entries.page - 1) if entries.page > 1 else None,
        following=link(entries.page + 1) if entries.page < entries.pages else None,
    )
