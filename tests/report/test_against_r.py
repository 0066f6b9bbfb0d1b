"""Every number the report adds, against R at a relative 1e-6: two-group hazard ratios (Cox;
Fine-Gray for an incidence), Simon-Makuch curves and their number at risk, the time-dependent
Cox hazard ratio, landmark hazard ratios and estimates, Table 1 medians and quartiles, and R's
refusal of an estimate beyond the last follow-up. The R code is beside each number.

Then the ADaM files alone: R reads ADTTE and ADSL with ``foreign::read.xport`` and recomputes
the report's headline numbers (Debian: r-cran-foreign).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bassinet.application.reports import write_study_report
from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.plans import PlanResult, load_plan, run_plan, shipped_plan
from bassinet.plans._tables import continuous_summary
from bassinet.plans._variables import analysis_frame
from tests.survival.r_oracle import assert_close, run_r

YEAR = 365.25


@pytest.fixture(scope="module")
def interfant(records: ClinicalRecords) -> PlanResult:
    return run_plan(load_plan(shipped_plan("interfant06")), records)


def frame(records: ClinicalRecords, endpoint: str, origin: str | None, **population: object) -> pd.DataFrame:
    """The derived rows of the Interfant-06 trial for ``endpoint`` with the plan's variables beside them."""
    plan = load_plan(shipped_plan("interfant06")).plan
    e = get_endpoint(endpoint)
    e = e.from_origin(origin) if origin else e  # type: ignore[arg-type]
    d = derive(records, [e], cutoff=plan.cutoff).set_index("study_id")
    v = analysis_frame(records, plan.variables)
    keep = v["protocol"] == "Interfant-06"
    for name, wanted in population.items():
        keep &= v[name].isin(wanted if isinstance(wanted, list) else [wanted])
    ids = [s for s in v.index[keep] if s in d.index]
    return d.loc[ids].join(v.loc[ids])


def test_two_group_hazard_ratio_equals_coxph(interfant: PlanResult, records: ClinicalRecords) -> None:
    d = frame(records, "EFS", None)
    r = run_r(
        """
        fit <- coxph(Surv(time, status) ~ other, data = d)
        s <- summary(fit)
        out <- list(hr = s$conf.int[1, 1], lower = s$conf.int[1, 3], upper = s$conf.int[1, 4],
                    p = s$coefficients[1, 5])
        """,
        {
            "time": d["time_days"],
            "status": d["status"],
            "other": (d["region"] == "other countries").astype(int),
        },
    )
    hr = next(a for a in interfant.analyses if a.id == "efs_region").hazard_ratio
    assert hr is not None and hr.label == "other countries vs original countries"
    assert_close(
        [hr.hazard_ratio, hr.lower, hr.upper, hr.p_value], np.r_[r["hr"], r["lower"], r["upper"], r["p"]]
    )


def test_two_group_incidence_hazard_ratio_equals_cmprsk_crr(
    interfant: PlanResult, records: ClinicalRecords
) -> None:
    d = frame(records, "CIR", "randomisation", randomised=True)
    r = run_r(
        """
        fit <- crr(d$time, d$status, cov1 = cbind(ib = d$ib), failcode = 1, cencode = 0)
        s <- summary(fit)
        z <- fit$coef / sqrt(diag(fit$var))  # summary.crr rounds its P value; the Wald P unrounded
        out <- list(hr = s$conf.int[1, 1], lower = s$conf.int[1, 3], upper = s$conf.int[1, 4],
                    p = 2 * pnorm(-abs(z)))
        """,
        {"time": d["time_days"], "status": d["status"], "ib": (d["arm"] == "IB").astype(int)},
    )
    hr = next(a for a in interfant.analyses if a.id == "cir_arm").hazard_ratio
    assert hr is not None and hr.label == "IB vs ADE/MAE"
    # crr iterates (Newton-Raphson to its own tolerance), so 1e-5 rather than 1e-6
    theirs = np.r_[r["hr"], r["lower"], r["upper"], r["p"]]
    assert_close([hr.hazard_ratio, hr.lower, hr.upper, hr.p_value], theirs, rtol=1e-5)


SPLIT_IN_R = """
rows <- do.call(rbind, lapply(seq_len(nrow(d)), function(i) {
  t <- d$time[i]; e <- d$exposure[i]; s <- d$status[i]
  if (is.na(e) || e >= t) return(data.frame(start = 0, stop = t, event = s, exposed = 0))
  if (e <= 0) return(data.frame(start = 0, stop = t, event = s, exposed = 1))
  data.frame(start = c(0, e), stop = c(e, t), event = c(0, s), exposed = c(0, 1))
}))
"""


