"""Where the registry lives: the database URL, the engine, migrations and sessions.

The embedded default is an SQLite file, ``bassinet.db`` in the working directory;
``BASSINET_DATABASE_URL`` or an explicit URL selects another store, for instance a
PostgreSQL server (``postgresql://user@host/dbname``). The schema is created and
upgraded by Alembic migrations only (``bassinet init``), never by ``create_all``.

SQLite runs in write-ahead-log mode, so that commands reading the registry during an
import read the state before it instead of failing with "database is locked". Imports
are serialised (:func:`serialise_imports`): two imports that bring the same new study
group, centre or patient run one after the other, the second seeing the first's rows.
On PostgreSQL, the schema's owner runs the migrations and Bassinet itself runs as a
least-privilege role (:func:`application_role_grants`), which can neither disable the
audit trail's triggers nor change an audit row.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
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
    cursor.execute("PRAGMA journal_mode = WAL")  # readers see the last commit during a write
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


@functools.cache
def head_revision() -> str:
    """The newest migration's revision id (read once per process: alembic compiles every
    migration file to find it, some 20 ms, and :func:`require_current` asks at each import)."""
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


#: The key of PostgreSQL's transaction-level advisory lock that serialises imports.
IMPORT_LOCK = 0x62617373  # "bass"


def serialise_imports(session: Session) -> None:
    """Wait until no other import is writing, then hold the registry's import lock until commit.

    Call first in an import's transaction, before reading what the registry holds.
    Two imports that create the same study group, centre or patient would otherwise
    both find it missing and the second would fail on a unique constraint. PostgreSQL
    takes an advisory lock; SQLite takes its write lock at once (a write statement
    that changes nothing), waiting up to its busy timeout.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
    elif dialect == "sqlite":
        session.execute(text("DELETE FROM import_run WHERE 0"))


def application_role_grants(role: str, *, schema: str = "public") -> list[str]:
    """The SQL that gives the PostgreSQL role ``role`` what Bassinet needs, and no more.

    Run it as the owner of the schema (the role that ran ``bassinet init``), after
    every migration. The application role may read and write the registry's tables
    but only read and insert into ``audit_log``; not owning any table, it cannot
    disable triggers (``ALTER TABLE ... DISABLE TRIGGER``), and not being a superuser
    it cannot set ``session_replication_role``. The role itself is created by the
    database administrator (``CREATE ROLE bassinet_app LOGIN PASSWORD ...``).
    """
    if not role.replace("_", "").isalnum() or not role[:1].isalpha():
        raise ConfigurationError(
            f"role name {role!r}: use letters, digits and underscores, starting with a letter"
        )
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.audit_log FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]


def grant_application_role(url: str | None, role: str) -> list[str]:
    """Run :func:`application_role_grants` on the PostgreSQL registry at ``url``; returns the SQL run."""
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise ConfigurationError("database roles are a PostgreSQL matter; SQLite has none")
        require_current(engine)
        statements = application_role_grants(role)
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        return statements
    finally:
        engine.dispose()
