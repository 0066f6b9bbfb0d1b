"""The three ways of counting at distinct times agree exactly: dense bincount, sorted input, sorting."""

from __future__ import annotations

import numpy as np

from bassinet.survival._risk_sets import _whole_number_span, sort_rows, tabulate


def test_dense_sorted_and_sorting_paths_count_the_same() -> None:
    rng = np.random.default_rng(9)
    time = np.ceil(rng.exponential(50, 2000))
    code = rng.integers(0, 3, 2000)
    assert _whole_number_span(time) is not None
    dense_times, dense_counts = tabulate(time, code, 3)
    order = np.argsort(time, kind="stable")
    sorted_times, sorted_counts = tabulate(time[order] + 0.25, code[order], 3)  # sorted, not whole
    shuffled_times, shuffled_counts = tabulate(time + 0.25, code, 3)  # neither
    assert np.array_equal(dense_times + 0.25, sorted_times)
    assert np.array_equal(sorted_times, shuffled_times)
    assert np.array_equal(dense_counts, sorted_counts)
    assert np.array_equal(sorted_counts, shuffled_counts)


def test_a_wide_range_of_whole_numbers_is_not_counted_densely() -> None:
    assert _whole_number_span(np.array([0.0, 1e9])) is None
    assert _whole_number_span(np.array([0.0, 1.5])) is None


def test_sorting_rows_keeps_them_together() -> None:
    time, other = sort_rows(np.array([3.5, 1.5, 2.5]), np.array([30, 10, 20]))
    assert time.tolist() == [1.5, 2.5, 3.5] and other.tolist() == [10, 20, 30]  # type: ignore[union-attr]
