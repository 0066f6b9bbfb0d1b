"""``bassinet report`` and ``bassinet endpoints``: from a registry to the study report and to ADaM."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from bassinet.cli import Registry, _option_date, _run, app, err, out
from bassinet.endpoints import ClinicalRecords
from bassinet.plans import PlanResult
from bassinet.registry.escaping import console_markup, neutralise_frame


@dataclass(frozen=True)
class StudyReport:
    """What ``bassinet report`` wrote: the files, and the plan's results (with their warnings)."""

    paths: list[Path]
    result: PlanResult


def find_plan(plan: Path | str) -> Path:
    """A plan file, or a shipped plan by its name (``interfant06``, ``hsct-infants``)."""
    from bassinet.plans import shipped_plan

    path = Path(plan)
    if path.is_file() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    return shipped_plan(str(plan))


def write_study_report(
    plan: Path | str,
    records: ClinicalRecords,
    out_dir: Path,
    *,
    pdf: bool = True,
    simulation: str = "",
) -> StudyReport:
    """Run the plan on ``records`` and write its report, results and ADaM files.

    ``simulation`` (e.g. "seed 33") labels every page as simulated data. The ADTTE file
    holds one parameter per endpoint and origin the plan analyses, for its population.
    """
    from bassinet.endpoints import derive, get_endpoint
    from bassinet.endpoints._adam import to_adsl, to_adtte, write_xpt
    from bassinet.plans import load_plan, run_plan
    from bassinet.plans._run import population_ids
    from bassinet.plans._variables import CATALOGUE
    from bassinet.report import write_report

    plan_path = find_plan(plan)
    loaded = load_plan(plan_path)
    result = run_plan(loaded, records)
    if simulation:
        result = dataclasses.replace(result, simulation=simulation)
    name = plan_path.stem
    files = write_report(result, out_dir, name, pdf=pdf)
    if files.pdf_problem and pdf:
        err.print(f"[yellow]{console_markup(f'{name}: no PDF: {files.pdf_problem}')}[/]")
    study = name.upper().replace("-", "")[:20]
    wanted = {}
    for a in loaded.plan.analyses:
        endpoint = get_endpoint(a.endpoint)
        endpoint = endpoint.from_origin(a.origin) if a.origin else endpoint
        wanted[(endpoint.name, endpoint.origin)] = endpoint
    population = records.subset(population_ids(loaded.plan, records))
    if len(population.patients):
        derived = derive(population, [wanted[k] for k in sorted(wanted)], cutoff=loaded.plan.cutoff)
    else:  # nobody in the population: the files are written with their variables and no rows
        from bassinet.endpoints._derive import COLUMNS

        derived = pd.DataFrame({c: pd.Series(dtype=float if c == "time_days" else object) for c in COLUMNS})
    adtte = to_adtte(derived, study=study)
    patients = population.patients.set_index("study_id")
    risk = CATALOGUE["risk_group"].compute(population, patients) if len(patients) else None
    adsl = to_adsl(population, study=study, risk_group=risk)
    paths = [files.html, files.json, *([files.pdf] if files.pdf else [])]
    paths.append(
        write_xpt(adtte, out_dir / f"{name}-adtte.xpt", name="ADTTE", label="Time-to-event analysis")
    )
    paths.append(write_xpt(adsl, out_dir / f"{name}-adsl.xpt", name="ADSL", label="Subject-level analysis"))
    return StudyReport(paths, result)


def make_report(
    plan: Path | str, url: str | None, out_dir: Path, *, pdf: bool = True, simulation: str = ""
) -> list[Path]:
    """Run the plan on the registry and write its report, results and ADaM files; returns the paths."""
    from bassinet.registry import open_registry

    records = ClinicalRecords.from_frames(open_registry(url))
    return write_study_report(plan, records, out_dir, pdf=pdf, simulation=simulation).paths


@app.command()
def report(
    plan: Annotated[
        str, typer.Argument(help="The analysis plan: a YAML file, or a shipped plan's name (interfant06).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path("report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Write the PDF too (needs WeasyPrint).")] = True,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any analysis or part of one is not estimable.")
    ] = False,
    simulated: Annotated[
        str, typer.Option("--simulated", help="Label the report as simulated data, e.g. 'seed 33'.")
    ] = "",
    registry: Registry = None,
) -> None:
    """Run an analysis plan on the registry: HTML and PDF report, JSON results, ADaM ADSL and ADTTE.

    An analysis that cannot be estimated on these data is reported with its reason and
    plan line; the others are still written. The exit code is 0 (1 with --strict if any was not).
    """
    from bassinet.registry import open_registry

    def work() -> StudyReport:
        records = ClinicalRecords.from_frames(open_registry(registry))
        done = write_study_report(plan, records, out_dir, pdf=pdf, simulation=simulated)
        for path in done.paths:
            out.print(f"wrote {console_markup(path)}", highlight=False, soft_wrap=True)
        return done

    done = _run(work)
    for warning in done.result.warnings:
        err.print(f"[yellow]warning:[/] {console_markup(warning)}", highlight=False, soft_wrap=True)
    count = len(done.result.warnings)
    if count:
        err.print(f"{count} warning{'s' if count > 1 else ''}: see the report", highlight=False)
        if strict:
            raise typer.Exit(1)


@app.command()
def endpoints(
    cutoff: Annotated[str, typer.Option(help="Data cut-off date, YYYY-MM-DD.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the files.")] = Path("endpoints"),
    study: Annotated[str, typer.Option(help="STUDYID of the ADaM datasets.")] = "BASSINET",
    registry: Registry = None,
) -> None:
    """Derive every endpoint for every patient: endpoints.csv, and ADaM ADSL and ADTTE as SAS transport."""

    def work() -> None:
        from bassinet.endpoints import ENDPOINTS, ClinicalRecords, derive
        from bassinet.endpoints._adam import to_adsl, to_adtte, write_xpt
        from bassinet.registry import open_registry

        when = _option_date("--cutoff", cutoff)
        records = ClinicalRecords.from_frames(open_registry(registry))
        derived = derive(records, list(ENDPOINTS), cutoff=when)
        out_dir.mkdir(parents=True, exist_ok=True)
        neutralise_frame(derived).to_csv(out_dir / "endpoints.csv", index=False, date_format="%Y-%m-%d")
        write_xpt(
            to_adsl(records, study=study), out_dir / "adsl.xpt", name="ADSL", label="Subject-level analysis"
        )
        write_xpt(
            to_adtte(derived, study=study),
            out_dir / "adtte.xpt",
            name="ADTTE",
            label="Time-to-event analysis",
        )
        out.print(
            f"{len(derived):,} endpoint rows for {derived['study_id'].nunique():,} patients "
            f"written to {console_markup(out_dir)}/"
        )

    _run(work)
