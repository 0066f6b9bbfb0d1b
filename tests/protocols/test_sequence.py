"""The allocation sequence: balanced within every stratum, different per stratum and per secret."""

from __future__ import annotations

import numpy as np

from bassinet.protocols.randomise import ARMS, BLOCK_SIZES, _sequence

SECRET = "ab" * 32


def test_ten_thousand_allocations_stay_balanced_within_a_stratum() -> None:
    arms = _sequence(SECRET, "MR / DCOG", 10_000)
    difference = np.cumsum([1 if a == ARMS[0] else -1 for a in arms])
    # permuted blocks of at most 6: never more than 3 apart, and level at the end of every block
    assert np.abs(difference).max() <= max(BLOCK_SIZES) // 2
    assert abs(int(difference[-1])) <= 3
    assert set(arms) == set(ARMS)


def test_block_sizes_vary() -> None:
    arms = _sequence(SECRET, "HR / COALL", 600)
    difference = np.cumsum([1 if a == ARMS[0] else -1 for a in arms])
    level = np.flatnonzero(difference == 0) + 1
    gaps = set(np.diff(np.concatenate(([0], level))).tolist())
    assert len(gaps & set(BLOCK_SIZES)) >= 2


def test_strata_and_secrets_give_different_sequences() -> None:
    a = _sequence(SECRET, "MR / DCOG", 200)
    assert a != _sequence(SECRET, "HR / DCOG", 200)
    assert a != _sequence("cd" * 32, "MR / DCOG", 200)
    assert a == _sequence(SECRET, "MR / DCOG", 200)  # deterministic for its secret
