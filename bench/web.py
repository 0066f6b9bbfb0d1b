"""Load test of the web pages on loopback: signed-in browser sessions on the patient list,
patient pages and dashboard (``--api``: token holders on the JSON API).

``python bench/web.py --registry postgresql://... [--fresh] [--clients 50] [--seconds 60]
[--workers N] [--think S] [--api | --save] [--profile N | --quality N]``

With ``--fresh`` the registry (PostgreSQL; its ``public`` schema is dropped) is filled
with 10,000 synthetic infants (``bassinet.simulate.registry_rows``, seed 1), imported
with validation and audit as ``bassinet import`` does. The script then makes one bench
user per client, in turn a study-wide trial statistician (who must give a TOTP code) and
data managers of four centres (one centre each), so the clients read through different
scopes. It starts ``uvicorn`` in a child process with the application ``bassinet serve``
runs (``--workers N`` processes, as ``bassinet serve --workers N``), and signs every client
in through the real sign-in pages as a browser does: ``GET /login``, the form posted with
its CSRF token, then, for a statistician, the code page posted with a code computed by
pyotp from the secret enrolled for the bench. Each client then keeps its session cookie
and, for ``--seconds`` seconds after a short warm-up, requests one after the other:

- ``GET /patients``: a random page of its scope's list, half the time filtered (vital
  status, risk group, or a centre for a statistician) and sorted by a random column;
- ``GET /patients/<id>``: a random patient of its scope;
- ``GET /``: the dashboard of its scope.

With ``--think S`` each waits about S seconds after each response, as a person reading the
page would (``--think 0``, the default, is saturation: every client sends its next request
at once). It prints, per endpoint, the requests, p50, p95 and max latency, errors and
requests per second. Latency is measured from the client's side, loopback included; a
response other than 200 (a redirect to the sign-in page included) is an error. With
``--api`` the clients are personal-access-token holders on ``/api/v1/patients`` and
``/api/v1/patients/<study ID>`` instead (the rows of the first version of this script).

``--save`` (issue 19) makes every client a data manager (of four centres in turn) who
opens a random patient's form (``GET /patients/<id>/edit``), thinks, and posts it back as a
browser does: every field as the page shows it, the white-cell count corrected by 0.1, a
reason, the version read and the CSRF token; then thinks again. A save is ok when answered
with the redirect to the patient's records (303); a 409 (another bench user saved the same
patient since it was opened: the optimistic lock) is counted as an error and named.
Clients start spread over one think time and run on from the warm-up into the timed part;
only requests started after the warm-up are counted.

``--quality N`` times the data-quality checks of the whole study instead of a load: the
trial statistician's ``check_scope`` and the ``/quality`` page (signed in, through the ASGI
app in this process), warmed up, N interleaved rounds (``_timing.Race``), with the study
rules of ``--rules`` (``examples/quality_rules.yaml`` by default).

``--profile N`` measures, instead of a load, the service time of each page in this
process (no server, no loopback): one signed-in statistician (the whole study, the
largest scope) and one data manager, N requests per page each, through the application's
ASGI interface (Starlette's test client), reporting the median CPU time
(``time.process_time``) and wall time per request, and the functions with the largest
cumulative time (cProfile) of the statistician's requests. PostgreSQL's own CPU time is
not counted (another process). The dashboard is measured twice: as served (cached
after the first request while the data do not change) and with its cache emptied before
every request (the cost after every write). Tests never assert a time: this script does.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _timing import Race, machine  # noqa: E402

PASSWORD = "bench passphrase for the web load test"
COOKIE = "bassinet_session"
STATUSES = ("alive", "dead")
SORTS = ("study_id", "centre", "diagnosis_date", "risk_group", "vital_status", "last_contact_date")


def fill(url: str, patients: int) -> None:
    """Drop the registry's schema and import ``patients`` synthetic infants."""
    from sqlalchemy import create_engine, text

    from bassinet.registry import import_files, init_registry, make_engine
    from bassinet.simulate import registry_rows, write_csv

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    init_registry(url)
    with tempfile.TemporaryDirectory() as name:
        paths = write_csv(registry_rows(patients, seed=1), Path(name) / "cohort")
        registry = make_engine(url)
        start = time.perf_counter()
        import_files(registry, paths.pop("patients"), long_sheets=paths, actor="bench")
        registry.dispose()
    print(f"imported {patients:,} patients in {time.perf_counter() - start:.1f} s")


