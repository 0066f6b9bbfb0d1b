"""The audit trail: who changed which field of which record, when, from what to what.

Every flush of a Bassinet session appends one :class:`~.models.AuditEntry` per
inserted, changed or deleted field of registry data, in the same transaction as the
change itself, so a change and its audit rows are committed or rolled back together.
The listener is attached to every SQLAlchemy session; a flush that changes registry
data in a session without an actor is refused. The audit table is append-only: no
code here updates or deletes an audit row, and database triggers (migration 0001)
refuse it on both SQLite and PostgreSQL.

Every audit row carries the reason given for the change (``session.info["reason"]``,
e.g. ``bassinet correct --reason``); an import without ``--reason`` records its run
and files as the reason. Changes made outside Bassinet (SQL by hand) are audited by
database triggers (migration 0003) with the database user as actor and no reason;
before each flush a Bassinet session marks its transaction (:func:`_mark_transaction`)
so that the triggers leave the changes it audits itself alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from typing import Any

from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from bassinet.errors import RegistryError
from bassinet.registry.models import REGISTRY_TABLES, AuditEntry, Patient

_AUDITED = tuple(REGISTRY_TABLES)


def audit_text(value: object) -> str | None:
    """A field value as the audit trail stores it."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _patient_of(obj: object) -> int | None:
    if isinstance(obj, Patient):
        return obj.id
    patient_id = getattr(obj, "patient_id", None)
    return patient_id if isinstance(patient_id, int) else None


def _entries(session: Session) -> Iterable[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    base = {
        "at": now,
        "actor": session.info.get("actor"),
        "import_run_id": session.info.get("import_run_id"),
        "reason": session.info.get("reason"),
    }
    for action, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not isinstance(obj, _AUDITED):
                continue
            state = inspect(obj)
            record = {
                **base,
                "action": action,
                "table_name": obj.__tablename__,
                "record_id": getattr(obj, "id"),  # noqa: B009  (every registry table has an id)
                "patient_id": _patient_of(obj),
            }
            for attribute in state.mapper.column_attrs:
                name = attribute.key
                if name == "id":
                    continue
                if action == "update":
                    change = updated_value(state, name)
                    if change is None:
                        continue
                    old, new = change
                    yield {
                        **record,
                        "field": name,
                        "old_value": audit_text(old),
                        "new_value": audit_text(new),
                    }
                else:
                    value = state.dict.get(name)
                    if value is None:
                        continue
                    text = audit_text(value)
                    yield {
                        **record,
                        "field": name,
                        "old_value": text if action == "delete" else None,
                        "new_value": None if action == "delete" else text,
                    }


def updated_value(state: Any, name: str) -> tuple[object, object] | None:
    """The old and new value of attribute ``name`` of an updated object's ``state``, or None
    when its stored text does not change (an update that writes the same value is no change)."""
    history = state.attrs[name].history
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else None
    return None if audit_text(old) == audit_text(new) else (old, new)


_MARKED = "_bassinet_audit_marked"


@event.listens_for(Session, "before_flush")
def _mark_transaction(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Tell the audit triggers that this transaction's changes are audited by Bassinet."""
    touches = any(isinstance(o, _AUDITED) for o in (*session.new, *session.dirty, *session.deleted))
    if not touches or not session.info.get("actor"):
        return
    mark_audited(session)


def mark_audited(session: Session) -> None:
    """Mark the session's transaction as audited by Bassinet, so the database's audit triggers stand aside.

    Called before every flush that changes registry data, and by code that writes
    registry rows and their audit rows itself (the importer's bulk insert).
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT set_config('bassinet.audited', 'on', true)"))
    elif not session.info.get(_MARKED):
        connection.execute(
            text("INSERT OR REPLACE INTO audit_context (id, actor) VALUES (1, :actor)"),
            {"actor": str(session.info["actor"])[:100]},
        )
    session.info[_MARKED] = True


@event.listens_for(Session, "before_commit")
def _unmark_transaction(session: Session) -> None:
    if session.info.get(_MARKED):
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.execute(text("DELETE FROM audit_context"))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_mark(session: Session) -> None:
    session.info.pop(_MARKED, None)


def insert_audit_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (:class:`~.models.AuditEntry` columns but ``id``) in the session's transaction.

    PostgreSQL takes them with ``COPY`` (psycopg), SQLite with one ``executemany``.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        names = [c.name for c in AuditEntry.__table__.columns if c.name != "id"]
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY audit_log ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[n] for n in names))
    elif connection.dialect.name == "sqlite":
        # The DB-API's executemany with tuples: SQLAlchemy's per-row parameter handling
        # costs more than SQLite's insert. Only ``at`` needs its type's conversion.
        names = [c.name for c in AuditEntry.__table__.columns if c.name != "id"]
        at_type = AuditEntry.__table__.c.at.type.dialect_impl(connection.dialect)
        convert = at_type.bind_processor(connection.dialect)  # the text SQLAlchemy stores
        stamps: dict[object, object] = {}
        for row in rows:
            if row["at"] not in stamps:
                stamps[row["at"]] = convert(row["at"]) if convert else row["at"]
        statement = f"INSERT INTO audit_log ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        raw_sqlite: Any = connection.connection.driver_connection
        raw_sqlite.executemany(
            statement,
            [tuple(stamps[row["at"]] if n == "at" else row[n] for n in names) for row in rows],
        )
    else:
        connection.execute(insert(AuditEntry), rows)


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, _flush: UOWTransaction) -> None:
    touches = any(isinstance(o, _AUDITED) for o in (*session.new, *session.dirty, *session.deleted))
    if not touches:
        return
    if not session.info.get("actor"):
        raise RegistryError(
            "refusing an unaudited change to the registry: open the session with "
            "bassinet.registry.store.registry_session(engine, actor=...)"
        )
    rows = list(_entries(session))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def history(connection: Connection | Session, patient_id: int) -> list[AuditEntry]:
    """Every audit entry of one patient's records, oldest first."""
    query = select(AuditEntry).where(AuditEntry.patient_id == patient_id).order_by(AuditEntry.id)
    if isinstance(connection, Session):
        return list(connection.scalars(query))
    return [AuditEntry(**row._mapping) for row in connection.execute(query)]
