"""Newton–Raphson with step halving, the maximiser of the Cox and Fine–Gray likelihoods.

As ``survival``'s ``coxfit6.c``: the fit has converged when a full Newton step changes
the log-likelihood by at most ``tol`` relative to it (a step that lands within ``tol``
but a rounding error lower counts, so a monotone likelihood that flattens out ends
rather than halving for ever); a step that lowers it by more is halved, and when
thirty halvings find no higher point the maximum is as close as floating point allows.
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
    for iteration in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(current.information, current.score)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError(
                f"the information matrix of {what} ({', '.join(names)}) is singular at iteration {iteration}"
            ) from exc
        candidate = beta + step
        trial = evaluate(candidate)
        for _ in range(30):
            if np.isfinite(trial.loglik) and abs(trial.loglik - current.loglik) <= tol * abs(trial.loglik):
                if trial.loglik >= current.loglik:
                    return candidate, trial, first, iteration
                return beta, current, first, iteration
            if np.isfinite(trial.loglik) and trial.loglik > current.loglik:
                break
            candidate = (candidate + beta) / 2
            trial = evaluate(candidate)
        else:
            # No step along the Newton direction raises the log-likelihood beyond rounding
            # error: it is as high as floating point can tell. The caller's check for a
            # monotone likelihood says if a coefficient is running off.
            return beta, current, first, iteration
        beta, current = candidate, trial
    raise ConvergenceError(
        f"{what} did not converge in {max_iter} iterations (relative change in the log-likelihood "
        f"still above {tol}); raise max_iter or look for a covariate that separates the groups"
    )
