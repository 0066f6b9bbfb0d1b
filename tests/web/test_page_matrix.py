"""The pages' access matrix, generated from the policy: every role x scope x page route x method.

The users are the API matrix's (:mod:`tests.web._api_world`: one per role x scope kind, over
Rotterdam, the study group DCOG or the whole study; two prepared reports). Each signs in
through the real sign-in pages (password, then a TOTP code where the grants need one) in a
client of its own, and every route of the web application (walked from ``app.routes``, so
a new route fails :func:`test_every_route_of_the_application_is_in_the_matrix` until it is
given a rule in :data:`RULES`) is asked with each of its methods, with and without the
form's CSRF token. The answer expected is worked out from :data:`bassinet.access.POLICY`
and the grant's centres, and compared with what the page says and shows: the patients and
centres of the list, the dashboard's counts, the rows of the CSV, the audit's patients,
the reports listed; a patient or a report outside the scope answers 404 with the very
page of an id that does not exist; a form posted without the action is refused (403) and
nothing in the registry changes. Methods that no route declares answer 405. The API
routes, whose own matrix is :mod:`tests.web.test_api_matrix`, must refuse a session
cookie (401): only a token opens them. On SQLite in process; on PostgreSQL through a
running uvicorn server.

:data:`RULES` also holds the rules of routes that branches not yet merged add
(:data:`UPCOMING`): a rule is asked only once the application has its route, and a rule
without a route is allowed only there.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Match, Mount, Route

from bassinet.access import Action, Role, ScopeKind
from bassinet.registry import models as m
from bassinet.web import create_app
from bassinet.web.api import router as api_router
from bassinet.web.context import ACTION_WORDS
from tests.web._api_world import CELLS, ApiWorld, LiveServer, Subject, username
from tests.web.conftest import csrf_of, sign_in

A = Action
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MISSING_PATIENT = 10_000_000
MISSING_REPORT = 10_000_000
MISSING_RECORD = 10_000_000
MISSING_QUERY = 10_000_000
MISSING_UPLOAD = "0" * 32  # well formed, never issued


@dataclass(frozen=True)
class Expect:
    """What a request must answer: a status, where a redirect leads, and what the page shows."""

    status: int
    location: str | None = None
    shown: Any = None  # compared with _shown(kind, ...) when not None
    kind: str | None = None  # which reading of the page `shown` is compared with


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expect: Expect
    csrf: bool = True  # whether a form is posted with the session's CSRF token
    form: dict[str, str] | None = None  # the harmless values posted (else FORMS[path])
    upload: tuple[str, str, bytes, str] | None = None  # a file posted: field, name, bytes, type


@dataclass
class Ctx:
    """One subject (``None``: nobody signed in) in one world, with what it may do."""

    world: ApiWorld
    subject: Subject | None
    patient_ids: dict[str, int]  # study ID -> database id
    scope: set[str] = field(default_factory=set)
    routes: frozenset[tuple[str, str]] = frozenset()  # (method, path) of the app's page routes
    records: dict[str, int] = field(default_factory=dict)  # study ID -> its remission record's id
    queries: dict[str, int] = field(default_factory=dict)  # study ID -> its closed data query's id

    def may(self, action: Action) -> bool:
        return self.subject is not None and self.subject.may(action)

    @property
    def anonymous(self) -> bool:
        return self.subject is None

    def in_scope(self) -> set[str]:
        return {sid for sid, centre in self.world.study_ids.items() if centre in self.scope}

    def visible_jobs(self) -> set[int]:
        if not self.may(A.RUN_REPORT):
            return set()
        assert self.subject is not None
        seen = {self.world.jobs["Rotterdam"]} if "Rotterdam" in self.scope else set()
        if self.subject.reaches_every_centre():
            seen.add(self.world.jobs["study"])
        return seen


def _login(path: str) -> Expect:
    return Expect(303, location="/login?next=" + quote(path, safe="/"))


def _refused(action: Action) -> Expect:
    return Expect(403, shown=f"Your role does not allow {ACTION_WORDS[action]}.", kind="alert")


CSRF_REFUSED = Expect(403, shown="The form was refused: its security token is missing or out of date. "
                      "Reload the page and try again.", kind="alert")  # fmt: skip


def _page(ctx: Ctx, path: str, action: Action, allowed: Expect) -> Expect:
    """A signed-in page that needs ``action``: ``allowed``, or the refusal page; sign-in first."""
    if ctx.anonymous:
        return _login(path)
    return allowed if ctx.may(action) else _refused(action)


Rule = Callable[[Ctx], list[Case]]


def _home(ctx: Ctx) -> list[Case]:
    if ctx.anonymous:
        return [Case("GET", "/", _login("/"))]
    if ctx.may(A.READ_PATIENTS):
        return [Case("GET", "/", Expect(200, shown=(len(ctx.in_scope()), len(ctx.scope)), kind="dashboard"))]
    return [Case("GET", "/", Expect(303, location="/admin" if ctx.may(A.MANAGE_USERS) else "/account"))]


def _account(ctx: Ctx) -> list[Case]:
    if ctx.anonymous:
        return [Case("GET", "/account", _login("/account"))]
    s = ctx.subject
    assert s is not None
    where = {
        ScopeKind.CENTRE: "centre 'Rotterdam'",
        ScopeKind.STUDY_GROUP: "study_group 'DCOG'",
        ScopeKind.STUDY: "the whole study",
    }[s.kind]
    nav = {"Dashboard", "Patients"} if ctx.may(A.READ_PATIENTS) else set()
    nav |= {"Reports"} if ctx.may(A.RUN_REPORT) else set()
    nav |= {"Audit"} if ctx.may(A.VIEW_AUDIT) else set()
    nav |= {"Administration"} if ctx.may(A.MANAGE_USERS) else set()
    if ("GET", "/upload") in ctx.routes:
        nav |= {"Upload"} if ctx.may(A.IMPORT) else set()
    if ("GET", "/quality") in ctx.routes:
        nav |= {"Quality", "Queries"} if ctx.may(A.READ_PATIENTS) else set()
    shown = ([f"{s.role.value} over {where}"], nav | {s.token})
    return [Case("GET", "/account", Expect(200, shown=shown, kind="account"))]


def _patients(ctx: Ctx) -> list[Case]:
    shown = (ctx.in_scope(), ctx.scope)
    return [
        Case(
            "GET",
            "/patients",
            _page(ctx, "/patients", A.READ_PATIENTS, Expect(200, shown=shown, kind="list")),
        )
    ]


def _csv(ctx: Ctx) -> list[Case]:
    path = "/patients.csv"
    if ctx.anonymous:
        return [Case("GET", path, _login(path))]
    if ctx.may(A.EXPORT_IDENTIFIED) or ctx.may(A.EXPORT_DEIDENTIFIED):
        rows = {(sid, ctx.world.study_ids[sid]) for sid in ctx.in_scope()}
        return [Case("GET", path, Expect(200, shown=rows, kind="csv"))]
    return [Case("GET", path, _refused(A.EXPORT_IDENTIFIED))]


def _patient(ctx: Ctx) -> list[Case]:
    cases = []
    for sid, pid in [*sorted(ctx.patient_ids.items()), ("", MISSING_PATIENT)]:
        path = f"/patients/{pid}"
        if ctx.anonymous:
            expect = _login(path)
        elif ctx.may(A.READ_PATIENTS) and sid in ctx.in_scope():
            expect = Expect(200, shown=f"Patient {sid}", kind="h1")
        else:  # outside the scope, or no patient at all: the same page, word for word
            expect = Expect(404, shown=pid, kind="missing patient")
        cases.append(Case("GET", path, expect))
    return cases


def _audit(ctx: Ctx) -> list[Case]:
    return [
        Case(
            "GET",
            "/audit",
            _page(ctx, "/audit", A.VIEW_AUDIT, Expect(200, shown=ctx.in_scope(), kind="audit")),
        )
    ]


def _admin(ctx: Ctx) -> list[Case]:
    everyone = set(ctx.world.world.centre_ids)
    return [
        Case("GET", "/admin", _page(ctx, "/admin", A.MANAGE_USERS, Expect(200, shown=everyone, kind="admin")))
    ]


def _posted(path: str, action: Action, allowed: Expect) -> Rule:
    """A form of a signed-in page needing ``action``: tried with and without the CSRF token."""

    def rule(ctx: Ctx) -> list[Case]:
        if ctx.anonymous:
            with_token = Expect(303, location="/login?next=/")
        else:
            with_token = allowed if ctx.may(action) else _refused(action)
        return [Case("POST", path, with_token), Case("POST", path, CSRF_REFUSED, csrf=False)]

    return rule


def _reports_form(path: str) -> Rule:
    """A report form: like :func:`_posted`, but the sign-in comes before the CSRF check."""

    def rule(ctx: Ctx) -> list[Case]:
        if ctx.anonymous:
            return [Case("POST", path, Expect(303, location="/login?next=/"), csrf=c) for c in (True, False)]
        allowed = Expect(400, kind="alert")
        return [
            Case("POST", path, allowed if ctx.may(A.RUN_REPORT) else _refused(A.RUN_REPORT)),
            Case("POST", path, CSRF_REFUSED, csrf=False),
        ]

    return rule


def _reports(ctx: Ctx) -> list[Case]:
    return [
        Case(
            "GET",
            "/reports",
            _page(ctx, "/reports", A.RUN_REPORT, Expect(200, shown=ctx.visible_jobs(), kind="reports")),
        )
    ]


def _report(suffix: str, kind: str) -> Rule:
    def rule(ctx: Ctx) -> list[Case]:
        cases = []
        for job in [*sorted(ctx.world.jobs.values()), MISSING_REPORT]:
            path = f"/reports/{job}{suffix}"
            seen = (
                Expect(200, shown=job, kind=kind)
                if job in ctx.visible_jobs()
                else Expect(404, shown=job, kind="missing report")
            )
            cases.append(Case("GET", path, _page(ctx, path, A.RUN_REPORT, seen)))
        return cases

    return rule


def _fixed(
    method: str, path: str, signed_in: Expect, anonymous: Expect | None = None, *, csrf: bool = True
) -> Rule:
    def rule(ctx: Ctx) -> list[Case]:
        expect = anonymous if ctx.anonymous and anonymous is not None else signed_in
        cases = [Case(method, path, expect)]
        if method == "POST" and csrf:
            cases.append(Case(method, path, CSRF_REFUSED, csrf=False))
        return cases

    return rule


def _signed_out(method: str, path: str) -> Expect:
    """Nobody signed in: a page sends to sign-in and comes back; a form's post starts over at "/"."""
    return _login(path) if method == "GET" else Expect(303, location="/login?next=/")


