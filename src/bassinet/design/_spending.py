"""Error-spending functions of group-sequential designs (Lan & DeMets 1983).

An error-spending function ``f(t)`` gives the share of the type I (alpha) or type II
(beta) error spent by the information fraction ``t``, with ``f(0) = 0`` and ``f(1)`` the
whole error. The families are those of Jennison & Turnbull (2000, ch. 7) and rpact:

- ``obf`` (O'Brien-Fleming-like, Lan & DeMets 1983): ``2 s (1 - Phi(z_{e / 2s} / sqrt(t)))``
  with ``s`` the sides (two-sided alpha is split over the tails as rpact does);
- ``pocock`` (Pocock-like, Lan & DeMets 1983): ``e log(1 + (exp(1) - 1) t)``;
- ``kd`` (Kim & DeMets 1987, power family): ``e t ** rho``;
- ``hsd`` (Hwang, Shih & DeCani 1990): ``e (1 - exp(-gamma t)) / (1 - exp(-gamma))``,
  ``e t`` at ``gamma = 0``.

For beta spending the O'Brien-Fleming-like function is the one-sided ``s = 1`` form.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import stats

from bassinet.errors import DataError

Spending = Literal["obf", "pocock", "kd", "hsd"]
SPENDING: tuple[Spending, ...] = ("obf", "pocock", "kd", "hsd")


def check_spending(name: str, kind: str, parameter: float | None, *, argument: str = "spending") -> None:
    """Refuse an unknown family, or a missing or impossible parameter, naming ``argument``."""
    if kind not in SPENDING:
        raise DataError(f"{argument} is {kind!r}: one of {', '.join(SPENDING)}")
    if kind == "kd" and (parameter is None or not (math.isfinite(parameter) and parameter > 0)):
        raise DataError(f"{name} is {parameter!r}: the Kim-DeMets rho must be a positive number")
    if kind == "hsd" and (parameter is None or not math.isfinite(parameter)):
        raise DataError(f"{name} is {parameter!r}: the Hwang-Shih-DeCani gamma must be a finite number")


def spent(kind: Spending, error: float, t: float, *, sided: int = 1, parameter: float | None = None) -> float:
    """Cumulative error spent by information fraction ``t`` (``0 <= t <= 1``).

    Parameters
    ----------
    kind
        ``obf``, ``pocock``, ``kd`` (``parameter`` is rho) or ``hsd`` (``parameter`` is gamma).
    error
        The whole error to spend (alpha, or beta).
    t
        Information fraction.
    sided
        Sides of the test (the O'Brien-Fleming-like function depends on it).

    References
    ----------
    Lan KKG, DeMets DL (1983). Discrete sequential boundaries for clinical trials.
    Biometrika 70:659-663. Kim K, DeMets DL (1987). Design and analysis of group sequential
    tests based on the type I error spending rate function. Biometrika 74:149-154.
    Hwang IK, Shih WJ, DeCani JS (1990). Group sequential designs using a family of type I
    error probability spending functions. Stat Med 9:1439-1445.
    """
    if t <= 0:
        return 0.0
    if kind == "obf":
        z = stats.norm.isf(error / (2 * sided))
        return float(2 * sided * stats.norm.sf(z / math.sqrt(t)))
    if kind == "pocock":
        return error * math.log(1 + (math.e - 1) * t)
    if kind == "kd":
        assert parameter is not None
        return float(error * t**parameter)
    assert parameter is not None
    if parameter == 0:
        return error * t
    return error * (1 - math.exp(-parameter * t)) / (1 - math.exp(-parameter))
