"""The data-quality page: the checks of the signed-in user's scope, counts per centre, findings.

``GET /quality`` runs the built-in checks (and the study rules of the YAML file named by
``$BASSINET_QUALITY_RULES``, if set) on every patient the user may read, as of today or of
``?as_of=YYYY-MM-DD``; ``?centre=NAME`` and ``?check=ID`` narrow the findings listed (the
counts per centre stay those of the whole scope). Roles without ``read_patients`` are
refused (403) by the application layer.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bassinet.application.quality import check_scope
from bassinet.quality import StudyRule, load_rules
from bassinet.web.context import SignedIn, engine_of, render

router = APIRouter()

#: Findings listed on one page at most; the counts always cover them all.
MAX_LISTED = 500


def study_rules() -> tuple[StudyRule, ...]:
    """The study rules of the YAML file named by ``$BASSINET_QUALITY_RULES`` (none if unset)."""
    path = os.environ.get("BASSINET_QUALITY_RULES")
    return load_rules(Path(path)) if path else ()


@router.get("/quality")
def quality(request: Request, visit: SignedIn) -> Response:
    q = request.query_params
    problems: list[str] = []
    as_of = dt.date.today()
    if q.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(q["as_of"])
        except ValueError:
            problems.append(f"As of {q['as_of']!r} is not a date (YYYY-MM-DD); today is used.")
    report = check_scope(visit.actor, engine_of(request), as_of=as_of, rules=study_rules())
    centre, check = q.get("centre") or "", q.get("check") or ""
    chosen = [
        f for f in report.findings if (not centre or f.centre == centre) and (not check or f.check == check)
    ]
    return render(
        request,
        "quality/index.html",
        visit=visit,
        report=report,
        problems=problems,
        centre=centre,
        check=check,
        findings=chosen[:MAX_LISTED],
        total=len(chosen),
        max_listed=MAX_LISTED,
    )
