"""The fused loops of ``_incidence_kernels.py`` agree with the NumPy code (the plain path).

Random small data sets (hypothesis) with ties within and between causes, several groups,
causes and strata, whole and fractional times; each computed once with the loops (the
row threshold set to 0) and once with the NumPy code (threshold above the data): the
estimates to the last bit where the arithmetic is the same, the variances, scores and
covariances to 1e-10 relative (the loops sum in time order, NumPy pairwise). Late entry
keeps the NumPy code: an entry at 0 for every row must give what the loops give without
it. The R comparisons of ``test_competing_risks.py`` are run again through the loops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import _incidence_kernels, _partial_likelihood, cumulative_incidence, gray_test
from bassinet.survival._competing_risks import compiled_kernels
from bassinet.survival._sorted import plain_paths
from tests.survival import test_competing_risks as r_tests

pytestmark = pytest.mark.skipif(not _incidence_kernels.available(), reason="Numba is not installed")

_MIN_ROWS = _partial_likelihood.COMPILED_MIN_ROWS


@contextmanager
def threshold(rows: int) -> Iterator[None]:
    """The loops from ``rows`` rows within the block."""
    _partial_likelihood.COMPILED_MIN_ROWS = rows
    try:
        yield
    finally:
        _partial_likelihood.COMPILED_MIN_ROWS = _MIN_ROWS


def both(call: Callable[[], Any]) -> tuple[Any, Any]:
    """``call()`` through the loops and through the NumPy code."""
    with threshold(0):
        fused = call()
    with threshold(10**12):
        plain = call()
    return fused, plain


#: whole and fractional times, 0, and near-ties, so that runs of ties mix causes
BASES = [0.0, 0.5, 1.0, 2.0, 2.0 + 1e-9, 3.0, 4.25, 7.0, 12.0, 40.0]


@st.composite
def cohorts(draw: Any, *, positive: bool = False) -> dict[str, Any]:
    n = draw(st.integers(2, 60))
    bases = [b for b in BASES if b > 0] if positive else BASES
    time = np.array(draw(st.lists(st.sampled_from(bases), min_size=n, max_size=n)))
    if draw(st.booleans()):
        time = np.ceil(time)  # whole numbers: the sort-free count of whole days
    n_causes = draw(st.integers(1, 3))
    cause = np.array(draw(st.lists(st.integers(0, n_causes), min_size=n, max_size=n)))
    n_groups = draw(st.integers(2, 4))
    group = np.arange(n) % n_groups
    draw(st.randoms()).shuffle(group)
    strata = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return {"time": time, "cause": cause, "group": group, "strata": strata, "fast": draw(st.booleans())}


def close(fused: Any, plain: Any, name: str) -> None:
    np.testing.assert_allclose(fused, plain, rtol=1e-10, atol=1e-15, err_msg=name)


def same_incidence(fused: Any, plain: Any) -> None:
    assert fused.variance_method == plain.variance_method
    for name in ("time", "n_risk", "n_event", "n_censor", "survival", "estimate"):
        np.testing.assert_array_equal(getattr(fused, name), getattr(plain, name), err_msg=name)
    for name in ("variance", "survival_variance"):
        close(getattr(fused, name), getattr(plain, name), name)


@settings(max_examples=80, deadline=None)
@given(cohorts())
def test_incidence_loops_equal_the_numpy_code(d: dict[str, Any]) -> None:
    if not (d["cause"] > 0).any():
        return
    for variance in ("cuminc", "survfit"):
        for group in (None, d["group"]):

            def fit(group: Any = group, variance: Any = variance) -> Any:
                if d["fast"]:
                    return cumulative_incidence(d["time"], d["cause"], group=group, variance=variance)
                with plain_paths():
                    return cumulative_incidence(d["time"], d["cause"], group=group, variance=variance)

            fused, plain = both(fit)
            if group is None:
                same_incidence(fused, plain)
                continue
            assert list(fused) == list(plain)
            for label in plain:
                same_incidence(fused[label], plain[label])


@settings(max_examples=60, deadline=None)
@given(cohorts(positive=True))
def test_entry_at_zero_with_the_numpy_code_equals_the_loops(d: dict[str, Any]) -> None:
    """Late entry keeps the NumPy jackknife: entry 0 for all must give the loops' numbers."""
    if not (d["cause"] > 0).any():
        return
    with threshold(0):
        fused = cumulative_incidence(d["time"], d["cause"], variance="survfit")
        entered = cumulative_incidence(d["time"], d["cause"], entry=np.zeros(len(d["time"])))
    assert entered.variance_method == "survfit"
    for name in ("time", "n_risk", "survival", "estimate"):
        np.testing.assert_array_equal(getattr(fused, name), getattr(entered, name), err_msg=name)
    for name in ("variance", "survival_variance"):
        close(getattr(fused, name), getattr(entered, name), name)


@settings(max_examples=80, deadline=None)
@given(cohorts(), st.sampled_from([0.0, 1.0, 0.5]))
def test_gray_loops_equal_the_numpy_code(d: dict[str, Any], rho: float) -> None:
    if not (d["cause"] > 0).any():
        return
    for strata in (None, d["strata"]):

        def test(strata: Any = strata) -> Any:
            try:
                if d["fast"]:
                    return gray_test(d["time"], d["cause"], d["group"], strata=strata, rho=rho)
                with plain_paths():
                    return gray_test(d["time"], d["cause"], d["group"], strata=strata, rho=rho)
            except DataError as error:
                return str(error)

        fused, plain = both(test)
        if isinstance(plain, str):
            assert fused == plain  # not estimable on both, for the same reason
            continue
        assert fused.causes == plain.causes
        for a, b in zip(fused.scores, plain.scores, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        for a, b in zip(fused.variances, plain.variances, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fused.statistic, plain.statistic, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    ("rows", "used"),
    [(_MIN_ROWS - 1, False), (_MIN_ROWS, True), (_MIN_ROWS + 1, True)],
)
def test_the_loops_are_used_from_the_row_threshold(rows: int, used: bool) -> None:
    assert (compiled_kernels(rows) is _incidence_kernels) is used


# -- the R comparisons, through the loops ------------------------------------------------------


@pytest.fixture
def loops() -> Iterator[None]:
    with threshold(0):
        yield


@pytest.mark.r
@pytest.mark.usefixtures("loops")
@pytest.mark.parametrize("name", list(r_tests.DATA))
def test_loops_equal_cuminc_at_timepoints(name: str) -> None:
    r_tests.test_estimates_and_variances_equal_cuminc_at_timepoints(name)


@pytest.mark.r
@pytest.mark.usefixtures("loops")
def test_loops_equal_cuminc_by_group() -> None:
    r_tests.test_grouped_estimates_equal_cuminc_by_group()


@pytest.mark.r
@pytest.mark.usefixtures("loops")
@pytest.mark.parametrize("name", list(r_tests.DATA))
def test_loops_equal_survfit_multi_state(name: str) -> None:
    r_tests.test_estimates_and_variances_equal_survfit_multi_state(name)


@pytest.mark.r
@pytest.mark.usefixtures("loops")
@pytest.mark.parametrize("rho", [0.0, 1.0])
@pytest.mark.parametrize("name", list(r_tests.DATA))
def test_gray_loops_equal_cuminc_tests(name: str, rho: float) -> None:
    r_tests.test_gray_test_equals_cuminc_tests(name, rho)
