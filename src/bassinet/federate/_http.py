"""The same messages over HTTP between running Bassinet instances: a small standard-library server.

A site that allows it runs ``bassinet federate serve``: a
:class:`http.server.ThreadingHTTPServer` on the loopback interface by default (put it
behind a TLS reverse proxy to open it to a coordinator elsewhere: the token travels in
the clear otherwise). Every request carries a personal access token of the site's own
registry (``Authorization: Bearer bsn_...``, made with ``bassinet tokens create``),
checked by :func:`bassinet.access.authenticate_token`; the token's owner must be allowed
to run reports over every centre of the registry (the summary covers them all). A
request without a token, or with one refused, is answered ``401``; one whose owner may
not, ``403``. Each request is logged on the server's standard error: when, who (user
and token id), what (method, path, analysis and round), the status and the bytes that
left the site. The server answers two requests, with exactly the messages a site would
otherwise write to files:

- ``GET /summary``: the site's summary (count tables), as ``federate summarise`` writes it.
- ``POST /cox``: body a Cox round; answer the site's sums (``federate cox-answer``).

Errors are ``{"error": "..."}`` with status 400 (a refused message), 401, 403 or 404;
the site's refusals keep their reasons.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any

from bassinet.endpoints import ClinicalRecords
from bassinet.errors import AuthenticationFailed, BassinetError, DataError
from bassinet.federate._cox import ROUND, SiteCoxData, answer_cox_round, start_cox, step_cox
from bassinet.federate._messages import Message, dumps, loads
from bassinet.federate._plan import FederatedPlan
from bassinet.federate._pooled import check_site_files
from bassinet.federate._site import SUMMARY, summarise

if TYPE_CHECKING:
    from bassinet.access import Actor

MAX_BODY = 50_000_000


def make_server(
    fplan: FederatedPlan,
    records: ClinicalRecords,
    site: str,
    *,
    authenticate: Callable[[str], Actor],
    host: str = "127.0.0.1",
    port: int = 0,
    log: IO[str] | None = None,
) -> ThreadingHTTPServer:
    """A server answering for ``site`` (not yet serving: call ``serve_forever``); port 0 picks a free one.

    Parameters
    ----------
    authenticate
        The actor of a bearer token, or :class:`~bassinet.access.AuthenticationFailed`:
        ``lambda secret: authenticate_token(engine, secret)`` on the site's registry.
    log
        Where each request is logged (default: standard error).
    """
    cache: dict[str, SiteCoxData] = {}
    summary: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        who = "-"
        what = ""

        def _send(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            # logged before it leaves: the log holds every answer sent, even one cut off in transit
            when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            asked = f"{self.who} {self.command} {self.path}{self.what}"
            line = f"{when} site {site}: {asked} -> {status}, {len(body)} bytes"
            print(line.replace("\n", " "), file=log or sys.stderr, flush=True)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, json.dumps({"error": message}) + "\n")

        def _allowed(self) -> bool:
            """Whether the request carries a token of someone who may run reports on every centre."""
            header = self.headers.get("Authorization") or ""
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                self._error(
                    401, "no token: send 'Authorization: Bearer <personal access token of this site>'"
                )
                return False
            try:
                actor = authenticate(secret.strip())
            except AuthenticationFailed as exc:
                self._error(401, str(exc))
                return False
            self.who = f"{actor.username} (token {actor.token_id})"
            from bassinet.access import Action

            if actor.centres_for(Action.RUN_REPORT) is not None:
                self._error(
                    403,
                    f"{actor.username} may not run reports over every centre of this registry: "
                    "a federated summary covers them all",
                )
                return False
            return True

        def do_GET(self) -> None:
            if self.path != "/summary":
                self._error(404, f"no such resource {self.path!r}: GET /summary or POST /cox")
                return
            if not self._allowed():
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
            if not self._allowed():
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._error(400, f"a round is a JSON body of 1 to {MAX_BODY} bytes")
                return
            try:
                text = self.rfile.read(length).decode("utf-8")
                message = loads(text, "request", ROUND)
                self.what = f" (analysis {message.get('analysis')}, round {message.get('round')})"
                answer = answer_cox_round(fplan, records, site, message, cache=cache)
                self._send(200, dumps(answer))
            except (BassinetError, UnicodeDecodeError) as exc:
                self._error(400, str(exc))

        def log_message(self, format: str, *args: Any) -> None:
            return  # each answer is logged by _send, with who asked and what left

    return ThreadingHTTPServer((host, port), Handler)


def _request(url: str, token: str, body: str | None = None, *, site: str = "") -> str:
    data = None if body is None else body.encode("utf-8")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=data, headers=headers)
    who = f"site {site!r} ({url})" if site else url
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]
        raise DataError(f"{who}: the site refused ({exc.code}): {detail}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"{who}: cannot reach the site ({exc.reason})") from None


def fetch_summary(base_url: str, token: str) -> Message:
    """The summary of the site at ``base_url`` (checked: kind and content hash), asked with ``token``."""
    url = base_url.rstrip("/") + "/summary"
    return loads(_request(url, token), url, SUMMARY)


def run_cox_over_http(fplan: FederatedPlan, analysis_id: str, urls: list[str], tokens: list[str]) -> Message:
    """Fit the plan's Cox analysis over the sites at ``urls``, round after round; returns the result.

    ``tokens[i]`` is a personal access token of the registry of the site at ``urls[i]``.
    """
    if not urls:
        raise DataError("no site URL given")
    if len(tokens) != len(urls):
        raise DataError(f"{len(urls)} site URLs but {len(tokens)} tokens: give one token per site, in order")
    summaries = [(u, fetch_summary(u, t)) for u, t in zip(urls, tokens, strict=True)]
    plan, checked = check_site_files(summaries)
    if plan.sha256 != fplan.sha256:
        raise DataError(f"{urls[0]}: the site runs plan {plan.sha256}, not {fplan.sha256}")
    round_message = start_cox(fplan, analysis_id, checked)
    where = {str(m["site"]): (u, t) for (u, m), t in zip(summaries, tokens, strict=True)}
    while round_message["kind"] == ROUND:
        text = dumps(round_message)
        answers = []
        for s in round_message["sites"]:
            url, token = where[s]
            answer = _request(url.rstrip("/") + "/cox", token, text, site=s)
            answers.append((f"{url}/cox", json.loads(answer)))
        round_message = step_cox(json.loads(text), answers)
    return round_message
