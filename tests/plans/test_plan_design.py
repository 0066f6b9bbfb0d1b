"""The plan's design block: refused with the plan line when it is wrong, read when it is right."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from bassinet.design import group_sequential
from bassinet.errors import ConfigurationError
from bassinet.plans import load_plan, shipped_plan
from bassinet.plans._interim import maximum_events, planned_hazard_ratio

PLAN = """
title: A trial
cutoff: 2012-12-31
variables: [arm, randomised]
design:
  analysis: dfs_arm
  experimental: ADE/MAE
  control: IB
  survival: {control: 0.41, experimental: 0.57}
  information_rates: [0.3333333333333333, 0.6666666666666666, 1]
  earlier_cutoffs: [2009-03-31]
analyses:
  - id: dfs_arm
    title: DFS by arm
    endpoint: DFS
    origin: randomisation
    population: {randomised: true}
    groups: arm
    test: logrank
  - id: os
    title: Overall survival
    endpoint: OS
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("analysis: dfs_arm", "analysis: dfs"),
            r"plan.yaml:5: no analysis has id 'dfs'; analyses: dfs_arm, os",
        ),
        (("analysis: dfs_arm", "analysis: os"), r"plan.yaml:5: analysis 'os' is not a log-rank comparison"),
        (("control: IB", "control: ADE/MAE"), r"plan.yaml:7: experimental and control are both 'ADE/MAE'"),
        (
            ("experimental: 0.57", "experimental: 0.31"),
            r"plan.yaml:8: experimental survival 0.31 is not above control 0.41",
        ),
        (
            ("[0.3333333333333333, 0.6666666666666666, 1]", "[0.6, 0.3, 1]"),
            r"plan.yaml:9: information_rates",
        ),
        (
            ("information_rates: [0.3333333333333333, 0.6666666666666666, 1]", "looks: 21"),
            r"plan.yaml:9: design.looks: Input should be less than or equal to 20",
        ),
        (
            ("  information_rates: [0.3333333333333333, 0.6666666666666666, 1]\n", ""),
            r"plan.yaml:4: give the analyses as 'looks' \(equally spaced\) or 'information_rates'",
        ),
        (
            ("  survival: {control: 0.41, experimental: 0.57}\n", ""),
            r"plan.yaml:4: give the design's 'hazard_ratio' or 'survival'",
        ),
        (
            ("survival: {control: 0.41, experimental: 0.57}", "hazard_ratio: 1.2"),
            r"plan.yaml:8: design.hazard_ratio: Input should be less than 1",
        ),
        (("[2009-03-31]", "[2013-03-31]"), r"plan.yaml:10: cut-off 2013-03-31 is not before 2012-12-31"),
        (
            ("[2009-03-31]", "[2008-03-31, 2009-03-31, 2010-03-31]"),
            r"plan.yaml:10: 3 earlier cut-offs: the design has 3 analyses in all",
        ),
        (("spending: obf", "spending: obf"), None),
        (
            ("  earlier_cutoffs", "  spending: kd\n  earlier_cutoffs"),
            r"plan.yaml:4: spending kd needs 'parameter' \(rho or gamma\)|plan.yaml:\d+: spending kd needs",
        ),
        (
            ("  earlier_cutoffs", "  sided: 3\n  earlier_cutoffs"),
            r"plan.yaml:10: design.sided: Input should be 1 or 2",
        ),
        (
            ("  earlier_cutoffs", "  sided: 1\n  alpha: 0.025\n  futility: [3.9, 0]\n  earlier_cutoffs"),
            r"plan.yaml:12: futility bound 1 is 3.9: above the efficacy bound",
        ),
        (
            ("  earlier_cutoffs", "  colour: red\n  earlier_cutoffs"),
            r"plan.yaml:10: design.colour: Extra inputs",
        ),
    ],
)
def test_a_bad_design_block_is_refused_naming_the_line(
    tmp_path: Path, edit: tuple[str, str], message: str | None
) -> None:
    text = PLAN.replace(*edit)
    assert text != PLAN or message is None
    if message is None:
        assert load_plan(write(tmp_path, text)).plan.design is not None
        return
    with pytest.raises(ConfigurationError, match=message):
        load_plan(write(tmp_path, text))


def test_the_shipped_design_is_the_documented_three_analysis_design() -> None:
    # docs/design.md: HR 0.6305, 149.4 -> 150 events at most, bounds 3.710, 2.511, 1.993
    for name in ("interfant06", "interfant06-interim"):
        d = load_plan(shipped_plan(name)).plan.design
        assert d is not None
        assert planned_hazard_ratio(d) == pytest.approx(math.log(0.57) / math.log(0.41), rel=1e-12)
        assert maximum_events(d) == 150
        design = group_sequential(d.information_rates or 3, alpha=0.05, sided=2)
        assert [round(c, 3) for c in design.critical_values] == [3.710, 2.511, 1.993]
