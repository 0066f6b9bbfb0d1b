"""Cox proportional-hazards regression: ties, strata, (start, stop] data, weights, robust errors.

:func:`coxph` fits the model by Newton–Raphson on the partial likelihood (the engine is
``_partial_likelihood.py``) and returns a :class:`CoxFit` with the coefficients, their
model-based or robust standard errors, hazard ratios with confidence limits, Wald z and
P values, the log-likelihoods and the likelihood-ratio, Wald and score tests, as
``survival::coxph`` prints them. The fit also gives the concordance, the baseline
cumulative hazard, predicted survival for new covariate values, and the test of
proportional hazards of ``cox.zph``.

Conventions follow ``survival`` (Therneau & Grambsch 2000):

- Covariates are centred on their weighted means while fitting (the coefficients and
  log-likelihoods do not change; the arithmetic is safer).
- Newton steps start at zero (or ``init``); a step that lowers the log-likelihood is
  halved. The fit has converged when the relative change of the log-likelihood is at
  most ``tol``. Running out of iterations raises :class:`ConvergenceError`.
- A coefficient whose last Newton step is still large compared with its size (the
  likelihood is monotone: the covariate separates those who fail from those who do
  not) gives a :class:`StatisticalWarning` naming it, as R warns "coefficient may be
  infinite".
- The robust variance is the grouped jackknife D'D of Lin & Wei (1989), D the dfbeta
  residuals weighted by the case weights and summed within ``cluster``.
- The score test is at the initial coefficients, the Wald test at the fitted ones with
  the variance in use (robust if asked), the likelihood-ratio test compares the two.

References
----------
Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model.
    J Am Stat Assoc 84:1074-1078.
Grambsch PM, Therneau TM (1994). Proportional hazards tests and diagnostics based on
    weighted residuals. Biometrika 81:515-526.
Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA (1982). Evaluating the yield of
    medical tests. JAMA 247:2543-2546 (the concordance).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2, norm

from bassinet.errors import ConvergenceError, DataError, StatisticalWarning
from bassinet.survival._concordance import Concordance, concordance_counts
from bassinet.survival._cox_exact import ExactLikelihood
from bassinet.survival._newton import infinite, maximise
from bassinet.survival._partial_likelihood import (
    Evaluation,
    PartialLikelihood,
    RiskSets,
    compiled_available,
)
from bassinet.survival._results import TableResult
from bassinet.survival._validate import (
    FloatArray,
    IntArray,
    as_float,
    as_labels,
    as_vector,
    as_weights,
    check_choice,
    check_conf_level,
    same_length,
    survival_data,
)

if TYPE_CHECKING:
    import pandas as pd

Ties = Literal["efron", "breslow", "exact"]
TIES: tuple[Ties, ...] = ("efron", "breslow", "exact")
ZphTransform = Literal["km", "rank", "identity", "log"]


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square test: the statistic, its degrees of freedom and P value."""

    statistic: float
    df: int
    p_value: float

    @classmethod
    def of(cls, statistic: float, df: int) -> ChiSquareTest:
        return cls(float(statistic), df, float(chi2.sf(statistic, df)))


