"""The survival core's surface and its independence from the rest of Bassinet."""

from __future__ import annotations

import subprocess
import sys

import bassinet.survival
from bassinet.survival import cumulative_incidence, gray_test, kaplan_meier, logrank, rmst


def test_public_names() -> None:
    assert sorted(bassinet.survival.__all__) == sorted(
        [
            "ChiSquareTest",
            "Concordance",
            "CountingProcess",
            "CoxFit",
            "CoxPH",
            "FineGrayFit",
            "LandmarkAnalysis",
            "LandmarkGroup",
            "MantelByarTest",
            "ZphTest",
            "coxph",
            "fine_gray",
            "landmark",
            "mantel_byar",
            "split_at_exposure",
            "CumulativeIncidence",
            "FollowUp",
            "GrayTest",
            "GroupedCumulativeIncidence",
            "GroupedKaplanMeier",
            "IncidenceAt",
            "KaplanMeier",
            "LogRankTable",
            "LogRankTest",
            "logrank_table",
            "mantel_byar_table",
            "Quantile",
            "RMST",
            "RMSTDifference",
            "SurvivalAt",
            "TrendTest",
            "cumulative_incidence",
            "follow_up",
            "gray_test",
            "kaplan_meier",
            "logrank",
            "rmst",
        ]
    )
    for name in bassinet.survival.__all__:
        assert hasattr(bassinet.survival, name)


def test_it_imports_only_numpy_scipy_and_the_exception_tree() -> None:
    code = (
        "import sys; import bassinet.survival as s; "
        "s.kaplan_meier([1, 2], [1, 0]); "
        "print(sorted(m for m in sys.modules if m.startswith('bassinet') or m.split('.')[0] in "
        "('pandas', 'sqlalchemy', 'matplotlib')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert eval(loaded.stdout) == sorted(
        [
            "bassinet",
            "bassinet.errors",
            "bassinet.survival",
            "bassinet.survival._competing_risks",
            "bassinet.survival._concordance",
            "bassinet.survival._cox",
            "bassinet.survival._cox_exact",
            "bassinet.survival._exposure",
            "bassinet.survival._fine_gray",
            "bassinet.survival._formula",
            "bassinet.survival._newton",
            "bassinet.survival._partial_likelihood",
            "bassinet.survival._follow_up",
            "bassinet.survival._gray",
            "bassinet.survival._kaplan_meier",
            "bassinet.survival._logrank",
            "bassinet.survival._logrank_table",
            "bassinet.survival._results",
            "bassinet.survival._risk_sets",
            "bassinet.survival._rmst",
            "bassinet.survival._sorted",
            "bassinet.survival._validate",
        ]
    )


def test_every_result_becomes_a_table_and_shows_in_a_notebook() -> None:
    time, event, group = [1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1]
    cause = [1, 0, 2, 1, 0, 1]
    results = [
        kaplan_meier(time, event),
        kaplan_meier(time, event, group=group),
        kaplan_meier(time, event).at([2, 4]),
        kaplan_meier(time, event).median(),  # type: ignore[union-attr]
        logrank(time, event, group),
        logrank(time, event, group).trend(),
        bassinet.survival.logrank_table(time, event, group),
        bassinet.survival.mantel_byar_table(time, event, [float("nan"), 1, 0.5, float("nan"), 2, 1]),
        cumulative_incidence(time, cause),
        cumulative_incidence(time, cause, group=group),
        cumulative_incidence(time, cause).at([3]),
        gray_test(time, cause, group),  # type: ignore[union-attr]
        rmst(time, event, tau=5, group=group),
        bassinet.survival.follow_up(time, event),
    ]
    for result in results:
        frame = result.to_frame()
        assert len(frame) > 0, type(result).__name__
        assert "<table" in result._repr_html_()
