"""An API over the access tests' small registry, with a user and a token for every role x scope.

The registry is the one of :mod:`tests.access.conftest` (DCOG: Rotterdam and Utrecht;
AIEOP: Monza; two patients each). Each cell of the access matrix gets a user with one
grant and a token acting as that user; a few narrowed tokens cut a user down to some
actions or centres. Two finished report jobs are stored, one over the whole study and
one over Rotterdam only, each with one file, so that reading and downloading reports is
part of the matrix without running a report per cell.
"""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from bassinet.access import POLICY, Action, Role, ScopeKind, add_user, create_token, grant_role
from bassinet.registry import init_registry, make_engine
from bassinet.registry import models as m
from bassinet.web.api import router
from tests.access.conftest import PASSWORD, World, _url, build_world
from tests.web._totp import fresh_code

SCOPES = {
    ScopeKind.CENTRE: ("Rotterdam", None),
    ScopeKind.STUDY_GROUP: (None, "DCOG"),
    ScopeKind.STUDY: (None, None),
}
CELLS = [
    (role, kind)
    for role, kind in itertools.product(Role, ScopeKind)
    if role is not Role.ADMINISTRATOR or kind is ScopeKind.STUDY
]


def username(role: Role, kind: ScopeKind) -> str:
    return f"{role.value}-{kind.value}".replace("_", "-")


@dataclass
class ApiWorld:
    world: World
    reports_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)  # user or narrowed token name -> secret
    jobs: dict[str, int] = field(default_factory=dict)  # "study" / "Rotterdam" -> job id
    study_ids: dict[str, str] = field(default_factory=dict)  # study ID -> centre name
    secrets: dict[str, str] = field(default_factory=dict)  # user -> TOTP secret, where enrolled
    used: dict[str, int] = field(default_factory=dict)  # user -> last TOTP step handed out

    def code_for(self, username: str) -> str:
        """A TOTP code the server has not accepted yet, for signing ``username`` in to the pages."""
        return fresh_code(self.world.engine, username, self.secrets[username], self.used)


@dataclass(frozen=True)
class Subject:
    """Who calls: user ``token`` (role over scope kind) through its token or its signed-in
    session, perhaps through a token narrowed to some actions or centres."""

    token: str
    role: Role
    kind: ScopeKind
    actions: frozenset[Action] | None = None  # the token's cut, None: the owner's
    centres: frozenset[str] | None = None

    def may(self, action: Action) -> bool:
        if action not in POLICY[self.role]:
            return False
        if action is Action.MANAGE_USERS and (self.kind is not ScopeKind.STUDY or self.centres is not None):
            return False
        return self.actions is None or action in self.actions

    def scope(self, world: ApiWorld) -> set[str]:
        centre, group = SCOPES[self.kind]
        names = set(world.world.centre_ids)
        if self.kind is ScopeKind.CENTRE:
            names = {str(centre)}
        elif self.kind is ScopeKind.STUDY_GROUP:
            names = {n for n in names if world.world.group_of[n] == group}
        return names if self.centres is None else names & self.centres

    def reaches_every_centre(self) -> bool:
        return self.kind is ScopeKind.STUDY and self.centres is None


def _job(session: Session, folder: Path, centre_ids: list[int] | None, who: str) -> int:
    job = m.ReportJob(
        plan="interfant06",
        title="Prepared <b>report</b>",
        actor=who,
        centre_ids=centre_ids,
        created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        finished_at=dt.datetime(2026, 11, 1, 0, 1, tzinfo=dt.UTC),
        status="done",
        progress=100,
        step="done",
        plan_sha256="a" * 64,
        data_sha256="b" * 64,
        output_dir="",
        files=["results.json"],
    )
    session.add(job)
    session.flush()
    out = folder / f"prepared-{job.id}"
    out.mkdir(parents=True)
    (out / "results.json").write_text(f'{{"job": {job.id}}}')
    job.output_dir = str(out)
    return job.id


def build_api_world(world: World, folder: Path) -> ApiWorld:
    api = ApiWorld(world, folder / "reports")
    with Session(world.engine) as session, session.begin():
        for role, kind in CELLS:
            name = username(role, kind)
            centre, group = SCOPES[kind]
            add_user(session, name, PASSWORD, actor="matrix")
            uri = grant_role(session, name, role, actor="matrix", centre=centre, study_group=group).totp_uri
            if uri is not None:
                api.secrets[name] = parse_qs(urlparse(uri).query)["secret"][0]
            api.tokens[name] = create_token(session, name, name="matrix", actor="matrix").secret
        # Narrowed tokens: a study-wide statistician cut to Monza, a DCOG data manager cut to
        # reading, a study-wide monitor cut to Utrecht.
        narrowed = {
            "statistician-monza": ("trial-statistician-study", None, ["Monza"]),
            "data-manager-read-only": ("data-manager-study-group", ["read_patients"], None),
            "monitor-utrecht": ("monitor-study", None, ["Utrecht"]),
        }
        for token_name, (owner, actions, centres) in narrowed.items():
            api.tokens[token_name] = create_token(
                session, owner, name=token_name, actor="matrix", actions=actions, centres=centres
            ).secret
        api.jobs["study"] = _job(session, folder, None, "trial-statistician-study")
        api.jobs["Rotterdam"] = _job(
            session, folder, [world.centre_ids["Rotterdam"]], "trial-statistician-centre"
        )
        for patient in session.query(m.Patient):
            api.study_ids[patient.study_id] = patient.centre.name
    return api


def make_app(api: ApiWorld) -> FastAPI:
    app = FastAPI(title="Bassinet API (test)")
    app.state.engine = api.world.engine
    app.state.reports_dir = api.reports_dir
    app.include_router(router, prefix="/api/v1")
    return app


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    folder = tmp_path_factory.mktemp("api")
    url = _url(request.param, folder)
    init_registry(url)
    engine = make_engine(url)
    yield build_api_world(build_world(engine), folder)
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """A uvicorn server for ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
