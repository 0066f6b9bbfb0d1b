"""``bassinet federate``: pooled analysis across sites that keep their patient rows.

Site side: ``summarise`` (count tables of every analysis), ``cox-answer`` (a Cox round),
``serve`` (both over HTTP). Coordinator side: ``combine`` (the pooled report),
``cox-start`` and ``cox-step`` (the Cox rounds over files), ``cox`` (the rounds over HTTP).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bassinet.cli._common import Registry, _run, app, err, out

if TYPE_CHECKING:
    from bassinet.endpoints import ClinicalRecords

federate_app = typer.Typer(
    help="Pooled analysis without pooling patients: count tables and Cox rounds between sites.",
    no_args_is_help=True,
)
app.add_typer(federate_app, name="federate")

PlanOption = Annotated[Path, typer.Option("--plan", help="The analysis plan with its 'federation' block.")]


def _records(registry: str | None) -> ClinicalRecords:
    from bassinet.endpoints import ClinicalRecords
    from bassinet.registry import open_registry

    return ClinicalRecords.from_frames(open_registry(registry))


def _refusing(work: Callable[[], None]) -> None:
    """Run ``work`` as every federate command does: any refusal is one line and exit code 1.

    (``_run`` gives a configuration error exit 3; here a wrong plan, a non-converging
    model and a port in use are all the same to a script: the command refused.)
    """

    def wrapped() -> None:
        from bassinet.errors import BassinetError, DataError

        try:
            work()
        except DataError:
            raise
        except BassinetError as exc:
            raise DataError(str(exc)) from None
        except OSError as exc:
            raise DataError(f"{exc.strerror or exc}") from None

    _run(wrapped)


def _read_json(path: Path) -> object:
    from bassinet.errors import DataError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


@federate_app.command()
def summarise(
    plan: PlanOption,
    site: Annotated[str, typer.Option("--site", help="This site's name, as the coordinator knows it.")],
    out_file: Annotated[Path, typer.Option("--out", help="The file to send to the coordinator.")],
    show: Annotated[bool, typer.Option("--show", help="Print exactly what the file holds.")] = False,
    registry: Registry = None,
) -> None:
    """Site: every analysis of the plan as count tables, under the plan's disclosure rules."""

    def work() -> None:
        from bassinet.federate import load_federated_plan, summarise, write_message

        fplan = load_federated_plan(plan)
        message, notes = summarise(fplan, _records(registry), site)
        for note in notes:
            err.print(f"[yellow]{note}[/]", highlight=False)
        text = write_message(message, out_file)
        if show:
            sys.stdout.write(text)
        out.print(f"wrote {out_file}: what leaves this site (site {site}, plan {fplan.sha256[:12]})")

    _refusing(work)


