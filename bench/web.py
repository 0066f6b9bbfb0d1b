"""Load test of the web API on loopback: signed-in clients on the patient list and patient pages.

``python bench/web.py --registry postgresql://... [--fresh] [--clients 50] [--seconds 60]``

With ``--fresh`` the registry (PostgreSQL; its ``public`` schema is dropped) is filled
with 10,000 synthetic infants (``bassinet.simulate.registry_rows``, seed 1), imported
with validation and audit as ``bassinet import`` does. The script then makes bench users
(a study-wide trial statistician and data managers of four centres) and one personal
access token per client, starts ``uvicorn`` in a child process (one worker, as
``bassinet serve`` does), and runs ``--clients`` asynchronous httpx clients for
``--seconds`` seconds after a short warm-up. Each client sends, one after the other,
``GET /api/v1/patients`` (a page of 50 at a random offset of its scope, sorted by study
ID) and ``GET /api/v1/patients/{study_id}`` (a random patient of its scope), and, if the
application has one, the dashboard; with ``--think S`` each waits about S seconds after each
response, as a person reading the page would (``--think 0``, the default, is saturation:
every client sends its next request at once). It prints p50 and p95 latency and errors per
endpoint. Latency is measured from the client's side, loopback included; a response
other than 200 is an error. Tests never assert a time: this script does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _timing import machine  # noqa: E402

PASSWORD = "bench passphrase for the web load test"


def make_app() -> object:
    """The app the child uvicorn serves: the web application if there is one, else the API alone."""
    from bassinet.registry import make_engine

    url = os.environ["BASSINET_DATABASE_URL"]
    try:
        from bassinet.web.app import create_app  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from fastapi import FastAPI

        from bassinet.web.api import router

        app = FastAPI(title="Bassinet API")
        app.state.engine = make_engine(url)
        app.include_router(router, prefix="/api/v1")
        return app
    return create_app()  # the integrated application reads $BASSINET_DATABASE_URL


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
    token: str
    study_ids: list[str]
    total: int


def accounts(url: str, clients: int) -> list[Client]:
    """Bench users and one token per client, with the study IDs each client may read."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.access import add_user, create_token, grant_role, load_actor, scope_patients
    from bassinet.registry import make_engine
    from bassinet.registry.models import Centre, Patient, User

    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        centres = list(session.scalars(select(Centre.name).order_by(Centre.name)))[:4]
        users = {"bench-statistician": ("trial_statistician", None)}
        users |= {f"bench-dm-{i}": ("data_manager", centre) for i, centre in enumerate(centres)}
        for name, (role, centre) in users.items():
            if session.scalars(select(User.id).where(User.username == name)).first() is None:
                add_user(session, name, PASSWORD, actor="bench")
                grant_role(session, name, role, actor="bench", centre=centre)
        made = []
        names = list(users)
        for i in range(clients):
            owner = names[i % len(names)]
            made.append(
                (owner, create_token(session, owner, name=f"bench-{i}", actor="bench", days=1).secret)
            )
        scopes = {}
        for name in names:
            actor = load_actor(session, name)
            scopes[name] = list(session.scalars(scope_patients(select(Patient.study_id), actor)))
    engine.dispose()
    return [Client(secret, scopes[owner], len(scopes[owner])) for owner, secret in made]


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float, ok: bool) -> None:
        self.times.setdefault(name, []).append(seconds)
        if not ok:
            self.errors[name] = self.errors.get(name, 0) + 1


async def run_client(
    http: object, client: Client, until: float, tally: Tally | None, dashboard: bool, think: float
) -> None:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    headers = {"Authorization": f"Bearer {client.token}"}
    rng = random.Random(client.token)
    while time.perf_counter() < until:
        requests = [
            ("patient list", f"/api/v1/patients?limit=50&offset={rng.randrange(max(client.total - 50, 1))}"),
            ("patient page", f"/api/v1/patients/{rng.choice(client.study_ids)}"),
        ]
        if dashboard:
            requests.append(("dashboard", "/api/v1/dashboard"))
        for name, path in requests:
            start = time.perf_counter()
            try:
                response = await http.get(path, headers=headers)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if tally is not None:
                tally.add(name, time.perf_counter() - start, ok)
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


def quantile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]
        if len(values) > 1
        else values[0]
    )


async def load(base: str, clients: list[Client], seconds: float, warm_up: float, think: float) -> Tally:
    import httpx

    limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        dashboard = (await http.get("/api/v1/dashboard")).status_code != 404
        until = time.perf_counter() + warm_up
        await asyncio.gather(*(run_client(http, c, until, None, dashboard, think) for c in clients))
        tally = Tally()
        until = time.perf_counter() + seconds
        await asyncio.gather(*(run_client(http, c, until, tally, dashboard, think) for c in clients))
    return tally


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
    parser.add_argument(
        "--think",
        type=float,
        default=0,
        help="Mean seconds a user reads a page before the next request (uniform, 0.5x to 1.5x); 0: none.",
    )
    args = parser.parse_args()
    if not args.registry:
        parser.error("name a PostgreSQL registry with --registry or $BASSINET_BENCH_POSTGRES_URL")
    if args.fresh:
        fill(args.registry, args.patients)
    clients = accounts(args.registry, args.clients)
    port = free_port()
    env = os.environ | {
        "BASSINET_DATABASE_URL": args.registry,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "web:make_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        print(f"machine: {machine()}")
        print(
            f"{len(clients)} clients, {args.seconds:g} s after {args.warm_up:g} s of warm-up, "
            f"think time {args.think:g} s, one uvicorn worker"
        )
        tally = asyncio.run(load(f"http://127.0.0.1:{port}", clients, args.seconds, args.warm_up, args.think))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\n{'endpoint':<16}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}{'req/s':>8}")
    for name, times in tally.times.items():
        print(
            f"{name:<16}{len(times):>10,}"
            f"{quantile(times, 0.5) * 1000:>10.0f}{quantile(times, 0.95) * 1000:>10.0f}"
            f"{tally.errors.get(name, 0):>8}{len(times) / args.seconds:>8.1f}"
        )
    print(f"load after the run: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