Allowed = Callable[[Ctx, str, int], Expect]  # (context, study ID, patient id) -> the answer


def _of_patient(
    method: str, template: str, action: Action | str, allowed: Allowed, form: dict[str, str] | None = None
) -> Rule:
    """A route of one patient, asked for every patient and a missing one, needing ``action`` at
    the patient's centre (from :data:`bassinet.access.POLICY`): a role without the action is
    refused whichever the patient; with it, a patient outside the scope is the very page of a
    missing id (404); inside it, ``allowed``. ``template`` names ``{pid}`` and may name
    ``{rid}``, the patient's remission record. A form is also posted without its CSRF token."""

    def rule(ctx: Ctx) -> list[Case]:
        needed = Action(action)  # looked up when asked: routes of branches not merged yet name actions
        cases = []
        for sid, pid in [*sorted(ctx.patient_ids.items()), ("", MISSING_PATIENT)]:
            path = template.format(pid=pid, rid=ctx.records.get(sid, MISSING_RECORD))
            if ctx.anonymous:
                expect = _signed_out(method, path)
            elif not ctx.may(needed):
                expect = _refused(needed)
            elif sid in ctx.in_scope():
                expect = allowed(ctx, sid, pid)
            else:  # outside the scope, or no patient at all: the same page, word for word
                expect = Expect(404, shown=pid, kind="missing patient")
            cases.append(Case(method, path, expect, form=form))
            if method == "POST":
                cases.append(Case(method, path, CSRF_REFUSED, csrf=False, form=form))
        return cases

    return rule


