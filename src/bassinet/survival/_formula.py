"""The Cox model on a DataFrame with a formula: :class:`CoxPH`, after scikit-learn's contract.

The right-hand side of the formula is read by formulaic (Wilkinson–Rogers notation, as
in R and patsy): ``"age_lt_6m + wbc_ge_300 + C(kmt2a_partner)"``. Factors get treatment
contrasts against their first level, and the columns are named as R names them:
``kmt2a_partnerMLLT1`` for ``C(kmt2a_partner)[T.MLLT1]``, ``flagTRUE`` for a boolean
column. The intercept is dropped after encoding (a Cox model has none), as R does, so
that a factor still loses one level. Time, event and the other roles are columns named
by keyword, never part of the formula.

pandas and formulaic are imported here only, when a formula is fitted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from bassinet.errors import DataError
from bassinet.survival._cox import TIES, CoxFit, Ties, fit_prepared, prepare
from bassinet.survival._validate import FloatArray, check_choice, check_conf_level

if TYPE_CHECKING:
    import pandas as pd

_CONTRAST = re.compile(r"^(?:C\((?P<wrapped>[^)]+)\)|(?P<bare>[^\[]+))\[T\.(?P<level>.*)\]$")


def r_name(column: str, booleans: set[str]) -> str:
    """R's name for a formulaic column: ``C(x)[T.b]`` and ``x[T.b]`` are ``xb``; a bool ``x`` is ``xTRUE``."""
    parts = []
    column = re.sub(r"`([A-Za-z.][\w.]*)`", r"\1", column)
    for part in column.split(":"):
        match = _CONTRAST.match(part)
        if match:
            variable = (match["wrapped"] or match["bare"]).strip()
            level = match["level"]
            parts.append(variable + ("TRUE" if level == "True" else "FALSE" if level == "False" else level))
        elif part in booleans:
            parts.append(part + "TRUE")
        else:
            parts.append(part)
    return ":".join(parts)


def _term_name(term: str) -> str:
    """R's name for a term: ``C(x)`` is ``x``, in each part of an interaction."""
    term = re.sub(r"`([A-Za-z.][\w.]*)`", r"\1", term)
    return ":".join(re.sub(r"^C\((.+)\)$", r"\1", part) for part in term.split(":"))


def _columns_named(formula: str, variables: set[str], data: pd.DataFrame) -> tuple[set[str], list[str]]:
    """The data columns a formula uses, and the variables it names that are no column.

    formulaic reads ``ph.ecog`` as the attribute ``ecog`` of a variable ``ph`` (Python
    syntax), so its ``required_variables`` say ``ph``; when evaluating, it finds the
    column ``ph.ecog`` itself. R allows dots in names (R's ``lung`` has ``ph.ecog``,
    ``ph.karno``, ``wt.loss``), and both allow any name in backquotes. So a variable
    that is no column stands for each column whose name begins with it and a dot and
    that the formula spells out (bare or backquoted).
    """
    names = set(map(str, data.columns))
    found = variables & names
    missing = []
    for variable in sorted(variables - names):
        dotted = {
            c
            for c in names
            if c.startswith(variable + ".")
            and re.search(rf"(?<![\w.]){re.escape(c)}(?![\w.])|`{re.escape(c)}`", formula)
        }
        if dotted:
            found |= dotted
        else:
            missing.append(variable)
    return found, missing


