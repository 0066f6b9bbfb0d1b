"""``bassinet serve``: the web application on a registry, with uvicorn.

The one CLI module that imports the web front end: starting it is all this command does.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bassinet.cli._common import Registry, _run, app, out


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    registry: Registry = None,
    proxy: Annotated[
        bool,
        typer.Option(
            "--behind-proxy",
            help="Trust X-Forwarded-Proto/For from a TLS proxy on this machine (cookies then Secure).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Server processes (uvicorn workers); more than 1 needs PostgreSQL to be useful.",
            min=1,
            max=64,
        ),
    ] = 1,
) -> None:
    """Serve the web pages (and the API) of the registry; sign in with a `bassinet users` account.

    Single sign-on and cookie settings come from environment variables (docs/web.md).
    """
    import os

    import uvicorn

    from bassinet.registry.store import URL_VARIABLE
    from bassinet.web import create_app
    from bassinet.web.app import APP_FACTORY
    from bassinet.web.settings import settings_from_environment

    def work() -> None:
        application = create_app(registry, settings=settings_from_environment(os.environ))
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "proxy_headers": proxy,
            "forwarded_allow_ips": "127.0.0.1" if proxy else None,
            "server_header": False,
            "log_level": "info",
        }
        processes = f", {workers} worker processes" if workers > 1 else ""
        out.print(f"Bassinet on http://{host}:{port}/{processes} (Ctrl-C stops it)", highlight=False)
        if workers == 1:
            uvicorn.run(application, **options)
            return
        # Each worker process builds its own application (and engine) from the environment;
        # the one built above has checked that the registry opens and is current.
        application.state.engine.dispose()
        if registry is not None:
            os.environ[URL_VARIABLE] = registry
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)

    _run(work)
