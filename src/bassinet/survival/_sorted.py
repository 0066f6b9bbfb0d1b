"""One sort of the exit times, shared by everything an estimator counts from them.

A Kaplan–Meier curve, a log-rank test or an Aalen–Johansen estimate needs the rows in
order of time only to count, at each distinct time, the rows of each small code (group
x kind of exit). Counting needs the times and the codes in order, not the permutation
that puts them there. NumPy sorts 64-bit numbers several times faster than it
computes an ``argsort`` (vectorised quicksort against an indirect sort), so the times
and the codes are packed into one unsigned 64-bit key and that key is sorted:

- the bit pattern of a non-negative IEEE-754 double, read as an unsigned integer, is in
  the order of the numbers; less the pattern of the smallest positive time (zero kept
  at zero), the times of real data (a few dozen binades) leave some of the 64 bits
  unused;
- the code goes into those low bits. Sorting the keys orders by time, and within a
  time by code, which no count depends on.

Where the times span too many binades for the code to fit (:func:`packed_sort` returns
None), callers use their plain path (``np.argsort``). R's ``timefix`` rule is then
applied to the distinct sorted times, by merging runs (:func:`fix_runs`): the same rule
as :func:`bassinet.survival._validate.timefix`, which must sort first and then snap the
times in their original order.

Every estimator keeps its plain path; tests check on random data (ties, strata,
groups, causes) that the two agree, and :func:`plain_paths` turns the fast paths off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bassinet.survival._risk_sets import _whole_number_span
from bassinet.survival._validate import TIMEFIX_TOLERANCE

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_NO_SIGN = np.uint64(0x7FFF_FFFF_FFFF_FFFF)
_ENABLED = [True]
#: Up to this many runs joined by timefix, :meth:`Sorted.fixed` patches them one by one.
_FEW_RUNS = 1000


@contextmanager
def plain_paths() -> Iterator[None]:
    """Within the block, every estimator takes its plain path (for tests that compare the two)."""
    _ENABLED.append(False)
    try:
        yield
    finally:
        _ENABLED.pop()


def enabled() -> bool:
    return _ENABLED[-1]


def _pattern(value: float) -> int:
    return int(np.array([value], dtype=np.float64).view(np.uint64)[0])


def code_bits(n_codes: int) -> int:
    """Bits that hold the codes 0 .. n_codes - 1."""
    return max(int(n_codes - 1).bit_length(), 0)


@dataclass(frozen=True)
class Sorted:
    """Rows in ascending order of time (ties in order of code): their times and codes."""

    time: FloatArray
    code: NDArray[np.intp]

    def subset(self, mask: NDArray[np.bool_]) -> Sorted:
        return Sorted(self.time[mask], self.code[mask])

    def runs(self, fix_times: bool = False) -> tuple[FloatArray, NDArray[np.intp]]:
        """The distinct times and the first row of each.

        With ``fix_times``, R's ``timefix`` rule: a distinct time within the tolerance
        of the one before joins its run (see :func:`fix_runs`).
        """
        new = np.empty(len(self.time), dtype=bool)
        new[:1] = True
        np.not_equal(self.time[1:], self.time[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        times = self.time[starts]
        if fix_times:
            keep = fix_runs(times)
            if keep is not None:
                return times[keep], starts[keep]
        return times, starts

    def fixed(self, fix_times: bool) -> Sorted:
        """The rows with R's ``timefix`` rule applied to their times (``self`` if nothing changes)."""
        if not fix_times:
            return self
        new = np.empty(len(self.time), dtype=bool)
        new[:1] = True
        np.not_equal(self.time[1:], self.time[:-1], out=new[1:])
        keep = fix_runs(self.time[new])
        if keep is None:
            return self
        starts = np.flatnonzero(new)
        joining = np.flatnonzero(~keep)
        if len(joining) <= _FEW_RUNS:
            # rows of a run that joins the one before take that run's first time, run by
            # run in ascending order (so that a chain of runs takes the first of the chain)
            time = self.time.copy()
            ends = np.append(starts[1:], len(time))
            for run in joining.tolist():
                time[starts[run] : ends[run]] = time[starts[run] - 1]
            return Sorted(time, self.code)
        first = np.zeros(len(self.time), dtype=np.intp)
        first[starts[keep]] = starts[keep]
        np.maximum.accumulate(first, out=first)
        return Sorted(self.time[first], self.code)

    def counts(self, n_codes: int, fix_times: bool = False) -> tuple[FloatArray, FloatArray]:
        """Distinct times and the number of rows of each code at each, as :func:`tabulate`."""
        times, counts, _ = self.table(n_codes, fix_times)
        return times, counts

    def table(self, n_codes: int, fix_times: bool = False) -> tuple[FloatArray, FloatArray, NDArray[np.intp]]:
        """:meth:`counts`, and the index of each row's time among the distinct times."""
        times, starts = self.runs(fix_times)
        position = np.zeros(len(self.time), dtype=np.intp)
        position[starts[1:]] = 1
        np.cumsum(position, out=position)
        flat = position * n_codes if n_codes > 1 else position
        if n_codes > 1:
            flat += self.code
        counts = np.bincount(flat, minlength=len(times) * n_codes).reshape(len(times), n_codes)
        return times, counts.astype(np.float64), position

    def columns(self, n_codes: int, fix_times: bool = False) -> tuple[FloatArray, FloatArray]:
        """Distinct times and, one row per code, the number of rows of that code at each time."""
        times, starts = self.runs(fix_times)
        position = np.zeros(len(self.time), dtype=np.intp)
        position[starts[1:]] = 1
        np.cumsum(position, out=position)
        if n_codes > 1:
            position *= n_codes
            position += self.code
        flat = np.bincount(position, minlength=len(times) * n_codes)
        columns = np.empty((n_codes, len(times)))
        columns[...] = flat.reshape(len(times), n_codes).T
        return times, columns


