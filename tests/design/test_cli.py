"""``bassinet design`` keeps its promises: docs/design.md's examples print what the page says,
the registry option is the one every command takes, patients are rounded up in each arm, and
bad input is one line naming the option."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bassinet.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "design.md"
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def documented_examples() -> list[tuple[str, str]]:
    """Each ```console block of docs/design.md: (the command after ``$``, the output below it)."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", DOCS.read_text(), flags=re.DOTALL):
        lines = block.splitlines()
        command = []
        while lines:
            line = lines.pop(0)
            command.append(line.removeprefix("$ ").rstrip("\\").strip())
            if not line.endswith("\\"):
                break
        examples.append((" ".join(command), "\n".join(lines)))
    return examples


def run(args: list[str], **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80", **env})
    return result.exit_code, result.output


def test_the_page_has_examples_to_check() -> None:
    commands = [command for command, _ in documented_examples()]
    assert len(commands) >= 4
    assert any("--looks 3" in command for command in commands)


@pytest.mark.parametrize(("command", "printed"), documented_examples())
def test_each_documented_example_prints_the_documented_numbers(command: str, printed: str) -> None:
    args = shlex.split(command)
    assert args[:2] == ["bassinet", "design"]
    code, output = run(args[1:])
    assert code == 0, output
    assert NUMBER.findall(output) == NUMBER.findall(printed), output


def test_patients_are_rounded_up_in_each_arm() -> None:
    # 208.3 patients at 1:1 are 104.2 an arm: 105 + 105 = 210, not 209
    code, output = run(
        ["design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60", "--follow-up", "36"]
    )
    assert code == 0
    assert "208.3 -> 210 = 105 experimental + 105 control" in output


def test_the_registry_option_and_the_environment_variable_name_the_same_registry(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    args = ["design", "--curve", "registry", "--experimental", "0.57", "--accrual", "60"]
    for given, env in (
        (["-r", missing], {}),
        (["--registry", missing], {}),
        ([], {"BASSINET_DATABASE_URL": missing}),
    ):
        code, output = run(args + given, **env)
        assert code == 3
        assert f"the registry at {missing} is not initialised" in " ".join(output.split())


def test_a_schoenfeld_design_with_unequal_allocation_carries_a_note() -> None:
    base = ["design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60"]
    _, equal = run(base)
    _, unequal = run([*base, "--allocation", "2"])
    assert "approximate under unequal allocation" not in equal
    assert "approximate under unequal allocation" in " ".join(unequal.split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--information", "0.5,0.4,1"], r"--information is [0.5, 0.4, 1.0]: the rates must increase"),
        (["--information", "0.3,0.6,0.9"], "the last analysis must be at rate 1"),
        (["--information", "0.3,x"], "--information is '0.3,x': give numbers separated by commas"),
        (["--looks", "21"], "--looks is 21: between 1 and 20 analyses"),
        (
            ["--looks", "3", "--alpha-spending", "0.01,0.06,0.05"],
            "alpha_spending is [0.01, 0.06, 0.05]: the alpha spent must lie in [0, alpha = 0.05]",
        ),
        (
            ["--looks", "3", "--sided", "1", "--alpha", "0.025", "--futility", "4,0"],
            "futility bound 1 is 4: above the efficacy bound 3.7103",
        ),
        (["--looks", "3", "--hazard-ratio", "1"], "hazard_ratio is 1: the arms are equal"),
        # once "parameter is None: ...", the library's argument rather than the option
        (["--looks", "3", "--spending", "kd"], "--spending kd needs --spending-parameter: the rho of kd"),
        (
            ["--looks", "3", "--spending", "hsd"],
            "--spending hsd needs --spending-parameter: the gamma of hsd",
        ),
        (
            ["--looks", "3", "--boundary", "wang-tsiatis"],
            "--boundary wang-tsiatis needs --spending-parameter: the delta",
        ),
        (
            ["--looks", "3", "--sided", "1", "--alpha", "0.025", "--beta-spending", "hsd"],
            "--beta-spending hsd needs --beta-parameter: the gamma of hsd",
        ),
    ],
)
def test_bad_sequential_input_is_one_line_naming_the_option(extra: list[str], message: str) -> None:
    args = ["design", "--control", "0.41", "--accrual", "60"]
    if "--hazard-ratio" not in extra:
        args += ["--experimental", "0.57"]
    code, output = run(args + extra)
    assert code == 1
    assert message in output
    assert len(output.strip().splitlines()) == 1


def test_interim_monitoring_needs_a_sequential_design_and_both_observations() -> None:
    base = ["design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60"]
    code, output = run([*base, "--observed-events", "50", "--observed-z", "-1"])
    assert (code, output.strip()) == (
        3,
        "error: --observed-events needs a group-sequential design: --looks or --information",
    )
    code, output = run([*base, "--looks", "3", "--observed-events", "50"])
    assert (code, output.strip()) == (3, "error: give --observed-events and --observed-z together")
    code, output = run([*base, "--looks", "3", "--observed-events", "50,40", "--observed-z", "-1,-2"])
    assert code == 1
    assert "they must increase" in output


def test_piecewise_hazards_without_the_piecewise_curve_are_refused() -> None:
    # they were silently ignored: the exponential curve's design came out instead
    code, output = run(
        ["design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60", "--piecewise", "0:0.04"]
    )
    assert (code, output.strip()) == (
        3,
        "error: --piecewise is given but --curve is 'exponential': add --curve piecewise",
    )


def test_interim_monitoring_shows_the_futility_bounds() -> None:
    # the table once left the futility bound out, so a z at or below it said nothing
    code, output = run(
        [
            "design",
            "--control",
            "0.41",
            "--experimental",
            "0.57",
            "--accrual",
            "60",
            "--looks",
            "3",
            "--sided",
            "1",
            "--alpha",
            "0.025",
            "--futility",
            "0,0.5",
            "--observed-events",
            "50,100",
            "--observed-z",
            "-1,-0.3",
        ]
    )
    assert code == 0
    monitoring = output.split("interim monitoring")[1]
    assert re.search(r"futility bound, z\s+0\.0000\s+0\.5000", monitoring)
    assert "decision: stop for futility" in monitoring


def test_the_help_paragraph_is_not_broken_mid_sentence() -> None:
    # the docstring's own line breaks once showed as "calendar time" alone on a line
    code, output = run(["design", "--help"])
    assert code == 0
    text = " ".join(line.strip() for line in output.splitlines())
    assert "bounds, events, calendar time and stopping probabilities of each analysis." in text
    assert not any(line.strip().endswith("calendar time") for line in output.splitlines())
