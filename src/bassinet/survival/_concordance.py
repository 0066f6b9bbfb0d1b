"""Harrell's concordance of a risk score with survival, counted in O(n log n) (or O(n log^2 n) in NumPy).

A pair is comparable when one member fails at a time t while the other is still at risk
and does not fail at t (in the same stratum; for (start, stop] rows, at risk at t). It
is concordant when the one who fails has the higher risk score, discordant when lower,
tied on x when the scores are equal; two failures at the same time are tied on y (and
on x and y if the scores are equal too). C = (concordant + tied.x / 2) /
(concordant + discordant + tied.x), as ``survival::concordance`` reports for a Cox fit.

Counting: a row is at risk over a range [lo, hi) of death-time indices (see
``_partial_likelihood.RiskSets``), so the weight at risk at death time k with score
below v is F(k, v) over "entered" points (lo, score) less F over "left" points (hi,
score), where F(k, v) sums the points with first coordinate <= k and score < v. F is
answered for all queries at once with a merge-sort tree: the points sorted on the
first coordinate are cut into dyadic blocks, each block's scores sorted, and a prefix
of points is at most one block per level, searched with ``np.searchsorted``. This is
the vectorised form of the usual balanced-tree count (Therneau's ``concordance``).

Reference: Harrell FE, Lee KL, Mark DB (1996). Multivariable prognostic models. Stat
Med 15:361-387.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from bassinet.survival._partial_likelihood import RiskSets

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Concordance:
    """Weighted pair counts and the concordance index C."""

    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float

    @property
    def value(self) -> float:
        comparable = self.concordant + self.discordant + self.tied_x
        return (self.concordant + self.tied_x / 2) / comparable if comparable else float("nan")


def _dominance(
    first: IntArray, rank: IntArray, weight: FloatArray, query_first: IntArray, query_rank: IntArray
) -> tuple[FloatArray, FloatArray]:
    """For each query, the weight of points with first <= qf and rank < qr, and rank <= qr."""
    order = np.argsort(first, kind="stable")
    first, rank, weight = first[order], rank[order], weight[order]
    prefix = np.searchsorted(first, query_first, side="right")
    width = int(max(rank.max(initial=0), query_rank.max(initial=0))) + 2
    below = np.zeros(len(query_first))
    upto = np.zeros(len(query_first))
    position = np.arange(len(first), dtype=np.int64)
    level = 0
    while (1 << level) <= len(first):
        block_of_point = position >> level
        keys = block_of_point * width + rank
        by_key = np.argsort(keys, kind="stable")
        sorted_keys = keys[by_key]
        cum = np.concatenate([[0.0], np.cumsum(weight[by_key])])
        has_block = (prefix >> level) & 1 == 1
        q = np.flatnonzero(has_block)
        block = (prefix[q] >> level) - 1
        base = block * width
        start = np.searchsorted(sorted_keys, base, side="left")
        below[q] += cum[np.searchsorted(sorted_keys, base + query_rank[q], side="left")] - cum[start]
        upto[q] += cum[np.searchsorted(sorted_keys, base + query_rank[q], side="right")] - cum[start]
        level += 1
    return below, upto


def concordance_counts(
    sets: RiskSets, score: FloatArray, weights: FloatArray, *, fast: bool | None = None
) -> Concordance:
    """Pair counts of ``score`` against the risk sets of a Cox model's data.

    With ``fast`` (by default: Numba installed and enough rows, see
    ``_partial_likelihood.compiled_available``) the pairs are counted by the
    Fenwick-tree loop of ``_cox_kernels.py`` in O(n log n); otherwise by the merge-sort
    tree here in O(n log^2 n). Tests check they agree.
    """
    from bassinet.survival._partial_likelihood import compiled_available

    rank = np.unique(score, return_inverse=True)[1].astype(np.int64).ravel()
    if compiled_available(len(rank)) if fast is None else fast:
        from bassinet.survival import _cox_kernels

        counted = _cox_kernels.concordance(
            rank,
            int(rank.max(initial=0)) + 1,
            np.ascontiguousarray(weights, dtype=np.float64),
            sets.lo,
            sets.hi,
            sets.n_times,
            sets.entering,
            sets.leaving,
            sets.death_rows,
            sets.death_time,
        )
        return _cleared(np.array(counted, dtype=np.float64))
    rows, k = sets.death_rows, sets.death_time
    q_rank = rank[rows]
    # at risk: entered (lo <= k) less left (hi <= k)
    in_below, in_upto = _dominance(sets.lo, rank, weights, k, q_rank)
    out_below, out_upto = _dominance(sets.hi, rank, weights, k, q_rank)
    at_risk_below = in_below - out_below
    at_risk_equal = (in_upto - in_below) - (out_upto - out_below)
    # Remove the deaths at the same time: they are tied on y, not comparable.
    dead_below, dead_upto = _dominance(k, rank[rows], weights[rows], k, q_rank)
    prior_below, prior_upto = _dominance(k, rank[rows], weights[rows], k - 1, q_rank)
    same_below = dead_below - prior_below
    same_equal = (dead_upto - dead_below) - (prior_upto - prior_below)
    w_dead = weights[rows]
    less = at_risk_below - same_below
    equal = at_risk_equal - same_equal
    # weight at risk (all scores) less the deaths at k: higher scores are the rest
    total_in = sets.sums(weights)
    same_total = np.bincount(k, weights=w_dead, minlength=sets.n_times)
    greater = total_in[k] - same_total[k] - less - equal
    concordant = float(w_dead @ less)
    discordant = float(w_dead @ greater)
    tied_x = float(w_dead @ equal)
    # pairs of deaths at one time: each unordered pair once
    tied_xy = float(w_dead @ (same_equal - w_dead)) / 2
    tied_y = float(w_dead @ (same_total[k] - w_dead)) / 2 - tied_xy
    return _cleared(np.array([concordant, discordant, tied_x, tied_y, tied_xy]))


def _cleared(counts: FloatArray) -> Concordance:
    """Weighted counts are differences of sums: clear the rounding dust of a true zero."""
    counts[np.abs(counts) < 1e-9 * max(1.0, float(np.abs(counts).max()))] = 0.0
    return Concordance(*map(float, counts))