@federate_app.command()
def combine(
    files: Annotated[list[Path], typer.Argument(help="The site files (one per site).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the pooled report.")] = Path("pooled"),
    cox: Annotated[
        list[Path] | None, typer.Option("--cox", help="A finished Cox result to add to the report.")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Write the PDF too (needs WeasyPrint).")] = True,
) -> None:
    """Coordinator: check the site files and write the pooled report (HTML, PDF, JSON), as bassinet report."""

    def work() -> None:
        from bassinet.federate import pooled_report, write_pooled_report

        result = pooled_report([(str(f), _read_json(f)) for f in files], [_read_json(c) for c in cox or []])
        written = write_pooled_report(result, out_dir, pdf=pdf)
        for path in (written.html, written.json, written.pdf):
            if path is not None:
                out.print(f"wrote {path}")
        if written.pdf_problem and pdf:
            err.print(f"no PDF: {written.pdf_problem}", highlight=False, markup=False)
        out.print(result.pooled.split(".")[0].split(" (")[0])

    _refusing(work)


@federate_app.command("cox-start")
def cox_start(
    plan: PlanOption,
    analysis: Annotated[str, typer.Option("--analysis", help="The plan's Cox analysis id.")],
    files: Annotated[list[Path], typer.Argument(help="The site files (their model levels and sites).")],
    out_file: Annotated[Path, typer.Option("--out", help="The first round's file.")],
) -> None:
    """Coordinator: the first Cox round (coefficients 0) for the sites of these files."""

    def work() -> None:
        from bassinet.errors import DataError
        from bassinet.federate import check_site_files, load_federated_plan, start_cox, write_message

        fplan = load_federated_plan(plan)
        checked_plan, summaries = check_site_files([(str(f), _read_json(f)) for f in files])
        if checked_plan.sha256 != fplan.sha256:
            raise DataError(
                f"the site files come from plan {checked_plan.sha256}, not {plan} ({fplan.sha256})"
            )
        write_message(start_cox(fplan, analysis, summaries), out_file)
        out.print(f"wrote {out_file}: round 1 for {len(summaries)} sites")

    _refusing(work)


@federate_app.command("cox-answer")
def cox_answer(
    round_file: Annotated[Path, typer.Argument(help="The round file from the coordinator.")],
    plan: PlanOption,
    site: Annotated[str, typer.Option("--site", help="This site's name.")],
    out_file: Annotated[Path, typer.Option("--out", help="The answer to send back.")],
    show: Annotated[bool, typer.Option("--show", help="Print exactly what the answer holds.")] = False,
    registry: Registry = None,
) -> None:
    """Site: answer a Cox round with this site's sums at the round's coefficients."""

    def work() -> None:
        from bassinet.federate import answer_cox_round, load_federated_plan, write_message

        fplan = load_federated_plan(plan)
        answer = answer_cox_round(fplan, _records(registry), site, _read_json(round_file), str(round_file))
        text = write_message(answer, out_file)
        if show:
            sys.stdout.write(text)
        out.print(f"wrote {out_file}: answer of site {site} to round {answer['round']}")

    _refusing(work)


@federate_app.command("cox-step")
def cox_step(
    round_file: Annotated[Path, typer.Argument(help="The round the sites answered.")],
    answers: Annotated[list[Path], typer.Argument(help="Every site's answer.")],
    out_file: Annotated[Path, typer.Option("--out", help="The next round, or the result.")],
) -> None:
    """Coordinator: pool the answers, take a Newton step: the next round, or the result once converged."""

    def work() -> None:
        from bassinet.federate import RESULT, step_cox, write_message

        given = [(str(a), _read_json(a)) for a in answers]
        nxt = step_cox(_read_json(round_file), given, source=str(round_file))
        write_message(nxt, out_file)
        if nxt["kind"] == RESULT:
            out.print(f"converged after {nxt['rounds']} rounds: wrote the result to {out_file}")
        else:
            out.print(f"wrote round {nxt['round']} to {out_file}")

    _refusing(work)


@federate_app.command()
def serve(
    plan: PlanOption,
    site: Annotated[str, typer.Option("--site", help="This site's name.")],
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback unless you say otherwise).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    registry: Registry = None,
) -> None:
    """Site: answer GET /summary and POST /cox over HTTP until interrupted.

    Every request needs a personal access token of this registry (bassinet tokens create) whose
    owner may run reports over every centre; each request is logged on standard error.
    """

    def work() -> None:
        from bassinet.access import Actor, authenticate_token
        from bassinet.federate import load_federated_plan, make_server
        from bassinet.registry import make_engine

        engine = make_engine(registry)  # the site's tokens live in its registry

        def authenticate(secret: str) -> Actor:
            return authenticate_token(engine, secret)

        server = make_server(
            load_federated_plan(plan),
            _records(registry),
            site,
            authenticate=authenticate,
            host=host,
            port=port,
        )
        out.print(f"site {site} answering on http://{host}:{server.server_address[1]}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            engine.dispose()

    _refusing(work)


@federate_app.command("cox")
def cox_http(
    plan: PlanOption,
    analysis: Annotated[str, typer.Option("--analysis", help="The plan's Cox analysis id.")],
    urls: Annotated[
        list[str], typer.Option("--site-url", help="A site's server, e.g. http://127.0.0.1:8765.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="The result file.")],
    token_files: Annotated[
        list[Path],
        typer.Option(
            "--token-file", help="A file holding the site's access token (one per --site-url, in order)."
        ),
    ],
) -> None:
    """Coordinator: fit the plan's Cox analysis over running site servers."""

    def work() -> None:
        from bassinet.errors import DataError
        from bassinet.federate import load_federated_plan, run_cox_over_http, write_message

        tokens = []
        for path in token_files:
            try:
                tokens.append(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise DataError(f"cannot read the token file {path}: {exc.strerror}") from None
        result = run_cox_over_http(load_federated_plan(plan), analysis, urls, tokens)
        write_message(result, out_file)
        out.print(f"converged after {result['rounds']} rounds: wrote {out_file}")

    _refusing(work)
