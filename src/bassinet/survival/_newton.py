"""Newton–Raphson with step halving, the maximiser of the Cox and Fine–Gray likelihoods.

The iteration is that of ``survival``'s ``coxfit6.c`` (Therneau & Grambsch 2000,
section 3.3), one likelihood evaluation per iteration:

- from the last accepted point b with log-likelihood l, evaluate the new point b';
- if b' came from a full Newton step (not a halving) and |l' - l| <= ``tol`` |l'|, the
  fit has converged, and b' is returned with its score and information, even when l'
  is a rounding error below l (a flat maximum: b' is the better estimate of where the
  score is zero);
- else if l' < l (or l' is not finite), b' is replaced by the midpoint of b and b';
- else b' is accepted and the next point is a full Newton step from it.

Running out of iterations raises :class:`ConvergenceError`. Halvings that bring the
log-likelihood back within ``tol`` of l without rising above it mean no point along
the Newton direction is higher than b as far as floating point can tell: b, the last
accepted point, is returned (a monotone likelihood is flagged by :func:`infinite`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from bassinet.errors import ConvergenceError

FloatArray = NDArray[np.float64]


class HasDerivatives(Protocol):
    @property
    def loglik(self) -> float: ...
    @property
    def score(self) -> FloatArray: ...
    @property
    def information(self) -> FloatArray: ...


E = TypeVar("E", bound=HasDerivatives)


def maximise(
    evaluate: Callable[[FloatArray], E],
    start: FloatArray,
    *,
    what: str,
    names: tuple[str, ...],
    max_iter: int,
    tol: float,
) -> tuple[FloatArray, E, E, int]:
    """Maximise from ``start``; returns (beta, evaluation there, evaluation at start, iterations)."""
    beta = start
    first = current = evaluate(beta)
    candidate = beta + _newton_step(current, what, names, 0)
    halving = False
    for iteration in range(1, max_iter + 1):
        trial = evaluate(candidate)
        finite = bool(np.isfinite(trial.loglik))
        close = finite and abs(trial.loglik - current.loglik) <= tol * abs(trial.loglik)
        if close and not halving:
            return candidate, trial, first, iteration
        if not finite or trial.loglik < current.loglik:
            if close:
                return beta, current, first, iteration
            halving = True
            candidate = (candidate + beta) / 2
        else:
            halving = False
            beta, current = candidate, trial
            candidate = beta + _newton_step(current, what, names, iteration)
    raise ConvergenceError(
        f"{what} did not converge in {max_iter} iterations (relative change in the log-likelihood "
        f"still above {tol}); raise max_iter or look for a covariate that separates the groups"
    )


def _newton_step(current: HasDerivatives, what: str, names: tuple[str, ...], iteration: int) -> FloatArray:
    try:
        step = np.asarray(np.linalg.solve(current.information, current.score), dtype=np.float64)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            f"the information matrix of {what} ({', '.join(names)}) is singular at iteration {iteration}"
        ) from exc
    return step


def infinite(beta: FloatArray, var: FloatArray, score: FloatArray, tol: float) -> NDArray[np.bool_]:
    """Which coefficients may be infinite: the Newton step left at the fit is large.

    As ``coxph`` flags them: |V U| > eps and > sqrt(eps) |b|, V the inverse information
    and U the score at the fit. eps is ``tol`` but at least 1e-9 (R's default), so that
    a tight ``tol`` asks for a more precise fit without taking rounding noise in the
    last step for a coefficient running off.
    """
    eps = max(tol, 1e-9)
    remaining = np.abs(var @ score)
    flagged: NDArray[np.bool_] = (remaining > eps) & (remaining > np.sqrt(eps) * np.abs(beta))
    return flagged
