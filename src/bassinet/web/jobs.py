"""Reports as background jobs: started from the web pages or the API, persisted in ``report_job``.

A job runs an analysis plan (shipped, or uploaded and saved in the job's folder) on the
patients of the centres where its starter may run reports, writes the report's files to
its own folder, and records its status, progress, and the plan and data hashes of the
result. Jobs run one at a time in a worker thread of the server, so a report never takes
both cores of a small server from the pages. Each job records the server process running
it (host:pid); a job left ``queued`` or ``running`` by a process of this host that has
stopped is marked failed when the next runner starts, while other live workers' jobs are
left to them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.access.policy import Action, Actor
from bassinet.application.reports import simulation_label
from bassinet.errors import BassinetError, ConfigurationError, DataError
from bassinet.registry.models import Patient, ReportJob

LOG = logging.getLogger(__name__)

#: Statuses a job passes through.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: Largest uploaded plan accepted, in bytes (the shipped plans are under 10 kB).
MAX_PLAN_BYTES = 256 * 1024
_PLAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def runner_id() -> str:
    """This server process (host:pid), as recorded in the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def shipped_plan_names() -> tuple[str, ...]:
    """The names of the plans shipped with Bassinet (``interfant06``, ``hsct-infants``, ...)."""
    folders = [
        Path(str(resources.files("bassinet.plans"))) / "shipped",
        Path(__file__).resolve().parents[3] / "plans",
    ]
    for folder in folders:
        if folder.is_dir():
            return tuple(sorted(p.stem for p in folder.glob("*.yaml")))
    return ()


@dataclass(frozen=True)
class JobView:
    """A report job as the pages and the API show it."""

    id: int
    plan: str
    title: str | None
    actor: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    progress: int
    step: str | None
    plan_sha256: str | None
    data_sha256: str | None
    files: tuple[str, ...]
    error: str | None


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def view(job: ReportJob) -> JobView:
    created = _utc(job.created_at)
    assert created is not None
    return JobView(
        job.id,
        job.plan,
        job.title,
        job.actor,
        created,
        _utc(job.finished_at),
        job.status,
        job.progress,
        job.step,
        job.plan_sha256,
        job.data_sha256,
        tuple(job.files or ()),
        job.error,
    )


def visible(job: ReportJob, actor: Actor) -> bool:
    """Whether ``actor`` may see ``job``: its centres must all be centres where the actor may
    run reports (a report over the whole study is seen only by those who may report on it)."""
    mine = actor.centres_for(Action.RUN_REPORT)
    if mine is None:
        return True
    if job.centre_ids is None or not mine:
        return False
    return set(job.centre_ids) <= mine


def list_jobs(engine: Engine, actor: Actor) -> list[JobView]:
    """The report jobs ``actor`` may see, newest first."""
    with Session(engine) as session:
        jobs = session.scalars(select(ReportJob).order_by(ReportJob.id.desc()))
        return [view(j) for j in jobs if visible(j, actor)]


def get_job(engine: Engine, actor: Actor, job_id: int) -> JobView:
    """The job ``job_id`` if ``actor`` may see it; otherwise a DataError worded as for no such job."""
    with Session(engine) as session:
        job = session.get(ReportJob, job_id)
        if job is None or not visible(job, actor):
            raise DataError(_no_report(job_id))
        return view(job)


def job_file(engine: Engine, actor: Actor, job_id: int, name: str) -> Path:
    """The path of file ``name`` of job ``job_id``: only a name the job wrote, inside its folder."""
    with Session(engine) as session:
        job = session.get(ReportJob, job_id)
        if job is None or not visible(job, actor):
            raise DataError(_no_report(job_id))
        if name not in (job.files or ()):
            raise DataError(_no_file(job_id, name))
        folder = Path(job.output_dir)
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise DataError(_no_file(job_id, name))
    return path


def _no_report(job_id: int) -> str:
    """The one answer for a report that does not exist and for one the user may not see."""
    return f"There is no report number {job_id} among the reports you may see."


def _no_file(job_id: int, name: str) -> str:
    return f'Report {job_id} has no file called "{name}".'


def _plan_name(text: str) -> str:
    """A plan name from a form, as the user typed it (control characters dropped, at most 100)."""
    return "".join(c for c in text if c.isprintable())[:100]