def _needs(
    method: str,
    path: str,
    action: Action | str | None,
    allowed: Expect,
    *,
    form: dict[str, str] | None = None,
    upload: tuple[str, str, bytes, str] | None = None,
) -> Rule:
    """A route of no patient needing ``action`` (``None``: only a signed-in user): ``allowed``,
    or the refusal page; sign-in first; a form is also posted without its CSRF token."""

    def rule(ctx: Ctx) -> list[Case]:
        needed = None if action is None else Action(action)
        if ctx.anonymous:
            expect = _signed_out(method, path)
        elif needed is not None and not ctx.may(needed):
            expect = _refused(needed)
        else:
            expect = allowed
        cases = [Case(method, path, expect, form=form, upload=upload)]
        if method == "POST":
            cases.append(Case(method, path, CSRF_REFUSED, csrf=False, form=form, upload=upload))
        return cases

    return rule


def _of_query(template: str, action: str, allowed: Callable[[int], Expect], form: dict[str, str]) -> Rule:
    """A form of one data query (each patient's closed query, and a missing one) needing
    ``action``: a role without it is refused; with it, a query of a patient outside the scope
    is not found, in the words of a missing id (404); inside it, ``allowed(query id)``."""

    def rule(ctx: Ctx) -> list[Case]:
        needed = Action(action)
        cases = []
        for sid, qid in [*sorted(ctx.queries.items()), ("", MISSING_QUERY)]:
            path = template.format(qid=qid)
            if ctx.anonymous:
                expect = _signed_out("POST", path)
            elif not ctx.may(needed):
                expect = _refused(needed)
            elif sid in ctx.in_scope():
                expect = allowed(qid)
            else:
                expect = Expect(404, shown=f"no query with id {qid}", kind="alert")
            cases += [
                Case("POST", path, expect, form=form),
                Case("POST", path, CSRF_REFUSED, csrf=False, form=form),
            ]
        return cases

    return rule


def _h1(status: int, words: str) -> Allowed:
    return lambda _ctx, sid, _pid: Expect(status, shown=words.format(sid=sid), kind="h1")


# The entry forms (bassinet.web.forms): entry and correction need edit_patients at the
# patient's centre. The values posted are harmless: an empty form (refused as data, 400), or
# a correction at version 0, older than the record's audit trail (refused as changed, 409).
EMPTY: dict[str, str] = {}
STALE = {"version": "0", "reason": ""}
REMISSION = "remission assessment"


def _entry_format(method: str) -> Rule:
    """Anyone signed in sets their own dates and numbers; an empty choice is refused (400)."""
    if method == "GET":
        return _needs(
            "GET", "/account/entry-format", None, Expect(200, shown="Dates and numbers in forms", kind="h1")
        )
    return _needs(
        "POST",
        "/account/entry-format",
        None,
        Expect(400, shown="date format '' is not one of ", kind="alert start"),
        form={"date_format": "", "decimal_mark": ""},
    )


ENTRY_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/patients/new"): _needs(
        "GET", "/patients/new", A.EDIT_PATIENTS, Expect(200, shown="New patient", kind="h1")
    ),
    ("POST", "/patients/new"): _needs(
        "POST",
        "/patients/new",
        A.EDIT_PATIENTS,
        Expect(400, shown="New patient", kind="h1"),
        form={"centre": "Rotterdam", "study_id": ""},
    ),
    ("GET", "/patients/{patient_id}/records"): _of_patient(
        "GET", "/patients/{pid}/records", A.EDIT_PATIENTS, _h1(200, "Records of {sid}")
    ),
    ("GET", "/patients/{patient_id}/edit"): _of_patient(
        "GET", "/patients/{pid}/edit", A.EDIT_PATIENTS, _h1(200, "Correct patient {sid}")
    ),
    ("POST", "/patients/{patient_id}/edit"): _of_patient(
        "POST", "/patients/{pid}/edit", A.EDIT_PATIENTS, _h1(409, "Correct patient {sid}"), STALE
    ),
    ("GET", "/patients/{patient_id}/records/{kind}/new"): _of_patient(
        "GET",
        "/patients/{pid}/records/remissions/new",
        A.EDIT_PATIENTS,
        _h1(200, f"New {REMISSION} of {{sid}}"),
    ),
    ("POST", "/patients/{patient_id}/records/{kind}/new"): _of_patient(
        "POST",
        "/patients/{pid}/records/remissions/new",
        A.EDIT_PATIENTS,
        _h1(400, f"New {REMISSION} of {{sid}}"),
        EMPTY,
    ),
    ("GET", "/patients/{patient_id}/records/{kind}/{record_id}"): _of_patient(
        "GET",
        "/patients/{pid}/records/remissions/{rid}",
        A.EDIT_PATIENTS,
        lambda ctx, sid, _pid: Expect(
            200, shown=f"Correct {REMISSION} {ctx.records[sid]} of {sid}", kind="h1"
        ),
    ),
    ("POST", "/patients/{patient_id}/records/{kind}/{record_id}"): _of_patient(
        "POST",
        "/patients/{pid}/records/remissions/{rid}",
        A.EDIT_PATIENTS,
        lambda ctx, sid, _pid: Expect(
            409, shown=f"Correct {REMISSION} {ctx.records[sid]} of {sid}", kind="h1"
        ),
        STALE,
    ),
    ("GET", "/account/entry-format"): _entry_format("GET"),
    ("POST", "/account/entry-format"): _entry_format("POST"),
}

