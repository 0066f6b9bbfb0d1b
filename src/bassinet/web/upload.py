"""Import by upload, for data managers: a dry run shown as a table, then the import on confirmation.

``GET /upload`` offers a CSV or XLSX file and a mapping (the registry's own column names,
a mapping file saved for the centre, or a new one uploaded and saved). ``POST /upload``
keeps the file server-side under a random name with the SHA-256 it had, runs the
importer's dry run as the signed-in user (:mod:`bassinet.application.uploads`) and shows
what would be added, changed (old -> new), deleted and refused (row, field, value, rule).
``POST /upload/{token}/confirm`` imports exactly that file, refused if its bytes changed
since the dry run or if it was imported already; the patients without problems are
committed and the refused rows written to a quarantine file, offered for download
(``GET /upload/{token}/quarantine.csv``). Only the user who uploaded a file may confirm it
or fetch its quarantine file. The importer's size limits (``docs/import.md``) apply: a file
past the input-file limit is refused before the importer reads it (the request body itself
is best bounded at the TLS proxy, e.g. nginx's ``client_max_body_size``).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse, Response

from bassinet.application import uploads
from bassinet.errors import ConfigurationError, DataError, RegistryError
from bassinet.registry import ImportRejected, ImportReport, Problem, load_mapping
from bassinet.registry.reading import Limits, sha256
from bassinet.web.context import Posted, SignedIn, Visit, engine_of, render, settings_of

router = APIRouter()

SUFFIXES = (".csv", ".xlsx")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1 << 20


def _root(request: Request) -> Path:
    folder = settings_of(request).upload_dir or Path(tempfile.gettempdir()) / "bassinet-uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _safe_name(name: str, default: str) -> str:
    """A file name without folders or odd characters (``../x y.csv`` -> ``x_y.csv``)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return cleaned[:100] or default


