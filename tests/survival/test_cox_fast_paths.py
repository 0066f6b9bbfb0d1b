"""The compiled loops of ``_cox_kernels.py`` agree with the NumPy engine (the plain path).

hypothesis draws small data sets with ties (whole-day times from a short range), late
entry and (start, stop] rows, case weights (whole and fractional), strata (some of one
row) and offsets, and checks that each fast path gives the plain path's numbers:

- ``PartialLikelihood.evaluate``: log-likelihood, score, information, S0, S1 and the
  per-death den and num (Efron and Breslow);
- ``RiskSets.build`` from sorted right-censored rows in one pass: the same arrays;
- the Fenwick-tree concordance: the same weighted pair counts;
- the counting-sort order of ``prepare``: the permutation of ``np.lexsort``;
- a whole ``coxph`` fit (coefficients, variance, log-likelihoods, concordance) with the
  loops turned off and on.

The loops and the NumPy engine add in different orders, so agreement is to a relative
1e-9 (the R comparisons elsewhere are at 1e-6); integer-valued counts agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.survival import _cox_kernels, _partial_likelihood, coxph
from bassinet.survival._concordance import concordance_counts
from bassinet.survival._cox import _sort_order
from bassinet.survival._partial_likelihood import PartialLikelihood, RiskSets

pytestmark = pytest.mark.skipif(not _cox_kernels.available(), reason="Numba is not installed")

RTOL = 1e-9
_MIN_ROWS = _partial_likelihood.COMPILED_MIN_ROWS


def setup_module() -> None:
    """Use the loops whatever the size (they start at 20,000 rows otherwise)."""
    _partial_likelihood.COMPILED_MIN_ROWS = 0


def teardown_module() -> None:
    _partial_likelihood.COMPILED_MIN_ROWS = _MIN_ROWS


def test_small_data_stay_on_the_numpy_engine() -> None:
    assert _partial_likelihood.compiled_available(_MIN_ROWS)
    _partial_likelihood.COMPILED_MIN_ROWS = _MIN_ROWS
    try:
        assert not _partial_likelihood.compiled_available(_MIN_ROWS - 1)
        assert _partial_likelihood.compiled_available(_MIN_ROWS)
    finally:
        _partial_likelihood.COMPILED_MIN_ROWS = 0


@dataclass(frozen=True)
class Data:
    start: np.ndarray | None
    stop: np.ndarray
    event: np.ndarray
    stratum: np.ndarray
    x: np.ndarray
    weights: np.ndarray
    offset: np.ndarray
    beta: np.ndarray


@st.composite
def data_sets(draw: st.DrawFn, *, late_entry: bool | None = None) -> Data:
    n = draw(st.integers(1, 40))
    p = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    span = draw(st.sampled_from([2, 5, 30]))  # few distinct days: many ties
    stop = rng.integers(1, span + 1, n).astype(float)
    if draw(st.booleans()):
        stop = stop + rng.random(n)  # continuous times
    event = rng.random(n) < draw(st.sampled_from([0.3, 0.8, 1.0]))
    event[0] = True
    entering = draw(st.booleans()) if late_entry is None else late_entry
    start = None
    if entering:
        start = np.where(rng.random(n) < 0.5, 0.0, np.floor(stop * rng.random(n)))
        start = np.minimum(start, stop - 0.5)
    n_strata = draw(st.integers(1, 3))
    stratum = rng.integers(0, n_strata, n).astype(np.int64)
    x = rng.normal(size=(n, p))
    if draw(st.booleans()):
        x[:, 0] = rng.integers(0, 2, n)  # a binary covariate: ties in the risk score
    weights = (
        np.ones(n)
        if draw(st.booleans())
        else rng.integers(1, 4, n).astype(float) * draw(st.sampled_from([1.0, 0.37]))
    )
    offset = np.zeros(n) if draw(st.booleans()) else rng.normal(size=n)
    beta = rng.normal(size=p) * draw(st.sampled_from([0.0, 1.0, 8.0]))
    return Data(start, stop, event, stratum, x, weights, offset, beta)


def _sorted(d: Data) -> Data:
    """The rows in (stratum, stop) order, as ``prepare`` gives them to the engine."""
    order = np.lexsort((d.stop, d.stratum))
    start = None if d.start is None else d.start[order]
    return Data(
        start,
        d.stop[order],
        d.event[order],
        d.stratum[order],
        np.ascontiguousarray(d.x[order]),
        d.weights[order],
        d.offset[order],
        d.beta,
    )


def _close(fast: np.ndarray | float, plain: np.ndarray | float) -> None:
    fast, plain = np.asarray(fast), np.asarray(plain)
    assert fast.shape == plain.shape
    scale = max(1.0, float(np.abs(plain).max(initial=0.0)))
    np.testing.assert_allclose(fast, plain, rtol=RTOL, atol=RTOL * scale)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data_sets(), st.booleans(), st.booleans())
def test_evaluate_matches_the_numpy_engine(raw: Data, efron: bool, shuffled: bool) -> None:
    d = raw if shuffled else _sorted(raw)
    sets = RiskSets.build(d.start, d.stop, d.event, d.stratum, efron=efron)
    fast = PartialLikelihood(sets, d.x, d.weights, d.offset, fast=True).evaluate(d.beta)
    plain = PartialLikelihood(sets, d.x, d.weights, d.offset, fast=False).evaluate(d.beta)
    assert np.isfinite(plain.loglik)
    _close(fast.loglik, plain.loglik)
    _close(fast.score, plain.score)
    _close(fast.information, plain.information)
    _close(fast.s0, plain.s0)
    _close(fast.s1, plain.s1)
    _close(fast.den, plain.den)
    _close(fast.num, plain.num)
    _close(fast.risk, plain.risk)
    assert fast.shift == plain.shift
    light = PartialLikelihood(sets, d.x, d.weights, d.offset, fast=True).evaluate(d.beta, arrays=False)
    assert light.loglik == fast.loglik
    np.testing.assert_array_equal(light.information, fast.information)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(data_sets(late_entry=False), st.booleans())
def test_one_pass_risk_sets_match_the_searches(raw: Data, efron: bool) -> None:
    d = _sorted(raw)
    fast = RiskSets.build(None, d.stop, d.event, d.stratum, efron=efron)
    switch = _partial_likelihood.compiled_available
    try:
        _partial_likelihood.compiled_available = lambda n_rows=None: False  # type: ignore[assignment]
        plain = RiskSets.build(None, d.stop, d.event, d.stratum, efron=efron)
    finally:
        _partial_likelihood.compiled_available = switch  # type: ignore[assignment]
    assert fast.n_times == plain.n_times > 0
    names = ("time", "stratum", "lo", "hi", "death_rows", "death_time", "fraction", "n_deaths", "segments")
    for name in names:
        np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name), err_msg=name)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data_sets(), st.sampled_from(["lp", "binary", "constant"]))
def test_fenwick_concordance_matches_the_merge_sort_tree(raw: Data, kind: str) -> None:
    d = _sorted(raw)
    sets = RiskSets.build(d.start, d.stop, d.event, d.stratum, efron=True)
    scores = {"lp": d.x @ d.beta, "binary": (d.x[:, 0] > 0).astype(float), "constant": np.zeros(len(d.stop))}
    score = scores[kind]
    fast = concordance_counts(sets, score, d.weights, fast=True)
    plain = concordance_counts(sets, score, d.weights, fast=False)
    for field in ("concordant", "discordant", "tied_x", "tied_y", "tied_xy"):
        _close(getattr(fast, field), getattr(plain, field))
    if np.isnan(plain.value):
        assert np.isnan(fast.value)
    else:
        _close(fast.value, plain.value)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.integers(1, 300), st.integers(1, 5), st.booleans(), st.integers(0, 2**32 - 1))
def test_sort_order_is_lexsorts(n: int, n_strata: int, whole_days: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 20, n).astype(float) if whole_days else rng.exponential(5.0, n).round(1)
    codes = rng.integers(0, n_strata, n).astype(np.int64)
    expected = np.lexsort((time, codes))
    np.testing.assert_array_equal(_sort_order(time, codes, n_strata, True), expected)
    np.testing.assert_array_equal(_sort_order(time, codes, n_strata, False), expected)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("layout", ["right-censored", "strata", "start-stop", "weights"])
def test_whole_fit_is_the_same_with_and_without_the_loops(
    ties: str, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(17)
    n = 400
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n)])
    time = np.ceil(rng.exponential(30 * np.exp(-(x @ [0.4, -0.6, 0.2]))))
    event = rng.random(n) < 0.7
    kwargs: dict[str, object] = {"ties": ties}
    if layout == "strata":
        kwargs["strata"] = rng.integers(0, 3, n)
    if layout == "start-stop":
        kwargs["entry"] = np.floor(time * rng.random(n) * (rng.random(n) < 0.5))
    if layout == "weights":
        kwargs["weights"] = rng.integers(1, 4, n) * 0.5
    fast = coxph(time, event, x, **kwargs)  # type: ignore[arg-type]
    fast_c = fast.concordance.value
    monkeypatch.setattr(_cox_kernels, "available", lambda: False)
    plain = coxph(time, event, x, **kwargs)  # type: ignore[arg-type]
    assert fast.iterations == plain.iterations
    _close(fast.coef, plain.coef)
    _close(fast.var, plain.var)
    _close(fast.loglik, plain.loglik)
    _close(fast.loglik_null, plain.loglik_null)
    _close(fast.score_test.statistic, plain.score_test.statistic)
    _close(fast_c, plain.concordance.value)
    assert 0.5 < plain.concordance.value < 1.0
