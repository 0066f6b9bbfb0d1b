"""Values from a file or the registry, made safe to show: never interpreted, only displayed.

A study id, a centre's name or a cell of an imported sheet is data, and data must not
act as markup or code wherever Bassinet shows it. Each output has one function here,
and every place that writes data to that output calls it (no copies):

- :func:`printable` -- any text: control characters (C0, C1, DEL, and the Unicode
  bidirectional overrides that reorder what a reader sees) become visible escapes
  such as ``\\x1b`` or ``\\u202e``; overly long values are shortened, saying so.
- :func:`console_markup` -- text placed into a Rich markup string (``[bold]...``):
  ``[`` is escaped, so ``[/]`` or ``[red]`` in a value is shown, not obeyed.
- :func:`console_cell` -- a value for a Rich table cell, as a ``Text`` that is never
  parsed as markup.
- :func:`markdown_text` -- text placed into Markdown: HTML is escaped and Markdown's
  punctuation is backslash-escaped, so a value cannot add links, emphasis or tags.
- :func:`spreadsheet_cell` and :func:`neutralise_frame` -- a cell of a CSV file meant
  for spreadsheets. A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is a formula to Excel and LibreOffice ("CSV injection", OWASP);
  it is written with a leading apostrophe, which spreadsheets take as "this is text".
  Plain numbers such as ``-0.5`` are left as they are: a spreadsheet reads them as the
  number they are.

References
----------
OWASP Foundation. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.text import Text

#: Characters never shown raw: C0 controls (tab, newline and carriage return included),
#: DEL, C1 controls, and the bidirectional embeddings, overrides and isolates.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: A value is shortened to this many characters when shown in a message.
SHOWN_CHARACTERS = 200
#: Leading characters that make a spreadsheet cell a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Inline Markdown punctuation: code, emphasis, links and images, tables, strikethrough.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
#: What makes a block when it starts a line: a heading, a list item, a quote.
_MARKDOWN_LINE_START = re.compile(r"^(\s*\d*)([#+\-=>.)])")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = False, limit: int | None = None) -> str:
    """``text`` with every control character replaced by a visible escape.

    Parameters
    ----------
    text
        The value; anything not a string is shown with ``str``.
    newlines
        Keep line feeds (for a multi-line message whose lines Bassinet wrote; each
        value inside it must already have been made printable without them).
    limit
        Shorten to this many characters, ending with how long the value was.
    """
    value = str(text)
    if limit is not None and len(value) > limit:
        value = f"{value[:limit]}... ({len(value)} characters)"
    if newlines:
        return "\n".join(CONTROL.sub(_visible, line) for line in value.split("\n"))
    return CONTROL.sub(_visible, value)


def console_markup(text: object) -> str:
    """``text`` to embed in a Rich markup string: printable, with markup escaped."""
    from rich.markup import escape

    return escape(printable(text, newlines=True))


def console_cell(text: object) -> Text:
    """A Rich ``Text`` of ``text`` (printable), which a table shows without parsing markup."""
    from rich.text import Text

    return Text(printable(text))


def markdown_text(text: object) -> str:
    """``text`` to embed in Markdown: printable, HTML escaped, Markdown punctuation escaped."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(printable(text), quote=False))
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def spreadsheet_cell(value: object) -> object:
    """``value`` made safe for a spreadsheet: a formula-like text cell gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def from_spreadsheet_cell(text: str) -> str:
    """The inverse of :func:`spreadsheet_cell` on import: ``'=x`` reads back as ``=x``.

    Only a leading apostrophe that :func:`spreadsheet_cell` would have added is removed, so
    an export read back by the importer gives the registry it came from.
    """
    if text.startswith("'") and text[1:].startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text[1:]):
        return text[1:]
    return text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell passed through :func:`spreadsheet_cell`."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or str(safe[column].dtype).startswith("string"):
            safe[column] = safe[column].map(spreadsheet_cell, na_action="ignore")
    return safe


#: SAS transport version 5 limits (SAS Technical Support TS-140): names of up to 8
#: characters, labels of up to 40, text values of up to 200 bytes, ASCII only (the FDA's
#: Study Data Technical Conformance Guide asks for ASCII text in XPT files).
XPORT_NAME, XPORT_LABEL, XPORT_TEXT = 8, 40, 200


def check_sas_transport(frame: pd.DataFrame, *, dataset: str, label: str) -> None:
    """Raise :class:`~bassinet.errors.DataError` for anything SAS transport v5 cannot hold as written.

    SAS reads longer or non-ASCII text cut or garbled; this names the dataset, column,
    row and value instead (before :func:`bassinet.endpoints._adam.write_xpt` writes anything).
    """
    from bassinet.errors import DataError

    def fits(text: str, limit: int) -> bool:
        return text.isascii() and len(text) <= limit

    if not fits(dataset, XPORT_NAME) or not fits(label, XPORT_LABEL):
        raise DataError(
            f"SAS transport dataset {printable(dataset)!r} ({printable(label)!r}): a name is "
            f"ASCII of up to {XPORT_NAME} characters and a label of up to {XPORT_LABEL}"
        )
    for column in frame.columns:
        name = str(column)
        if not fits(name, XPORT_NAME):
            raise DataError(
                f"{dataset}: column {printable(name)!r} is not a SAS transport name "
                f"(ASCII, up to {XPORT_NAME} characters)"
            )
        if frame[column].dtype != object:
            continue
        for row, value in enumerate(frame[column], start=1):
            if isinstance(value, str) and not fits(value, XPORT_TEXT):
                raise DataError(
                    f"{dataset}: row {row}, column {name} ({printable(value, limit=SHOWN_CHARACTERS)}) "
                    f"cannot be written to SAS transport v5, which holds ASCII text of up to "
                    f"{XPORT_TEXT} characters: change the value in the registry"
                )


def check_output_file(path: Path | None, *, option: str) -> None:
    """Raise :class:`~bassinet.errors.DataError` unless ``path`` can be written as a new or replaced file."""
    from bassinet.errors import DataError

    if path is None:
        return
    if path.is_dir():
        raise DataError(f"{option} {printable(path)}: is a folder; name a file in it")
    if not path.parent.is_dir():
        raise DataError(f"{option} {printable(path)}: the folder {printable(path.parent)} does not exist")


def check_output_folder(path: Path, *, option: str) -> None:
    """Create the folder ``path`` if needed; a DataError if it is a file or cannot be created."""
    from bassinet.errors import DataError

    if path.exists() and not path.is_dir():
        raise DataError(f"{option} {printable(path)}: is a file, not a folder; name a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{option} {printable(path)}: cannot create the folder: {exc.strerror}") from None
