"""The dashboard is computed once per (scope, data version) and afresh after every write."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from bassinet.application import queries
from bassinet.registry import import_files
from bassinet.registry.corrections import correct
from bassinet.simulate import registry_rows, write_csv
from bassinet.web.cache import ScopeCache
from tests.web.conftest import Site, sign_in


def _patients(html: str) -> int:
    match = re.search(r"(\d+) patients in (\d+) centre", html)
    assert match is not None, "the dashboard names no number of patients"
    return int(match.group(1))


def _accrual(html: str, year: str) -> list[str]:
    """The twelve monthly cells of ``year``'s row of the accrual table."""
    match = re.search(rf'<tr><th scope="row">{year}</th>\s*(.*?)</tr>', html, flags=re.DOTALL)
    assert match is not None, f"no accrual row for {year}"
    return re.findall(r'<td class="num">([^<]*)</td>', match.group(1))[:12]


def _cache(client: TestClient) -> ScopeCache[object]:
    cache: ScopeCache[object] = client.app.state.dashboard_cache  # type: ignore[attr-defined]
    return cache


def test_the_cached_dashboard_changes_after_a_correction_and_an_import(site: Site, tmp_path: Path) -> None:
    client = site.client()
    cache = _cache(client)
    sign_in(site, client, "stat")
    first = client.get("/").text
    assert client.get("/").text == first
    assert (cache.misses, cache.hits) == (1, 1)  # computed once, then served from the cache
    before = _accrual(first, "2020")
    assert before[1] == "" and int(before[2]) >= 2  # every test patient was diagnosed in March 2020

    correct(site.world.engine, "ROT-1", {"diagnosis_date": "2020-02-01"}, reason="typo", actor="test")
    corrected = client.get("/").text
    assert cache.misses == 2
    assert _accrual(corrected, "2020")[1:3] == ["1", str(int(before[2]) - 1)]
    assert _patients(corrected) == _patients(first)

    paths = write_csv(registry_rows(3, seed=7), tmp_path / "more")
    import_files(site.world.engine, paths.pop("patients"), long_sheets=paths, actor="test")
    imported = client.get("/").text
    assert cache.misses == 3
    assert _patients(imported) == _patients(first) + 3
    assert client.get("/").text == imported and cache.misses == 3


def test_users_of_one_scope_share_an_entry_and_each_page_names_its_own_user(site: Site) -> None:
    pages = {}
    app_client = site.client()
    cache = _cache(app_client)
    for username in ("dm_rot", "cli_rot", "stat"):
        client = TestClient(app_client.app)
        sign_in(site, client, username)
        pages[username] = client.get("/").text
    assert (cache.misses, cache.hits, len(cache)) == (2, 1, 2)  # Rotterdam once, the whole study once
    assert "4 patients in 1 centre" in pages["cli_rot"] and "4 patients in 1 centre" in pages["dm_rot"]
    assert "cli_rot" in pages["cli_rot"] and "dm_rot" not in pages["cli_rot"]
    assert "4 patients in 1 centre" not in pages["stat"]


def test_the_data_version_moves_with_every_write_even_one_made_outside_bassinet(site: Site) -> None:
    engine = site.world.engine
    with Session(engine) as session:
        start = queries.data_version(session)
        assert queries.data_version(session) == start  # reading changes nothing
    with engine.begin() as connection:  # by hand: the database's audit triggers record it
        connection.execute(text("UPDATE patient SET wbc = 123 WHERE study_id = 'UTR-1'"))
    with Session(engine) as session:
        after = queries.data_version(session)
    assert after[0] > start[0] and after[1] > start[1]


def test_the_cache_keeps_the_newest_entries_and_computes_a_missing_one_once() -> None:
    cache: ScopeCache[str] = ScopeCache(size=2)
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value.upper()

    assert cache.get("a", lambda: compute("a")) == "A"
    assert cache.get("a", lambda: compute("x")) == "A"  # kept: not computed again
    cache.get("b", lambda: compute("b"))
    cache.get("a", lambda: compute("a"))  # "a" used last: "b" is the oldest
    cache.get("c", lambda: compute("c"))  # size 2: "b" goes
    assert cache.get("b", lambda: compute("b2")) == "B2"
    assert calls == ["a", "b", "c", "b2"] and len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_a_missing_entry_is_computed_by_one_thread_while_the_others_wait() -> None:
    cache: ScopeCache[str] = ScopeCache()
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("slow")
        started.set()
        release.wait(60)
        return "computed"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    started.wait(60)
    waiters = [
        threading.Thread(target=lambda: results.append(cache.get("k", lambda: "again"))) for _ in range(3)
    ]
    for thread in waiters:
        thread.start()
    while cache.waits < 3:  # each waiter has found the entry being computed
        threading.Event().wait(0.01)
    assert cache.get("other", lambda: "free") == "free"  # another key does not wait
    release.set()
    for thread in (first, *waiters):
        thread.join(60)
    assert results == ["computed"] * 4 and calls == ["slow"]
    assert (cache.misses, cache.hits) == (2, 3)


def test_a_failed_computation_is_tried_again_by_the_next_request() -> None:
    cache: ScopeCache[str] = ScopeCache()

    def fail() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        cache.get("k", fail)
    assert cache.get("k", lambda: "ok") == "ok" and len(cache) == 1