async def _save(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy an upload to ``target``, refusing it past ``limit`` bytes (nothing kept then)."""
    written = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                handle.close()
                target.unlink(missing_ok=True)
                raise DataError(
                    f"{upload.filename or 'the file'} is larger than the import's limit of {limit:,} bytes "
                    "(BASSINET_MAX_INPUT_BYTES)"
                )
            handle.write(chunk)


@dataclass(frozen=True)
class SavedMapping:
    """A mapping file saved for a centre; ``key`` is how the form names it."""

    key: str
    centre: str
    name: str
    path: Path


def _mappings(request: Request, scope: uploads.ImportScope, names: dict[int, str]) -> list[SavedMapping]:
    """The saved mapping files of the centres in ``scope`` (every centre's for a study-wide scope)."""
    folder = _root(request) / "mappings"
    found = []
    ids = scope.ids if scope.ids is not None else tuple(names)
    for centre_id in ids:
        for path in sorted((folder / str(centre_id)).glob("*.yaml")):
            found.append(SavedMapping(f"{centre_id}/{path.name}", names.get(centre_id, "?"), path.name, path))
    return found


def _centre_names(request: Request) -> dict[int, str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Centre

    with Session(engine_of(request)) as session:
        return {i: n for i, n in session.execute(select(Centre.id, Centre.name))}


def _form(request: Request, visit: Visit, *, message: str | None = None, status: int = 200) -> Response:
    scope = uploads.import_scope(visit.actor, engine_of(request))
    names = _centre_names(request)
    return render(
        request,
        "upload/form.html",
        visit=visit,
        status_code=status,
        scope=scope,
        mappings=_mappings(request, scope, names),
        message=message,
        limits=Limits.from_environment(),
        kinds=uploads.file_kinds(),
    )


@router.get("/upload")
def upload_form(request: Request, visit: SignedIn) -> Response:
    return _form(request, visit)


@router.get("/upload/template/{kind}.csv")
def template(request: Request, kind: str, visit: SignedIn) -> Response:
    """A template of the file ``kind``: the import's header row and one example row."""
    text = uploads.template_csv(visit.actor, engine_of(request), kind)
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="bassinet-{kind}-template.csv"'},
    )


@dataclass(frozen=True)
class Row:
    """One line of the dry run's tables."""

    study_id: str
    record: str
    detail: str
    old: str = ""
    new: str = ""


def _added(report: ImportReport, action: str) -> list[Row]:
    """The inserted (or deleted) records, one line each with their fields."""
    rows: list[Row] = []
    current: tuple[str, str] | None = None
    fields: list[str] = []
    seen: set[str] = set()
    for change in report.changes:
        if change.action != action:
            continue
        key = (change.study_id or "-", change.table)
        if key != current or change.field in seen:
            if current is not None:
                rows.append(Row(current[0], current[1], "; ".join(fields)))
            current, fields, seen = key, [], set()
        seen.add(change.field)
        value = change.new if action == "insert" else change.old
        if value not in (None, ""):
            fields.append(f"{change.field} = {value}")
    if current is not None:
        rows.append(Row(current[0], current[1], "; ".join(fields)))
    return rows


def _changed(report: ImportReport) -> list[Row]:
    return [
        Row(c.study_id or "-", c.table, c.field, c.old or "empty", c.new or "empty")
        for c in report.changes
        if c.action == "update"
    ]


@dataclass(frozen=True)
class Refusal:
    sheet: str
    row: str
    field: str
    value: str
    rule: str


def _refusals(problems: tuple[Problem, ...] | list[Problem]) -> list[Refusal]:
    from bassinet.registry.problems import cell_text

    return [
        Refusal(
            p.sheet,
            "" if p.row is None else str(p.row),
            (p.column or "") + (f" (-> {p.field})" if p.field and p.field != p.column else ""),
            "" if p.value is None else cell_text(p.value),
            p.rule,
        )
        for p in problems
    ]


def _meta_path(request: Request, token: str) -> Path:
    if not _TOKEN.match(token):
        raise RegistryError("no such upload")
    return _root(request) / "pending" / token / "upload.json"


def _load(request: Request, visit: Visit, token: str) -> tuple[Path, dict[str, object]]:
    """The upload ``token`` of the signed-in user (anyone else's is "no such upload").

    A user who may not import is refused first, as on the upload page (403), whatever the token.
    """
    uploads.import_scope(visit.actor, engine_of(request))
    meta_path = _meta_path(request, token)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RegistryError("no such upload") from None
    if meta.get("user") != visit.actor.username:
        raise RegistryError("no such upload")
    return meta_path.parent, meta


@router.post("/upload")
async def dry_run(
    request: Request,
    visit: Posted,
    patients: Annotated[UploadFile, File()],
    mapping: Annotated[str, Form()] = "",
    mapping_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    engine = engine_of(request)
    scope = uploads.import_scope(visit.actor, engine)
    names = _centre_names(request)
    original = patients.filename or ""
    suffix = Path(original).suffix.lower()
    if suffix not in SUFFIXES:
        return _form(
            request,
            visit,
            message=f"{original or 'The file'} is not a CSV or XLSX file: upload a .csv or .xlsx file.",
            status=400,
        )
    token = secrets.token_hex(16)
    folder = _root(request) / "pending" / token
    folder.mkdir(parents=True, mode=0o700)
    data = folder / _safe_name(original, "patients" + suffix)
    limits = Limits.from_environment()
    mapping_path: Path | None = None
    try:
        await _save(patients, data, limits.input_bytes)
        if mapping_file is not None and mapping_file.filename:
            staged = folder / "mapping.yaml"
            await _save(mapping_file, staged, 1 << 20)
            load_mapping(staged)  # checked before it is kept for the centre
            home = "study" if scope.ids is None else str(scope.ids[0])
            kept = _root(request) / "mappings" / home
            kept.mkdir(parents=True, exist_ok=True, mode=0o700)
            mapping_path = kept / (_safe_name(Path(mapping_file.filename).stem, "mapping") + ".yaml")
            staged.replace(mapping_path)
        elif mapping:
            chosen = {m.key: m.path for m in _mappings(request, scope, names)}
            if mapping not in chosen:
                raise DataError(f"mapping {mapping!r} is not a saved mapping of your centres")
            mapping_path = chosen[mapping]
        report = uploads.upload_import(visit.actor, engine, data, mapping=mapping_path, dry_run=True)
    except ImportRejected as exc:
        shutil.rmtree(folder, ignore_errors=True)  # nothing to confirm: the file is not kept
        return render(
            request,
            "upload/preview.html",
            visit=visit,
            status_code=422,
            original=original,
            report=None,
            refusals=_refusals(exc.problems),
            added=[],
            changed=[],
            deleted=[],
            token=None,
            digest=None,
            mapping_name=mapping_path.name if mapping_path else None,
        )
    except (DataError, ConfigurationError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _form(request, visit, message=str(exc), status=400)
    digest = sha256(data)
    meta = {
        "user": visit.actor.username,
        "sha256": digest,
        "file": data.name,
        "original": original,
        "mapping": str(mapping_path) if mapping_path else None,
        "imported": False,
    }
    (folder / "upload.json").write_text(json.dumps(meta), encoding="utf-8")
    return render(
        request,
        "upload/preview.html",
        visit=visit,
        original=original,
        report=report,
        refusals=_refusals(report.rejected),
        added=_added(report, "insert"),
        changed=_changed(report),
        deleted=_added(report, "delete"),
        token=token,
        digest=digest,
        mapping_name=mapping_path.name if mapping_path else None,
    )


@router.post("/upload/{token}/confirm")
def confirm(request: Request, token: str, visit: Posted, digest: Annotated[str, Form()] = "") -> Response:
    folder, meta = _load(request, visit, token)
    if meta.get("imported"):
        raise DataError("this file was imported already: upload it again for a new dry run")
    data = folder / str(meta["file"])
    now = sha256(data) if data.is_file() else "missing"
    if now != meta["sha256"] or digest != meta["sha256"]:
        raise DataError(
            f"{meta['original']} changed since its dry run (SHA-256 {str(meta['sha256'])[:12]}..., "
            f"now {now[:12]}...): nothing imported; upload it again for a new dry run"
        )
    quarantine = folder / "quarantine.csv"
    mapping = Path(str(meta["mapping"])) if meta.get("mapping") else None
    try:
        report = uploads.upload_import(
            visit.actor, engine_of(request), data, mapping=mapping, dry_run=False, quarantine=quarantine
        )
    except ImportRejected as exc:
        raise DataError(f"the import was refused: {exc.problems[0]}") from None
    meta["imported"] = True
    (folder / "upload.json").write_text(json.dumps(meta), encoding="utf-8")
    return render(
        request,
        "upload/done.html",
        visit=visit,
        original=meta["original"],
        report=report,
        token=token,
        quarantined=report.quarantine is not None,
        quarantine_name=_quarantine_name(meta),
    )


@router.get("/upload/{token}/quarantine.csv")
def quarantine_file(request: Request, token: str, visit: SignedIn) -> Response:
    folder, meta = _load(request, visit, token)
    path = folder / "quarantine.csv"
    if not path.is_file():
        raise RegistryError("this import put no row in quarantine")
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=_quarantine_name(meta))


def _quarantine_name(meta: dict[str, object]) -> str:
    """The quarantine file's plain name for the user (never a server path): ``<upload>-quarantine.csv``."""
    return _safe_name(Path(str(meta["original"])).stem, "upload") + "-quarantine.csv"