@dataclass
class Client:
    """One simulated user: an account, what it may read, and (once signed in) its session."""

    username: str
    totp_secret: str | None
    token: str | None
    patient_ids: list[int]
    study_ids: list[str]
    centres: list[str]
    risk_groups: list[str]
    session: str = ""


def accounts(url: str, clients: int, *, tokens: bool, managers_only: bool = False) -> list[Client]:
    """One bench user per client (a statistician, then data managers of four centres, in
    turn; with ``managers_only`` data managers only), a fresh TOTP secret for those who need
    one, and with ``tokens`` a personal access token each; with what each may read."""
    from pyotp import parse_uri
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access import (
        add_user,
        create_token,
        enrol_totp,
        grant_role,
        load_actor,
        scope_patients,
    )
    from bassinet.registry import make_engine
    from bassinet.registry.models import Centre, Patient, RiskAssignment, User

    engine = make_engine(url)
    made = []
    with Session(engine) as session, session.begin():
        centres = list(session.scalars(select(Centre.name).order_by(Centre.name)))[:4]
        groups = sorted(
            g for g in session.scalars(select(RiskAssignment.risk_group).distinct()) if g is not None
        )
        for i in range(clients):
            kind = i % len(centres) + 1 if managers_only else i % (len(centres) + 1)
            role, centre = ("trial_statistician", None) if kind == 0 else ("data_manager", centres[kind - 1])
            name = f"bench-stat-{i}" if centre is None else f"bench-dm-{i}"
            if session.scalars(select(User.id).where(User.username == name)).first() is None:
                add_user(session, name, PASSWORD, actor="bench")
                grant_role(session, name, role, actor="bench", centre=centre)
            actor = load_actor(session, name)
            secret = None
            if actor.needs_second_factor:  # a new secret each run: its codes were never used
                secret = parse_uri(enrol_totp(session, name, actor="bench")).secret
            token = (
                create_token(session, name, name=f"bench-{i}-{time.time_ns()}", actor="bench", days=1).secret
                if tokens
                else None
            )
            rows = list(
                session.execute(
                    scope_patients(select(Patient.id, Patient.study_id, Centre.name).join(Centre), actor)
                )
            )
            made.append(
                Client(
                    name,
                    secret,
                    token,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    sorted({r[2] for r in rows}),
                    groups,
                )
            )
    engine.dispose()
    return made


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise SystemExit("the sign-in page has no CSRF token")
    return match.group(1)


