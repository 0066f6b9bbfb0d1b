"""The fast paths (one packed sort of (time, code) keys) agree with the plain paths (argsort, np.unique).

Random small data sets (hypothesis) with many ties, times that differ by rounding noise
only (so that R's timefix rule joins them), zeros, several groups, strata and causes.
Kaplan–Meier, the log-rank test and the Aalen–Johansen estimates must be identical to
the last bit (the same counts go into the same arithmetic); Gray's test is computed by
other code on the fast path (per-group vectors instead of 3-D arrays), so it must agree
to 1e-9. Late entry and weights take the plain path: a weight of 1 for every row, or
an entry at 0 for every row, must give what the fast path gives without them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import cumulative_incidence, gray_test, kaplan_meier, logrank
from bassinet.survival._sorted import Sorted, packed_sort, plain_paths
from bassinet.survival._validate import timefix

#: A few base times (ties), 0, and tiny and large values, so that several binades are used.
BASES = [0.0, 0.5, 1.0, 1.0 + 1e-12, 2.5, 3.0, 3.0 * (1 - 1e-11), 7.25, 1e-3, 40.0, 40.0 + 3e-7, 1e4]


@st.composite
def cohorts(draw: Any, *, positive: bool = False) -> dict[str, np.ndarray]:
    n = draw(st.integers(2, 40))
    bases = [b for b in BASES if b > 0] if positive else BASES
    time = np.array(draw(st.lists(st.sampled_from(bases), min_size=n, max_size=n)))
    event = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    cause = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    n_groups = draw(st.integers(2, 3))
    group = np.arange(n) % n_groups  # every group present
    draw(st.randoms()).shuffle(group)
    strata = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return {"time": time, "event": event, "cause": cause, "group": group, "strata": strata}


def same(fast: Any, plain: Any) -> None:
    for name in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err_log"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name), err_msg=name)


@settings(max_examples=150, deadline=None)
@given(cohorts())
def test_kaplan_meier_fast_equals_plain(d: dict[str, np.ndarray]) -> None:
    for fix in (True, False):
        fast = kaplan_meier(d["time"], d["event"], timefix=fix)
        with plain_paths():
            plain = kaplan_meier(d["time"], d["event"], timefix=fix)
        same(fast, plain)
        fast_groups = kaplan_meier(d["time"], d["event"], group=d["group"], timefix=fix)
        with plain_paths():
            plain_groups = kaplan_meier(d["time"], d["event"], group=d["group"], timefix=fix)
        assert list(fast_groups) == list(plain_groups)
        for label in plain_groups:
            same(fast_groups[label], plain_groups[label])


@settings(max_examples=100, deadline=None)
@given(cohorts(positive=True))
def test_kaplan_meier_unit_weights_or_entry_at_zero_equal_the_fast_path(d: dict[str, np.ndarray]) -> None:
    fast = kaplan_meier(d["time"], d["event"], timefix=False)
    weighted = kaplan_meier(d["time"], d["event"], weights=np.ones(len(d["time"])), timefix=False)
    entered = kaplan_meier(d["time"], d["event"], entry=np.zeros(len(d["time"])), timefix=False)
    same(fast, weighted)
    same(fast, entered)


@settings(max_examples=150, deadline=None)
@given(cohorts(), st.sampled_from([0.0, 1.0]))
def test_logrank_fast_equals_plain_with_and_without_strata(d: dict[str, np.ndarray], rho: float) -> None:
    for strata in (None, d["strata"]):
        fast = logrank(d["time"], d["event"], d["group"], strata=strata, rho=rho)
        with plain_paths():
            plain = logrank(d["time"], d["event"], d["group"], strata=strata, rho=rho)
        np.testing.assert_array_equal(fast.observed, plain.observed)
        np.testing.assert_array_equal(fast.expected, plain.expected)
        np.testing.assert_array_equal(fast.variance, plain.variance)
        assert fast.chisq == plain.chisq or (np.isnan(fast.chisq) and np.isnan(plain.chisq))
        assert fast.df == plain.df


@settings(max_examples=100, deadline=None)
@given(cohorts(positive=True))
def test_logrank_with_entry_at_zero_equals_the_fast_path(d: dict[str, np.ndarray]) -> None:
    # whole numbers: the entry times (0) join timefix's grid and could move its tolerance
    time = np.ceil(d["time"])
    fast = logrank(time, d["event"], d["group"], strata=d["strata"])
    entered = logrank(time, d["event"], d["group"], strata=d["strata"], entry=np.zeros(len(time)))
    np.testing.assert_allclose(fast.expected, entered.expected, rtol=1e-12)
    np.testing.assert_allclose(fast.variance, entered.variance, rtol=1e-12, atol=1e-14)


@settings(max_examples=100, deadline=None)
@given(cohorts())
def test_cumulative_incidence_fast_equals_plain(d: dict[str, np.ndarray]) -> None:
    if not (d["cause"] > 0).any():
        return
    for variance in ("cuminc", "survfit"):
        for group in (None, d["group"]):
            fast = cumulative_incidence(d["time"], d["cause"], group=group, variance=variance)
            with plain_paths():
                plain = cumulative_incidence(d["time"], d["cause"], group=group, variance=variance)
            pairs = [(fast, plain)] if group is None else [(fast[k], plain[k]) for k in plain]
            for a, b in pairs:
                for name in ("time", "n_risk", "n_event", "n_censor", "survival", "estimate"):
                    np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
                # the jackknife sums over rows in another order (time order): rounding only
                for name in ("variance", "survival_variance"):
                    np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(cohorts(), st.sampled_from([0.0, 1.0]))
def test_gray_test_fast_equals_plain(d: dict[str, np.ndarray], rho: float) -> None:
    if not (d["cause"] > 0).any():
        return
    for strata in (None, d["strata"]):
        try:
            fast = gray_test(d["time"], d["cause"], d["group"], strata=strata, rho=rho)
        except DataError:
            # a covariance that is not finite (the pooled incidence reaches 1) fails alike on both paths
            with plain_paths(), pytest.raises(DataError):
                gray_test(d["time"], d["cause"], d["group"], strata=strata, rho=rho)
            continue
        with plain_paths():
            plain = gray_test(d["time"], d["cause"], d["group"], strata=strata, rho=rho)
        for a, b in zip(fast.scores, plain.scores, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        for a, b in zip(fast.variances, plain.variances, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast.statistic, plain.statistic, rtol=1e-7, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(BASES), min_size=1, max_size=50), st.data())
def test_packed_sort_orders_by_time_then_code_and_fixes_as_timefix(times: list[float], data: Any) -> None:
    time = np.array(times)
    code = np.array(data.draw(st.lists(st.integers(0, 5), min_size=len(time), max_size=len(time))))
    ordered = packed_sort(time, code, 6)
    assert ordered is not None
    expected = sorted(zip(time.tolist(), code.tolist(), strict=True))
    assert list(zip(ordered.time.tolist(), ordered.code.tolist(), strict=True)) == expected
    fixed, _ = timefix(time)
    np.testing.assert_array_equal(ordered.fixed(True).time, np.sort(fixed))


def test_times_spanning_too_many_binades_for_the_codes_take_the_plain_path() -> None:
    time = np.array([1e-300, 1.0, 1e300, 5.0])
    assert packed_sort(time, np.array([0, 1, 2, 3]), 4) is None
    assert isinstance(packed_sort(time, np.array([0, 1, 0, 1]), 2), Sorted)
    event = np.array([1, 0, 1, 1])
    group = np.array([0, 1, 0, 1])
    fast = kaplan_meier(time, event, group=group)
    with plain_paths():
        plain = kaplan_meier(time, event, group=group)
    for label in plain:
        same(fast[label], plain[label])


def test_minus_zero_is_zero() -> None:
    ordered = packed_sort(np.array([1.0, -0.0, 0.0, 2.0]), np.array([1, 1, 0, 0]), 2)
    assert ordered is not None
    assert ordered.time.tolist() == [0.0, 0.0, 1.0, 2.0]
    assert ordered.code.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("n_strata", [1, 3])
def test_log_rank_on_continuous_times_with_rounding_noise_matches_the_plain_path(n_strata: int) -> None:
    rng = np.random.default_rng(17)
    n = 20_000
    time = rng.exponential(700.0, n) * (1 + rng.uniform(-1e-12, 1e-12, n))
    event = rng.integers(0, 2, n)
    group = rng.integers(0, 2, n)
    strata = rng.integers(0, n_strata, n)
    fast = logrank(time, event, group, strata=strata)
    with plain_paths():
        plain = logrank(time, event, group, strata=strata)
    np.testing.assert_array_equal(fast.expected, plain.expected)
    np.testing.assert_array_equal(fast.variance, plain.variance)
