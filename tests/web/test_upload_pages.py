"""The upload-import page: dry-run table, confirmation of exactly that file, quarantine, scope."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.registry import models as m
from tests.access.conftest import PASSWORD
from tests.registry.builders import patient as _row
from tests.web.conftest import Site, csrf_of, sign_in

MARKUP = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","x")'


def patient(study_id: str, **changes: str) -> dict[str, str]:
    """A valid infant of Rotterdam (DCOG) whose study group's country the site leaves unset."""
    return _row(study_id, **{"original_country": "", **changes})


def _known(study_id: str, **changes: str) -> dict[str, str]:
    """A row for a patient as the test site stores it (ROT-1, ...), with ``changes``."""
    row = patient(
        study_id, date_of_birth="2020-01-01", diagnosis_date="2020-03-01", last_contact_date="2021-01-01"
    )
    for blank in ("original_country", "immunophenotype", "cd10", "kmt2a_partner", "wbc", "cns_status",
                  "day8_blasts", "protocol", "protocol_version"):  # fmt: skip
        row[blank] = ""
    row.update(changes)
    return row


def _csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _client(site: Site, username: str, folder: Path) -> TestClient:
    client = site.client(upload_dir=folder)
    sign_in(site, client, username)
    return client


def _dry_run(
    client: TestClient, content: bytes, name: str = "centre.csv", **data: str
) -> tuple[str, str | None]:
    token = csrf_of(client.get("/upload").text)
    response = client.post(
        "/upload", data={"csrf_token": token, **data}, files={"patients": (name, content, "text/csv")}
    )
    found = re.search(r'action="/upload/([0-9a-f]{32})/confirm"', response.text)
    return response.text, found.group(1) if found else None


def _table(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert match is not None, f"no table {table_id}"
    return [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    ]


def _patient(site: Site, study_id: str) -> m.Patient | None:
    with Session(site.world.engine) as session:
        return session.scalars(select(m.Patient).where(m.Patient.study_id == study_id)).first()


ROWS = [
    patient("NEW-1"),
    _known("ROT-1", wbc="350"),
    patient("BAD-1", wbc="9999"),
    patient("UTR-9", centre="Utrecht"),
    patient("HOST-1", sex=MARKUP, wbc=FORMULA),
]


def test_the_dry_run_shows_added_changed_and_refused_and_writes_nothing(site: Site, tmp_path: Path) -> None:
    page, token = _dry_run(_client(site, "dm_rot", tmp_path), _csv(ROWS))
    assert token is not None
    added = _table(page, "added")
    assert added[0][:2] == ["NEW-1", "patient"] and "wbc = 412.0" in added[0][2]
    assert {r[0] for r in added} == {"NEW-1"}
    assert _table(page, "changed") == [["ROT-1", "patient", "wbc", "empty", "350.0"]]
    refused = _table(page, "refused")
    assert sorted(refused) == [
        ["centre", "4", "wbc", "9999", "must be <= 5000 x10^9/L (the physiological bound of this field)"],
        ["centre", "5", "centre", "Utrecht", "is not a centre you may import for (yours: Rotterdam)"],
        ["centre", "6", "sex", MARKUP, "is not a known code: use one of M, F, or map it in the mapping file"],
        ["centre", "6", "wbc", FORMULA, "is not a number (use a point as the decimal mark)"],
    ]
    assert _patient(site, "NEW-1") is None
    stored = _patient(site, "ROT-1")
    assert stored is not None and stored.wbc is None


def test_a_hostile_file_is_shown_escaped(site: Site, tmp_path: Path) -> None:
    page, _token = _dry_run(_client(site, "dm_rot", tmp_path), _csv(ROWS), name="<b>x</b>.csv")
    for bad in (MARKUP, "<b>x</b>"):
        assert bad not in page, page[max(0, page.find(bad) - 300) : page.find(bad) + 100]
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in page
    assert "&lt;b&gt;x&lt;/b&gt;.csv" in page
    # a formula is text on the page (Jinja2 escapes its quotes), never a link or a live cell
    assert "<td>=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)</td>" in page


def test_confirm_imports_exactly_the_dry_run_and_offers_the_quarantine(site: Site, tmp_path: Path) -> None:
    client = _client(site, "dm_rot", tmp_path)
    rows = [
        patient("NEW-2"),
        _known("ROT-2", wbc="120"),
        patient("UTR-8", centre="Utrecht"),
        patient("BAD-2", sex="X"),
    ]
    page, token = _dry_run(client, _csv(rows))
    assert token is not None
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
    assert digest is not None
    done = client.post(
        f"/upload/{token}/confirm", data={"csrf_token": csrf_of(page), "digest": digest.group(1)}
    )
    assert done.status_code == 200, done.text
    new = _patient(site, "NEW-2")
    assert new is not None and new.wbc == 412.0
    known = _patient(site, "ROT-2")
    assert known is not None and known.wbc == 120.0
    assert _patient(site, "UTR-8") is None and _patient(site, "BAD-2") is None
    with Session(site.world.engine) as session:
        actors = set(
            session.scalars(
                select(m.AuditEntry.actor)
                .where(m.AuditEntry.patient_id.in_([new.id, known.id]))
                .where(m.AuditEntry.import_run_id.is_not(None))
            )
        )
    assert actors == {"dm_rot"}
    assert f'href="/upload/{token}/quarantine.csv"' in done.text
    # a plain file name to download, never the server's path (cold review)
    assert 'download="centre-quarantine.csv">centre-quarantine.csv</a>' in done.text
    assert str(tmp_path) not in done.text and "/pending/" not in done.text
    download = client.get(f"/upload/{token}/quarantine.csv")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    quarantined = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["study_id"] for r in quarantined) == ["BAD-2", "UTR-8"]
    again = client.post(
        f"/upload/{token}/confirm", data={"csrf_token": csrf_of(page), "digest": digest.group(1)}
    )
    assert again.status_code == 400 and "this file was imported already" in again.text