@dataclass(frozen=True)
class CoxData:
    """Checked, centred input of a Cox model, kept by the fit for its diagnostics."""

    names: tuple[str, ...]
    x: FloatArray  # centred
    center: FloatArray
    time: FloatArray
    entry: FloatArray | None
    event: NDArray[np.bool_]
    stratum: IntArray
    stratum_labels: tuple[Any, ...] | None
    weights: FloatArray
    offset: FloatArray
    cluster: IntArray | None
    terms: tuple[tuple[str, tuple[int, ...]], ...]
    order: IntArray  # row j here is row order[j] of the input: sorted by (stratum, time)
    r_center: FloatArray  # R's centring of linear predictors: 0/1 indicators are not centred

    def unsort(self, values: FloatArray) -> FloatArray:
        """Per-row values back in the caller's row order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out


@dataclass(frozen=True)
class ZphTest(TableResult):
    """The proportional-hazards test of ``cox.zph``: one row per term and a global row."""

    terms: tuple[str, ...]
    chisq: FloatArray
    df: IntArray
    p_value: FloatArray
    transform: str

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"chisq": self.chisq, "df": self.df, "p": self.p_value}, index=[*self.terms, "GLOBAL"]
        )


class Coefficients:
    """Wald statistics of fitted coefficients: SE, hazard ratios with limits, z and P.

    Shared by :class:`CoxFit` and :class:`FineGrayFit`, which supply ``coef``, ``var``
    and ``conf_level``.
    """

    coef: FloatArray
    var: FloatArray
    conf_level: float

    @property
    def se(self) -> FloatArray:
        return np.sqrt(np.diag(self.var))

    @property
    def hazard_ratio(self) -> FloatArray:
        return np.exp(self.coef)

    @property
    def z(self) -> FloatArray:
        return self.coef / self.se

    @property
    def p_value(self) -> FloatArray:
        return np.asarray(2 * norm.sf(np.abs(self.z)), dtype=np.float64)

    @property
    def lower(self) -> FloatArray:
        """Lower confidence limit of the hazard ratio."""
        return np.exp(self.coef - float(norm.ppf(0.5 + self.conf_level / 2)) * self.se)

    @property
    def upper(self) -> FloatArray:
        return np.exp(self.coef + float(norm.ppf(0.5 + self.conf_level / 2)) * self.se)


@dataclass(frozen=True)
class CoxFit(Coefficients, TableResult):
    """A fitted Cox model; ``to_frame()`` is R's coefficient table.

    ``var`` is the variance in use: robust when ``robust`` (then ``naive_var`` is the
    model-based one), model-based otherwise. With the robust variance,
    ``robust_score_test`` is the robust score test (R's ``fit$rscore``): U' (D0'D0)^-1 U,
    U the score at the initial coefficients and D0 the weighted score residuals there,
    summed within clusters (Lin & Wei 1989); None otherwise.
    """

    names: tuple[str, ...]
    coef: FloatArray
    var: FloatArray
    naive_var: FloatArray
    robust: bool
    loglik_null: float
    loglik: float
    score_test: ChiSquareTest
    wald_test: ChiSquareTest
    lr_test: ChiSquareTest
    n: int
    n_events: int
    iterations: int
    ties: Ties
    conf_level: float
    data: CoxData = field(repr=False, compare=False)
    linear_predictor: FloatArray = field(repr=False, compare=False)
    robust_score_test: ChiSquareTest | None = None

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        table = {"coef": self.coef, "exp(coef)": self.hazard_ratio}
        if self.robust:
            table["se(coef)"] = np.sqrt(np.diag(self.naive_var))
            table["robust se"] = self.se
        else:
            table["se(coef)"] = self.se
        table |= {"z": self.z, "p": self.p_value, "lower": self.lower, "upper": self.upper}
        return pd.DataFrame(table, index=list(self.names))

    @cached_property
    def _sets(self) -> RiskSets:
        d = self.data
        return RiskSets.build(d.entry, d.time, d.event, d.stratum, efron=self.ties == "efron")

    @cached_property
    def _engine(self) -> tuple[PartialLikelihood, Evaluation]:
        d = self.data
        engine = PartialLikelihood(self._sets, d.x, d.weights, d.offset)
        return engine, engine.evaluate(self.coef)

    @cached_property
    def concordance(self) -> Concordance:
        """Harrell's C as ``coxph`` reports it: a higher risk score should fail sooner."""
        lp = self.data.x @ self.coef + self.data.offset
        return concordance_counts(self._sets, lp, self.data.weights)

    def _refuse_exact(self, what: str) -> None:
        if self.ties == "exact":
            raise DataError(
                f"{what} is not available for ties='exact' (R does not give it either): fit with ties='efron'"
            )

    def score_residuals(self) -> FloatArray:
        """Per row and covariate, the score residual (``residuals(fit, type = "score")``)."""
        self._refuse_exact("score_residuals")
        engine, ev = self._engine
        return self.data.unsort(engine.score_residuals(ev))

    def baseline_hazard(self) -> pd.DataFrame:
        """The cumulative baseline hazard at covariates zero, per stratum and death time.

        With Efron ties, the jump at d tied deaths is sum_l m / (S0 - l/d D0) (R's
        ``survfit.coxph`` with ``ctype = 2``); with Breslow it is the weighted deaths over S0.
        """
        import pandas as pd

        self._refuse_exact("baseline_hazard")
        engine, ev = self._engine
        jumps = engine.hazard_increments(ev) * np.exp(-self.data.center @ self.coef)
        sets = engine.sets
        cumulative = np.empty_like(jumps)
        for s in np.unique(sets.stratum):
            mask = sets.stratum == s
            cumulative[mask] = np.cumsum(jumps[mask])
        frame = pd.DataFrame({"time": sets.time, "hazard": jumps, "cumhaz": cumulative})
        if self.data.stratum_labels is not None:
            labels = np.asarray(self.data.stratum_labels, dtype=object)
            frame.insert(0, "stratum", labels[sets.stratum])
        return frame

    def predict_survival(
        self,
        x: ArrayLike,
        times: ArrayLike,
        *,
        strata: ArrayLike | None = None,
        offset: ArrayLike | None = None,
    ) -> FloatArray:
        """S(t | x) = exp(-Lambda0(t) exp(x b)) for each new row (rows) at each time (columns)."""
        new = _matrix(x, len(self.names), self.names)
        if np.isnan(new).any():
            row, col = np.argwhere(np.isnan(new))[0]
            raise DataError(f"x[{row}, {self.names[col]!r}] is NaN: predictions need every covariate")
        at = as_float("times", times)
        eta = new @ self.coef + (0.0 if offset is None else as_float("offset", offset))
        base = self.baseline_hazard()
        if self.data.stratum_labels is None:
            if strata is not None:
                raise DataError("strata given for a model fitted without strata")
            curves = {None: base}
            row_strata: NDArray[Any] = np.full(len(new), None, dtype=object)
        else:
            if strata is None:
                raise DataError("the model has strata: say the stratum of each new row")
            row_strata = as_vector("strata", strata)
            curves = {label: base[base["stratum"] == label] for label in self.data.stratum_labels}
        out = np.empty((len(new), len(at)))
        for i, (label, lp) in enumerate(zip(row_strata, np.atleast_1d(eta), strict=True)):
            if label not in curves:
                raise DataError(f"strata[{i}] is {label!r}: not a stratum of the fitted model")
            curve = curves[label]
            idx = np.searchsorted(curve["time"].to_numpy(), at, side="right")
            cumhaz = np.concatenate([[0.0], curve["cumhaz"].to_numpy()])[idx]
            out[i] = np.exp(-cumhaz * np.exp(lp))
        return out

    def zph(self, transform: ZphTransform = "km") -> ZphTest:
        """Test of proportional hazards (``cox.zph``): a score test for x g(t) terms.

        Each covariate x gets a partner x g(t), g the transformed time centred on its mean
        over the deaths; the test is the score test of the partners at (b, 0) with the
        full information of the 2p-variable model, per term and globally (Grambsch &
        Therneau 1994, as ``survival`` 3 computes it). ``km`` uses g = 1 - S(t-), the
        pooled Kaplan–Meier just before t.
        """
        check_choice("transform", transform, ("km", "rank", "identity", "log"))
        self._refuse_exact("zph")
        engine, ev = self._engine
        d, sets = self.data, engine.sets
        g_rows = _zph_time(transform, d)
        g_rows = g_rows - g_rows[d.event].mean()
        g = np.empty(sets.n_times)
        g[sets.death_time] = g_rows[sets.death_rows]
        p = len(self.names)
        info = np.zeros((2 * p, 2 * p))
        info[:p, :p] = _information(engine, ev, np.ones(sets.n_times))
        info[:p, p:] = info[p:, :p] = _information(engine, ev, g)
        info[p:, p:] = _information(engine, ev, g**2)
        k = sets.death_time
        rows = sets.death_rows
        per_death = d.weights[rows, None] * d.x[rows] - (ev.mean_weight[k] / ev.den)[:, None] * ev.num
        u = np.concatenate([np.zeros(p), g[k] @ per_death])
        chisq, dfs = [], []
        for _, columns in d.terms:
            keep = [*range(p), *(p + c for c in columns)]
            chisq.append(float(u[keep] @ np.linalg.solve(info[np.ix_(keep, keep)], u[keep])))
            dfs.append(len(columns))
        chisq.append(float(u @ np.linalg.solve(info, u)))
        dfs.append(p)
        stat, df = np.array(chisq), np.array(dfs, dtype=np.int64)
        return ZphTest(tuple(t for t, _ in d.terms), stat, df, chi2.sf(stat, df), transform)


def _information(engine: PartialLikelihood, ev: Evaluation, mult: FloatArray) -> FloatArray:
    """The information with each death time's contribution multiplied by ``mult``."""
    sets, x = engine.sets, engine.x
    k, rows, f = sets.death_time, sets.death_rows, sets.fraction
    m = ev.mean_weight[k] * mult[k]
    c = np.bincount(k, weights=m / ev.den, minlength=sets.n_times).astype(np.float64)
    e = np.bincount(k, weights=m * f / ev.den, minlength=sets.n_times)
    g = ev.risk * sets.over(c)
    g[rows] -= ev.risk[rows] * e[k]
    result: FloatArray = (x * g[:, None]).T @ x - (ev.num * (m / ev.den**2)[:, None]).T @ ev.num
    return result


def _zph_time(transform: str, d: CoxData) -> FloatArray:
    """The transformed time of each row's exit, as ``cox.zph`` computes it."""
    if transform == "identity":
        return d.time.copy()
    if transform == "log":
        return np.log(d.time)
    if transform == "rank":
        from scipy.stats import rankdata

        return np.asarray(rankdata(d.time), dtype=np.float64)
    from bassinet.survival._kaplan_meier import KaplanMeier, kaplan_meier

    curve = kaplan_meier(d.time, d.event, entry=d.entry)
    assert isinstance(curve, KaplanMeier)  # no groups were given
    return 1.0 - curve.before(d.time)


def _matrix(
    x: ArrayLike, p: int | None, names: Sequence[str] | None = None, *, contiguous: bool = True
) -> FloatArray:
    """x as a float matrix (C-ordered, unless ``contiguous`` is False: then not copied if float)."""
    array = np.asarray(x)
    if array.ndim == 1:
        array = array[:, None] if p in (None, 1) else array[None, :]
    if array.ndim != 2:
        raise DataError(f"x must be a matrix (rows by covariates), not of shape {array.shape}")
    try:
        if contiguous:
            out = np.ascontiguousarray(array, dtype=np.float64)
        else:
            out = array.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"x must hold numbers (code factors as indicator columns): {exc}") from exc
    if p is not None and out.shape[1] != p:
        named = f" ({', '.join(names)})" if names else ""
        raise DataError(f"x has {out.shape[1]} columns but the model has {p}{named}")
    return out


def _names(x: ArrayLike, p: int, names: Sequence[str] | None) -> tuple[str, ...]:
    if names is not None:
        if len(names) != p:
            raise DataError(f"names has {len(names)} entries but x has {p} columns")
        return tuple(str(n) for n in names)
    columns = getattr(x, "columns", None)
    if columns is not None:
        return tuple(str(c) for c in columns)
    return tuple(f"x{j + 1}" for j in range(p))


def _check_collinear(xc: FloatArray, weights: FloatArray, names: tuple[str, ...]) -> None:
    """Refuse a constant covariate or one that is a combination of others, naming them.

    ``xc`` is centred (within strata); its weighted Gram matrix, scaled to unit diagonal,
    is checked by regressing each column on those before it.
    """
    raw = (xc * weights[:, None]).T @ xc
    _check_gram(raw, np.abs(xc).max(axis=0, initial=0.0), float(weights.sum()), names)


def _check_gram(raw: FloatArray, top: FloatArray, weight: float, names: tuple[str, ...]) -> None:
    """:func:`_check_collinear` from the centred Gram matrix, each column's largest |value|
    and the total weight."""
    scale = np.sqrt(np.diag(raw))
    for j, s in enumerate(scale):
        size = float(top[j]) * np.sqrt(weight)
        if s <= 1e-10 * max(1.0, size):
            raise DataError(
                f"covariate {names[j]!r} is constant (within strata, if any): a Cox model has no "
                "intercept, so its effect cannot be estimated; leave it out"
            )
    gram = raw / np.outer(scale, scale)
    basis: list[int] = []
    for j in range(len(names)):
        if basis:
            sub = gram[np.ix_(basis, basis)]
            coef = np.linalg.solve(sub, gram[basis, j])
            residual = gram[j, j] - gram[basis, j] @ coef
            if residual <= 1e-9 * gram[j, j]:
                partners = [names[b] for b, c in zip(basis, coef, strict=True) if abs(c) > 1e-8]
                raise DataError(
                    f"covariate {names[j]!r} is collinear with {', '.join(map(repr, partners))}: "
                    "it is a linear combination of them, so their effects cannot be separated; "
                    "leave one out"
                )
        basis.append(j)


def _center(x: FloatArray, weights: FloatArray, stratum: IntArray, n_strata: int) -> FloatArray:
    """x minus its weighted mean within each stratum (for the collinearity check only)."""
    if n_strata == 1:
        return np.asarray(x - (weights @ x) / weights.sum(), dtype=np.float64)
    total = np.bincount(stratum, weights=weights, minlength=n_strata)
    out = x.copy()
    for j in range(x.shape[1]):
        means = np.bincount(stratum, weights=weights * x[:, j], minlength=n_strata) / total
        out[:, j] -= means[stratum]
    return out


def _sort_order(time: FloatArray, codes: IntArray, n_strata: int, fast: bool) -> IntArray:
    """The stable order of rows by (stratum, time): ``np.lexsort``, or the same order faster.

    Whole-day times in a range not much wider than the data are ranked by a counting
    sort (O(n)); other times by one stable argsort, then a stable counting sort by
    stratum. Both give exactly the permutation of ``np.lexsort((time, codes))``.
    """
    if not fast or len(time) == 0:
        return np.lexsort((time, codes)).astype(np.int64)
    from bassinet.survival import _cox_kernels
    from bassinet.survival._risk_sets import _whole_number_span

    dense = _whole_number_span(time)
    if dense is not None and dense[1] * n_strata <= 8 * len(time) + (1 << 16):
        low, span = dense
        keys = codes * span + (time.astype(np.int64) - low)
        order: IntArray = _cox_kernels.bucket_order(keys, span * n_strata)
        return order
    by_time = np.argsort(time, kind="stable").astype(np.int64)
    if n_strata == 1:
        return by_time
    within: IntArray = _cox_kernels.bucket_order(codes[by_time], n_strata)
    result: IntArray = by_time[within]
    return result


def prepare(
    time: ArrayLike,
    event: ArrayLike,
    x: ArrayLike,
    *,
    entry: ArrayLike | None,
    strata: ArrayLike | None,
    weights: ArrayLike | None,
    offset: ArrayLike | None,
    cluster: ArrayLike | None,
    names: Sequence[str] | None,
    terms: Sequence[tuple[str, Sequence[int]]] | None = None,
    timefix: bool = True,
) -> CoxData:
    """The validation gate of :func:`coxph`: every bad input is a DataError naming it."""
    data = survival_data(time, event, entry=entry, fix_times=timefix)
    n = len(data.time)
    fast = compiled_available(n)
    if fast:
        from bassinet.survival import _cox_kernels
    matrix = _matrix(x, None, contiguous=not fast)
    if matrix.shape[0] != n:
        raise DataError(f"x has {matrix.shape[0]} rows but time has {n}: each row needs one of each")
    p = matrix.shape[1]
    if p == 0:
        raise DataError("x has no columns: a Cox model needs at least one covariate")
    label = _names(x, p, names)
    if not np.isfinite(matrix).all():
        row, col = np.argwhere(~np.isfinite(matrix))[0]
        raise DataError(
            f"x[row {row}, column {label[col]!r}] is {matrix[row, col]}: covariates must be finite "
            "numbers (drop or impute the row first)"
        )
    w = np.ones(n) if weights is None else as_weights(weights)
    off = np.zeros(n) if offset is None else as_float("offset", offset)
    plain = (weights is None, offset is None, strata is None)
    same_length(time=data.time, weights=w, offset=off)
    if not np.isfinite(off).all():
        index = int(np.flatnonzero(~np.isfinite(off))[0])
        raise DataError(f"offset[{index}] is {off[index]}: offsets must be finite")
    if strata is None:
        codes: IntArray = np.zeros(n, dtype=np.int64)
        stratum_labels = None
    else:
        codes, stratum_labels = as_labels("strata", strata)
        same_length(time=data.time, strata=codes)
        if len(stratum_labels) == 1:
            raise DataError(
                f"strata has a single level ({stratum_labels[0]!r}): stratifying by it changes "
                "nothing; leave strata out"
            )
    cluster_codes = None
    if cluster is not None:
        cluster_codes, _ = as_labels("cluster", cluster)
        same_length(time=data.time, cluster=cluster_codes)
    if not data.event.any():
        raise DataError("event has no events: a Cox model needs at least one")
    n_strata = int(codes.max()) + 1
    if fast:
        gram, top, binary = _cox_kernels.centred_gram(matrix, w, codes, n_strata)
        _check_gram(gram, top, float(w.sum()), label)
    else:
        _check_collinear(_center(matrix, w, codes, n_strata), w, label)
        binary = ((matrix == 0) | (matrix == 1)).all(axis=0)
    center = (w @ matrix) / w.sum()
    r_center = np.where(binary, 0.0, center)
    term_list = (
        tuple((name, (j,)) for j, name in enumerate(label))
        if terms is None
        else tuple((t, tuple(c)) for t, c in terms)
    )
    # Sorted by (stratum, time), the binary searches and sums of the fit walk memory in order.
    order = _sort_order(data.time, codes, n_strata, fast)
    no_weights, no_offset, no_strata = plain
    return CoxData(
        label,
        _cox_kernels.take_centred(matrix, order, center) if fast else (matrix - center)[order],
        center,
        data.time[order],
        None if data.entry is None else data.entry[order],
        data.event[order],
        codes if no_strata else codes[order],
        stratum_labels,
        w if no_weights else w[order],
        off if no_offset else off[order],
        None if cluster_codes is None else cluster_codes[order],
        term_list,
        order,
        r_center,
    )


def coxph(
    time: ArrayLike,
    event: ArrayLike,
    x: ArrayLike,
    *,
    entry: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    offset: ArrayLike | None = None,
    cluster: ArrayLike | None = None,
    robust: bool | None = None,
    ties: Ties = "efron",
    names: Sequence[str] | None = None,
    conf_level: float = 0.95,
    init: ArrayLike | None = None,
    max_iter: int = 30,
    tol: float = 1e-10,
    timefix: bool = True,
) -> CoxFit:
    """Fit a Cox proportional-hazards model, as ``survival::coxph``.

    Parameters
    ----------
    time, event
        Exit time (the stop of a (start, stop] row) and whether the row ends in the event.
    x
        The covariates, rows by columns (a 1-D array for one covariate). A DataFrame's
        column names become the coefficient names.
    entry
        Start of each (start, stop] row: late entry, or a time-varying covariate split
        into rows (see :func:`split_at_exposure`).
    strata, weights, offset
        A separate baseline hazard per stratum; case weights (> 0); a fixed term added
        to the linear predictor.
    cluster, robust
        The robust (sandwich) variance, with rows of one ``cluster`` (a patient's rows)
        summed first. By default (``None``) it is used, as R does, when ``cluster`` is
        given or a weight is not a whole number; ``False`` turns it off.
    ties
        ``"efron"`` (R's default), ``"breslow"``, or ``"exact"``: the discrete-time
        partial likelihood of Kalbfleisch & Prentice (1973), R's ``ties = "exact"``
        (see ``_cox_exact.py``). With ``"exact"``, as in R, case weights and the robust
        variance are refused, and so are residuals, ``zph`` and the baseline hazard.
    init, max_iter, tol
        Starting coefficients; Newton iterations allowed; convergence when the relative
        change in the log partial likelihood is at most ``tol``.
    timefix
        Treat times that differ by rounding noise as one time, as R's ``coxph`` does by
        default (``survival``'s ``aeqSurv``); ``False`` keeps every time as given.
    """
    check_choice("ties", ties, TIES)
    check_conf_level(conf_level)
    data = prepare(
        time,
        event,
        x,
        entry=entry,
        strata=strata,
        weights=weights,
        offset=offset,
        cluster=cluster,
        names=names,
        timefix=timefix,
    )
    return fit_prepared(
        data, ties=ties, robust=robust, conf_level=conf_level, init=init, max_iter=max_iter, tol=tol
    )


def fit_prepared(
    data: CoxData,
    *,
    ties: Ties,
    robust: bool | None,
    conf_level: float,
    init: ArrayLike | None,
    max_iter: int,
    tol: float,
) -> CoxFit:
    """Newton–Raphson on checked data (the second half of :func:`coxph`)."""
    p = len(data.names)
    sets = RiskSets.build(data.entry, data.time, data.event, data.stratum, efron=ties == "efron")
    engine = PartialLikelihood(sets, data.x, data.weights, data.offset)
    exact = None
    if ties == "exact":
        exact = _exact_engine(data, robust)
    init_beta = np.zeros(p) if init is None else as_float("init", init)
    if init_beta.shape != (p,):
        raise DataError(f"init has {init_beta.size} values but the model has {p} coefficients")
    evaluate = partial(engine.evaluate, arrays=False) if exact is None else exact.evaluate
    beta, current, start, iterations = maximise(
        evaluate, init_beta, what="the Cox model", names=data.names, max_iter=max_iter, tol=tol
    )
    naive_var = _inverse(current.information, data.names)
    warn_infinite(infinite(beta, naive_var, current.score, tol), data.names)
    var = naive_var
    robust_score = None
    fractional = bool((data.weights != np.floor(data.weights)).any())
    is_robust = (data.cluster is not None or fractional) if robust is None else robust
    if is_robust:
        assert isinstance(current, Evaluation)  # the exact likelihood refused robust above
        resid = engine.score_residuals(engine.evaluate(beta)) * data.weights[:, None]
        dfbeta = resid @ naive_var
        if data.cluster is not None:
            summed = np.zeros((int(data.cluster.max()) + 1, p))
            for column in range(p):
                summed[:, column] = np.bincount(
                    data.cluster, weights=dfbeta[:, column], minlength=summed.shape[0]
                )
            dfbeta = summed
        var = dfbeta.T @ dfbeta
        robust_score = _robust_score(data, ties, None if init is None else init_beta)
    score_stat = float(start.score @ _inverse(start.information, data.names) @ start.score)
    delta = beta - init_beta
    wald = float(delta @ np.linalg.solve(var, delta))
    lr = 2 * (current.loglik - start.loglik)
    lp = data.unsort(data.x @ beta + data.offset + (data.center - data.r_center) @ beta)
    return CoxFit(
        names=data.names,
        coef=beta,
        var=var,
        naive_var=naive_var,
        robust=is_robust,
        loglik_null=start.loglik,
        loglik=current.loglik,
        score_test=ChiSquareTest.of(score_stat, p),
        wald_test=ChiSquareTest.of(wald, p),
        lr_test=ChiSquareTest.of(lr, p),
        n=len(data.time),
        n_events=int(data.event.sum()),
        iterations=iterations,
        ties=ties,
        conf_level=conf_level,
        data=data,
        linear_predictor=lp,
        robust_score_test=robust_score,
    )


def _robust_score(data: CoxData, ties: Ties, init: FloatArray | None) -> ChiSquareTest:
    """The robust score test at the initial coefficients, as ``coxph`` computes ``rscore``.

    R evaluates the score residuals at the linear predictors ``X init`` (zero by
    default) without the offset; this does the same (checked against R with and without
    ``cluster``, ``init`` and an offset).
    """
    p = len(data.names)
    sets = RiskSets.build(data.entry, data.time, data.event, data.stratum, efron=ties == "efron")
    engine = PartialLikelihood(sets, data.x, data.weights, np.zeros(len(data.time)))
    at = np.zeros(p) if init is None else init
    residuals = engine.score_residuals(engine.evaluate(at)) * data.weights[:, None]
    if data.cluster is not None:
        size = int(data.cluster.max()) + 1
        residuals = np.column_stack(
            [np.bincount(data.cluster, weights=residuals[:, j], minlength=size) for j in range(p)]
        )
    u = residuals.sum(axis=0)
    try:
        statistic = float(u @ np.linalg.solve(residuals.T @ residuals, u))
    except np.linalg.LinAlgError:
        statistic = float(u @ np.linalg.pinv(residuals.T @ residuals) @ u)
    return ChiSquareTest.of(statistic, p)


def _exact_engine(data: CoxData, robust: bool | None) -> ExactLikelihood:
    """The exact likelihood, after refusing what R refuses with it."""
    if (data.weights != 1).any():
        index = int(data.order[data.weights != 1].min())  # the first such row of the input
        raise DataError(
            f"weights[{index}] is not 1: case weights are not supported with ties='exact' (nor by R)"
        )
    if robust or data.cluster is not None:
        raise DataError("the robust variance is not available with ties='exact' (nor in R): use ties='efron'")
    return ExactLikelihood(data.entry, data.time, data.event, data.stratum, data.x, data.offset)


def warn_infinite(flagged: NDArray[np.bool_], names: tuple[str, ...]) -> None:
    """R's "coefficient may be infinite" warning, naming each flagged covariate."""
    for j in np.flatnonzero(flagged):
        warnings.warn(
            f"the log-likelihood converged before covariate {names[j]!r} did: its coefficient "
            "may be infinite (the covariate may separate those with events from the others)",
            StatisticalWarning,
            stacklevel=4,
        )


def _inverse(information: FloatArray, names: tuple[str, ...]) -> FloatArray:
    """The inverse of a positive definite information matrix, or an error naming the covariates.

    The information at the fit is positive definite unless the log-likelihood is flat
    in some direction there: a coefficient run off to infinity so far that the risk
    sets no longer tell its covariate apart, or covariates that are collinear among
    those at risk at the event times. The error names the covariates whose diagonal
    element is not clearly positive.
    """
    try:
        chol = np.linalg.cholesky(information)
    except np.linalg.LinAlgError as exc:
        diagonal = np.diag(information)
        flat = np.flatnonzero(diagonal <= 1e-12 * max(float(diagonal.max()), 0.0))
        values = ", ".join(f"{names[j]!r} {diagonal[j]:.3g}" for j in flat)
        which = f" (its diagonal: {values})" if flat.size else ""
        raise ConvergenceError(
            f"the information matrix of ({', '.join(names)}) is not positive definite at the fit{which}: "
            "the log-likelihood is flat in some direction (a coefficient running off to infinity, "
            "or covariates collinear among those at risk at the event times)"
        ) from exc
    inv_chol = np.linalg.inv(chol)
    result: FloatArray = inv_chol.T @ inv_chol
    return result