def _transplant_frame(records: ClinicalRecords) -> pd.DataFrame:
    d = frame(records, "DFS", None, risk_group="HR")
    first = records.transplants.groupby("study_id")["transplant_date"].min()
    d["exposure"] = (first.reindex(d.index) - d["origin_date"]).dt.days.astype(float)
    return d[d["time_days"] > 0]


def test_simon_makuch_curves_and_time_dependent_hr_equal_survfit_and_coxph_on_start_stop_rows(
    interfant: PlanResult, records: ClinicalRecords
) -> None:
    d = _transplant_frame(records)
    a = next(a for a in interfant.analyses if a.id == "sct_hr")
    ticks = np.array(a.ticks) * YEAR
    r = run_r(
        SPLIT_IN_R
        + f"""
        fit <- survfit(Surv(start, stop, event) ~ exposed, data = rows)
        at <- summary(fit, times = {6 * YEAR})
        risk <- summary(fit, times = c({", ".join(f"{t:.17g}" for t in ticks)}), extend = TRUE)
        cox <- summary(coxph(Surv(start, stop, event) ~ exposed, data = rows))
        out <- list(surv = at$surv, se = at$std.err, lower = at$lower, upper = at$upper,
                    risk0 = risk$n.risk[risk$strata == "exposed=0"],
                    risk1 = risk$n.risk[risk$strata == "exposed=1"],
                    hr = cox$conf.int[1, c(1, 3, 4)], p = cox$coefficients[1, 5])
        """.replace("survfit(", "survfit(conf.type = 'log-log', formula = "),
        {"time": d["time_days"], "status": d["status"], "exposure": d["exposure"]},
    )
    before, after = a.groups
    assert (before.label, after.label) == ("not (yet) transplanted", "transplanted")
    ours = [g.estimates[0] for g in (before, after)]
    assert_close([e.estimate / 100 for e in ours], r["surv"], what="Simon-Makuch survival at 6 years")  # type: ignore[operator]
    assert_close([e.std_err / 100 for e in ours], r["se"], what="its standard error")  # type: ignore[operator]
    assert_close([e.lower / 100 for e in ours], r["lower"])  # type: ignore[operator]
    assert_close([e.upper / 100 for e in ours], r["upper"])  # type: ignore[operator]
    assert_close(before.at_risk, r["risk0"], what="number at risk, not (yet) transplanted")
    assert_close(after.at_risk, r["risk1"], what="number at risk, transplanted")
    assert a.hazard_ratio is not None
    hr = a.hazard_ratio
    assert_close([hr.hazard_ratio, hr.lower, hr.upper, hr.p_value], np.r_[r["hr"], r["p"]])


def test_landmark_hazard_ratio_and_estimates_equal_r_from_the_landmark(
    interfant: PlanResult, records: ClinicalRecords
) -> None:
    d = _transplant_frame(records)
    row = next(a for a in interfant.analyses if a.id == "sct_landmark").landmarks[0]
    assert row.landmark == 0.5
    r = run_r(
        f"""
        L <- {0.5 * YEAR}
        x <- d[d$time > L, ]
        x$exposed <- as.integer(!is.na(x$exposure) & x$exposure <= L)
        cox <- summary(coxph(Surv(time - L, status) ~ exposed, data = x))
        fit <- survfit(Surv(time - L, status) ~ exposed, data = x)
        at <- summary(fit, times = {5.5 * YEAR})
        out <- list(n1 = sum(x$exposed), n0 = sum(1 - x$exposed), hr = cox$conf.int[1, c(1, 3, 4)],
                    p = cox$coefficients[1, 5], surv = at$surv)
        """,
        {"time": d["time_days"], "status": d["status"], "exposure": d["exposure"]},
    )
    assert (row.n_exposed, row.n_unexposed) == (int(r["n1"][0]), int(r["n0"][0]))
    assert row.hazard_ratio is not None
    hr = row.hazard_ratio
    assert_close([hr.hazard_ratio, hr.lower, hr.upper, hr.p_value], np.r_[r["hr"], r["p"]])
    estimates = dict(row.estimates)
    ours = [estimates["not (yet) transplanted"].estimate, estimates["transplanted"].estimate]
    assert_close([x / 100 for x in ours], r["surv"], what="6-year DFS of those at risk at 0.5 years")  # type: ignore[operator]


