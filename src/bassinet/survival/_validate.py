"""The one gate through which every public function of :mod:`bassinet.survival` checks input.

Each check raises :class:`DataError` naming the argument, the first offending index and
value, and the rule. Nothing is dropped silently: rows with a missing value are refused
unless the caller asks for ``dropna=True``, which removes them and says how many.

:mod:`bassinet.survival` imports nothing of Bassinet but its exception tree
(:mod:`bassinet.errors`), so that a caught ``DataError`` is the project's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bassinet.errors import DataError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _first_bad(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def as_vector(name: str, values: ArrayLike) -> NDArray[Any]:
    """A 1-D NumPy array of ``values``; refuses scalars, empty input and higher dimensions."""
    array = np.asarray(values)
    if array.ndim == 0:
        raise DataError(f"{name} must be a sequence of values, not a single value ({array!r})")
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, not of shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{name} is empty: there is nothing to estimate from")
    return array


def as_float(name: str, values: ArrayLike) -> FloatArray:
    array = as_vector(name, values)
    if array.dtype == object or array.dtype.kind in "USb":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} must be numbers: {exc}") from exc
    return np.ascontiguousarray(array, dtype=np.float64)


def check_times(name: str, times: FloatArray) -> None:
    """Times are finite and >= 0."""
    finite = np.isfinite(times)
    if not finite.all():
        index = _first_bad(~finite)
        raise DataError(f"{name}[{index}] is {times[index]}: times must be finite numbers")
    negative = times < 0
    if negative.any():
        index = _first_bad(negative)
        raise DataError(f"{name}[{index}] is {times[index]}: times must be >= 0")


def as_event(name: str, values: ArrayLike) -> NDArray[np.bool_]:
    """An event indicator: booleans, or numbers that are 0 (censored) or 1 (event)."""
    array = as_vector(name, values)
    if array.dtype == np.bool_:
        return array
    numbers = as_float(name, array)
    valid = (numbers == 0) | (numbers == 1)
    if not valid.all():
        index = _first_bad(~valid)
        raise DataError(
            f"{name}[{index}] is {numbers[index]}: an event indicator is 0 (censored) or 1 (event)"
        )
    indicator: NDArray[np.bool_] = numbers == 1
    return indicator


def as_cause(name: str, values: ArrayLike) -> IntArray:
    """A cause code: 0 for censored, 1, 2, ... for the competing causes."""
    numbers = as_float(name, values)
    valid = np.isfinite(numbers) & (numbers >= 0) & (numbers == np.floor(numbers))
    if not valid.all():
        index = _first_bad(~valid)
        raise DataError(
            f"{name}[{index}] is {numbers[index]}: a cause is a whole number, 0 for censored "
            "and 1, 2, ... for the causes"
        )
    return numbers.astype(np.int64)


def as_labels(name: str, values: ArrayLike) -> tuple[IntArray, tuple[Any, ...]]:
    """Group labels as integer codes 0..k-1 and the sorted distinct labels."""
    array = as_vector(name, values)
    if array.dtype.kind == "f":
        missing = np.isnan(array)
        if missing.any():
            index = _first_bad(missing)
            raise DataError(f"{name}[{index}] is missing (NaN): every row needs a group")
    elif array.dtype == object:
        for index, value in enumerate(array):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise DataError(f"{name}[{index}] is missing ({value}): every row needs a group")
    if array.dtype.kind in "iub":
        small = _small_integer_labels(array)
        if small is not None:
            return small
    labels, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.int64), tuple(labels.tolist())


def _small_integer_labels(array: NDArray[Any]) -> tuple[IntArray, tuple[Any, ...]] | None:
    """:func:`as_labels` of integers in a narrow range by counting, not sorting (None if wide)."""
    low, high = int(array.min()), int(array.max())
    if high - low >= max(1 << 16, array.size) or high >= 1 << 62:
        return None
    shifted = array.astype(np.int64)
    if low:
        shifted -= low
    present = np.bincount(shifted, minlength=high - low + 1) > 0
    code_of = np.cumsum(present) - 1
    labels = (np.flatnonzero(present) + low).astype(array.dtype)
    codes: IntArray = code_of[shifted]
    return codes, tuple(labels.tolist())


def same_length(**arrays: NDArray[Any] | None) -> int:
    """Every given array has the length of the first; returns it."""
    given = [(n, a) for n, a in arrays.items() if a is not None]
    first_name, first = given[0]
    for name, array in given[1:]:
        if len(array) != len(first):
            raise DataError(
                f"{name} has {len(array)} values but {first_name} has {len(first)}: "
                "each row needs one value of each"
            )
    return len(first)


def check_entry(entry: FloatArray, time: FloatArray) -> None:
    """Late entry: 0 <= entry < exit time, as R's Surv(start, stop) requires."""
    check_times("entry", entry)
    late = entry >= time
    if late.any():
        index = _first_bad(late)
        raise DataError(
            f"entry[{index}] is {entry[index]}, not before time[{index}] ({time[index]}): "
            "a subject enters the risk set before it leaves it"
        )


def as_weights(values: ArrayLike) -> FloatArray:
    weights = as_float("weights", values)
    bad = ~np.isfinite(weights) | (weights <= 0)
    if bad.any():
        index = _first_bad(bad)
        raise DataError(f"weights[{index}] is {weights[index]}: weights must be finite and > 0")
    return weights


