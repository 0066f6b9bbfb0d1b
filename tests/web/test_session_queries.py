"""A signed-in page view reads its session with one query and writes nothing, most of the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from bassinet.access import add_user, disable_user
from bassinet.registry import init_registry, make_engine
from bassinet.registry import models as m
from bassinet.web import WebSettings, sessions
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site, sign_in


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_page_view_reads_the_session_and_user_in_one_query_and_writes_nothing(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "dm_rot")
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert client.get("/account").status_code == 200
    with statements(engine) as seen:
        page = client.get("/account")
    assert page.status_code == 200 and "dm_rot" in page.text
    on_sessions = [s for s in seen if "web_session" in s]
    assert len(on_sessions) == 1 and "JOIN app_user" in on_sessions[0]
    assert not [s for s in seen if s.startswith(("UPDATE", "INSERT", "DELETE"))]
    # the actor: the user with its grants, and the granted centre
    assert len(seen) == 4, seen


def test_the_last_use_is_written_once_a_minute_and_the_idle_timeout_still_holds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'touch.db'}"
    init_registry(url)
    engine = make_engine(url)
    settings = WebSettings()
    t0 = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        add_user(session, "toucher", PASSWORD, actor="test")
        user_id = session.scalars(select(m.User.id).where(m.User.username == "toucher")).one()
    state = sessions.create(engine, stage="signed_in", user_id=user_id, now=t0)

    def last_seen() -> dt.datetime:
        with Session(engine) as session:
            value = session.scalars(select(m.WebSession.last_seen)).one()
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value

    loaded = sessions.load(engine, state.session_id, settings, now=t0 + dt.timedelta(seconds=59))
    assert loaded is not None and loaded.username == "toucher" and loaded.user_id == user_id
    assert last_seen() == t0  # under a minute: not written
    at = t0 + dt.timedelta(seconds=60)
    assert sessions.load(engine, state.session_id, settings, now=at) is not None
    assert last_seen() == at
    assert sessions.load(engine, state.session_id, settings, now=at + dt.timedelta(minutes=30)) is not None
    later = at + dt.timedelta(minutes=60, seconds=1)  # 30 min 1 s after the last use written
    assert sessions.load(engine, state.session_id, settings, now=later) is None
    with Session(engine) as session, session.begin():
        again = sessions.create(engine, stage="signed_in", user_id=user_id, now=later)
        disable_user(session, "toucher", actor="test")
    assert sessions.load(engine, again.session_id, settings, now=later) is None  # disabled: gone
    engine.dispose()
