"""SAS transport (XPORT) version 5 files, written column by column with NumPy.

Why Bassinet writes these itself: pyreadstat (1.3.7, the version the lock installs)
writes a transport file cell by cell, through a Python loop over the rows of a
narwhals frame. For the ADaM files of 100,000 infants (about 560,000 ADTTE rows of
11 variables) that loop was 60 % of the time of the report's ADaM step (issue 17,
cProfile). The format is simple and fixed (SAS Institute, TS-140): 80-byte header
records, one 140-byte descriptor ("namestr") per variable, then the observations back
to back, numbers as 8-byte IBM System/360 hexadecimal floating point and text padded
with blanks. Here each column is converted at once (the IBM numbers from ``np.frexp``,
the text through its distinct values) and the rows are laid out by one structured
array, so the cost no longer grows with a Python loop over the cells.

The files are the ones pyreadstat writes, byte for byte, apart from the creation and
modification times in the headers (``tests/endpoints/test_xport.py`` compares them):
the same header fields (SAS release "6.06", operating system "bsd4.2"), numeric
variables right-justified with 8 bytes, text variables as long as their longest value
(at least 1 byte), missing numbers as SAS's ``.`` (0x2E followed by zeros), missing
text as blanks, dates as days since 1960-01-01 with their format.

Every value is checked before anything is written: names and labels (ASCII, 8 and 40
characters) and text (ASCII, up to 200 characters) by
:func:`bassinet.registry.escaping.check_sas_transport` in the caller; numbers here
(finite, and within the IBM format's range of about 5.4e-79 to 7.2e75).

References
----------
SAS Institute Inc. (1998). TS-140: The record layout of a data set in SAS transport
    (XPORT) format.
IBM (1964). System/360 Principles of Operation, floating-point arithmetic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bassinet.errors import DataError

#: Days from the SAS epoch (1960-01-01) to the Unix epoch.
_SAS_EPOCH = dt.date(1960, 1, 1)
_RECORD = 80
_NAMESTR = 140
_RELEASE = "6.06"
_SYSTEM = "bsd4.2"
_MISSING = np.uint64(0x2E) << np.uint64(56)


def ibm_doubles(values: NDArray[np.float64], *, column: str) -> NDArray[np.uint64]:
    """``values`` as IBM hexadecimal doubles; NaN as SAS's missing value ``.``.

    An IBM double is a sign bit, a base-16 exponent in excess 64 (7 bits) and a 56-bit fraction.

    A double m 2^e (0.5 <= m < 1) is 16^q f with q = ceil(e / 4) and f = m 2^(e - 4q) in
    [1/16, 1); the 53 bits of m fit in the 56 of f, so the conversion is exact.
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.uint64)
    missing = np.isnan(x)
    out[missing] = _MISSING
    if np.isinf(x).any():
        raise DataError(f"{column}: an infinite value cannot be written to SAS transport")
    nonzero = ~missing & (x != 0.0)
    if not nonzero.any():
        return out
    chosen = x[nonzero]
    m, e = np.frexp(np.abs(chosen))
    q = -((-e) // 4)
    exponent = q + 64
    if exponent.min() < 0 or exponent.max() > 127:
        bad = chosen[(exponent < 0) | (exponent > 127)][0]
        raise DataError(
            f"{column}: {bad!r} is outside the range SAS transport numbers hold (about 5.4e-79 to 7.2e75)"
        )
    shift = (3 - (4 * q - e)).astype(np.uint64)
    fraction = (m * 2.0**53).astype(np.uint64) << shift
    word = fraction | (exponent.astype(np.uint64) << np.uint64(56))
    word[chosen < 0] |= np.uint64(1) << np.uint64(63)
    out[nonzero] = word
    return out


def _text_column(series: pd.Series) -> tuple[NDArray[np.bytes_], int]:
    """The cells as blank-padded ASCII bytes of the column's width (at least 1); gaps are blanks."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    encoded = [str(u).encode("ascii") for u in uniques]
    width = max([len(b) for b in encoded] + [1])
    table = np.array([b.ljust(width) for b in encoded] + [b" " * width], dtype=f"S{width}")
    return table[codes], width  # code -1 (a gap) takes the last entry, the blanks


def _header(kind: str, numbers: str = "0" * 30) -> bytes:
    return f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{numbers}  ".encode("ascii")


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%d%b%y:%H:%M:%S").upper()


def _field(text: str, width: int) -> bytes:
    return text.encode("ascii").ljust(width)[:width]


def _format(spec: str | None) -> tuple[str, int, int]:
    """A SAS format such as ``DATE9.`` or ``8.2`` as (name, width, decimals)."""
    if not spec:
        return "", 0, 0
    body = spec.rstrip(".") if spec.endswith(".") else spec
    decimals = 0
    if "." in body:
        body, tail = body.split(".", 1)
        decimals = int(tail or 0)
    name = body.rstrip("0123456789")
    width = int(body[len(name) :] or 0)
    return name, width, decimals


def write_xport(
    frame: pd.DataFrame,
    path: Path,
    *,
    table_name: str,
    file_label: str,
    column_labels: list[str],
    variable_format: dict[str, str],
) -> None:
    """Write ``frame`` as a SAS transport v5 file of one dataset (the layout pyreadstat writes).

    Columns of text (object) are character variables; every other column is numeric
    (integers, booleans and floats as doubles; datetimes as SAS dates, the days since
    1960-01-01, and their dates must be whole days).
    """
    now = dt.datetime.now()
    stamp = _stamp(now)
    fields: list[tuple[str, str]] = []
    columns: list[NDArray[np.generic]] = []
    namestrs = bytearray()
    position = 0
    for number, (name, label) in enumerate(zip(frame.columns, column_labels, strict=True), start=1):
        series = frame[name]
        key = f"v{number}"
        cells: NDArray[np.generic]
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            cells, width = _text_column(series)
            kind, justify = 2, 0
            fields.append((key, f"S{width}"))
        else:
            if pd.api.types.is_datetime64_any_dtype(series):
                days = (series.dt.normalize() - pd.Timestamp(_SAS_EPOCH)).dt.days
                values = days.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            cells = ibm_doubles(values, column=str(name)).astype(">u8")
            width, kind, justify = 8, 1, 1
            fields.append((key, ">u8"))
        columns.append(cells)
        form, form_width, form_decimals = _format(variable_format.get(str(name)))
        namestrs += (
            np.array([kind, 0, width, number], dtype=">i2").tobytes()
            + _field(str(name), 8)
            + _field(label, 40)
            + _field(form, 8)
            + np.array([form_width, form_decimals, justify, 0], dtype=">i2").tobytes()
            + _field("", 8)
            + np.array([0, 0], dtype=">i2").tobytes()
            + np.array([position], dtype=">i4").tobytes()
            + bytes(52)
        )
        position += width
    rows = np.empty(len(frame), dtype=np.dtype(fields))
    for (key, _), cells in zip(fields, columns, strict=True):
        rows[key] = cells
    data = rows.tobytes()
    with open(path, "wb") as out:
        out.write(_header("LIBRARY"))
        out.write(_field("SAS", 8) + _field("SAS", 8) + _field("SASLIB", 8) + _field(_RELEASE, 8))
        out.write(_field(_SYSTEM, 8) + b" " * 24 + _field(stamp, 16))
        out.write(_field(stamp, 16) + b" " * 64)
        out.write(_header("MEMBER", f"00000000000000000160000000{_NAMESTR:04d}"))
        out.write(_header("DSCRPTR"))
        out.write(_field("SAS", 8) + _field(table_name, 8) + _field("SASDATA", 8) + _field(_RELEASE, 8))
        out.write(_field(_SYSTEM, 8) + b" " * 24 + _field(stamp, 16))
        out.write(_field(stamp, 16) + b" " * 16 + _field(file_label, 40) + b" " * 8)
        out.write(_header("NAMESTR", f"000000{len(frame.columns):04d}" + "0" * 20))
        out.write(bytes(namestrs) + b" " * (-len(namestrs) % _RECORD))
        out.write(_header("OBS"))
        out.write(data + b" " * (-len(data) % _RECORD))
