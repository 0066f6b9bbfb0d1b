"""Where the registry lives: the database URL, the engine, migrations and sessions.

The embedded default is an SQLite file, ``bassinet.db`` in the working directory;
``BASSINET_DATABASE_URL`` or an explicit URL selects another store, for instance a
PostgreSQL server (``postgresql://user@host/dbname``). The schema is created and
upgraded by Alembic migrations only (``bassinet init``), never by ``create_all``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bassinet.errors import ConfigurationError, RegistryError

DEFAULT_URL = "sqlite:///bassinet.db"
URL_VARIABLE = "BASSINET_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(url: str | None = None) -> str:
    """The registry's URL: ``url`` if given, else ``$BASSINET_DATABASE_URL``, else the SQLite default.

    A plain ``postgresql://`` URL is given the psycopg (version 3) driver.
    """
    chosen = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    try:
        parsed = make_url(chosen)
    except ArgumentError as exc:
        raise ConfigurationError(f"database URL {chosen!r} is not a valid URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the registry at ``url`` (see :func:`database_url`)."""
    resolved = database_url(url)
    try:
        engine = create_engine(resolved)
    except NoSuchModuleError as exc:
        raise ConfigurationError(f"no database driver for {resolved!r}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the driver for {make_url(resolved).drivername} is not installed ({exc.name}); "
            "for PostgreSQL run: pip install 'bassinet[postgres]'"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "the migrations folder has no head revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database at ``engine`` is at, or ``None`` if it was never initialised."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise RegistryError(
            f"cannot open the registry at {engine.url.render_as_string()}: {exc.orig}"
        ) from exc


def init_registry(url: str | None = None) -> tuple[str | None, str]:
    """Create the registry, or migrate it to the newest schema. Returns (before, after) revisions."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        command.upgrade(_alembic_config(engine), "head")
        return before, head_revision()
    finally:
        engine.dispose()


def require_current(engine: Engine) -> None:
    """Raise :class:`RegistryError` unless the database is initialised and at the newest schema."""
    revision = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise RegistryError(f"the registry at {where} is not initialised: run `bassinet init`")
    if revision != head_revision():
        raise RegistryError(
            f"the registry at {where} is at schema {revision}, this Bassinet expects "
            f"{head_revision()}: run `bassinet init` to migrate it"
        )


@contextmanager
def registry_session(engine: Engine, *, actor: str) -> Iterator[Session]:
    """A session whose writes are audited as made by ``actor``; committed on success, else rolled back."""
    if not actor or not actor.strip():
        raise ConfigurationError("every change to the registry needs a named actor (--user)")
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        session.info["actor"] = actor.strip()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
