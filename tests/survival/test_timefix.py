"""Times that differ by rounding noise are one time, as R's ``timefix = TRUE`` (``aeqSurv``) makes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import DataError
from bassinet.survival import coxph, kaplan_meier, logrank
from bassinet.survival._validate import TIMEFIX_TOLERANCE, timefix
from tests.survival.r_oracle import assert_close, run_r

TOL = TIMEFIX_TOLERANCE  # sqrt(eps) = 1.49e-8


@pytest.mark.parametrize(
    ("times", "expected", "rule"),
    [
        ([1.0, 1.0 + 1e-12, 2.0], [1.0, 1.0, 2.0], "noise below the tolerance: one time"),
        ([0.5, 0.5 + 0.9 * TOL, 0.7], [0.5, 0.5, 0.7], "below 1 the tolerance is absolute"),
        ([0.5, 0.5 + 1.1 * TOL, 0.7], [0.5, 0.5 + 1.1 * TOL, 0.7], "just above it: two times"),
        ([100.0, 100.0 + 50 * TOL, 200.0], [100.0, 100.0, 200.0], "relative to the mean 150: 150 tol"),
        ([100.0, 100.0 + 200 * TOL, 200.0], [100.0, 100.0 + 200 * TOL, 200.0], "above 150 tol: two"),
        ([1.0, 1 + 0.8 * TOL, 1 + 1.6 * TOL], [1.0, 1.0, 1.0], "a chain of small gaps goes to its first"),
        ([3.0, 1.0, 2.0, 3.0], [3.0, 1.0, 2.0, 3.0], "whole days are left as they are"),
    ],
)
def test_the_timefix_rule_at_its_boundaries(times: list[float], expected: list[float], rule: str) -> None:
    fixed, entry = timefix(np.array(times))
    assert entry is None
    np.testing.assert_array_equal(fixed, expected, err_msg=rule)


def test_an_interval_that_is_only_noise_long_is_refused_naming_the_row() -> None:
    with pytest.raises(DataError, match=r"entry\[1\] is 2.0 and time\[1\] is 2.0000000000001.*timefix=False"):
        kaplan_meier([3.0, 2.0 + 1e-13], [1, 1], entry=[0.0, 2.0])
    fit = kaplan_meier([3.0, 2.0 + 1e-13], [1, 1], entry=[0.0, 2.0], timefix=False)
    assert fit.n_risk.tolist() == [2.0, 1.0]  # type: ignore[union-attr]


def _noisy(seed: int) -> pd.DataFrame:
    # Times in years computed from days, as a registry would: equal days come out
    # equal up to the last bits, some by an ulp or more (here 1e-13, well below sqrt(eps)).
    rng = np.random.default_rng(seed)
    n = 60
    days = rng.integers(30, 900, n).astype(float)
    days[rng.choice(n, 20, replace=False)] = 365.0  # many deaths and censorings "on" one day
    years = days / 365.25
    noise = np.where(rng.random(n) < 0.5, 1e-13, 0.0)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"time": years + noise, "event": rng.integers(0, 2, n), "x": x, "g": rng.integers(0, 2, n)}
    )


R_TIMEFIX = """
out <- list()
for (fix in c(TRUE, FALSE)) {
  tag <- if (fix) "fix" else "raw"
  f <- survfit(Surv(time, event) ~ 1, data = d, timefix = fix)
  out[[paste0(tag, "_km")]] <- c(f$time, f$surv, f$std.err)
  m <- coxph(Surv(time, event) ~ x, data = d, control = coxph.control(timefix = fix, eps = 1e-12))
  out[[paste0(tag, "_cox")]] <- c(coef(m), sqrt(diag(m$var)), m$loglik)
}
out$lr <- survdiff(Surv(time, event) ~ g, data = d)$chisq
"""


@pytest.mark.r
def test_noisy_times_equal_r_with_and_without_timefix() -> None:
    d = _noisy(14)
    r = run_r(R_TIMEFIX, d)
    for fix, tag in ((True, "fix"), (False, "raw")):
        km = kaplan_meier(d.time, d.event, timefix=fix)
        assert_close(
            np.concatenate([km.time, km.surv, km.std_err_log]),  # type: ignore[union-attr]
            r[f"{tag}_km"],
            what=f"km {tag}",
        )
        cox = coxph(d.time, d.event, d[["x"]], timefix=fix, tol=1e-12)
        assert_close(
            np.concatenate([cox.coef, cox.se, [cox.loglik_null, cox.loglik]]),
            r[f"{tag}_cox"],
            what=f"cox {tag}",
        )
    # the noise matters here: R's curve without the fix has more steps than with it
    assert len(r["raw_km"]) > len(r["fix_km"])
    assert_close(logrank(d.time, d.event, d.g).chisq, r["lr"], what="log-rank")
