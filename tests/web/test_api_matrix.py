"""The API's access matrix, generated from the policy: every role x scope x route x method.

For each subject (a user's token for every role x scope kind, and tokens narrowed to some
actions or centres) the expected answer of every route is worked out here from
:data:`bassinet.access.POLICY` and the scope's centres, and compared with what the API
says: 200 with exactly the patients, centres and reports in scope, 404 for a patient or a
report outside it (as for one that does not exist), 403 for an action the roles never
allow, 405 for every write. It runs on SQLite in process, and on PostgreSQL through a
running uvicorn server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bassinet.access import Action, Role, ScopeKind, revoke_token
from bassinet.access.security_log import SecurityEvent, read_security_log
from bassinet.web.api import router
from tests.web._api_world import CELLS, ApiWorld, LiveServer, Subject, make_app, username

R, A = Role, Action


SUBJECTS = [Subject(username(role, kind), role, kind) for role, kind in CELLS] + [
    Subject("statistician-monza", R.TRIAL_STATISTICIAN, ScopeKind.STUDY, centres=frozenset({"Monza"})),
    Subject(
        "data-manager-read-only", R.DATA_MANAGER, ScopeKind.STUDY_GROUP, actions=frozenset({A.READ_PATIENTS})
    ),
    Subject("monitor-utrecht", R.MONITOR, ScopeKind.STUDY, centres=frozenset({"Utrecht"})),
]


@pytest.fixture(scope="module")
def client(api_world: ApiWorld, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """In process on SQLite; through a running uvicorn server on PostgreSQL."""
    app = make_app(api_world)
    if api_world.world.engine.dialect.name == "postgresql":
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as live:
            yield live
    else:
        with TestClient(app) as local:
            yield local


def _expected(world: ApiWorld, s: Subject) -> dict[tuple[str, str], Any]:
    """(method, path) -> the expected status, or (status, what the body must show)."""
    scope = s.scope(world)
    out: dict[tuple[str, str], Any] = {}
    read, audit, report = s.may(A.READ_PATIENTS), s.may(A.VIEW_AUDIT), s.may(A.RUN_REPORT)
    in_scope = {sid for sid, centre in world.study_ids.items() if centre in scope}
    out[("GET", "/patients")] = (200, in_scope) if read else 403
    for sid in world.study_ids:
        out[("GET", f"/patients/{sid}")] = (200 if sid in in_scope else 404) if read else 403
        out[("GET", f"/patients/{sid}/audit")] = (200 if sid in in_scope else 404) if audit else 403
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            out[(method, f"/patients/{sid}")] = 405
    out[("POST", "/patients")] = 405
    if s.may(A.MANAGE_USERS):
        centres = {name: (2 if read and name in scope else None) for name in world.world.centre_ids}
        out[("GET", "/centres")] = (200, centres)
    elif read:
        out[("GET", "/centres")] = (200, dict.fromkeys(scope, 2))
    else:
        out[("GET", "/centres")] = 403
    visible = set()
    if report:
        visible = {world.jobs["Rotterdam"]} if "Rotterdam" in scope else set()
        if s.reaches_every_centre():
            visible.add(world.jobs["study"])
    out[("GET", "/reports")] = (200, visible) if report else 403
    out[("POST", "/reports")] = 400 if report else 403
    for job in world.jobs.values():
        code = (200 if job in visible else 404) if report else 403
        out[("GET", f"/reports/{job}")] = code
        out[("GET", f"/reports/{job}/files/results.json")] = code
        out[("DELETE", f"/reports/{job}")] = 405
    return out


def _shown(method: str, path: str, body: Any) -> Any:
    if path == "/patients":
        return {p["study_id"] for p in body["items"]}
    if path == "/centres":
        return {c["name"]: c["patients"] for c in body}
    if path == "/reports" and method == "GET":
        return {j["id"] for j in body}
    return None


@pytest.mark.parametrize("subject", SUBJECTS, ids=[s.token for s in SUBJECTS])
def test_every_route_and_method_answers_as_the_policy_says(
    api_world: ApiWorld, client: httpx.Client, subject: Subject
) -> None:
    headers = {"Authorization": f"Bearer {api_world.tokens[subject.token]}"}
    wrong = []
    leaked = []
    for (method, path), expected in _expected(api_world, subject).items():
        body = {"plan": "no-such-plan"} if method in ("POST", "PUT", "PATCH") else None
        response = client.request(method, f"/api/v1{path}", headers=headers, json=body)
        code, shown = expected if isinstance(expected, tuple) else (expected, None)
        if response.status_code != code:
            wrong.append((method, path, code, response.status_code, response.text[:200]))
            continue
        if shown is not None and _shown(method, path, response.json()) != shown:
            wrong.append((method, path, shown, _shown(method, path, response.json())))
        if response.status_code == 200 and path.startswith("/patients/"):
            sid = path.split("/")[2]
            if api_world.study_ids[sid] not in subject.scope(api_world):
                leaked.append(path)
    assert wrong == []
    assert leaked == []  # 0 cross-centre reads


def test_the_matrix_covers_every_route_and_method_of_the_api(api_world: ApiWorld) -> None:
    declared = {
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    checked = set()
    for subject in SUBJECTS:
        for method, path in _expected(api_world, subject):
            parts = path.split("/")
            template = "/".join(
                "{study_id}"
                if i == 2 and parts[1] == "patients"
                else "{report_id}"
                if i == 2 and parts[1] == "reports"
                else "{name}"
                if i == 4 and parts[1] == "reports"
                else p
                for i, p in enumerate(parts)
            )
            checked.add((method, template))
    assert declared <= checked, declared - checked


def test_no_token_or_a_dead_one_is_refused_on_every_route(api_world: ApiWorld, client: httpx.Client) -> None:
    with Session(api_world.world.engine) as session, session.begin():
        dead = api_world.tokens["monitor-centre"]
        from bassinet.access.tokens import token_hash
        from bassinet.registry.models import AccessToken

        token = session.query(AccessToken).filter_by(token_hash=token_hash(dead)).one()
        if token.revoked_at is None:
            revoke_token(session, token.id, actor="matrix")
    paths = [
        "/patients",
        "/patients/ROT-1",
        "/patients/ROT-1/audit",
        "/centres",
        "/reports",
        f"/reports/{api_world.jobs['study']}",
        f"/reports/{api_world.jobs['study']}/files/results.json",
    ]
    for headers in (
        {},
        {"Authorization": "Bearer bsn_not-a-token"},
        {"Authorization": f"Bearer {dead}"},
        {"Authorization": f"Basic {dead}"},
    ):
        for path in paths:
            response = client.get(f"/api/v1{path}", headers=headers)
            assert (path, response.status_code) == (path, 401)
            assert response.headers["www-authenticate"] == "Bearer"
    with Session(api_world.world.engine) as session:
        refused = read_security_log(session, event=SecurityEvent.TOKEN_REFUSED)
    assert any("revoked" in (e.detail or "") for e in refused)


def test_a_report_file_download_is_an_export_in_the_security_log(
    api_world: ApiWorld, client: httpx.Client
) -> None:
    job = api_world.jobs["study"]
    response = client.get(
        f"/api/v1/reports/{job}/files/results.json",
        headers={"Authorization": f"Bearer {api_world.tokens['trial-statistician-study']}"},
    )
    assert response.json() == {"job": job}
    with Session(api_world.world.engine) as session:
        exports = read_security_log(session, event=SecurityEvent.EXPORT)
    assert any(
        e.actor == "trial-statistician-study" and f"report {job} file results.json" in (e.detail or "")
        for e in exports
    )


@pytest.mark.parametrize("name", ["../results.json", "..%2F..%2Fetc%2Fpasswd", "plan", "results.json.bak"])
def test_only_a_file_the_report_wrote_can_be_downloaded(
    api_world: ApiWorld, client: httpx.Client, name: str
) -> None:
    job = api_world.jobs["study"]
    response = client.get(
        f"/api/v1/reports/{job}/files/{name}",
        headers={"Authorization": f"Bearer {api_world.tokens['trial-statistician-study']}"},
    )
    assert response.status_code in (404, 422)
    assert "job" not in response.text


def test_the_openapi_schema_names_every_operation_its_bearer_token_and_its_refusals() -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    spec = app.openapi()
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert operations == {
        ("GET", "/api/v1/patients"),
        ("GET", "/api/v1/patients/{study_id}"),
        ("GET", "/api/v1/patients/{study_id}/audit"),
        ("GET", "/api/v1/centres"),
        ("GET", "/api/v1/reports"),
        ("POST", "/api/v1/reports"),
        ("GET", "/api/v1/reports/{report_id}"),
        ("GET", "/api/v1/reports/{report_id}/files/{name}"),
    }
    assert spec["components"]["securitySchemes"]["personal access token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token made by `bassinet tokens create`: `Authorization: Bearer bsn_...`.",
    }
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"personal access token": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