class CoxPH:
    """A Cox model fitted from a DataFrame and a formula; ``fit`` returns ``self``.

    Fitted attributes end in ``_``: ``result_`` (the :class:`CoxFit`), ``coef_``,
    ``names_``. ``predict_survival`` and ``predict_risk`` take new rows of the same
    columns.
    """

    def __init__(
        self,
        formula: str,
        *,
        time: str,
        event: str,
        entry: str | None = None,
        strata: str | None = None,
        weights: str | None = None,
        offset: str | None = None,
        cluster: str | None = None,
        robust: bool | None = None,
        ties: Ties = "efron",
        conf_level: float = 0.95,
        max_iter: int = 30,
        tol: float = 1e-10,
        timefix: bool = True,
    ) -> None:
        self.formula = formula
        self.time = time
        self.event = event
        self.entry = entry
        self.strata = strata
        self.weights = weights
        self.offset = offset
        self.cluster = cluster
        self.robust = robust
        self.ties = ties
        self.conf_level = conf_level
        self.max_iter = max_iter
        self.tol = tol
        self.timefix = timefix

    def _roles(self) -> dict[str, str]:
        roles = {"time": self.time, "event": self.event}
        for role in ("entry", "strata", "weights", "offset", "cluster"):
            column = getattr(self, role)
            if column is not None:
                roles[role] = column
        return roles

    def _design(self, data: pd.DataFrame, *, fitting: bool) -> pd.DataFrame:
        import formulaic  # type: ignore[import-untyped]
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        try:
            needed = formulaic.Formula(self.formula).required_variables
        except Exception as exc:  # formulaic's parser raises several types
            raise DataError(f"formula {self.formula!r} cannot be read: {exc}") from exc
        columns, missing = _columns_named(self.formula, {str(v) for v in needed}, data)
        if missing:
            raise DataError(
                f"formula {self.formula!r} names {', '.join(map(repr, missing))}, not a column of the data "
                f"(columns: {', '.join(map(str, data.columns))})"
            )
        for column in sorted(columns):
            blank = data[column].isna().to_numpy()
            if blank.any():
                row = data.index[int(np.flatnonzero(blank)[0])]
                raise DataError(
                    f"row {row!r}, column {column!r} is missing: every covariate of the formula "
                    "needs a value (drop or impute the row first)"
                )
        if fitting:
            matrix = formulaic.model_matrix(self.formula, data, na_action="raise", output="pandas")
            self.model_spec_ = matrix.model_spec
        else:
            matrix = self.model_spec_.get_model_matrix(data, na_action="raise", output="pandas")
        frame: pd.DataFrame = matrix
        return frame.drop(columns=[c for c in frame.columns if c == "Intercept"])

    def fit(self, data: pd.DataFrame) -> CoxPH:
        """Fit the model to ``data``; returns ``self``."""
        check_choice("ties", self.ties, TIES)
        check_conf_level(self.conf_level)
        for role, column in self._roles().items():
            if column not in data.columns:
                raise DataError(f"{role}={column!r} is not a column of the data")
        design = self._design(data, fitting=True)
        booleans = {str(c) for c in data.columns if data[c].dtype == bool}
        names = tuple(r_name(str(c), booleans) for c in design.columns)
        position = {str(c): j for j, c in enumerate(design.columns)}
        terms = []
        for term, indices in self.model_spec_.term_indices.items():
            kept = [
                position[self.model_spec_.column_names[i]]
                for i in indices
                if self.model_spec_.column_names[i] in position
            ]
            if kept:
                terms.append((_term_name(str(term)), kept))

        def values(role: str) -> ArrayLike | None:
            name: str | None = getattr(self, role)
            return None if name is None else data[name].to_numpy()

        prepared = prepare(
            data[self.time].to_numpy(),
            data[self.event].to_numpy(),
            design.to_numpy(dtype=float),
            entry=values("entry"),
            strata=values("strata"),
            weights=values("weights"),
            offset=values("offset"),
            cluster=values("cluster"),
            names=names,
            terms=terms,
            timefix=self.timefix,
        )
        self.result_: CoxFit = fit_prepared(
            prepared,
            ties=self.ties,
            robust=self.robust,
            conf_level=self.conf_level,
            init=None,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self.coef_: FloatArray = self.result_.coef
        self.names_: tuple[str, ...] = names
        return self

    def _fitted(self) -> CoxFit:
        if not hasattr(self, "result_"):
            raise DataError("this CoxPH is not fitted yet: call fit(data) first")
        return self.result_

    def predict_risk(self, data: pd.DataFrame) -> FloatArray:
        """exp(x b) for each row of ``data`` (relative to covariates zero)."""
        result = self._fitted()
        design = self._design(data, fitting=False).to_numpy(dtype=float)
        return np.exp(design @ result.coef)

    def predict_survival(self, data: pd.DataFrame, times: ArrayLike) -> FloatArray:
        """S(t | x) for each row of ``data`` (rows) at each of ``times`` (columns)."""
        result = self._fitted()
        design = self._design(data, fitting=False).to_numpy(dtype=float)
        strata: Any = None if self.strata is None else data[self.strata].to_numpy()
        offset = None if self.offset is None else data[self.offset].to_numpy()
        return result.predict_survival(design, times, strata=strata, offset=offset)
