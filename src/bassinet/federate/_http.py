"""The same messages over HTTP between running Bassinet instances: a small standard-library server.

Bassinet has no web application yet, so a site that allows it runs ``bassinet federate
serve``: a :class:`http.server.ThreadingHTTPServer` on the loopback interface by default
(put it behind a TLS reverse proxy with client authentication to open it to a
coordinator elsewhere). It answers two requests, with exactly the messages a site would
otherwise write to files:

- ``GET /summary``: the site's summary (count tables), as ``federate summarise`` writes it.
- ``POST /cox``: body a Cox round; answer the site's sums (``federate cox-answer``).

Errors are ``400`` with ``{"error": "..."}``; the site's refusals keep their reasons.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bassinet.endpoints import ClinicalRecords
from bassinet.errors import BassinetError, DataError
from bassinet.federate._cox import ROUND, SiteCoxData, answer_cox_round, start_cox, step_cox
from bassinet.federate._messages import Message, dumps, loads
from bassinet.federate._plan import FederatedPlan
from bassinet.federate._pooled import check_site_files
from bassinet.federate._site import SUMMARY, summarise

MAX_BODY = 50_000_000


def make_server(
    fplan: FederatedPlan, records: ClinicalRecords, site: str, *, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """A server answering for ``site`` (not yet serving: call ``serve_forever``); port 0 picks a free one."""
    cache: dict[str, SiteCoxData] = {}
    summary: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, json.dumps({"error": message}) + "\n")

        def do_GET(self) -> None:
            if self.path != "/summary":
                self._error(404, f"no such resource {self.path!r}: GET /summary or POST /cox")
                return
            try:
                if not summary:
                    summary.append(dumps(summarise(fplan, records, site)[0]))
                self._send(200, summary[0])
            except BassinetError as exc:
                self._error(400, str(exc))

        def do_POST(self) -> None:
            if self.path != "/cox":
                self._error(404, f"no such resource {self.path!r}: GET /summary or POST /cox")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._error(400, f"a round is a JSON body of 1 to {MAX_BODY} bytes")
                return
            try:
                text = self.rfile.read(length).decode("utf-8")
                answer = answer_cox_round(fplan, records, site, loads(text, "request", ROUND), cache=cache)
                self._send(200, dumps(answer))
            except (BassinetError, UnicodeDecodeError) as exc:
                self._error(400, str(exc))

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)


def _request(url: str, body: str | None = None) -> str:
    data = None if body is None else body.encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]
        raise DataError(f"{url}: the site refused ({exc.code}): {detail}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"{url}: cannot reach the site ({exc.reason})") from None


def fetch_summary(base_url: str) -> Message:
    """The summary of the site at ``base_url`` (checked: kind and content hash)."""
    url = base_url.rstrip("/") + "/summary"
    return loads(_request(url), url, SUMMARY)


def run_cox_over_http(fplan: FederatedPlan, analysis_id: str, urls: list[str]) -> Message:
    """Fit the plan's Cox analysis over the sites at ``urls``, round after round; returns the result."""
    if not urls:
        raise DataError("no site URL given")
    summaries = [(u, fetch_summary(u)) for u in urls]
    plan, checked = check_site_files(summaries)
    if plan.sha256 != fplan.sha256:
        raise DataError(f"{urls[0]}: the site runs plan {plan.sha256}, not {fplan.sha256}")
    round_message = start_cox(fplan, analysis_id, checked)
    where = {str(m["site"]): u for u, m in summaries}
    while round_message["kind"] == ROUND:
        text = dumps(round_message)
        answers = [
            (f"{where[s]}/cox", json.loads(_request(where[s].rstrip("/") + "/cox", text)))
            for s in round_message["sites"]
        ]
        round_message = step_cox(json.loads(text), answers)
    return round_message