def download(engine: Engine, actor: Actor, job_id: int, name: str) -> Path:
    """:func:`job_file`, written to the security log as an export by ``actor`` (and their token)."""
    from bassinet.access.security_log import SecurityEvent, log_security_event

    path = job_file(engine, actor, job_id, name)
    via = "" if actor.token_id is None else f" with token {actor.token_id}"
    with Session(engine) as session, session.begin():
        log_security_event(
            session, SecurityEvent.EXPORT, actor=actor.username, detail=f"report {job_id} file {name}{via}"
        )
    return path


MEDIA_TYPES = {".html": "text/html", ".json": "application/json", ".pdf": "application/pdf"}


def media_type(path: Path) -> str:
    """The media type a report file is served with."""
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")


def _set(engine: Engine, job_id: int, **values: object) -> None:
    with Session(engine) as session, session.begin():
        job = session.get(ReportJob, job_id)
        assert job is not None
        for key, value in values.items():
            setattr(job, key, value)


ReportFunction = Callable[..., object]


def _default_report() -> ReportFunction:
    # The report use case of the application layer, shared with `bassinet report`.
    from bassinet.application.reports import write_study_report

    return write_study_report


class JobRunner:
    """Runs report jobs one at a time in a worker thread and records their progress."""

    def __init__(self, engine: Engine, root: Path, *, report: ReportFunction | None = None) -> None:
        self.engine = engine
        self.root = Path(root)
        self.report = report
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bassinet-report")
        self._lock = threading.Lock()
        self.futures: dict[int, Future[None]] = {}
        self.recover()

    def _ensure_root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def recover(self) -> int:
        """Mark as failed the jobs left queued or running by a server process of this host that
        has stopped; returns how many. Jobs of live processes (other workers) are left alone, and
        so are those of other hosts, whose processes cannot be checked from here."""
        host = socket.gethostname()
        with Session(self.engine) as session, session.begin():
            stale = []
            for job in session.scalars(select(ReportJob).where(ReportJob.status.in_([QUEUED, RUNNING]))):
                where, _, pid = (job.runner or "").rpartition(":")
                if where == host and pid.isdigit() and not _alive(int(pid)):
                    stale.append(job)
            for job in stale:
                job.status, job.error, job.finished_at = FAILED, "interrupted: the server stopped", _now()
        return len(stale)

    def start(
        self,
        actor: Actor,
        *,
        plan: str | None = None,
        plan_text: str | None = None,
        upload_name: str = "uploaded-plan.yaml",
    ) -> JobView:
        """Queue a report of a shipped ``plan`` or of ``plan_text`` (an uploaded plan) for ``actor``.

        The plan is read and checked before the job is queued, so a wrong plan is refused
        here (a :class:`~bassinet.errors.ConfigurationError` naming its line) and no job is made.
        """
        from bassinet.plans import load_plan, shipped_plan

        if (plan is None) == (plan_text is None):
            raise DataError("Choose a shipped plan or upload a plan file: one of the two, not both.")
        if plan is not None and plan not in shipped_plan_names():
            raise DataError(
                f'There is no shipped plan called "{_plan_name(plan)}": '
                f"choose one of {', '.join(shipped_plan_names())}."
            )
        if plan_text is not None:
            if len(plan_text.encode()) > MAX_PLAN_BYTES:
                raise DataError(
                    f"The uploaded plan is too large: a plan file may be at most {MAX_PLAN_BYTES // 1024} kB."
                )
            stem = Path(upload_name).stem
            if not _PLAN_NAME.fullmatch(stem):
                stem = "uploaded-plan"
        centres = actor.centres_for(Action.RUN_REPORT)
        if centres == frozenset():
            raise DataError(f"Your role does not allow running reports ({actor.username}).")
        name = f"{plan}.yaml" if plan is not None else f"{stem}.yaml"
        # The plan is read in a folder of its own first: a wrong plan leaves no job and no folder.
        incoming = Path(tempfile.mkdtemp(prefix="incoming-", dir=self._ensure_root()))
        try:
            plan_path = incoming / name
            if plan is not None:
                shutil.copyfile(shipped_plan(plan), plan_path)
            else:
                assert plan_text is not None
                plan_path.write_text(plan_text, encoding="utf-8")
            loaded = load_plan(plan_path)
        except BassinetError as exc:
            shutil.rmtree(incoming, ignore_errors=True)
            # One line naming every problem (field, message, line): pages and the API show one line.
            head, _, rest = str(exc).replace(str(plan_path), name).partition("\n")
            raise ConfigurationError(head + (" " + "; ".join(rest.splitlines()) if rest else "")) from None
        with Session(self.engine) as session, session.begin():
            job = ReportJob(
                plan=name if plan is None else plan,
                title=loaded.plan.title,
                actor=actor.username,
                user_id=actor.user_id,
                centre_ids=None if centres is None else sorted(centres),
                created_at=_now(),
                status=QUEUED,
                progress=0,
                step="queued",
                plan_sha256=loaded.sha256,
                output_dir="",
                runner=runner_id(),
            )
            session.add(job)
            session.flush()
            folder = (self.root / f"job-{job.id}").resolve()
            job.output_dir = str(folder)
            job_id = job.id
        (folder / "plan").mkdir(parents=True, exist_ok=True)
        plan_path = plan_path.rename(folder / "plan" / name)
        shutil.rmtree(incoming, ignore_errors=True)
        with self._lock:
            self.futures[job_id] = self._pool.submit(self._run, job_id, plan_path, centres)
        return get_job(self.engine, actor, job_id)

    def _run(self, job_id: int, plan_path: Path, centres: frozenset[int] | None) -> None:
        from bassinet.endpoints import ClinicalRecords
        from bassinet.registry import read_frames

        step = "reading the registry"
        try:
            _set(self.engine, job_id, status=RUNNING, progress=10, step=step)
            records = ClinicalRecords.from_frames(read_frames(self.engine))
            ids: list[str] | None = None
            if centres is not None:
                with Session(self.engine) as session:
                    ids = list(
                        session.scalars(
                            select(Patient.study_id).where(Patient.centre_id.in_(sorted(centres)))
                        )
                    )
                records = records.subset(ids)
            # A registry of simulated cohorts (`bassinet demo`, `simulate --into-registry`) is
            # labelled as such on every page, as the command line's reports are.
            simulation = simulation_label(self.engine, ids)
            step = "running the plan and writing the report"
            _set(self.engine, job_id, progress=30, step=step)
            report = self.report or _default_report()
            folder = plan_path.parent.parent
            # The PDF too, as `bassinet report` writes it: it adds some 4-5 s to a report of a
            # demo-sized cohort (measured: 3.0 s without, 7.1 s with, for Interfant-06's 651
            # patients), which a background job can afford. If it cannot be written, the job
            # is still done and its step says why (the job page then points to the CLI).
            done = report(plan_path, records, folder, pdf=True, simulation=simulation)
            paths: list[Path] = list(getattr(done, "paths", []))
            result = getattr(done, "result", None)
            _set(
                self.engine,
                job_id,
                status=DONE,
                progress=100,
                step=str(getattr(done, "pdf_problem", "")) or "done",
                files=sorted(p.name for p in paths),
                data_sha256=getattr(result, "data_sha256", None),
                plan_sha256=getattr(result, "plan_sha256", None),
                finished_at=_now(),
            )
        except Exception as exc:  # a failed report is recorded, never lost in the worker thread
            text = str(exc).splitlines()[0] if str(exc) else ""
            if isinstance(exc, BassinetError):  # Bassinet's own errors name the row, field and rule
                message = text
            else:  # not a user's mistake: no Python words on the page, the details in the server log
                LOG.exception("report %s failed while %s", job_id, step)
                message = (
                    f"Something unexpected went wrong while {step}, so the report was not made. "
                    "The server's log has the details for the administrator."
                )
            _set(self.engine, job_id, status=FAILED, step="failed", error=message[:2000], finished_at=_now())

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until job ``job_id`` (started by this runner) has finished."""
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def runner_for(state: Any) -> JobRunner:
    """The app's job runner (``app.state.report_jobs``), made on first use.

    Its folder is ``app.state.reports_dir``, else the settings' ``reports_dir``, else
    ``$BASSINET_REPORTS_DIR``, else ``reports`` in the working directory.
    """
    runner = getattr(state, "report_jobs", None)
    if isinstance(runner, JobRunner):
        return runner
    with _RUNNER_LOCK:
        runner = getattr(state, "report_jobs", None)
        if isinstance(runner, JobRunner):
            return runner
        root = getattr(state, "reports_dir", None) or getattr(
            getattr(state, "settings", None), "reports_dir", None
        )
        folder = Path(root or os.environ.get("BASSINET_REPORTS_DIR") or "reports")
        runner = JobRunner(state.engine, folder)
        state.report_jobs = runner
        return runner


_RUNNER_LOCK = threading.Lock()