def test_a_file_changed_after_its_dry_run_is_refused(site: Site, tmp_path: Path) -> None:
    client = _client(site, "dm_rot", tmp_path)
    page, token = _dry_run(client, _csv([patient("NEW-3")]))
    assert token is not None
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
    assert digest is not None
    [kept] = [p for p in (tmp_path / "pending" / token).iterdir() if p.suffix == ".csv"]
    kept.write_bytes(_csv([patient("NEW-3"), patient("NEW-4")]))
    refused = client.post(
        f"/upload/{token}/confirm", data={"csrf_token": csrf_of(page), "digest": digest.group(1)}
    )
    assert refused.status_code == 400
    assert "centre.csv changed since its dry run" in refused.text
    assert _patient(site, "NEW-3") is None and _patient(site, "NEW-4") is None


def test_confirm_needs_the_csrf_token(site: Site, tmp_path: Path) -> None:
    client = _client(site, "dm_rot", tmp_path)
    page, token = _dry_run(client, _csv([patient("NEW-5")]))
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
    assert token is not None and digest is not None
    refused = client.post(
        f"/upload/{token}/confirm", data={"csrf_token": "forged", "digest": digest.group(1)}
    )
    assert refused.status_code == 403
    assert _patient(site, "NEW-5") is None


def test_a_user_of_another_centre_is_refused(site: Site, tmp_path: Path) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "dm_utr_upload", PASSWORD, actor="test")
        grant_role(session, "dm_utr_upload", "data_manager", actor="test", centre="Utrecht")
    owner = _client(site, "dm_rot", tmp_path)
    page, token = _dry_run(owner, _csv([patient("NEW-6")]))
    assert token is not None
    other = _client(site, "dm_utr_upload", tmp_path)
    form = other.get("/upload")
    assert "You may import for: Utrecht" in form.text
    refused = other.post(
        f"/upload/{token}/confirm", data={"csrf_token": csrf_of(form.text), "digest": "0" * 64}
    )
    assert refused.status_code == 404 and "no such upload" in refused.text
    assert other.get(f"/upload/{token}/quarantine.csv").status_code == 404
    page, _ = _dry_run(other, _csv([patient("ROT-NEW")]))
    assert _table(page, "refused")[0][3:] == [
        "Rotterdam",
        "is not a centre you may import for (yours: Utrecht)",
    ]
    assert _patient(site, "NEW-6") is None and _patient(site, "ROT-NEW") is None


@pytest.mark.parametrize("username", ["mon_rot", "cli_rot"])
def test_roles_without_import_are_refused_the_page(site: Site, tmp_path: Path, username: str) -> None:
    client = _client(site, username, tmp_path)
    page = client.get("/upload")
    assert page.status_code == 403 and "Your role does not allow importing data" in page.text
    assert 'href="/upload"' not in client.get("/patients").text


def test_the_navigation_offers_the_upload_to_data_managers(site: Site, tmp_path: Path) -> None:
    page = _client(site, "dm_rot", tmp_path).get("/patients").text
    assert '<li><a href="/upload">Upload</a></li>' in page


def test_a_file_that_is_not_csv_or_xlsx_is_refused_in_words(site: Site, tmp_path: Path) -> None:
    page, token = _dry_run(_client(site, "dm_rot", tmp_path), b"MZ\x90\x00", name="tool.exe")
    assert token is None
    assert "tool.exe is not a CSV or XLSX file: upload a .csv or .xlsx file." in page


