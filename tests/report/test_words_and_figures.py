"""P values as journals print them, labels printed as text, thinned censoring marks."""

from __future__ import annotations

import pytest

from bassinet.plans._narrative import p_text
from bassinet.plans._results import AnalysisResult, CurveData, Estimate, GroupResult, ModelTerm
from bassinet.report._figures import _thin, plot_curves, plot_forest, to_svg
from bassinet.report._html import interval, number


@pytest.mark.parametrize(
    ("p", "printed"),
    [
        (8.31e-22, "P<0.001"),
        (0.000999, "P<0.001"),
        (0.001, "P=0.001"),
        (0.0344, "P=0.034"),
        (0.0995, "P=0.100"),  # below 0.1: three decimals
        (0.1, "P=0.10"),
        (0.456, "P=0.46"),
        (0.994, "P=0.99"),
        (0.995, "P>0.99"),
        (1.0, "P>0.99"),
        (float("nan"), "P not estimable"),
        (None, "P not estimable"),
    ],
)
def test_p_values_are_printed_as_journals_print_them(p: float | None, printed: str) -> None:
    assert p_text(p) == printed


def test_a_missing_number_prints_as_ne_never_nan() -> None:
    assert number(float("nan")) == "NE"
    assert number(None) == "NE"
    assert number(float("inf")) == "NE"
    assert interval(None, 3.0) == "NE"
    assert interval(1.25, 3.0) == "1.2\u20133.0"


def _analysis(label: str) -> AnalysisResult:
    curve = CurveData((0.0, 1.0, 2.0), (1.0, 0.8, 0.6), (1.0, 0.7, 0.5), (1.0, 0.9, 0.7), (1.5,), (0.8,))
    group = GroupResult(label, 10, 4, 0, (Estimate(2.0, 60.0, 5.0, 50.0, 70.0, 3),), curve, (10, 6, 3), 2.0)
    return AnalysisResult("a", "A", "OS", "overall survival", "diagnosis", False, 10, "group", (group,),
                          (0.0, 1.0, 2.0), "years")  # fmt: skip


def test_a_label_holding_dollars_is_drawn_as_text_not_typeset() -> None:
    svg = to_svg(plot_curves(_analysis("$\\alpha$ arm")))
    assert ">$\\alpha$ arm<" in svg  # the risk table's label: the literal text, not a typeset alpha
    assert "\u03b1" not in svg
    forest = to_svg(plot_forest((ModelTerm("x", "$x$ vs y", 2.0, 1.0, 4.0, 0.04),), "model"))
    assert "$x$ vs y" in forest and "2.00 (1.00\u20134.00)" in forest


def test_the_forest_plot_has_plain_ticks() -> None:
    svg = to_svg(plot_forest((ModelTerm("x", "x", 1.5, 0.6, 3.5, 0.2),), "model"))
    for tick in (">0.5<", ">1<", ">2<", ">4<"):
        assert tick in svg
    assert "10^" not in svg and "10^{" not in svg


def test_censoring_marks_closer_than_the_gap_are_thinned() -> None:
    xs, ys = _thin((0.1, 0.12, 0.15, 0.5, 0.51, 1.0), (0.9, 0.9, 0.9, 0.8, 0.8, 0.7), 0.1)
    assert xs == [0.1, 0.5, 1.0] and ys == [0.9, 0.8, 0.7]