def test_table_1_medians_and_quartiles_equal_r(records: ClinicalRecords) -> None:
    v = analysis_frame(records, ["protocol", "age_months", "wbc"])
    v = v[v["protocol"] == "Interfant-06"]
    r = run_r(
        """
        out <- list(age = c(median(d$age), range(d$age), quantile(d$age, c(0.25, 0.75), names = FALSE)),
                    wbc = c(median(d$wbc, na.rm = TRUE), range(d$wbc, na.rm = TRUE),
                            quantile(d$wbc, c(0.25, 0.75), na.rm = TRUE, names = FALSE)))
        """,
        {"age": v["age_months"], "wbc": v["wbc"]},
    )
    for name, column in (("age", "age_months"), ("wbc", "wbc")):
        values = v[column].to_numpy(float)
        ranged, quartiles = continuous_summary(values, "range"), continuous_summary(values, "iqr")
        assert ranged is not None and quartiles is not None
        assert_close([*ranged, *quartiles[1:]], r[name], what=name)


def test_no_estimate_past_follow_up_as_r_refuses_one(records: ClinicalRecords, tmp_path: Path) -> None:
    d = frame(records, "OS", None)
    d = d[d["time_days"] <= 200]  # a group whose follow-up ends before the 6-year time point
    r = run_r(
        f"""
        fit <- survfit(Surv(time, status) ~ 1, data = d)
        refused <- tryCatch({{ summary(fit, times = {6 * YEAR}); 0 }}, error = function(e) 1)
        out <- list(refused = refused)
        """,
        {"time": d["time_days"], "status": d["status"]},
    )
    assert r["refused"][0] == 1
    from bassinet.plans._estimate import survival_group

    group = survival_group(
        "all", d["time_days"].to_numpy(float), d["status"].to_numpy(int), [6.0], (), YEAR, "years"
    )
    assert group.estimates[0].estimate is None
    assert (
        group.estimates[0].note == f"not estimable: follow-up ends at {d['time_days'].max() / YEAR:.1f} years"
    )


# The ADaM files alone reproduce the report ------------------------------------------------


def test_r_recomputes_the_reports_numbers_from_the_adam_files_alone(
    records: ClinicalRecords, tmp_path: Path
) -> None:
    done = write_study_report("interfant06", records, tmp_path, pdf=False)
    results = json.loads((tmp_path / "interfant06.json").read_text())
    by_id = {a["id"]: a for a in results["analyses"]}
    r = run_r(
        f"""
        adtte <- read.xport("{tmp_path / "interfant06-adtte.xpt"}")
        adsl <- read.xport("{tmp_path / "interfant06-adsl.xpt"}")
        at <- function(x, t) summary(survfit(Surv(AVAL, CNSR == 0) ~ 1, data = x, conf.type = "log-log"),
                                     times = t)
        efs <- at(adtte[adtte$PARAMCD == "EFS", ], {6 * YEAR})
        os <- at(adtte[adtte$PARAMCD == "OS", ], {6 * YEAR})
        dfs <- merge(adtte[adtte$PARAMCD == "DFSRND", ], adsl[adsl$ITTFL == "Y", c("USUBJID", "ARM")])
        ib <- at(dfs[dfs$ARM == "IB", ], {3 * YEAR})
        lr <- survdiff(Surv(AVAL, CNSR == 0) ~ ARM, data = dfs)
        efsr <- merge(adtte[adtte$PARAMCD == "EFS", ], adsl[, c("USUBJID", "RISKGR")])
        hr <- at(efsr[efsr$RISKGR == "HR", ], {6 * YEAR})
        cir <- merge(adtte[adtte$PARAMCD == "CIRRND", ], adsl[adsl$ITTFL == "Y", c("USUBJID", "ARM")])
        gray <- cuminc(cir$AVAL, cir$CNSR, cir$ARM, cencode = 1)
        out <- list(efs = c(efs$surv, efs$std.err), os = os$surv, ib = c(ib$surv, ib$std.err),
                    dfs_p = pchisq(lr$chisq, 1, lower.tail = FALSE), hr = hr$surv,
                    gray_p = gray$Tests[1, 2], n_rand = sum(adsl$RANDFL == "Y"))
        """,
        packages=("survival", "cmprsk", "foreign"),
    )
    efs = by_id["efs_all"]["groups"][0]["estimates"][0]
    assert_close([efs["estimate"] / 100, efs["std_err"] / 100], r["efs"], what="6-year EFS from ADTTE")
    assert_close(by_id["os_all"]["groups"][0]["estimates"][0]["estimate"] / 100, r["os"])
    ib = next(g for g in by_id["dfs_arm"]["groups"] if g["label"] == "IB")["estimates"][0]
    assert_close([ib["estimate"] / 100, ib["std_err"] / 100], r["ib"], what="3-year DFS with IB from ADTTE")
    assert_close(by_id["dfs_arm"]["test"]["p_value"], r["dfs_p"])
    high = next(g for g in by_id["efs_risk"]["groups"] if g["label"] == "HR")["estimates"][0]
    assert_close(high["estimate"] / 100, r["hr"], what="6-year EFS in HR from ADTTE and ADSL")
    # cuminc codes the event of interest 0 here (CNSR 0 is the event): its first test row is that cause
    assert_close(by_id["cir_arm"]["test"]["p_value"], r["gray_p"], what="Gray's test from ADTTE")
    assert int(r["n_rand"][0]) == sum(g["n"] for g in by_id["dfs_arm"]["groups"])
    assert done.paths[-1].name == "interfant06-adsl.xpt"


