"""What is wrong with an input, said so that a data manager can find and fix it.

A :class:`Problem` names the file, sheet, spreadsheet row (the header is row 1),
column, value and the rule broken; :class:`ImportRejected` carries all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bassinet.errors import DataError
from bassinet.registry.escaping import SHOWN_CHARACTERS, printable


def show(value: object) -> str:
    """A cell value as the user typed it (dates in ISO form), printable and at most 200 characters.

    Control characters are shown as escapes (:func:`~.escaping.printable`), so a value can
    neither break a one-line message nor reach a terminal raw.
    """
    if value is None:
        return "empty"
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return printable(value, limit=SHOWN_CHARACTERS)


def cell_text(value: object) -> str:
    """A cell value in full, as the user typed it (dates in ISO form), for a file; blank as ''."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One broken rule, at one place in one input file."""

    source: str
    sheet: str
    row: int | None
    column: str | None
    value: object
    rule: str
    field: str | None = None

    def where(self) -> str:
        row = f" row {self.row}" if self.row is not None else ""
        return f"{printable(self.source)} [{printable(self.sheet)}]{row}"

    def __str__(self) -> str:
        rule = printable(self.rule)
        if self.column is None:
            return f"{self.where()}: {rule}"
        mapped = f" (-> {self.field})" if self.field and self.field != self.column else ""
        column = printable(self.column, limit=SHOWN_CHARACTERS)
        return f"{self.where()}: column '{column}'{mapped} ({show(self.value)}) {rule}"


class ImportRejected(DataError):
    """An import found problems and wrote nothing; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem], *, limit: int = 50) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        rows = {(p.source, p.sheet, p.row) for p in self.problems}
        head = f"import refused, nothing was written: {len(self.problems)} problem(s) in {len(rows)} row(s)"
        super().__init__("\n".join([head, *lines]))
