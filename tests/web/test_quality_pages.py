"""The /quality page: counts per centre and findings of the user's scope, escaped, for readers only."""

from __future__ import annotations

import re

from tests.web.conftest import IMG, SCRIPT, Site, sign_in


def centres_listed(html: str) -> list[str]:
    table = html.split('id="quality-centres"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row">(.*?)</th>', table)


def test_a_centre_data_manager_sees_only_the_centre(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "dm_rot")
    page = client.get("/quality?as_of=2021-06-01")
    assert page.status_code == 200
    assert centres_listed(page.text) == ["Rotterdam"]
    assert "UTR-1" not in page.text and "MON-1" not in page.text
    assert "ROT-1" in page.text
    assert "White cells (WBC) (x10^9/L) is missing: due at diagnosis" in page.text
    assert "wbc is missing" not in page.text


def test_values_from_the_data_are_escaped(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/quality?as_of=2021-06-01")
    assert page.status_code == 200
    assert SCRIPT not in page.text and IMG not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Rotterdam" in centres_listed(page.text) and "Monza" in centres_listed(page.text)


def test_findings_can_be_narrowed_to_a_centre_and_a_check(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/quality?as_of=2022-06-01&centre=Utrecht&check=no_contact")
    findings = page.text.split('id="quality-findings"', 1)[1]
    assert set(re.findall(r">(UTR-\d|ROT-\d|MON-\d)<", findings)) == {"UTR-1", "UTR-2"}
    assert "required" not in findings.split("</table>")[0]


def test_a_date_not_understood_is_said_and_today_used(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "dm_rot")
    page = client.get("/quality?as_of=yesterday")
    assert page.status_code == 200
    assert "As of &#39;yesterday&#39; is not a date (YYYY-MM-DD); today is used." in page.text


def test_an_administrator_is_refused(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "admin")
    assert client.get("/quality").status_code == 403


def test_signed_out_goes_to_sign_in(site: Site) -> None:
    page = site.client().get("/quality", follow_redirects=False)
    assert page.status_code in (302, 303)
    assert page.headers["location"].startswith("/login")