# The protocol panel's actions (bassinet.web.protocol_pages, branch h19actions): stratify,
# randomise and explain at the patient's centre, for clinicians. The patients are stratified
# before the matrix runs (see `known`), so a clinician's stratify stores nothing new; the
# stratum confirmed is never the one the allocation would use, so randomising is refused (409).
PROTOCOL_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/patients/{patient_id}/protocol/stratify"): _of_patient(
        "GET", "/patients/{pid}/protocol/stratify", "stratify", _h1(200, "Stratify {sid}?")
    ),
    ("POST", "/patients/{patient_id}/protocol/stratify"): _of_patient(
        "POST",
        "/patients/{pid}/protocol/stratify",
        "stratify",
        lambda _ctx, _sid, pid: Expect(303, location=f"/patients/{pid}#protocol"),
        EMPTY,
    ),
    ("GET", "/patients/{patient_id}/protocol/randomise"): _of_patient(
        "GET", "/patients/{pid}/protocol/randomise", "randomise", _h1(409, "Not randomised")
    ),
    ("POST", "/patients/{patient_id}/protocol/randomise"): _of_patient(
        "POST",
        "/patients/{pid}/protocol/randomise",
        "randomise",
        _h1(409, "Not randomised"),
        {"stratum": "no-such-stratum"},
    ),
    ("GET", "/patients/{patient_id}/protocol/explain"): _of_patient(
        "GET", "/patients/{pid}/protocol/explain", "explain", lambda _ctx, _sid, _pid: Expect(200)
    ),
}

# Import by upload (bassinet.web.upload, branch h19actions), for data managers: a file that is
# not CSV or XLSX is refused before the importer reads it (400). An upload is only its own
# user's: any other token is "no such upload" (404) to everyone who may import.
NOT_CSV = ("patients", "notes.txt", b"not a table\n", "text/plain")
NO_SUCH_UPLOAD = Expect(404, shown="no such upload", kind="alert")
UPLOAD_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/upload"): _needs("GET", "/upload", "import", Expect(200, shown="Upload import", kind="h1")),
    ("POST", "/upload"): _needs(
        "POST",
        "/upload",
        "import",
        Expect(400, shown="notes.txt is not a CSV or XLSX file", kind="alert start"),
        form=EMPTY,
        upload=NOT_CSV,
    ),
    # a user who may not import is refused as on the upload page (403), whatever the token
    ("POST", "/upload/{token}/confirm"): _needs(
        "POST", f"/upload/{MISSING_UPLOAD}/confirm", "import", NO_SUCH_UPLOAD, form={"digest": ""}
    ),
    ("GET", "/upload/{token}/quarantine.csv"): _needs(
        "GET", f"/upload/{MISSING_UPLOAD}/quarantine.csv", "import", NO_SUCH_UPLOAD
    ),
    ("GET", "/upload/template/{kind}.csv"): _needs(
        "GET", "/upload/template/patients.csv", "import", Expect(200)
    ),
}

# Data quality and queries (bassinet.web.quality_pages, query_pages, branch h19dq): every role
# that reads patients sees the checks and the open queries of its scope; monitors raise and
# close queries, data managers answer them. A query without its question or answer is refused
# as data (400); each patient's query is closed, so that it can be neither answered nor closed
# again (400), and another centre's query is not found like one that does not exist (404).
QUALITY_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/quality"): _needs("GET", "/quality", A.READ_PATIENTS, Expect(200)),
    ("GET", "/queries"): _needs("GET", "/queries", A.READ_PATIENTS, Expect(200)),
    ("POST", "/queries"): _needs(
        "POST",
        "/queries",
        "raise_query",
        Expect(400, shown="a query needs its question", kind="alert start"),
        form={"study_id": "ROT-1", "record": "patient", "field": "sex", "question": ""},
    ),
    # The raise form of a record (branch h19query): monitors only; an empty question shows the
    # form again (400) with the problem beside the question.
    ("GET", "/patients/{patient_id}/queries/new"): _of_patient(
        "GET", "/patients/{pid}/queries/new", "raise_query", _h1(200, "Raise a query on {sid}")
    ),
    ("POST", "/patients/{patient_id}/queries/new"): _of_patient(
        "POST",
        "/patients/{pid}/queries/new",
        "raise_query",
        _h1(400, "Raise a query on {sid}"),
        {"record": "patient", "field": "sex", "question": ""},
    ),
    ("POST", "/queries/{query_id}/answer"): _of_query(
        "/queries/{qid}/answer",
        "answer_query",
        lambda qid: Expect(
            400, shown=f"query {qid} is closed: only an open query can be answered", kind="alert"
        ),
        {"answer": "Checked again.", "corrections": "", "reason": ""},
    ),
    ("POST", "/queries/{query_id}/close"): _of_query(
        "/queries/{qid}/close",
        "raise_query",
        lambda qid: Expect(
            400, shown=f"query {qid} is closed: only an answered query can be closed", kind="alert"
        ),
        {"note": ""},
    ),
}

