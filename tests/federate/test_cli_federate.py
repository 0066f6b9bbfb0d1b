"""The commands end to end: two sites with their own registries, files between them, and two servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.federate import FederatedPlan
from bassinet.plans import PlanResult
from bassinet.registry import import_files, init_registry, make_engine
from bassinet.simulate import RegistryRows, simulate_interfant06, write_csv
from tests.federate.conftest import plan_text, site_token

runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[2] / "src")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "BASSINET_USER": "cli-test"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def site_registries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The simulated cohort (the session registry's seed) in two registries: original countries, the rest."""
    folder = tmp_path_factory.mktemp("sites")
    rows = simulate_interfant06(seed=33)
    original = {
        r["study_id"] for r in rows["patients"] if str(r["original_country"]).lower() in ("true", "1", "yes")
    }
    urls = {}
    for site, keep in (
        ("original", lambda sid: sid in original),
        ("others", lambda sid: sid not in original),
    ):
        part = RegistryRows(
            {name: [r for r in sheet if keep(r["study_id"])] for name, sheet in rows.sheets.items()}
        )
        url = f"sqlite:///{folder / site}.db"
        init_registry(url)
        engine = make_engine(url)
        paths = write_csv(part, folder / site)
        import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test")
        engine.dispose()
        urls[site] = url
    assert len(original) not in (0, len(rows["patients"]))
    return urls


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "interfant06.yaml"
    path.write_text(plan_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def site_files(
    site_registries: dict[str, str], plan_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    folder = tmp_path_factory.mktemp("files")
    paths = []
    for site, url in site_registries.items():
        path = folder / f"{site}.json"
        invoke(
            "federate",
            "summarise",
            "--plan",
            str(plan_file),
            "--registry",
            url,
            "--site",
            site,
            "--out",
            str(path),
        )
        paths.append(path)
    return paths


def test_show_prints_exactly_what_leaves_the_site(
    site_registries: dict[str, str], plan_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "others.json"
    output = invoke(
        "federate", "summarise", "--plan", str(plan_file), "--registry", site_registries["others"],
        "--site", "others", "--out", str(path), "--show",
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    assert output.startswith(text)
    assert output[len(text) :].startswith("wrote ")


def test_combine_writes_the_pooled_report_equal_to_the_central_one(
    site_files: list[Path], tmp_path: Path, central: PlanResult
) -> None:
    output = invoke("federate", "combine", *map(str, site_files), "--out", str(tmp_path), "--no-pdf")
    assert "Pooled from 2 sites, no patient rows" in output
    data = json.loads((tmp_path / "pooled.json").read_text(encoding="utf-8"))
    html = (tmp_path / "pooled.html").read_text(encoding="utf-8")
    assert "Pooled from 2 sites, no patient rows (original, others)" in html
    assert data["pooled"].startswith("Pooled from 2 sites, no patient rows (original, others).")
    compared = 0
    for found in data["analyses"]:
        expected = next(a for a in central.analyses if a.id == found["id"])
        if found["not_estimable"]:
            assert found["test_kind"] == "cox", found["id"]
            continue
        compared += 1
        assert found["n"] == expected.n
        for fg, eg in zip(found["groups"], expected.groups, strict=True):
            got = [[e["estimate"], e["std_err"]] for e in fg["estimates"]]
            want = [[e.estimate, e.std_err] for e in eg.estimates]
            np.testing.assert_allclose(np.array(got, float), np.array(want, float), rtol=1e-10)
        if expected.test:
            np.testing.assert_allclose(found["test"]["statistic"], expected.test.statistic, rtol=1e-10)
    assert compared == len(central.analyses) - 3


def test_combine_refuses_a_tampered_file_and_writes_nothing(site_files: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(site_files[1].read_text(encoding="utf-8").replace('"site": "others"', '"site": "other"'))
    result = runner.invoke(
        app, ["federate", "combine", str(site_files[0]), str(bad), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "content hash mismatch" in result.output
    assert not (tmp_path / "out").exists()


def test_the_cox_rounds_over_files_converge_to_the_central_fit(
    site_registries: dict[str, str],
    site_files: list[Path],
    plan_file: Path,
    tmp_path: Path,
    central: PlanResult,
) -> None:
    current = tmp_path / "round-1.json"
    invoke("federate", "cox-start", "--plan", str(plan_file), "--analysis", "dfs_multivariable",
           *map(str, site_files), "--out", str(current))  # fmt: skip
    for k in range(1, 40):
        answers = []
        for site, url in site_registries.items():
            answer = tmp_path / f"answer-{k}-{site}.json"
            invoke("federate", "cox-answer", str(current), "--plan", str(plan_file), "--registry", url,
                   "--site", site, "--out", str(answer))  # fmt: skip
            answers.append(str(answer))
        nxt = tmp_path / f"round-{k + 1}.json"
        output = invoke("federate", "cox-step", str(current), *answers, "--out", str(nxt))
        current = nxt
        if output.startswith("converged"):
            break
    result = json.loads(current.read_text(encoding="utf-8"))
    assert result["kind"] == "bassinet-federate-cox-result"
    terms = next(a for a in central.analyses if a.id == "dfs_multivariable").model
    np.testing.assert_allclose(result["hazard_ratio"], [t.hazard_ratio for t in terms], rtol=1e-7)
    report = tmp_path / "report"
    invoke(
        "federate", "combine", *map(str, site_files), "--cox", str(current), "--out", str(report), "--no-pdf"
    )
    page = (report / "pooled.html").read_text(encoding="utf-8")
    assert "Predictors of disease-free survival (multivariable Cox model): " in page
    shown = json.loads((report / "pooled.json").read_text(encoding="utf-8"))
    model = next(a for a in shown["analyses"] if a["id"] == "dfs_multivariable")["model"]
    assert [t["label"] for t in model] == [t.label for t in terms]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def token_files(site_registries: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A token of each site's own registry (a statistician over the whole study), in a file."""
    folder = tmp_path_factory.mktemp("tokens")
    paths = []
    for site, url in site_registries.items():
        path = folder / f"{site}.token"
        path.write_text(site_token(url) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def servers(site_registries: dict[str, str], plan_file: Path) -> Iterator[list[str]]:
    """Two running ``bassinet federate serve`` processes on the loopback interface."""
    processes, urls = [], []
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for site, url in site_registries.items():
        port = _free_port()
        command = [sys.executable, "-c", "from bassinet.cli import app; app()", "federate", "serve",
                   "--plan", str(plan_file), "--registry", url, "--site", site,
                   "--port", str(port)]  # fmt: skip
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for u, p in zip(urls, processes, strict=True):
            for _ in range(300):
                assert p.poll() is None, p.stderr.read().decode() if p.stderr else ""
                try:
                    urllib.request.urlopen(u + "/nothing", timeout=1)
                except urllib.error.HTTPError:
                    break
                except OSError:
                    time.sleep(0.1)
        yield urls
    finally:
        for p in processes:
            p.terminate()
            p.wait(timeout=10)


def test_the_cox_rounds_over_two_running_servers_converge_to_the_central_fit(
    servers: list[str], plan_file: Path, tmp_path: Path, central: PlanResult, token_files: list[Path]
) -> None:
    out = tmp_path / "cox.json"
    args = [
        a
        for u, t in zip(servers, token_files, strict=True)
        for a in ("--site-url", u, "--token-file", str(t))
    ]
    output = invoke("federate", "cox", "--plan", str(plan_file), "--analysis", "dfs_multivariable", *args,
                    "--out", str(out))  # fmt: skip
    assert output.startswith("converged after")
    result = json.loads(out.read_text(encoding="utf-8"))
    terms = next(a for a in central.analyses if a.id == "dfs_multivariable").model
    np.testing.assert_allclose(result["hazard_ratio"], [t.hazard_ratio for t in terms], rtol=1e-7)
    assert result["sites"] == ["original", "others"]


def test_the_day_plan_fixture_is_the_plan_file(day_plan: FederatedPlan, plan_file: Path) -> None:
    assert day_plan.loaded.text == plan_file.read_text(encoding="utf-8")


def test_without_a_token_the_servers_refuse_and_the_command_says_which_site(
    servers: list[str], plan_file: Path, tmp_path: Path, token_files: list[Path]
) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("bsn_" + "x" * 43, encoding="utf-8")
    result = runner.invoke(
        app,
        ["federate", "cox", "--plan", str(plan_file), "--analysis", "dfs_multivariable",
         "--site-url", servers[0], "--token-file", str(token_files[0]),
         "--site-url", servers[1], "--token-file", str(wrong), "--out", str(tmp_path / "cox.json")],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {servers[1]}/summary: the site refused (401): token refused: unknown, expired or revoked"
    )
    assert not (tmp_path / "cox.json").exists()


def test_every_refusal_of_the_federate_commands_is_one_line_and_exit_code_1(
    site_files: list[Path], tmp_path: Path
) -> None:
    bad_plan = tmp_path / "plain.yaml"
    bad_plan.write_text(plan_text().split("federation:")[0], encoding="utf-8")
    refused = tmp_path / "refused.json"
    data = json.loads(site_files[0].read_text(encoding="utf-8"))
    cases = [
        # a configuration error (exit 3 elsewhere) is a refusal here
        ["federate", "summarise", "--plan", str(bad_plan), "--site", "x", "--out", str(tmp_path / "x.json")],
        ["federate", "combine", str(site_files[0]), str(site_files[0]), "--out", str(tmp_path / "out")],
        ["federate", "cox-step", str(site_files[0]), str(site_files[1]), "--out", str(tmp_path / "r.json")],
        ["federate", "combine", str(tmp_path / "missing.json"), "--out", str(tmp_path / "out")],
    ]
    for args in cases:
        result = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "out").exists()
    assert data["kind"] == "bassinet-federate-summary" and not refused.exists()


def test_cox_start_names_the_site_that_refused_the_model_and_why(
    site_registries: dict[str, str], tmp_path: Path
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(plan_text(min_group=1000), encoding="utf-8")
    files = []
    for site, url in site_registries.items():
        path = tmp_path / f"{site}.json"
        invoke(
            "federate",
            "summarise",
            "--plan",
            str(strict),
            "--registry",
            url,
            "--site",
            site,
            "--out",
            str(path),
        )
        files.append(str(path))
    result = runner.invoke(
        app,
        ["federate", "cox-start", "--plan", str(strict), "--analysis", "dfs_multivariable", *files,
         "--out", str(tmp_path / "round.json")],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: site 'original' refused analysis dfs_multivariable: fewer than min_group=1000 patients"
    )
    assert not (tmp_path / "round.json").exists()
