"""The mapping file: how a centre's own spreadsheet maps onto the registry's sheets.

A YAML file such as::

    encoding: latin-1            # of CSV files; default UTF-8
    decimal: ","                 # decimal mark of numbers; default "."
    thousands: "."               # thousands separator, removed before reading; default none
    date_format: "%d.%m.%Y"      # default ISO 8601 (YYYY-MM-DD)
    sheets:
      patients:
        sheet: "Patienten"       # title of the sheet in a workbook
        columns: {"Pat-Nr": study_id, "Geb.datum": date_of_birth}
        ignore: ["Bemerkung"]    # columns deliberately not imported
      transplants:
        columns: {"Donor": donor_type}
    codes:
      donor_type: {haplo: haploidentical, Haplo-HSCT: haploidentical, HID: haploidentical}
    ignore_sheets: ["Read me"]

Without a mapping file the registry's own column names and codes are expected. The
file is checked on load (pydantic), and each mistake is named by its place in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bassinet.errors import ConfigurationError
from bassinet.registry.sheets import SHEETS, _key


class SheetMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sheet: str | None = Field(default=None, description="The sheet's title in a workbook.")
    columns: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


class Mapping(BaseModel):
    """A centre's column names, codes, date format and encoding, mapped onto the registry's."""

    model_config = ConfigDict(extra="forbid")

    encoding: str = "utf-8-sig"
    delimiter: str | None = None
    date_format: str | None = None
    decimal: str = "."
    thousands: str | None = None
    sheets: dict[str, SheetMapping] = Field(default_factory=dict)
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    ignore_sheets: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _marks_differ(self) -> Mapping:
        if len(self.decimal) != 1 or self.decimal.isalnum():
            raise ValueError(f"decimal: {self.decimal!r} is not one punctuation character ('.' or ',')")
        if self.thousands is not None and (len(self.thousands) != 1 or self.thousands.isalnum()):
            raise ValueError(f"thousands: {self.thousands!r} is not one punctuation character or space")
        if self.thousands == self.decimal:
            raise ValueError(f"thousands: {self.thousands!r} is also the decimal mark")
        return self

    def number_text(self, text: str) -> str:
        """A number cell's text with the centre's marks turned into the registry's (point, no separator)."""
        if self.thousands:
            text = text.replace(self.thousands, "")
        if self.decimal != ".":
            if "." in text:
                return text  # left for the cell check to refuse: a point is not this file's decimal mark
            text = text.replace(self.decimal, ".")
        return text

    @model_validator(mode="after")
    def _names_are_known(self) -> Mapping:
        for sheet, sheet_mapping in self.sheets.items():
            if sheet not in SHEETS:
                raise ValueError(f"sheets: '{sheet}' is not a registry sheet (one of {', '.join(SHEETS)})")
            spec = SHEETS[sheet]
            for theirs, ours in sheet_mapping.columns.items():
                if ours not in spec.by_name:
                    raise ValueError(
                        f"sheets.{sheet}.columns: '{theirs}' maps to '{ours}', which is not a "
                        f"column of the {sheet} sheet ({', '.join(spec.by_name)})"
                    )
        coded = {c.name: c for s in SHEETS.values() for c in s.columns if c.codes is not None}
        for field_name, table in self.codes.items():
            if field_name not in coded:
                raise ValueError(f"codes: '{field_name}' is not a coded column ({', '.join(sorted(coded))})")
            codes = coded[field_name].codes
            assert codes is not None
            allowed = {_key(m.value) for m in codes}
            for theirs, ours in table.items():
                if _key(str(ours)) not in allowed:
                    raise ValueError(
                        f"codes.{field_name}: '{theirs}' maps to '{ours}', which is not one of "
                        f"{', '.join(m.value for m in codes)}"
                    )
        return self

    def centre_codes(self, field_name: str) -> dict[str, str]:
        """The centre's codes for a field, keyed case- and punctuation-insensitively."""
        return {_key(str(k)): str(val) for k, val in self.codes.get(field_name, {}).items()}


def load_mapping(path: Path | None) -> Mapping:
    """Read and check a mapping file; ``None`` gives the identity mapping."""
    if path is None:
        return Mapping()
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"mapping file {path}: cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"mapping file {path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"mapping file {path}: byte {exc.start} is not UTF-8: save the mapping file as UTF-8"
        ) from None
    except RecursionError:
        raise ConfigurationError(f"mapping file {path}: nested too deeply to be a mapping file") from None
    if document is None:
        return Mapping()
    if not isinstance(document, dict):
        raise ConfigurationError(f"mapping file {path}: the top level must be a mapping of keys")
    try:
        return Mapping.model_validate(document)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            place = ".".join(str(p) for p in error["loc"]) or "(top level)"
            lines.append(f"  at {place}: {error['msg']}")
        raise ConfigurationError(f"mapping file {path}:\n" + "\n".join(lines)) from exc