# Monitoring sign-off (bassinet.web.signoff_pages, branch h19sign): monitors verify fields and
# lock or unlock a casebook, investigators sign it, each at the patient's centre. The forms
# posted are harmless: no field ticked (nothing to verify: back to the patient), a lock or an
# unlock without its reason, a signature without its password (refused as data, 400).
SIGNOFF_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/patients/{patient_id}/sdv"): _of_patient(
        "POST",
        "/patients/{pid}/sdv",
        "verify_source",
        lambda _ctx, _sid, pid: Expect(303, location=f"/patients/{pid}#monitoring"),
        {},
    ),
    ("POST", "/patients/{patient_id}/lock"): _of_patient(
        "POST",
        "/patients/{pid}/lock",
        "lock_record",
        lambda _ctx, sid, _pid: Expect(
            400, shown=f"locking the casebook of {sid} needs its reason", kind="alert"
        ),
        {"reason": ""},
    ),
    ("POST", "/patients/{patient_id}/unlock"): _of_patient(
        "POST",
        "/patients/{pid}/unlock",
        "lock_record",
        lambda _ctx, sid, _pid: Expect(
            400, shown=f"unlocking the casebook of {sid} needs its reason", kind="alert"
        ),
        {"reason": ""},
    ),
    ("GET", "/patients/{patient_id}/sign"): _of_patient(
        "GET", "/patients/{pid}/sign", "sign_record", _h1(200, "Sign the casebook of {sid}")
    ),
    ("POST", "/patients/{patient_id}/sign"): _of_patient(
        "POST",
        "/patients/{pid}/sign",
        "sign_record",
        _h1(400, "Sign the casebook of {sid}"),
        {"password": ""},
    ),
}

#: Rules of routes that the branches still to be merged add (h19actions, h19dq): asked once
#: the application has the route; until then they are the only rules allowed without one.
UPCOMING: frozenset[tuple[str, str]] = (
    frozenset(PROTOCOL_RULES) | frozenset(UPLOAD_RULES) | frozenset(QUALITY_RULES)
)


ADMIN_FORM = Expect(400, kind="alert")  # a use case reached: the harmless form is refused as data

#: Every page route and method of the application, with the rule of its expected answers.
RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): _home,
    ("GET", "/account"): _account,
    ("GET", "/patients"): _patients,
    ("GET", "/patients.csv"): _csv,
    ("GET", "/patients/{patient_id}"): _patient,
    ("GET", "/audit"): _audit,
    ("GET", "/admin"): _admin,
    ("POST", "/admin/users"): _posted("/admin/users", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/users/disable"): _posted("/admin/users/disable", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/users/enable"): _posted("/admin/users/enable", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/users/unlock"): _posted("/admin/users/unlock", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/grants"): _posted("/admin/grants", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/grants/revoke"): _posted("/admin/grants/revoke", A.MANAGE_USERS, ADMIN_FORM),
    ("POST", "/admin/centres"): _posted("/admin/centres", A.MANAGE_USERS, ADMIN_FORM),
    ("GET", "/reports"): _reports,
    ("POST", "/reports/run"): _reports_form("/reports/run"),
    ("POST", "/reports/upload"): _reports_form("/reports/upload"),
    ("GET", "/reports/{report_id}"): _report("", "report"),
    ("GET", "/reports/{report_id}/files/{name}"): _report("/files/results.json", "file"),
    **ENTRY_RULES,
    **PROTOCOL_RULES,
    **UPLOAD_RULES,
    **QUALITY_RULES,
    **SIGNOFF_RULES,
    # Signing in (asked after every other form: nobody's failed sign-in starts a new session,
    # whose CSRF token the forms asked later would not match): a signed-in user is sent on,
    # and the steps' forms refuse its session.
    ("GET", "/login"): _fixed("GET", "/login", Expect(303, location="/"), Expect(200)),
    ("POST", "/login"): _fixed("POST", "/login", CSRF_REFUSED, Expect(401)),
    ("GET", "/login/code"): _fixed("GET", "/login/code", Expect(303, location="/login")),
    ("POST", "/login/code"): _fixed("POST", "/login/code", CSRF_REFUSED),
    ("GET", "/login/enrol"): _fixed("GET", "/login/enrol", Expect(303, location="/login")),
    ("POST", "/login/enrol"): _fixed("POST", "/login/enrol", CSRF_REFUSED),
    # Signing out is asked last, by itself (see _sign_out).
    ("POST", "/logout"): lambda ctx: [],
    # Single sign-on is not configured here.
    ("GET", "/login/oidc"): _fixed("GET", "/login/oidc", Expect(404)),
    ("GET", "/login/oidc/callback"): _fixed("GET", "/login/oidc/callback", Expect(404)),
    ("MOUNT", "/static"): _fixed("GET", "/static/style.css", Expect(200)),
    ("GET", "/api/v1/openapi.json"): _fixed("GET", "/api/v1/openapi.json", Expect(200)),
    ("HEAD", "/api/v1/openapi.json"): _fixed("HEAD", "/api/v1/openapi.json", Expect(200)),
}

FORMS: dict[str, dict[str, str]] = {
    # Harmless values: an allowed user reaches the use case, which refuses them as data.
    "/admin/users": {"username": "", "password": ""},
    "/admin/users/disable": {"username": "no-such-user"},
    "/admin/users/enable": {"username": "no-such-user"},
    "/admin/users/unlock": {"username": "no-such-user"},
    "/admin/grants": {"username": "no-such-user", "role": ""},
    "/admin/grants/revoke": {"username": "no-such-user", "role": "monitor"},
    "/admin/centres": {"name": "", "study_group": ""},
    "/reports/run": {"plan": "no-such-plan"},
    "/login": {"username": "", "password": ""},
    "/login/code": {"code": "000000"},
    "/login/enrol": {"code": "000000"},
}


