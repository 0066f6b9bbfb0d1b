"""The read-only use cases on a simulated cohort: the dashboard counts and follows the reports' endpoints."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bassinet.access import AccessDenied, Actor, Permission
from bassinet.access.policy import POLICY
from bassinet.application import queries
from bassinet.endpoints import ClinicalRecords, derive
from bassinet.registry import make_engine, read_frames
from bassinet.registry import models as m
from bassinet.registry.models import Role, ScopeKind


def _actor(centres: frozenset[int] | None) -> Actor:
    kind = ScopeKind.STUDY if centres is None else ScopeKind.CENTRE
    role = Role.TRIAL_STATISTICIAN if centres is None else Role.CLINICIAN
    return Actor(1, "reader", (Permission(role, kind, "x", centres, POLICY[role]),))


def test_the_dashboard_uses_the_reports_efs_and_os(cohort_registry_url: str) -> None:
    engine = make_engine(cohort_registry_url)
    try:
        with Session(engine) as session:
            board = queries.dashboard(session, _actor(None))
        frames = read_frames(engine)
        records = ClinicalRecords.from_frames(frames)
        cutoff = frames.patients["last_contact_date"].max().date()
        expected = derive(records, ["EFS", "OS"], cutoff=cutoff)
    finally:
        engine.dispose()
    assert board.patients == len(frames.patients)
    for name, times, events in (
        ("EFS", board.survival.efs_time, board.survival.efs_event),
        ("OS", board.survival.os_time, board.survival.os_event),
    ):
        rows = expected[expected["endpoint"] == name]
        wanted = [(float(t) / 365.25, int(e)) for t, e in zip(rows["time_days"], rows["status"], strict=True)]
        assert sorted(zip(times, events, strict=True)) == sorted(wanted)
    # resistant disease counts at day 0, as in the reports
    assert 0.0 in board.survival.efs_time
    assert sum(c.count for c in board.accrual) == board.patients
    assert sum(c.count for c in board.events) == len(frames.events)


def test_a_centre_actor_counts_only_the_centre(cohort_registry_url: str) -> None:
    engine = make_engine(cohort_registry_url)
    try:
        with Session(engine) as session:
            centre_id, n = session.execute(
                select(m.Patient.centre_id, func.count())
                .group_by(m.Patient.centre_id)
                .order_by(func.count().desc())
            ).first()  # type: ignore[misc]
            board = queries.dashboard(session, _actor(frozenset({centre_id})))
            listing = queries.list_patients(
                session, _actor(frozenset({centre_id})), queries.PatientFilter(page_size=5)
            )
            nobody = Actor(2, "nobody", ())
            with pytest.raises(AccessDenied, match="may not read_patients"):
                queries.list_patients(session, nobody, queries.PatientFilter())
    finally:
        engine.dispose()
    assert board.patients == n == listing.total and board.centres == 1
    assert len(board.survival.os_time) == n
    assert len(listing.centres) == 1 and len(listing.rows) == 5
