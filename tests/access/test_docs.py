"""docs/access.md's policy table is the code's POLICY, cell for cell."""

from __future__ import annotations

from pathlib import Path

from bassinet.access import POLICY, Action, Role, SecurityEvent

DOC = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text(encoding="utf-8")


def _documented_policy() -> dict[str, dict[str, bool]]:
    lines = [line for line in DOC.splitlines() if line.startswith("| ")]
    header = next(line for line in lines if line.startswith("| action |"))
    roles = [cell.strip().strip("`") for cell in header.strip("|").split("|")[1:]]
    table: dict[str, dict[str, bool]] = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        action = cells[0].strip("`")
        if action in {a.value for a in Action}:
            table[action] = dict(zip(roles, (c == "yes" for c in cells[1:]), strict=True))
    return table


def test_the_documented_policy_table_is_the_code() -> None:
    expected = {a.value: {r.value: a in POLICY[r] for r in Role} for a in Action}
    assert _documented_policy() == expected


def test_every_security_event_is_documented() -> None:
    section = DOC.split("## The security log", 1)[1]
    missing = [e.value for e in SecurityEvent if f"`{e.value}`" not in section]
    assert missing == []
