"""Risk-set arithmetic shared by every estimator: counts at the distinct times.

:func:`tabulate` counts (weighted) rows by distinct time and by a small integer code
(group x kind of exit). Registries record times in whole days, so when every time is
a whole number in a range not much wider than the data, the counts come from one
``np.bincount`` over the range (O(n), no sort); otherwise from ``np.unique`` (a sort).
This is why the arithmetic is written here rather than taken from a library: none of
the peers counts tied whole-day times without sorting, and the sort dominates at
registry scale.

The number at risk at a time t counts the rows with entry < t <= exit, as R's
``Surv(start, stop)`` does; without entry times, the rows with exit >= t.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Largest span of whole-number times, relative to n, for the dense bincount path.
DENSE_SPAN_PER_ROW = 8
DENSE_SPAN_MIN = 1 << 16


def _whole_number_span(time: FloatArray) -> tuple[int, int] | None:
    """(lowest, span) if all times are whole numbers in a small enough range, else None."""
    low, high = float(time.min()), float(time.max())
    if high >= 2.0**52:
        return None
    span = int(high) - int(low) + 1
    if span > max(DENSE_SPAN_PER_ROW * len(time), DENSE_SPAN_MIN):
        return None
    if not np.array_equal(time, np.floor(time)):
        return None
    return int(low), span


def tabulate(
    time: FloatArray, code: IntArray, n_codes: int, weights: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Distinct times (ascending) and the (weighted) count of rows of each code at each.

    Returns ``(times, counts)`` with ``counts.shape == (len(times), n_codes)``.
    """
    dense = _whole_number_span(time)
    if dense is not None:
        low, span = dense
        flat = (time.astype(np.int64) - low) * n_codes + code
        counts = np.bincount(flat, weights=weights, minlength=span * n_codes).reshape(span, n_codes)
        present = np.flatnonzero(counts.any(axis=1))
        return (present + low).astype(np.float64), counts[present].astype(np.float64)
    if not (len(time) > 1 and bool(np.all(time[1:] >= time[:-1]))):
        # sort once and count in sorted order (cheaper than np.unique's inverse permutation);
        # input already in order (a caller sorted once for several groups) skips this
        order = np.argsort(time)
        time, code = time[order], code[order]
        weights = None if weights is None else weights[order]
    new = np.empty(len(time), dtype=bool)
    new[0] = True
    np.not_equal(time[1:], time[:-1], out=new[1:])
    times = time[new]
    position = np.cumsum(new) - 1
    counts = np.bincount(position * n_codes + code, weights=weights, minlength=len(times) * n_codes).reshape(
        len(times), n_codes
    )
    return times, counts.astype(np.float64)


def sort_rows(
    time: FloatArray, *columns: NDArray[np.generic] | None
) -> tuple[NDArray[np.generic] | None, ...]:
    """``time`` and ``columns`` by ascending time, so that subsets stay sorted; left as they
    are where :func:`tabulate` counts without sorting anyway (whole-number times)."""
    if _whole_number_span(time) is not None:
        return (time, *columns)
    order = np.argsort(time)
    return (time[order], *(None if c is None else c[order] for c in columns))


def at_risk(
    times: FloatArray,
    exits: FloatArray,
    *,
    entry: FloatArray | None = None,
    group: IntArray | None = None,
    n_groups: int = 1,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Numbers at risk at ``times`` per group, shape (len(times), n_groups).

    ``exits`` holds, per time and group, the (weighted) rows leaving at that time
    (events and censorings); a row is at risk from after its entry until its exit.
    """
    at_or_after = np.cumsum(exits[::-1], axis=0)[::-1]
    if entry is None:
        return at_or_after
    group = np.zeros(len(entry), dtype=np.int64) if group is None else group
    entered = np.zeros((len(times), n_groups))
    for g in range(n_groups):
        mask = group == g
        starts = entry[mask]
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        w = np.ones(len(starts)) if weights is None else weights[mask][order]
        cumulative = np.concatenate(([0.0], np.cumsum(w)))
        entered_before = cumulative[np.searchsorted(sorted_starts, times, side="left")]
        entered[:, g] = cumulative[-1] - entered_before  # rows entering at or after t
    return at_or_after - entered


def split_by_strata(strata: IntArray | None, n: int) -> list[NDArray[np.intp]]:
    """Row indices of each stratum (one stratum of all rows if ``strata`` is None)."""
    if strata is None:
        return [np.arange(n)]
    order = np.argsort(strata, kind="stable")
    bounds = np.flatnonzero(np.diff(strata[order])) + 1
    return list(np.split(order, bounds))