def sign_in(http: Any, client: Client) -> str:
    """Sign ``client`` in through the pages with ``http`` (an ``httpx.Client``, or Starlette's
    test client) as a browser does; returns the session cookie's value."""
    page = http.get("/login")
    response = http.post(
        "/login",
        data={"username": client.username, "password": PASSWORD, "next": "/", "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    if response.status_code == 303 and response.headers["location"].startswith("/login/code"):
        import pyotp

        assert client.totp_secret is not None
        page = http.get(response.headers["location"])
        response = http.post(
            "/login/code",
            data={"code": pyotp.TOTP(client.totp_secret).now(), "next": "/", "csrf_token": _csrf(page.text)},
            follow_redirects=False,
        )
    if response.status_code != 303 or response.headers["location"] != "/":
        raise SystemExit(f"{client.username} could not sign in: {response.status_code} {response.text[:200]}")
    cookie: str = http.cookies[COOKIE]
    return cookie


def page_requests(client: Client, rng: random.Random, api: bool) -> list[tuple[str, str]]:
    """The requests of one round of ``client``: (endpoint name, path)."""
    total = len(client.patient_ids)
    if api:
        return [
            ("patient list", f"/api/v1/patients?limit=50&offset={rng.randrange(max(total - 50, 1))}"),
            ("patient page", f"/api/v1/patients/{rng.choice(client.study_ids)}"),
        ]
    query = f"page={rng.randint(1, max(1, -(-total // 50)))}"
    if rng.random() < 0.5:
        choices = [f"status={rng.choice(STATUSES)}"]
        if client.risk_groups:
            choices.append(f"risk_group={rng.choice(client.risk_groups)}")
        if len(client.centres) > 1:
            choices.append(f"centre={rng.choice(client.centres)}")
        query = f"{rng.choice(choices)}&sort={rng.choice(SORTS)}&order={rng.choice(('asc', 'desc'))}&page=1"
    return [
        ("patient list", f"/patients?{query}"),
        ("patient page", f"/patients/{rng.choice(client.patient_ids)}"),
        ("dashboard", "/"),
    ]


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # a failed request of each kind, for the report
    since: float = 0.0  # requests started before this perf_counter() time (the warm-up) are not counted

    def add(self, name: str, seconds: float, ok: bool, what: str = "") -> None:
        if time.perf_counter() - seconds < self.since:
            return  # started during the warm-up
        self.times.setdefault(name, []).append(seconds)
        if not ok:
            self.errors[name] = self.errors.get(name, 0) + 1
            self.failed.setdefault(f"{name}: {what.split(' ')[0]}", what)


async def run_client(
    http: object, client: Client, until: float, tally: Tally | None, api: bool, think: float
) -> None:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    headers = {"Authorization": f"Bearer {client.token}"} if api else {"Cookie": f"{COOKIE}={client.session}"}
    rng = random.Random(client.username)
    if think:  # users arrive spread over a think time, not all at once
        await asyncio.sleep(rng.uniform(0, think))
    while time.perf_counter() < until:
        for name, path in page_requests(client, rng, api):
            start = time.perf_counter()
            try:
                response = await http.get(path, headers=headers)
                ok = response.status_code == 200
                what = f"{response.status_code} {path} {response.headers.get('location', '')}"
            except httpx.HTTPError as exc:
                ok, what = False, f"{type(exc).__name__} {path}"
            if tally is not None:
                tally.add(name, time.perf_counter() - start, ok, what)
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


_HIDDEN = re.compile(r'<input type="hidden" name="(csrf_token|version)" value="([^"]*)">')
_INPUT = re.compile(r'<input id="f-[^"]*" name="([^"]+)" value="([^"]*)"')
_SELECT = re.compile(r'<select id="f-[^"]*" name="([^"]+)"[^>]*>(.*?)</select>', re.S)
_SELECTED = re.compile(r'<option value="([^"]*)" selected>')
REASON = "bench: corrected against the source document"


def form_values(page: str) -> dict[str, str]:
    """What a browser would post from an entry form page: its hidden fields, each input's
    value and each select's chosen option (all as the page shows them, unescaped)."""
    from html import unescape

    values = {m.group(1): unescape(m.group(2)) for m in _HIDDEN.finditer(page)}
    values.update({m.group(1): unescape(m.group(2)) for m in _INPUT.finditer(page)})
    for m in _SELECT.finditer(page):
        chosen = _SELECTED.findall(m.group(2))
        values[m.group(1)] = unescape(chosen[-1]) if chosen else ""
    return values


def corrected_wbc(text: str) -> str:
    """A corrected white-cell count as a user types it: 0.1 more (or less, near the top of the
    range) than ``text``, with the decimal mark ``text`` was shown with; 50 if it was empty."""
    if not text.strip():
        return "50"
    comma = "," in text
    value = float(text.replace(",", "."))
    value = value + 0.1 if value < 900 else value - 0.1
    typed = f"{value:.1f}"
    return typed.replace(".", ",") if comma else typed


async def run_saver(http: object, client: Client, until: float, tally: Tally | None, think: float) -> None:
    """A data manager correcting records as a browser does: open a random patient's form
    (``GET /patients/<id>/edit``), think, post it back with the white-cell count corrected,
    a reason, the version read and the CSRF token, think again. A save is ok when it is
    answered with the redirect to the records (303); a 409 (the record changed since it was
    opened, by another bench user) or a 400 (refused) is an error, named in the report."""
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    headers = {"Cookie": f"{COOKIE}={client.session}"}
    rng = random.Random(client.username)
    if think:  # users arrive spread over a think time, not all at once
        await asyncio.sleep(rng.uniform(0, think))
    while time.perf_counter() < until:
        path = f"/patients/{rng.choice(client.patient_ids)}/edit"
        start = time.perf_counter()
        try:
            page = await http.get(path, headers=headers)
            ok, what = page.status_code == 200, f"{page.status_code} GET {path}"
        except httpx.HTTPError as exc:
            ok, what = False, f"{type(exc).__name__} GET {path}"
        if tally is not None:
            tally.add("open form", time.perf_counter() - start, ok, what)
        if think:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
        if not ok:
            continue
        values = form_values(page.text)
        values["wbc"] = corrected_wbc(values.get("wbc", ""))
        values["reason"] = REASON
        start = time.perf_counter()
        try:
            saved = await http.post(path, data=values, headers=headers, follow_redirects=False)
            ok, what = saved.status_code == 303, f"{saved.status_code} POST {path}"
        except httpx.HTTPError as exc:
            ok, what = False, f"{type(exc).__name__} POST {path}"
        if tally is not None:
            tally.add("save", time.perf_counter() - start, ok, what)
        if think:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


def quantile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]
        if len(values) > 1
        else values[0]
    )