def packed_sort(time: FloatArray, code: NDArray[np.integer] | None, n_codes: int) -> Sorted | None:
    """``time`` (>= 0, finite) and ``code`` (0 .. n_codes - 1) sorted by time, by one sort of packed keys.

    None where the span of the times' bit patterns leaves fewer free bits than the codes need.
    """
    if len(time) == 0:
        return None
    bits = code_bits(n_codes)
    low = float(time.min())
    if low > 0:
        smallest = low
    else:
        positive = time[time > 0]
        smallest = float(positive.min()) if len(positive) else 1.0
    offset = _pattern(smallest) - 1
    span = _pattern(float(time.max())) - offset
    if span >= 1 << (64 - bits):
        return None
    key = time.view(np.uint64) & _NO_SIGN  # -0.0 is 0.0
    if low <= 0:
        np.maximum(key, np.uint64(offset), out=key)
    key -= np.uint64(offset)
    if bits:
        assert code is not None
        key <<= np.uint64(bits)
        key |= code.astype(np.uint64)
    key.sort()
    codes: NDArray[np.intp]
    if bits:
        codes = (key & np.uint64((1 << bits) - 1)).astype(np.intp)
        key >>= np.uint64(bits)
    else:
        codes = np.zeros(len(key), dtype=np.intp)
    zero = key == 0 if low <= 0 else None
    key += np.uint64(offset)
    times = key.view(np.float64)
    if zero is not None:
        times[zero] = 0.0
    return Sorted(times, codes)


def fix_runs(grid: FloatArray, tolerance: float = TIMEFIX_TOLERANCE) -> NDArray[np.bool_] | None:
    """R's ``timefix`` rule on distinct ascending times: which of them start a run (None: all).

    The rule of :func:`bassinet.survival._validate.timefix`: a value within
    ``tolerance * max(1, mean |y|)`` of the one before is tied to it, and a run of tied
    values takes its first. The times here are >= 0 (-0.0 is 0.0), so mean |y| is the
    mean of the same array and gives the same limit to the last bit.
    """
    if len(grid) < 2:
        return None
    limit = tolerance * max(1.0, float(np.mean(grid)))
    keep = np.empty(len(grid), dtype=bool)
    keep[0] = True
    np.greater(grid[1:] - grid[:-1], limit, out=keep[1:])
    return None if keep.all() else keep


def sort_rows(time: FloatArray, code: NDArray[np.integer] | None, n_codes: int) -> Sorted | None:
    """:func:`packed_sort` where the fast paths are on; None where they are off, where the codes
    do not fit, or where the times are whole numbers that :func:`tabulate` counts without a sort."""
    if not enabled() or _whole_number_span(time) is not None:
        # whole-number times in a narrow range (days) are counted without any sort
        return None
    return packed_sort(time, code, n_codes)


def tables_by_stratum(
    time: FloatArray,
    code: NDArray[np.integer],
    n_codes: int,
    strata: NDArray[np.integer] | None,
    n_strata: int,
    fix_times: bool,
) -> list[tuple[FloatArray, FloatArray]] | None:
    """Per stratum (in order of its code), the distinct times and the rows of each code at each
    (one row of the table per code).

    One sort of the rows serves every stratum; R's ``timefix`` applies to the times of
    all strata together, as ``survdiff`` applies it to the whole ``Surv`` object. None
    where the fast paths are off or the codes do not fit beside the times.
    """
    if strata is None:
        ordered = sort_rows(time, code, n_codes)
        return None if ordered is None else [ordered.columns(n_codes, fix_times)]
    ordered = sort_rows(time, strata * n_codes + code, n_codes * n_strata)
    if ordered is None:
        return None
    parts = split(ordered.fixed(fix_times), n_codes, n_strata)
    return [part.columns(n_codes) for part in parts]


def split(ordered: Sorted, n_codes: int, n_parts: int) -> list[Sorted]:
    """Rows whose code is part * n_codes + c, one :class:`Sorted` per part (codes c), each in time order.

    A stable counting sort by part (NumPy's radix sort of small integers) puts each
    part's rows together without disturbing their order, and is faster than selecting
    each part with a mask.
    """
    part_of = ordered.code // n_codes
    small = np.uint8 if n_parts <= 1 << 8 else np.uint16 if n_parts <= 1 << 16 else np.intp
    order = np.argsort(part_of.astype(small), kind="stable")
    time_by, code_by = ordered.time[order], ordered.code[order]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(part_of, minlength=n_parts))))
    parts = []
    for part in range(n_parts):
        rows = slice(int(bounds[part]), int(bounds[part + 1]))
        parts.append(Sorted(time_by[rows], code_by[rows] - part * n_codes))
    return parts