def check_conf_level(conf_level: float) -> None:
    if not (isinstance(conf_level, int | float) and 0 < conf_level < 1):
        raise DataError(f"conf_level is {conf_level!r}: it must lie strictly between 0 and 1")


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    if value not in choices:
        raise DataError(f"{name} is {value!r}: choose one of {', '.join(map(repr, choices))}")


def drop_missing(dropna: bool, **columns: ArrayLike | None) -> tuple[dict[str, NDArray[Any] | None], int]:
    """With ``dropna``, remove rows where any column is NaN/None; returns the columns and the count."""
    arrays = {n: (None if c is None else as_vector(n, c)) for n, c in columns.items()}
    if not dropna:
        return arrays, 0
    same_length(**arrays)
    keep: NDArray[np.bool_] | None = None
    for array in arrays.values():
        if array is None:
            continue
        if array.dtype.kind == "f":
            ok = ~np.isnan(array)
        elif array.dtype == object:
            ok = np.array([not (v is None or (isinstance(v, float) and np.isnan(v))) for v in array])
        else:
            continue
        keep = ok if keep is None else keep & ok
    if keep is None or keep.all():
        return arrays, 0
    dropped = int((~keep).sum())
    if dropped == len(keep):
        raise DataError("every row has a missing value: nothing is left after dropna=True")
    return {n: (None if a is None else a[keep]) for n, a in arrays.items()}, dropped


def required(columns: dict[str, NDArray[Any] | None], name: str) -> NDArray[Any]:
    """A column that the caller passed as a required argument (never None)."""
    array = columns[name]
    if array is None:
        raise DataError(f"{name} is required")
    return array


@dataclass(frozen=True)
class Survival:
    """Checked right-censored (optionally left-truncated, weighted) survival data."""

    time: FloatArray
    event: NDArray[np.bool_]
    entry: FloatArray | None
    weights: FloatArray | None


#: Times closer than this (relative to their mean size, or absolutely when that is below 1)
#: are one time: R's default ``timefix = TRUE`` tolerance, the square root of machine eps.
TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def timefix(
    time: FloatArray, entry: FloatArray | None = None, *, tolerance: float = TIMEFIX_TOLERANCE
) -> tuple[FloatArray, FloatArray | None]:
    """Make times that differ by rounding noise equal, as R's ``survival`` does by default.

    Times computed by arithmetic (a date difference divided by 365.25, a unit
    conversion) that should be equal often differ in the last bits; counted as
    different times, a death and a censoring "at the same time" are ordered by noise,
    and the estimates move by far more than the noise. The rule (that of
    ``survival::aeqSurv``, used by ``survfit`` and ``coxph`` unless ``timefix = FALSE``):

    - take the distinct finite values among all times (entry and exit) in increasing
      order, y_1 < y_2 < ... ;
    - y_j is tied to the value before it when y_j - y_(j-1) <= tolerance * max(1, m),
      m the mean of |y| over the distinct values (so the tolerance is absolute for
      times below 1 and relative above);
    - a run of values each tied to the one before is replaced by the first (smallest)
      value of the run; every time is replaced by the value its run starts with.

    Whole-number times below 1 / tolerance (days, as registries record them) are more
    than the tolerance apart and are returned as they are, without a sort.

    Raises
    ------
    DataError
        If a row's entry and exit become one time: its interval is only rounding noise
        long (R stops with "an interval has effective length 0").
    """
    both = time if entry is None else np.concatenate([entry, time])
    finite = both[np.isfinite(both)]
    if finite.size < 2:
        return time, entry
    if float(np.abs(finite).max()) < 1.0 / tolerance and np.array_equal(finite, np.floor(finite)):
        return time, entry
    ordered = np.sort(finite)
    grid = ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]  # np.unique, one sort
    if grid.size < 2:
        return time, entry
    limit = tolerance * max(1.0, float(np.mean(np.abs(grid))))
    tied = np.diff(grid) <= limit
    if not tied.any():
        return time, entry
    starts = grid[np.concatenate([[True], ~tied])]

    def snap(values: FloatArray) -> FloatArray:
        index = np.searchsorted(starts, values, side="right") - 1
        out: FloatArray = np.where(np.isfinite(values), starts[np.maximum(index, 0)], values)
        return out

    fixed_time = snap(time)
    if entry is None:
        return fixed_time, None
    fixed_entry = snap(entry)
    empty = (fixed_entry >= fixed_time) & (entry < time)
    if empty.any():
        i = _first_bad(empty)
        raise DataError(
            f"entry[{i}] is {float(entry[i])!r} and time[{i}] is {float(time[i])!r}: they differ by "
            f"rounding noise only (less than {limit:.3g}), so the row is at risk for no time; "
            "drop the row, or pass timefix=False to keep every time as given"
        )
    return fixed_time, fixed_entry


def survival_data(
    time: ArrayLike,
    event: ArrayLike,
    *,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    fix_times: bool = True,
) -> Survival:
    """Check and convert (time, event[, entry][, weights]); with ``fix_times``, apply :func:`timefix`."""
    t = as_float("time", time)
    e = as_event("event", event)
    en = None if entry is None else as_float("entry", entry)
    w = None if weights is None else as_weights(weights)
    same_length(time=t, event=e, entry=en, weights=w)
    check_times("time", t)
    if en is not None:
        check_entry(en, t)
    if fix_times:
        t, en = timefix(t, en)
    return Survival(t, e, en, w)