def _api_cases(ctx: Ctx) -> list[Case]:
    """Every API route, asked with the session cookie and no token: refused (401)."""
    values = {
        "{study_id}": "ROT-1",
        "{report_id}": str(ctx.world.jobs["Rotterdam"]),
        "{name}": "results.json",
    }
    cases = []
    for route in api_router.routes:
        assert isinstance(route, APIRoute)
        path = "/api/v1" + route.path
        for placeholder, value in values.items():
            path = path.replace(placeholder, value)
        cases += [Case(method, path, Expect(401)) for method in sorted(route.methods)]
    return cases


def _undeclared(app: FastAPI, ctx: Ctx, cases: list[Case]) -> list[Case]:
    """Each page path asked with every method that no route of it declares: 405."""
    out = []
    for path in sorted({c.path for c in cases if not c.path.startswith(("/static/", "/api/"))}):
        for method in METHODS:
            matches = [r.matches({"type": "http", "path": path, "method": method})[0] for r in app.routes]
            if Match.FULL not in matches:
                assert Match.PARTIAL in matches, (method, path)
                out.append(Case(method, path, Expect(405), csrf=False))
    return out


def all_cases(app: FastAPI, ctx: Ctx) -> list[Case]:
    """The cases of every route the application has (a rule of a route it lacks is not asked)."""
    declared = _declared(app.routes)
    cases = [case for route, rule in RULES.items() if route in declared for case in rule(ctx)]
    cases += _api_cases(ctx)
    return cases + _undeclared(app, ctx, cases)


# -- reading the answers ----------------------------------------------------------------------


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _shown(kind: str, body: str) -> Any:
    if kind == "dashboard":
        lead = re.search(r'<p class="lead">(\d+) patients? in (\d+) centres?', body)
        assert lead is not None
        return int(lead[1]), int(lead[2])
    if kind == "account":
        roles = body.split("Your roles", 1)[1]
        grants = [_text(li) for li in re.findall(r"<li>(.*?)</li>", roles)]
        menu = re.search(r'<nav aria-label="Main">(.*?)</nav>', body, re.S)
        assert menu is not None
        return grants, {_text(a) for a in re.findall(r"<a [^>]*>(.*?)</a>", menu[1])}
    if kind == "list":
        table = body.split("<tbody>", 1)[1]
        ids = {_text(a) for a in re.findall(r'<a href="/patients/\d+">(.*?)</a>', table)}
        centres = re.search(r'<select id="centre" name="centre">(.*?)</select>', body, re.S)
        assert centres is not None
        return ids, {_text(o) for o in re.findall(r"<option [^>]*>(.*?)</option>", centres[1])} - {"all"}
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        return {(r["study_id"], r["centre"]) for r in rows}
    if kind == "h1":
        h1 = re.search(r"<h1>(.*?)</h1>", body, re.S)
        assert h1 is not None
        return _text(h1[1])
    if kind == "audit":
        table = body.split('<table class="audit">', 1)[1]
        return {_text(a) for a in re.findall(r'<a href="/patients/\d+">(.*?)</a>', table)}
    if kind == "admin":
        table = body.split("<summary>All ", 1)[1]
        return {_text(c) for c in re.findall(r"<tr><td>(.*?)</td><td>", table)}
    if kind == "reports":
        return {int(n) for n in re.findall(r'href="[^"]*/reports/(\d+)">#', body)}
    if kind == "report":
        h1 = _text(re.search(r"<h1>(.*?)</h1>", body, re.S)[1])  # type: ignore[index]
        return int(h1.split("#", 1)[1].split(":", 1)[0])
    if kind == "file":
        return int(re.fullmatch(r'\{"job": (\d+)\}', body)[1])  # type: ignore[index]
    if kind == "alert":
        alert = _ALERT.search(body)
        assert alert is not None
        return _text(alert[2])
    raise AssertionError(f"no reading {kind!r}")


_ALERT = re.compile(r'(<p class="error" role="alert"[^>]*>)(.*?)(</p>)', re.S)


def _without_id(body: str, number: int) -> str:
    """``body`` with ``number`` taken out of its alert (however the alert words it)."""
    return _ALERT.sub(lambda a: a[1] + re.sub(rf"\b{number}\b", "ID", a[2]) + a[3], body, count=1)


def _same_as_missing(body: str, missing: str, number: int, missing_number: int) -> bool:
    """Whether ``body`` is the page of a missing id, but for the id itself."""
    return _without_id(body, number) == _without_id(missing, missing_number)


# -- the world and the clients ----------------------------------------------------------------


@pytest.fixture(scope="module")
def page_app(api_world: ApiWorld) -> Iterator[FastAPI]:
    app = create_app(api_world.world.engine.url.render_as_string(hide_password=False))
    app.state.reports_dir = api_world.reports_dir
    yield app
    runner = getattr(app.state, "report_jobs", None)
    if runner is not None:
        runner.shutdown()


ClientFactory = Callable[[], httpx.Client]


@pytest.fixture(scope="module")
def new_client(api_world: ApiWorld, page_app: FastAPI) -> Iterator[ClientFactory]:
    """A maker of clients, each with its own cookies: in process on SQLite; through a running
    uvicorn server on PostgreSQL."""
    if api_world.world.engine.dialect.name == "postgresql":
        with LiveServer(page_app) as server:
            yield lambda: httpx.Client(base_url=server.url, timeout=60)
    else:
        yield lambda: TestClient(page_app)


