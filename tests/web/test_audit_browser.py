"""The audit browser shows one change once: who, when and why, with the fields it touched under it.

The audit trail stores a row per field; a correction of three fields with one reason is
three rows sharing the time, actor, record and reason. This module's registry (its own)
has ROT-1 corrected in three fields with one reason, then in one field with another.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bassinet.access import POLICY, Actor, Permission
from bassinet.application import records
from bassinet.application.queries import AuditField, AuditRow, group_changes
from bassinet.registry.models import Role, ScopeKind
from tests.web.conftest import Site, sign_in

T0 = dt.datetime(2026, 1, 5, 10, 0, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=1)


def row(
    field: str,
    *,
    at: dt.datetime = T0,
    actor: str = "ann",
    record: int = 1,
    reason: str | None = "typo",
    action: str = "update",
    run: int | None = None,
    old: str | None = "a",
    new: str | None = "b",
) -> AuditRow:
    return AuditRow(at, actor, action, "patient", record, record, f"P-{record}", field, old, new, run, reason)


@pytest.mark.parametrize(
    ("rows", "fields_per_change"),
    [
        ([], []),
        ([row("sex")], [["sex"]]),
        # newest first: one change's fields come back in the order they were written
        ([row("wbc"), row("cd10"), row("sex")], [["sex", "cd10", "wbc"]]),
        ([row("wbc", reason="other"), row("sex")], [["wbc"], ["sex"]]),  # another reason
        ([row("wbc", at=T1), row("sex")], [["wbc"], ["sex"]]),  # another time
        ([row("wbc", actor="bob"), row("sex")], [["wbc"], ["sex"]]),  # another actor
        ([row("wbc", record=2), row("sex")], [["wbc"], ["sex"]]),  # another record
        ([row("wbc", action="insert"), row("sex")], [["wbc"], ["sex"]]),  # another action
        ([row("wbc", run=4), row("sex")], [["wbc"], ["sex"]]),  # another import run
        ([row("wbc", reason=None), row("sex", reason=None)], [["sex", "wbc"]]),  # no reason is one too
        ([row("wbc"), row("x", record=2), row("sex")], [["wbc"], ["x"], ["sex"]]),  # only neighbours
    ],
)
def test_rows_of_one_change_are_grouped_at_the_boundaries(
    rows: list[AuditRow], fields_per_change: list[list[str]]
) -> None:
    changes = group_changes(rows)
    assert [[f.field for f in c.fields] for c in changes] == fields_per_change


def test_a_change_keeps_its_who_when_why_and_each_fields_values() -> None:
    (change,) = group_changes([row("wbc", old=None, new="12"), row("sex", old="F", new="M")])
    assert (change.at, change.actor, change.reason, change.study_id) == (T0, "ann", "typo", "P-1")
    assert change.fields == (AuditField("sex", "F", "M"), AuditField("wbc", None, "12"))


@pytest.fixture(scope="module")
def corrected(site: Site) -> Site:
    manager = Actor(
        user_id=1, username="dm_rot", permissions=(
            Permission(Role.DATA_MANAGER, ScopeKind.CENTRE, "Rotterdam",
                       frozenset({site.world.centre_ids["Rotterdam"]}), POLICY[Role.DATA_MANAGER]),
        ),
    )  # fmt: skip
    records.correct(
        manager, site.world.engine, "ROT-1", {"sex": "M", "wbc": "42", "day8_blasts": "900"},
        reason="source document checked",
    )  # fmt: skip
    records.correct(manager, site.world.engine, "ROT-1", {"sex": "F"}, reason="second look")
    return site


def test_the_browser_shows_the_reason_once_with_the_changed_fields_under_it(corrected: Site) -> None:
    client = corrected.client()
    sign_in(corrected, client, "mon_rot")
    page = client.get("/audit", params={"patient": "ROT-1", "user": "dm_rot"}).text
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("source document checked") == 1
    assert body.count("second look") == 1
    changes = re.findall(r"<tr>.*?</tr>", body, re.S)
    assert len(changes) == 2  # newest first
    assert "second look" in changes[0] and "source document checked" in changes[1]
    fields = re.findall(r'<span class="field">([^<]+)</span>', changes[1])
    assert sorted(fields) == ["day8_blasts", "sex", "wbc"]
    assert "<del>female</del> → <ins>male</ins>" in changes[1]
    assert "<del>male</del> → <ins>female</ins>" in changes[0]
    assert changes[1].count("dm_rot") == 1
    assert "4 entries" in page  # the count is of the trail's entries, one a field