def test_a_mapping_file_is_checked_saved_for_the_centre_and_offered_again(site: Site, tmp_path: Path) -> None:
    client = _client(site, "dm_rot", tmp_path)
    mapping = b"sheets:\n  patients:\n    columns: {Pat-ID: study_id}\n"
    row = patient("NEW-7")
    row["Pat-ID"] = row.pop("study_id")
    token = csrf_of(client.get("/upload").text)
    response = client.post(
        "/upload",
        data={"csrf_token": token},
        files={
            "patients": ("centre.csv", _csv([row]), "text/csv"),
            "mapping_file": ("rot map.yaml", mapping, "text/yaml"),
        },
    )
    assert response.status_code == 200, response.text
    assert [r[0] for r in _table(response.text, "added")] == ["NEW-7"]
    rotterdam = site.world.centre_ids["Rotterdam"]
    form = client.get("/upload").text
    assert f'<option value="{rotterdam}/rot_map.yaml">Rotterdam: rot_map.yaml</option>' in form
    page, token2 = _dry_run(client, _csv([row]), mapping=f"{rotterdam}/rot_map.yaml")
    assert token2 is not None and [r[0] for r in _table(page, "added")] == ["NEW-7"]
    broken = client.post(
        "/upload",
        data={"csrf_token": token},
        files={
            "patients": ("centre.csv", _csv([row]), "text/csv"),
            "mapping_file": ("bad.yaml", b"colour: red\n", "text/yaml"),
        },
    )
    assert broken.status_code == 400 and "mapping file" in broken.text and "colour" in broken.text


def test_the_importers_size_limit_applies_to_an_upload(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(site, "dm_rot", tmp_path)
    content = _csv([patient("BIG-1"), patient("BIG-2")])
    monkeypatch.setenv("BASSINET_MAX_INPUT_BYTES", str(len(content) - 1))
    page, token = _dry_run(client, content)
    assert token is None
    assert f"centre.csv is larger than the import&#39;s limit of {len(content) - 1:,} bytes" in page
    assert list((tmp_path / "pending").iterdir()) == []  # nothing kept
    assert _patient(site, "BIG-1") is None


# -- cold review (issue 19): what each file holds, templates from the import's definitions,
# and a user who may not import refused alike on every upload route.


def test_the_upload_page_lists_each_file_kinds_columns_with_meaning_and_allowed_values(
    site: Site, tmp_path: Path
) -> None:
    from bassinet.registry.sheets import SHEETS

    page = _client(site, "dm_rot", tmp_path).get("/upload").text
    for kind, sheet in SHEETS.items():
        assert f'href="/upload/template/{kind}.csv"' in page
        for column in sheet.columns:
            assert f'<th scope="row"><code>{column.name}</code></th>' in page
    assert "<td>one of M (male), F (female)</td>" in page
    assert "<td>a number from 0 to 5,000</td>" in page  # wbc, from the import's bounds
    assert "<td>a number from 0 to 5,000,000</td>" in page  # day-8 blasts
    assert "<td>Treating centre&#39;s name.</td>" in page


@pytest.mark.parametrize("kind", ["patients", "remissions", "mrd", "courses", "transplants", "events"])
def test_a_template_is_the_imports_header_and_an_example_row_that_the_import_reads(
    site: Site, tmp_path: Path, kind: str
) -> None:
    from bassinet.registry.sheets import SHEETS

    response = _client(site, "dm_rot", tmp_path).get(f"/upload/template/{kind}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="bassinet-{kind}-template.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [c.name for c in SHEETS[kind].columns]
    assert len(rows) == 2
    example = dict(zip(rows[0], rows[1], strict=True))
    assert all(example[c.name] for c in SHEETS[kind].columns if c.required)
    assert example["study_id"] == "EXAMPLE-001"


def test_the_patients_template_passes_the_imports_dry_run(site: Site, tmp_path: Path) -> None:
    client = _client(site, "dm_rot", tmp_path)
    template = client.get("/upload/template/patients.csv").content
    page, token = _dry_run(client, template, name="template.csv")
    assert token is not None, page
    assert "EXAMPLE-001" in page and 'id="refused"' not in page


def test_an_unknown_template_kind_is_refused_in_words(site: Site, tmp_path: Path) -> None:
    response = _client(site, "dm_rot", tmp_path).get("/upload/template/secrets.csv")
    assert response.status_code == 400
    assert "no file kind &#39;secrets&#39;" in response.text


@pytest.mark.parametrize("username", ["mon_rot", "cli_rot"])
def test_a_user_who_may_not_import_is_refused_on_every_upload_route_alike(
    site: Site, tmp_path: Path, username: str
) -> None:
    owner = _client(site, "dm_rot", tmp_path)
    _, token = _dry_run(owner, _csv([patient("NEW-COLD")]))
    assert token is not None
    client = _client(site, username, tmp_path)
    form = csrf_of(client.get("/patients").text)
    answers = [
        client.get("/upload"),
        client.post(f"/upload/{token}/confirm", data={"csrf_token": form, "digest": "0" * 64}),
        client.get(f"/upload/{token}/quarantine.csv"),
        client.get("/upload/template/patients.csv"),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert all("Your role does not allow importing data" in a.text for a in answers)
    assert _patient(site, "NEW-COLD") is None
