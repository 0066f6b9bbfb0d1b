"""The patient list's study-protocol column and filter, risk group and leukemia in words, page sizes.

This module's registry (its own, the ``site`` fixture is per module) records Rotterdam's
``ROT-1`` and ``ROT-2`` on Interfant-06 (version 1.0) with the risk groups HR and LR,
Utrecht's ``UTR-1`` on Interfant-99, and nobody else on a protocol; one patient has AML.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from bassinet.registry import models as m
from bassinet.registry import registry_session
from bassinet.web import pages
from tests.web.conftest import Site, sign_in

STUDY_ID = re.compile(r'<a href="/patients/\d+">([^<]+)</a>')


@pytest.fixture(scope="module")
def recorded(site: Site) -> Site:
    """The site with protocols, two risk decisions and one AML patient recorded."""
    ids = site.patient_ids
    with registry_session(site.world.engine, actor="test setup") as session:
        for study_id, protocol, version in (
            ("ROT-1", "Interfant-06", "1.0"),
            ("ROT-2", "Interfant-06", "1.0"),
            ("UTR-1", "Interfant-99", None),
        ):
            session.execute(
                update(m.Patient)
                .where(m.Patient.id == ids[study_id])
                .values(protocol=protocol, protocol_version=version)
            )
        session.execute(update(m.Patient).where(m.Patient.id == ids["MON-2"]).values(leukemia_type="AML"))
        when = dt.datetime(2020, 4, 1, tzinfo=dt.UTC)
        for study_id, group in (("ROT-1", "HR"), ("ROT-2", "LR")):
            session.add(
                m.RiskAssignment(
                    patient_id=ids[study_id], protocol="Interfant-06", version="1.0", risk_group=group,
                    decision={}, decided_at=when,
                )
            )  # fmt: skip
    return site


def listed(html: str) -> list[str]:
    return STUDY_ID.findall(html)


def row_of(html: str, study_id: str) -> str:
    """The table row of ``study_id`` on a page."""
    match = re.search(rf"<tr>\s*<td><a href=\"/patients/\d+\">{re.escape(study_id)}</a>.*?</tr>", html, re.S)
    assert match is not None, study_id
    return match.group(0)


def test_the_list_shows_the_protocol_as_recorded_and_filters_by_it(recorded: Site) -> None:
    client = recorded.client()
    sign_in(recorded, client, "stat")
    page = client.get("/patients").text
    assert "Study protocol" in page
    assert "Interfant-06" in row_of(page, "ROT-1") and "version 1.0" in row_of(page, "ROT-1")
    assert "Interfant-99" in row_of(page, "UTR-1") and "version" not in row_of(page, "UTR-1")
    assert "not recorded" in row_of(page, "MON-1")
    options = re.search(r'<select id="protocol" name="protocol">(.*?)</select>', page, re.S)
    assert options is not None
    assert re.findall(r'<option value="([^"]*)"', options.group(1)) == ["", "Interfant-06", "Interfant-99"]
    on_06 = client.get("/patients", params={"protocol": "Interfant-06"}).text
    assert listed(on_06) == ["ROT-1", "ROT-2"] and "2 patients" in on_06
    assert listed(client.get("/patients", params={"protocol": "Interfant-99"}).text) == ["UTR-1"]
    assert "0 patients" in client.get("/patients", params={"protocol": "Interfant-88"}).text
    for order, first in (("asc", ["ROT-1", "ROT-2", "UTR-1"]), ("desc", ["UTR-1", "ROT-1", "ROT-2"])):
        by_protocol = listed(client.get("/patients", params={"sort": "protocol", "order": order}).text)
        assert by_protocol[:3] == first, order  # the patients on no protocol last, either way
    assert len(by_protocol) == 9


def test_the_protocol_choices_and_rows_stay_in_the_actors_scope(recorded: Site) -> None:
    client = recorded.client()
    sign_in(recorded, client, "dm_rot")
    page = client.get("/patients").text
    options = re.search(r'<select id="protocol" name="protocol">(.*?)</select>', page, re.S)
    assert options is not None
    assert "Interfant-99" not in options.group(1)  # Utrecht's protocol is not Rotterdam's to see
    assert "0 patients" in client.get("/patients", params={"protocol": "Interfant-99"}).text


def test_risk_group_and_leukemia_are_shown_in_words(recorded: Site) -> None:
    client = recorded.client()
    sign_in(recorded, client, "stat")
    page = client.get("/patients").text
    assert "<td>high risk</td>" in row_of(page, "ROT-1")
    assert "<td>low risk</td>" in row_of(page, "ROT-2")
    assert "<td>acute lymphoblastic leukemia</td>" in row_of(page, "ROT-1")
    assert "<td>acute myeloid leukemia</td>" in row_of(page, "MON-2")
    assert "<td>HR</td>" not in page and "<td>ALL</td>" not in page
    options = re.search(r'<select id="risk_group" name="risk_group">(.*?)</select>', page, re.S)
    assert options is not None
    assert re.findall(r'<option value="(\w+)">([^<]+)</option>', options.group(1)) == [
        ("HR", "high risk"),
        ("LR", "low risk"),
    ]
    high = client.get("/patients", params={"risk_group": "HR"}).text
    assert listed(high) == ["ROT-1"]


def test_the_page_size_is_chosen_validated_and_kept_by_the_paging_links(recorded: Site) -> None:
    client = recorded.client(page_size=2)
    sign_in(recorded, client, "stat")
    default = client.get("/patients").text
    assert len(listed(default)) == 2 and "page 1 of 5" in default
    sizes = re.search(r'<select id="size" name="size">(.*?)</select>', default, re.S)
    assert sizes is not None
    assert re.findall(r'<option value="(\d+)"', sizes.group(1)) == ["2", "20", "50", "100"]
    assert 'value="2" selected' in sizes.group(1)
    assert 'href="/patients?sort=study_id&amp;order=asc&amp;page=2"' in default  # the default is not repeated
    twenty = client.get("/patients", params={"size": "20"}).text
    assert len(listed(twenty)) == 9 and "page 1 of" not in twenty
    assert 'value="20" selected' in twenty
    for wrong in ("7", "0", "-20", "x", "100000"):
        refused = client.get("/patients", params={"size": wrong}).text
        assert (
            f"Patients per page &#39;{wrong}&#39; not understood: choose 2, 20, 50, 100; showing 2."
            in refused
        )
        assert len(listed(refused)) == 2


def test_paging_and_sorting_links_keep_the_page_size_and_the_filters(
    recorded: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZES", (3, 20))  # 9 patients: 3 pages of 3
    client = recorded.client(page_size=20)
    sign_in(recorded, client, "stat")
    first = client.get("/patients", params={"size": "3"}).text
    assert len(listed(first)) == 3 and "page 1 of 3" in first
    following = re.search(r'<a href="/patients\?([^"]+)" rel="next">', first)
    assert following is not None
    assert following.group(1) == "sort=study_id&amp;order=asc&amp;page=2&amp;size=3"
    second = client.get("/patients?" + following.group(1).replace("&amp;", "&")).text
    assert len(listed(second)) == 3 and "page 2 of 3" in second
    assert not set(listed(first)) & set(listed(second))
    assert 'rel="prev"' in second and "size=3" in re.search(
        r'<a href="/patients\?([^"]+)" rel="prev">', second
    ).group(1)  # type: ignore[union-attr]
    centre_link = re.search(r'<a href="/patients\?([^"]+)">Centre', second)
    assert centre_link is not None and "size=3" in centre_link.group(1) and "page=1" in centre_link.group(1)
    on_06 = client.get("/patients", params={"size": "3", "protocol": "Interfant-06", "risk_group": "LR"}).text
    assert listed(on_06) == ["ROT-2"]
    link = re.search(r'<a href="/patients\?([^"]+)">Study ID', on_06)
    assert link is not None
    assert "protocol=Interfant-06" in link.group(1) and "risk_group=LR" in link.group(1)
    csv_link = re.search(r'<a href="/patients\.csv\?([^"]*)" download>', on_06)
    assert (
        csv_link is not None
        and "size=" not in csv_link.group(1)
        and "protocol=Interfant-06" in csv_link.group(1)
    )
