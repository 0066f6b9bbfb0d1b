"""CoxPH: a formula on a DataFrame, named as R names it, the scikit-learn contract, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import DataError
from bassinet.survival import CoxPH, coxph
from tests.survival.r_oracle import assert_close, r_dataset, run_r


def _lung() -> pd.DataFrame:
    d = r_dataset("na.omit(lung[, c('time', 'status', 'age', 'sex', 'ph.ecog')])")
    return d.assign(
        event=(d.status == 2).astype(int),
        sexf=np.where(d.sex == 1, "m", "f"),
        old=d.age > 65,
        ecog=d["ph.ecog"].astype(int).astype(str),
    )


@pytest.mark.r
def test_factors_and_booleans_are_named_and_fitted_as_in_r() -> None:
    d = _lung()
    model = CoxPH("age + C(sexf) + old + C(ecog)", time="time", event="event").fit(d)
    r = run_r(
        """
        d$ecog <- factor(d$ecog); d$old <- d$old == "True"
        fit <- coxph(Surv(time, event) ~ age + sexf + old + ecog, data = d,
                     control = coxph.control(eps = 1e-12))
        z <- cox.zph(fit)
        out <- list(coef = coef(fit), zph = z$table[, "chisq"],
                    surv = summary(survfit(fit, newdata = d[1:2, ]), times = c(100, 300))$surv)
        """,
        d,
    )
    assert model.names_ == ("age", "sexfm", "oldTRUE", "ecog1", "ecog2", "ecog3")
    assert_close(model.coef_, r["coef"], what="coef")
    zph = model.result_.zph()
    assert zph.terms == ("age", "sexf", "old", "ecog")  # one test per term, as R
    assert_close(zph.chisq, r["zph"], what="cox.zph")
    # R: times by curves, read column by column; ours: rows by times.
    assert_close(model.predict_survival(d.head(2), [100, 300]).ravel(), r["surv"], what="survfit")


def test_formula_fit_equals_the_array_fit() -> None:
    d = _lung()
    model = CoxPH("age + sex", time="time", event="event", strata="ecog").fit(d)
    direct = coxph(d.time, d.event, d[["age", "sex"]], strata=d.ecog)
    np.testing.assert_allclose(model.coef_, direct.coef, rtol=1e-12)


def test_fit_returns_self_and_stores_parameters_unchanged() -> None:
    model = CoxPH("age", time="time", event="event", ties="breslow")
    assert model.fit(_lung()) is model
    assert model.ties == "breslow" and model.formula == "age"


def test_predicting_before_fitting_is_refused() -> None:
    with pytest.raises(DataError, match="not fitted yet"):
        CoxPH("age", time="time", event="event").predict_risk(_lung())


def test_formula_naming_a_missing_column_is_refused() -> None:
    with pytest.raises(DataError, match="names 'wbc_ge_300', not a column of the data"):
        CoxPH("age + wbc_ge_300", time="time", event="event").fit(_lung())


def test_missing_covariate_names_row_and_column() -> None:
    d = _lung()
    d.loc[d.index[4], "age"] = np.nan
    with pytest.raises(DataError, match=f"row {d.index[4]}, column 'age' is missing"):
        CoxPH("age + sex", time="time", event="event").fit(d)


def test_time_column_that_does_not_exist_is_refused() -> None:
    with pytest.raises(DataError, match="time='days' is not a column"):
        CoxPH("age", time="days", event="event").fit(_lung())


@pytest.mark.r
def test_r_names_with_dots_and_backquotes_are_columns_as_in_r() -> None:
    # R's lung has ph.ecog and wt.loss; formulaic reads ph.ecog as an attribute of "ph".
    d = r_dataset("na.omit(lung[, c('time', 'status', 'age', 'ph.ecog', 'wt.loss')])")
    d["event"] = (d.status == 2).astype(int)
    r = run_r(
        "fit <- coxph(Surv(time, status) ~ age + ph.ecog + `wt.loss`, data = d); "
        "out <- list(coef = coef(fit))",
        d,
    )
    model = CoxPH("age + ph.ecog + `wt.loss`", time="time", event="event").fit(d)
    assert model.names_ == ("age", "ph.ecog", "wt.loss")
    assert_close(model.coef_, r["coef"], what="coef")
    d["my var"] = d["age"]
    quoted = CoxPH("`my var` + ph.ecog + `wt.loss`", time="time", event="event").fit(d)
    np.testing.assert_allclose(quoted.coef_, model.coef_, rtol=1e-12)


def test_a_dotted_name_that_is_no_column_is_refused_by_its_name() -> None:
    d = _lung()
    with pytest.raises(DataError, match="names 'wt', not a column"):
        CoxPH("age + wt.loss", time="time", event="event").fit(d)
