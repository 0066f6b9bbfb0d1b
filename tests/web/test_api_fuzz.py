"""A schema-driven fuzz of the API (schemathesis): 0 server errors, 0 responses outside the schema.

Schemathesis reads the OpenAPI schema the router publishes and sends generated requests
(valid and invalid) to every operation, as a user who may read, audit and run reports over
the whole study; every response must be declared in the schema (status code, content type
and body). The examples per operation are bounded so that the test runs in CI in seconds,
on SQLite and on PostgreSQL (which, unlike SQLite, refuses a NUL character in a string).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from bassinet.access import add_user, create_token, grant_role
from bassinet.web.api import router
from tests.access.conftest import PASSWORD
from tests.web._api_world import ApiWorld

FUZZER = "fuzzer"


@pytest.fixture(scope="module")
def fuzz_token(api_world: ApiWorld) -> str:
    with Session(api_world.world.engine) as session, session.begin():
        add_user(session, FUZZER, PASSWORD, actor="fuzz")
        for role in ("trial_statistician", "data_manager"):
            grant_role(session, FUZZER, role, actor="fuzz")
        return create_token(session, FUZZER, name="fuzz", actor="fuzz").secret


# The schema does not depend on the store: the app is built once, and each test points it at
# the registry of its store.
APP = FastAPI(title="Bassinet API")
APP.include_router(router, prefix="/api/v1")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_app(api_world: ApiWorld) -> Iterator[FastAPI]:
    APP.state.engine = api_world.world.engine
    APP.state.reports_dir = api_world.reports_dir
    yield APP
    runner = getattr(APP.state, "report_jobs", None)
    if runner is not None:
        runner.shutdown()
        del APP.state.report_jobs


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_within_its_schema(
    case: schemathesis.Case, fuzz_app: FastAPI, fuzz_token: str
) -> None:
    assert fuzz_app.state.engine is not None
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {fuzz_token}"}
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code < 500
