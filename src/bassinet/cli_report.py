"""``bassinet report`` and ``bassinet endpoints``: from a registry to the study report and to ADaM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bassinet.cli import Registry, _option_date, _run, app, err, out
from bassinet.registry.escaping import console_markup, neutralise_frame


def make_report(plan_path: Path, url: str | None, out_dir: Path, *, pdf: bool = True) -> list[Path]:
    """Run the plan on the registry and write its report, results and ADaM files; returns the paths."""
    from bassinet.endpoints import ClinicalRecords, derive
    from bassinet.endpoints._adam import to_adsl, to_adtte, write_xpt
    from bassinet.plans import load_plan, run_plan
    from bassinet.plans._run import population_ids
    from bassinet.registry import open_registry
    from bassinet.report import write_report

    loaded = load_plan(plan_path)
    records = ClinicalRecords.from_frames(open_registry(url))
    result = run_plan(loaded, records)
    name = plan_path.stem
    files = write_report(result, out_dir, name, pdf=pdf)
    if files.pdf_problem and pdf:
        err.print(f"[yellow]{console_markup(f'{name}: no PDF: {files.pdf_problem}')}[/]")
    study = name.upper().replace("-", "")[:20]
    endpoints = sorted({a.endpoint for a in loaded.plan.analyses})
    population = records.subset(population_ids(loaded.plan, records))
    adtte = to_adtte(derive(population, endpoints, cutoff=loaded.plan.cutoff), study=study)
    adsl = to_adsl(population, study=study)
    paths = [files.html, files.json, *([files.pdf] if files.pdf else [])]
    paths.append(
        write_xpt(adtte, out_dir / f"{name}-adtte.xpt", name="ADTTE", label="Time-to-event analysis")
    )
    paths.append(write_xpt(adsl, out_dir / f"{name}-adsl.xpt", name="ADSL", label="Subject-level analysis"))
    return paths


@app.command()
def report(
    plan: Annotated[Path, typer.Argument(help="The analysis plan (YAML), e.g. plans/interfant06.yaml.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path("report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Write the PDF too (needs WeasyPrint).")] = True,
    registry: Registry = None,
) -> None:
    """Run an analysis plan on the registry: HTML and PDF report, JSON results, ADaM ADSL and ADTTE."""

    def work() -> None:
        for path in make_report(plan, registry, out_dir, pdf=pdf):
            out.print(f"wrote {console_markup(path)}")

    _run(work)


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