@dataclass(frozen=True)
class Known:
    """What the cases are built from: the patients, their records, the application's routes."""

    patient_ids: dict[str, int]  # study ID -> database id
    records: dict[str, int]  # study ID -> its remission record's id
    queries: dict[str, int]  # study ID -> its closed data query's id (once queries exist)
    routes: frozenset[tuple[str, str]]

    def ctx(self, world: ApiWorld, subject: Subject | None, scope: set[str]) -> Ctx:
        return Ctx(
            world,
            subject,
            self.patient_ids,
            scope,
            routes=self.routes,
            records=self.records,
            queries=self.queries,
        )


@pytest.fixture(scope="module")
def known(api_world: ApiWorld, page_app: FastAPI) -> Known:
    """Each patient given a remission assessment (so that its correction form opens) and, where
    the registry has data queries, a closed query (which can be neither answered nor closed
    again); then every patient stratified (so that a clinician's stratify finds the decision
    stored and writes nothing)."""
    from bassinet.protocols.service import stratify
    from bassinet.registry import registry_session
    from bassinet.registry.vocabulary import RemissionStatus, TimePoint

    engine = api_world.world.engine
    query = getattr(m, "DataQuery", None)  # the data queries of branch h19dq
    with registry_session(engine, actor="matrix") as session:
        for patient in session.scalars(select(m.Patient)):
            session.add(
                m.RemissionAssessment(
                    patient=patient,
                    time_point=TimePoint.END_OF_INDUCTION,
                    assessment_date=patient.diagnosis_date + dt.timedelta(days=33),
                    status=RemissionStatus.CR,
                )
            )
            if query is not None:
                at = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
                session.add(
                    query(
                        patient=patient,
                        record="patient",
                        field="sex",
                        question="Sex as on the birth certificate?",
                        status="closed",
                        raised_by="monitor-study",
                        raised_at=at,
                        answer="Checked.",
                        answered_by="data-manager-study",
                        answered_at=at,
                        closed_by="monitor-study",
                        closed_at=at,
                    )
                )
    stratify(engine, actor="matrix")
    with Session(engine) as session:
        patient_ids = {p.study_id: p.id for p in session.scalars(select(m.Patient))}
        records = {r.patient.study_id: r.id for r in session.scalars(select(m.RemissionAssessment))}
        queries = {} if query is None else {q.patient.study_id: q.id for q in session.scalars(select(query))}
    return Known(patient_ids, records, queries, frozenset(_declared(page_app.routes)))


def _registry_state(world: ApiWorld) -> dict[str, object]:
    """What a refused or harmless form must leave as it was (the security log aside)."""
    with Session(world.world.engine) as session:
        counted = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (m.User, m.Grant, m.Centre, m.StudyGroup, m.Patient, m.ReportJob, m.AccessToken)
        }
        counted["last audit entry"] = session.scalar(select(func.max(m.AuditEntry.id)))
        counted["disabled users"] = session.scalar(select(func.count()).where(m.User.disabled.is_(True)))
    return counted


def _ask(client: httpx.Client, case: Case, token: str) -> httpx.Response:
    if case.method in ("GET", "HEAD"):
        return client.request(case.method, case.path, follow_redirects=False)
    data = dict(FORMS.get(case.path, {}) if case.form is None else case.form)
    if case.csrf:
        data["csrf_token"] = token
    files = None
    if case.path == "/reports/upload" and case.method == "POST":
        files = {"plan_file": ("wrong.yaml", b"title: [not closed\n", "application/yaml")}
    if case.upload is not None:
        name, filename, content, media = case.upload
        files = {name: (filename, content, media)}
    return client.request(case.method, case.path, data=data, files=files, follow_redirects=False)


def _check(case: Case, response: httpx.Response, missing: dict[str, httpx.Response]) -> list[object]:
    e = case.expect
    if response.status_code != e.status:
        return [(case.method, case.path, case.csrf, e.status, response.status_code, response.text[:300])]
    if e.location is not None and response.headers.get("location") != e.location:
        return [(case.method, case.path, "location", e.location, response.headers.get("location"))]
    if e.kind == "missing patient":
        if not _same_as_missing(response.text, missing["patient"].text, e.shown, MISSING_PATIENT):
            return [(case.method, case.path, "not the page of a missing patient")]
        return []
    if e.kind == "missing report":
        if not _same_as_missing(response.text, missing["report"].text, e.shown, MISSING_REPORT):
            return [(case.method, case.path, "not the page of a missing report")]
        return []
    if e.kind == "alert start":  # the alert's first words: the rest names the server's choices
        said = _shown("alert", response.text)
        if not said.startswith(e.shown):
            return [(case.method, case.path, "says", said, "expected to begin", e.shown)]
        return []
    if e.kind is not None:
        shown = _shown(e.kind, response.text)
        if e.shown is not None and shown != e.shown:
            return [(case.method, case.path, "shows", shown, "expected", e.shown)]
    return []


def _run(app: FastAPI, client: httpx.Client, ctx: Ctx) -> tuple[list[object], list[str], int]:
    """Ask every case; the wrong answers, the out-of-scope patients shown, and how many were asked."""
    token = csrf_of(client.get("/login" if ctx.anonymous else "/account").text)
    missing = {
        "patient": client.get(f"/patients/{MISSING_PATIENT}"),
        "report": client.get(f"/reports/{MISSING_REPORT}"),
    }
    wrong: list[object] = []
    leaked: list[str] = []
    cases = all_cases(app, ctx)
    for case in cases:
        response = _ask(client, case, token)
        wrong += _check(case, response, missing)
        if response.status_code == 200 and case.method == "GET":
            for sid, centre in ctx.world.study_ids.items():
                if centre not in ctx.scope and re.search(rf"\b{sid}\b", response.text):
                    leaked.append(f"{case.path} shows {sid} of {centre}")
    return wrong, leaked, len(cases)


