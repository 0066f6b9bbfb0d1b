"""REDCap's API through PyCap, against a small REDCap-speaking server on the loopback interface.

The server answers the two API calls an import makes, as REDCap documents them: a POST
of ``token``, ``content=metadata`` (the data dictionary, API field names) or
``content=record`` (the flat records export), ``format=csv``; a wrong token gets REDCap's
403 with a JSON error.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.errors import ConfigurationError
from bassinet.exchange import fetch_redcap
from bassinet.registry import read_frames
from tests.exchange.redcap_project import BASELINE, FLAT_HEADER, flat_rows

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
API_FIELDS = [
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


class RedcapHandler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        form = parse_qs(body)
        RedcapHandler.seen.append(form)
        if form.get("token") != [TOKEN]:
            self._answer(403, b'{"error": "You do not have permissions to use the API"}', "application/json")
            return
        content = form["content"][0]
        if content == "metadata":
            rows = [[n, f, "", t, lab, ch, "", v, *[""] * 10] for n, f, t, lab, ch, v in BASELINE]
            if form.get("format") == ["json"]:  # PyCap asks for it to learn the record id field
                document = [dict(zip(API_FIELDS, row, strict=True)) for row in rows]
                self._answer(200, json.dumps(document).encode(), "application/json")
            else:
                self._answer(200, _csv(API_FIELDS, rows), "text/csv")
        elif content == "record":
            self._answer(
                200, _csv(FLAT_HEADER, [[r.get(c, "") for c in FLAT_HEADER] for r in flat_rows()]), "text/csv"
            )
        else:
            self._answer(400, b'{"error": "unsupported content"}', "application/json")

    def _answer(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RedcapHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def test_the_api_gives_the_same_dictionary_and_records_as_the_downloads(api_url: str, tmp_path: Path) -> None:
    dictionary, records = fetch_redcap(api_url, TOKEN, tmp_path)
    assert "record_id,enrolment" in dictionary.read_text()
    assert records.read_text().splitlines()[0] == ",".join(FLAT_HEADER)
    asked = [(form["content"][0], form["format"][0]) for form in RedcapHandler.seen[-3:]]
    assert asked[0] == ("metadata", "csv") and asked[-1] == ("record", "csv")
    assert RedcapHandler.seen[-1]["rawOrLabel"] == ["raw"]


def test_a_wrong_token_is_refused_without_showing_it(api_url: str, tmp_path: Path) -> None:
    wrong = "F" * 32
    with pytest.raises(ConfigurationError, match=r"REDCap API at .*permissions") as caught:
        fetch_redcap(api_url, wrong, tmp_path)
    assert wrong not in str(caught.value)


def test_import_redcap_with_api_and_token_from_the_environment(
    api_url: str, engine: Engine, tmp_path: Path
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    mapping = tmp_path / "m.yaml"
    env = {"REDCAP_TOKEN": TOKEN, "COLUMNS": "200"}
    args = ["import-redcap", "--api", api_url, "--token", "env:REDCAP_TOKEN"]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--propose-mapping", str(mapping)], env=env)
    assert first.exit_code == 0, first.output
    document = yaml.safe_load(mapping.read_text())
    document["centre"] = "Leiden"
    mapping.write_text(yaml.safe_dump(document))
    second = runner.invoke(
        app, [*args, "--mapping", str(mapping), "--user", "dm", "--registry", url], env=env
    )
    assert second.exit_code == 0, second.output
    patients = read_frames(engine).patients
    assert sorted(patients["study_id"]) == ["101", "102"] and set(patients["centre"]) == {"Leiden"}


def test_a_token_on_the_command_line_is_refused(api_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import-redcap", "--api", api_url, "--token", TOKEN, "--propose-mapping", str(tmp_path / "m")]
    )
    assert result.exit_code == 3
    assert "--token must be env:VARIABLE" in result.output
    assert TOKEN not in result.output