# Interfant-06 against its historical control, Interfant-99 (seed aim 3) ------------------


@pytest.fixture(scope="module")
def with_interfant99(tmp_path_factory: pytest.TempPathFactory) -> ClinicalRecords:
    from bassinet.registry import import_files, init_registry, make_engine, read_frames
    from bassinet.simulate import simulate_interfant06, write_csv
    from bassinet.simulate.interfant99 import simulate_interfant99

    folder = tmp_path_factory.mktemp("interfant99")
    url = f"sqlite:///{folder / 'registry.db'}"
    init_registry(url)
    engine = make_engine(url)
    try:
        for name, rows in (("i06", simulate_interfant06(seed=33)), ("i99", simulate_interfant99(seed=10))):
            paths = write_csv(rows, folder / name)
            import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test")
        return ClinicalRecords.from_frames(read_frames(engine))
    finally:
        engine.dispose()


def test_interfant06_against_interfant99_equals_coxph_plain_and_adjusted(
    with_interfant99: ClinicalRecords,
) -> None:
    result = {a.id: a for a in run_plan(load_plan(shipped_plan("interfant06")), with_interfant99).analyses}
    plan = load_plan(shipped_plan("interfant06")).plan
    d = derive(with_interfant99, ["EFS"], cutoff=plan.cutoff).set_index("study_id")
    v = analysis_frame(with_interfant99, plan.variables)
    d = d.join(v)
    d = d[d["protocol"].isin(["Interfant-06", "Interfant-99"])]
    complete = d[["kmt2a_r", "age_lt_6m", "wbc_ge_300", "poor_prednisone"]].notna().all(axis=1)
    r = run_r(
        """
        plain <- summary(coxph(Surv(time, status) ~ i99, data = d))
        x <- d[d$complete == 1, ]
        adjusted <- summary(coxph(Surv(time, status) ~ i99 + kmt2a + young + wbc + poor, data = x))
        out <- list(plain = c(plain$conf.int[1, c(1, 3, 4)], plain$coefficients[1, 5]),
                    adjusted = c(adjusted$conf.int[1, c(1, 3, 4)], adjusted$coefficients[1, 5]),
                    p = 1 - pchisq(survdiff(Surv(time, status) ~ i99, data = d)$chisq, 1))
        """,
        {
            "time": d["time_days"], "status": d["status"],
            "i99": (d["protocol"] == "Interfant-99").astype(int),
            "kmt2a": d["kmt2a_r"].astype(float), "young": d["age_lt_6m"].astype(float),
            "wbc": d["wbc_ge_300"].astype(float), "poor": d["poor_prednisone"].astype(float),
            "complete": complete.astype(int),
        },
    )  # fmt: skip
    efs = result["efs_protocol"]
    assert [g.label for g in efs.groups] == ["Interfant-06", "Interfant-99"]
    assert [g.n for g in efs.groups] == [651, 482]
    hr = efs.hazard_ratio
    assert hr is not None and hr.label == "Interfant-99 vs Interfant-06"
    assert_close([hr.hazard_ratio, hr.lower, hr.upper, hr.p_value], r["plain"])
    assert efs.test is not None
    assert_close(efs.test.p_value, r["p"])
    term = next(t for t in result["efs_protocol_adjusted"].model if t.term == "protocol=Interfant-99")
    assert term.label == "Interfant-99 vs Interfant-06"
    assert_close([term.hazard_ratio, term.lower, term.upper, term.p_value], r["adjusted"])
    assert efs.sentence.startswith("In Interfant-06 and Interfant-99, 6-year EFS")
    assert result["efs_protocol_original"].sentence.startswith("In the original countries, 6-year EFS was")