def _ctx(world: ApiWorld, subject: Subject, known: Known) -> Ctx:
    """The subject's context; its scope is the centres whose patients it may read (none for an
    administrator, whose grant is over the whole study but reads no patient)."""
    reads = subject.may(A.READ_PATIENTS)
    return known.ctx(world, subject, subject.scope(world) if reads else set())


SUBJECTS = [Subject(username(role, kind), role, kind) for role, kind in CELLS]


@pytest.mark.parametrize("subject", SUBJECTS, ids=[s.token for s in SUBJECTS])
def test_every_page_route_and_method_answers_as_the_policy_says(
    api_world: ApiWorld,
    page_app: FastAPI,
    new_client: ClientFactory,
    known: Known,
    subject: Subject,
) -> None:
    ctx = _ctx(api_world, subject, known)
    before = _registry_state(api_world)
    with new_client() as client:
        sign_in(api_world, client, subject.token, next_path="/account")
        wrong, leaked, asked = _run(page_app, client, ctx)
        after = _registry_state(api_world)
        # Signing out ends the session: the same cookie then opens nothing.
        token = csrf_of(client.get("/account").text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, "/login")
        again = client.get("/account", follow_redirects=False)
        assert (again.status_code, again.headers["location"]) == (303, "/login?next=/account")
    assert wrong == []
    assert leaked == []  # 0 cross-centre reads
    assert after == before  # 0 writes by refused or harmless forms
    assert asked >= 60


def test_nobody_signed_in_is_sent_to_sign_in_or_refused_on_every_route(
    api_world: ApiWorld, page_app: FastAPI, new_client: ClientFactory, known: Known
) -> None:
    ctx = known.ctx(api_world, None, set())
    before = _registry_state(api_world)
    with new_client() as client:
        wrong, leaked, asked = _run(page_app, client, ctx)
    assert wrong == []
    assert leaked == []
    assert _registry_state(api_world) == before
    assert asked >= 60


def _declared(routes: Iterable[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, walking into included routers ("MOUNT" for a mount)."""
    declared = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.165 includes lazily
        if included is not None:
            declared |= _declared(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            declared.add(("MOUNT", prefix + route.path))
        elif isinstance(route, Route) and route.methods is not None:
            declared |= {(method, prefix + route.path) for method in route.methods}
        else:
            raise AssertionError(f"a route the matrix cannot read: {route!r}")
    return declared


def test_every_route_of_the_application_is_in_the_matrix(page_app: FastAPI) -> None:
    api = {
        (method, "/api/v1" + route.path)
        for route in api_router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    pages = _declared(page_app.routes) - api
    # A route without a rule fails here until RULES says what each role may do with it.
    assert pages - set(RULES) == set()
    # A rule without a route is one of a branch still to be merged, never a stale one.
    assert set(RULES) - pages <= UPCOMING, set(RULES) - pages - UPCOMING
    assert api and api <= _declared(page_app.routes)


def test_the_matrix_asks_every_role_and_scope_kind_the_same_requests(
    api_world: ApiWorld, page_app: FastAPI, known: Known
) -> None:
    patient_ids = known.patient_ids
    granted = {(s.role, s.kind) for s in SUBJECTS}
    assert granted == {
        (role, kind)
        for role in Role
        for kind in ScopeKind
        if role is not Role.ADMINISTRATOR or kind is ScopeKind.STUDY  # granted over the study only
    }
    anonymous = known.ctx(api_world, None, set())
    asked = sorted((c.method, c.path, c.csrf) for c in all_cases(page_app, anonymous))
    for s in SUBJECTS:
        # Only the answers differ from one subject to another, never the questions.
        assert (
            sorted((c.method, c.path, c.csrf) for c in all_cases(page_app, _ctx(api_world, s, known)))
            == asked
        )
    # Every patient and report (and a missing one) is asked for.
    paths = {path for _method, path, _csrf in asked}
    assert {f"/patients/{pid}" for pid in [*patient_ids.values(), MISSING_PATIENT]} <= paths
    assert {f"/reports/{job}" for job in [*api_world.jobs.values(), MISSING_REPORT]} <= paths
    # Every patient's remission record's form, and its data query's once the app has queries.
    assert set(known.records) == set(patient_ids)
    records = {f"/patients/{patient_ids[sid]}/records/remissions/{rid}" for sid, rid in known.records.items()}
    assert records <= paths
    if ("POST", "/queries/{query_id}/close") in known.routes:
        assert set(known.queries) == set(patient_ids)
        assert {f"/queries/{qid}/close" for qid in [*known.queries.values(), MISSING_QUERY]} <= paths


def test_the_matrix_notices_a_page_that_shows_more_than_the_scope(
    api_world: ApiWorld, page_app: FastAPI, new_client: ClientFactory, known: Known
) -> None:
    patient_ids = known.patient_ids
    # A DCOG monitor checked as if its scope were Rotterdam alone: the list, the dashboard, the
    # audit and Utrecht's patient pages must then all be reported, as answers and as leaks.
    subject = Subject(username(Role.MONITOR, ScopeKind.STUDY_GROUP), Role.MONITOR, ScopeKind.STUDY_GROUP)
    narrow = known.ctx(api_world, subject, {"Rotterdam"})
    with new_client() as client:
        sign_in(api_world, client, subject.token, next_path="/account")
        wrong, leaked, _asked = _run(page_app, client, narrow)
    paths = {w[1] for w in wrong if isinstance(w, tuple)}
    utrecht = {f"/patients/{patient_ids[sid]}" for sid in ("UTR-1", "UTR-2")}
    assert {"/", "/patients", "/audit"} | utrecht <= paths
    assert {leak.split(" shows ")[1] for leak in leaked} == {"UTR-1 of Utrecht", "UTR-2 of Utrecht"}