async def load(
    base: str, clients: list[Client], seconds: float, warm_up: float, think: float, api: bool, save: bool
) -> Tally:
    import httpx

    limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
    # The session travels in each request's Cookie header; no response of these pages sets one.
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        # One run: the users keep going from the warm-up into the timed part (a restart would
        # send all of them at once); only requests started after the warm-up are counted.
        tally = Tally(since=time.perf_counter() + warm_up)
        until = tally.since + seconds

        def user(c: Client) -> Any:
            if save:
                return run_saver(http, c, until, tally, think)
            return run_client(http, c, until, tally, api, think)

        await asyncio.gather(*(user(c) for c in clients))
    return tally


def print_table(tally: Tally, seconds: float) -> None:
    print(
        f"\n{'endpoint':<16}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}{'req/s':>8}"
    )
    for name, times in tally.times.items():
        print(
            f"{name:<16}{len(times):>10,}"
            f"{quantile(times, 0.5) * 1000:>9.0f}{quantile(times, 0.95) * 1000:>9.0f}"
            f"{max(times) * 1000:>9.0f}{tally.errors.get(name, 0):>8}{len(times) / seconds:>8.1f}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_and_load(args: argparse.Namespace, clients: list[Client]) -> None:
    """Start uvicorn on the registry, sign the clients in, run the load and print the table."""
    import httpx

    port = free_port()
    env = os.environ | {
        "BASSINET_DATABASE_URL": args.registry,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bassinet.web.app:app_from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--timeout-keep-alive",
            str(args.keep_alive),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        if not args.api:
            start = time.perf_counter()
            for client in clients:
                with httpx.Client(base_url=base, timeout=60) as http:
                    client.session = sign_in(http, client)
            print(
                f"{len(clients)} clients signed in through the pages in {time.perf_counter() - start:.1f} s"
            )
        print(f"machine: {machine()}")
        print(
            f"{len(clients)} clients, {args.seconds:g} s after {args.warm_up:g} s of warm-up, "
            f"think time {args.think:g} s, {args.workers} uvicorn worker{'s' if args.workers > 1 else ''}, "
            + (
                "API with tokens"
                if args.api
                else "data managers opening and saving patient forms"
                if args.save
                else "pages in signed-in sessions"
            )
        )
        tally = asyncio.run(load(base, clients, args.seconds, args.warm_up, args.think, args.api, args.save))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print_table(tally, args.seconds)
    for kind, example in tally.failed.items():
        print(f"errors {kind}, for instance {example}")
    print(f"load after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def profile(url: str, clients: list[Client], repeats: int) -> None:
    """Service time per page in this process: median CPU and wall ms per request, and a profile.

    The requests go through the application's ASGI interface in this thread, its synchronous
    handlers run inline rather than in the thread pool, so that cProfile sees them.
    """
    import fastapi.dependencies.utils
    import fastapi.routing
    import httpx
    from fastapi.testclient import TestClient

    from bassinet.web import create_app

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    app = create_app(url)
    for client in clients:
        with TestClient(app) as http:
            client.session = sign_in(http, client)
    cache = getattr(app.state, "dashboard_cache", None)

    def empty_cache() -> None:
        if cache is not None:
            cache.clear()

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[assignment]
    profiling = bool(os.environ.get("BENCH_WEB_PROFILE"))
    print(f"machine: {machine()}")
    print(f"{repeats} requests per page and user, in process (no server); median per request")
    print(f"{'user':<14}{'page':<24}{'CPU ms':>8}{'wall ms':>9}")

    async def measure() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for client in clients:
                rng = random.Random(1)
                pages: list[tuple[str, Callable[[], str], Callable[[], None] | None]] = [
                    ("patient list", lambda: page_requests(client, rng, False)[0][1], None),  # noqa: B023
                    ("patient page", lambda: page_requests(client, rng, False)[1][1], None),  # noqa: B023
                    ("dashboard", lambda: "/", None),
                    ("dashboard, no cache", lambda: "/", empty_cache),
                ]
                role = "statistician" if client.totp_secret else "data manager"
                headers = {"Cookie": f"{COOKIE}={client.session}"}
                for name, path_of, before in pages:
                    await http.get(path_of(), headers=headers)  # warm-up
                    cpu, wall = [], []
                    profiler = cProfile.Profile() if profiling and role == "statistician" else None
                    for _ in range(repeats):
                        path = path_of()
                        if before is not None:
                            before()
                        c0, w0 = time.process_time(), time.perf_counter()
                        if profiler is not None:
                            profiler.enable()
                        response = await http.get(path, headers=headers)
                        if profiler is not None:
                            profiler.disable()
                        cpu.append(time.process_time() - c0)
                        wall.append(time.perf_counter() - w0)
                        if response.status_code != 200:
                            raise SystemExit(f"{path}: {response.status_code}")
                    print(
                        f"{role:<14}{name:<24}{statistics.median(cpu) * 1000:>8.1f}"
                        f"{statistics.median(wall) * 1000:>9.1f}"
                    )
                    if profiler is not None:
                        text = io.StringIO()
                        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
                        print(text.getvalue())

    asyncio.run(measure())


def quality(url: str, statistician: Client, rounds: int, rules_file: Path | None) -> None:
    """The data-quality checks of the whole study (the statistician's scope): ``check_scope``
    called directly and the ``/quality`` page through the ASGI app in this process (signed in
    through the pages), warmed up, then ``rounds`` interleaved rounds (``_timing.Race``)."""
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from bassinet.access import load_actor
    from bassinet.application.quality import check_scope
    from bassinet.quality import load_rules
    from bassinet.registry import make_engine
    from bassinet.web import create_app

    if rules_file is not None:
        os.environ["BASSINET_QUALITY_RULES"] = str(rules_file)
    rules = load_rules(rules_file) if rules_file is not None else ()
    engine = make_engine(url)
    with Session(engine) as session:
        actor = load_actor(session, statistician.username)
    app = create_app(url)
    http = TestClient(app)
    statistician.session = sign_in(http, statistician)
    counted: dict[str, int] = {}

    def direct() -> None:
        report = check_scope(actor, engine, rules=rules)
        counted.update(patients=report.patients, findings=len(report.findings))

    def page() -> None:
        response = http.get("/quality")
        if response.status_code != 200:
            raise SystemExit(f"/quality: {response.status_code}")

    race = Race(rounds=rounds)
    race.add("quality checks, whole study", "check_scope", direct)
    race.add("quality checks, whole study", "/quality page", page)
    race.run()
    print(f"machine: {machine()}")
    print(
        f"{counted.get('patients', 0):,} patients, {counted.get('findings', 0):,} findings, "
        f"{len(rules)} study rules; {url.split(':')[0]}"
    )
    print(race.table(f"Data-quality checks (median of {rounds} rounds after a warm-up)", base="check_scope"))
    print(f"load after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--registry", default=os.environ.get("BASSINET_BENCH_POSTGRES_URL"), required=False)
    parser.add_argument(
        "--fresh", action="store_true", help="Drop the registry and import --patients infants."
    )
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warm-up", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    parser.add_argument(
        "--think",
        type=float,
        default=0,
        help="Mean seconds a user reads a page before the next request (uniform, 0.5x to 1.5x); 0: none.",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=5,
        help="Seconds uvicorn keeps an idle connection open (its default, as `bassinet serve`: 5).",
    )
    parser.add_argument("--api", action="store_true", help="Token holders on the JSON API, not the pages.")
    parser.add_argument(
        "--save", action="store_true", help="Data managers opening and saving patient forms, not reading."
    )
    parser.add_argument(
        "--quality",
        type=int,
        default=0,
        metavar="N",
        help="Time the data-quality checks of the whole study, N rounds (no load).",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=ROOT / "examples" / "quality_rules.yaml",
        help="Study rules for --quality.",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="Service time of each page in process, N requests.",
    )
    args = parser.parse_args()
    if not args.registry:
        parser.error("name a PostgreSQL registry with --registry or $BASSINET_BENCH_POSTGRES_URL")
    if args.fresh:
        fill(args.registry, args.patients)
    if args.profile:
        profile(args.registry, accounts(args.registry, 2, tokens=False), args.profile)
        return
    if args.quality:
        quality(args.registry, accounts(args.registry, 1, tokens=False)[0], args.quality, args.rules)
        return
    serve_and_load(args, accounts(args.registry, args.clients, tokens=args.api, managers_only=args.save))


if __name__ == "__main__":
    main()
