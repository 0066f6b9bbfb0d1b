"""Property tests that hunt for silent wrong numbers in Cox fits, against R in a batch.

hypothesis draws batches of small data sets of the kinds that broke survival codes
before: huge effects, near and complete separation, times scaled by 1e-6 and 1e9,
ties everywhere, and strata of one subject beside larger ones. Each batch goes to R
in one ``Rscript`` call (R's start-up dominates a small fit), and every fit must
either equal R's (coefficients, standard errors and log-likelihoods at 1e-6), or warn
that a coefficient may be infinite where R does (then the log-likelihood must still
equal R's), or refuse the data where R cannot estimate a coefficient. Never a number
where R has none, nor a silent number where R warns.

Both sides use the same convergence rule (``tol`` = R's ``eps`` = 1e-9, R's
``toler.inf`` its square root, 20 iterations), so that they stop at the same Newton
iteration. Where R runs out of iterations it warns and returns the last point;
Bassinet raises :class:`ConvergenceError` instead (a number that did not converge is
not printed), which is what the test asks of it there.
The examples are derandomised: the same batches in every run, so CI is repeatable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from bassinet.errors import ConvergenceError, DataError, StatisticalWarning
from bassinet.survival import coxph
from tests.survival.r_oracle import run_r

KINDS = ("huge", "separation", "near_separation", "small_times", "large_times", "ties", "tiny_strata")
BATCH = 12


@dataclass(frozen=True)
class Case:
    kind: str
    ties: str
    frame: pd.DataFrame  # time, event, x1, x2, stratum


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(KINDS))
    n = draw(st.integers(6, 30))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    beta = {"huge": 6.0}.get(kind, 0.7)
    time = rng.exponential(np.exp(-(beta * x1 + 0.5 * x2)))
    event = (rng.random(n) < 0.8).astype(float)
    event[0] = 1.0
    stratum = np.zeros(n, dtype=int)
    if kind in ("separation", "near_separation"):
        order = np.argsort(time)
        x2 = np.zeros(n)
        x2[order[: n // 3]] = 1.0  # the first third to fail have x2 = 1
        if kind == "near_separation":
            x2[order[-1]] = 1.0  # one of them survives longest
    if kind == "small_times":
        time = time * 1e-6
    if kind == "large_times":
        time = time * 1e9
    if kind == "ties":
        time = np.ceil(time * 3 / time.max())  # three distinct times
    if kind == "tiny_strata":
        stratum = np.where(np.arange(n) < 3, np.arange(n) + 1, 0)  # three strata of one subject
    ties = draw(st.sampled_from(["efron", "breslow"]))
    frame = pd.DataFrame({"time": time, "event": event, "x1": x1, "x2": x2, "stratum": stratum})
    return Case(kind, ties, frame)


R_BATCH = """
out <- list()
for (i in sort(unique(d$set))) {
  s <- d[d$set == i, ]
  form <- Surv(time, event) ~ x1 + x2
  if (any(s$stratum != 0)) form <- Surv(time, event) ~ x1 + x2 + strata(stratum)
  w <- character(0)
  fit <- tryCatch(withCallingHandlers(
      coxph(form, data = s, ties = s$ties[1], control = coxph.control(eps = 1e-9)),
      warning = function(m) {w <<- c(w, conditionMessage(m)); invokeRestart("muffleWarning")}),
    error = function(e) NULL)
  tag <- paste0("s", i, "_")
  if (is.null(fit)) { out[[paste0(tag, "error")]] <- 1; next }
  out[[paste0(tag, "error")]] <- 0
  out[[paste0(tag, "coef")]] <- coef(fit)
  out[[paste0(tag, "se")]] <- sqrt(diag(fit$var))
  out[[paste0(tag, "loglik")]] <- fit$loglik
  out[[paste0(tag, "infinite")]] <- as.numeric(any(grepl("infinite", w)))
  out[[paste0(tag, "ran_out")]] <- as.numeric(any(grepl("Ran out of iterations", w)))
}
"""


def _ours(case: Case) -> tuple[str, object, list[str]]:
    f = case.frame
    strata = f.stratum if (f.stratum != 0).any() else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = coxph(
                f.time, f.event, f[["x1", "x2"]], strata=strata, ties=case.ties, tol=1e-9, max_iter=20
            )  # type: ignore[arg-type]
        except (DataError, ConvergenceError) as exc:
            return "refused", exc, []
    messages = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
    return "fitted", fit, messages


@pytest.mark.r
@settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(st.lists(cases(), min_size=BATCH, max_size=BATCH))
def test_cox_fits_equal_r_or_warn_or_refuse_as_r_does(batch: list[Case]) -> None:
    frames = [c.frame.assign(set=i, ties=c.ties) for i, c in enumerate(batch)]
    r = run_r(R_BATCH, pd.concat(frames, ignore_index=True))
    for i, case in enumerate(batch):
        what = f"set {i} ({case.kind}, {case.ties}):\n{case.frame}"
        outcome, fit, messages = _ours(case)
        r_coef = r.get(f"s{i}_coef")
        r_cannot = r[f"s{i}_error"][0] == 1 or r_coef is None or bool(np.isnan(r_coef).any())
        if r_cannot:
            assert outcome == "refused", f"R cannot estimate, Bassinet gave {fit} for {what}"
            continue
        if r[f"s{i}_ran_out"][0] == 1:  # R warns that it did not converge; Bassinet raises
            assert isinstance(fit, ConvergenceError), f"R ran out of iterations, Bassinet: {fit} for {what}"
            continue
        assert outcome == "fitted", f"Bassinet refused ({fit}) where R fits {r_coef} for {what}"
        r_infinite = r[f"s{i}_infinite"][0] == 1
        ours_infinite = any("may be infinite" in m for m in messages)
        assert ours_infinite == r_infinite, f"R warned {r_infinite}, Bassinet {messages} for {what}"
        loglik = np.array([fit.loglik_null, fit.loglik])  # type: ignore[attr-defined]
        np.testing.assert_allclose(loglik, r[f"s{i}_loglik"], rtol=1e-6, atol=1e-8, err_msg=what)
        if not r_infinite:
            np.testing.assert_allclose(fit.coef, r_coef, rtol=1e-6, atol=1e-9, err_msg=what)  # type: ignore[attr-defined]
            np.testing.assert_allclose(fit.se, r[f"s{i}_se"], rtol=1e-6, atol=1e-9, err_msg=what)  # type: ignore[attr-defined]
