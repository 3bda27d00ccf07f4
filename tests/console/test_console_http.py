"""The console over HTTP (FastAPI's TestClient, no browser): login and cookies, CSRF, escaping of
pool text, pool scope of a limited key, error pages, and what the pages and JSON endpoints carry."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from console_world import HTML_ID, HTML_TEXT
from fastapi.testclient import TestClient

from fewshot.api import create_app
from fewshot.exceptions import InvalidInputError, NotFoundError

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def app(world):
    return create_app(workspace=world.ws)


def login(client: TestClient, key: str) -> str:
    """Log in with ``key``; returns the session's CSRF token."""
    page = client.get("/ui/login")
    token = CSRF_RE.search(page.text).group(1)
    r = client.post("/ui/login", data={"key": key, "csrf_token": token, "next": "/ui/pools"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return token


@pytest.fixture
def admin(app, world) -> Iterator[TestClient]:
    with TestClient(app) as c:
        c.csrf = login(c, world.admin)  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def limited(app, world) -> Iterator[TestClient]:
    with TestClient(app) as c:
        login(c, world.trec_only)
        yield c


# ---------------------------------------------------------------------------------- login
def test_pages_need_a_key_json_endpoints_answer_401(app):
    with TestClient(app) as c:
        r = c.get("/ui/pools/sst5/rounds?x=1", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/ui/login?next=%2Fui%2Fpools%2Fsst5%2Frounds%3Fx%3D1"
        r = c.get("/ui/pools/sst5/map.json")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        # a key sent as the API takes it is not a console session
        assert c.get("/ui/pools", headers={"X-API-Key": "whatever"}, follow_redirects=False).status_code == 303


def test_login_sets_httponly_strict_cookies_and_a_wrong_key_is_refused(app, world):
    with TestClient(app) as c:
        page = c.get("/ui/login")
        token = CSRF_RE.search(page.text).group(1)
        bad = c.post("/ui/login", data={"key": "fsk_nope", "csrf_token": token})
        assert bad.status_code == 401 and "invalid or revoked API key" in bad.text
        ok = c.post("/ui/login", data={"key": world.admin, "csrf_token": token}, follow_redirects=False)
        cookies = ok.headers.get_list("set-cookie")
        key_cookie = next(v for v in cookies if v.startswith("fewshot_key="))
        assert "HttpOnly" in key_cookie and "SameSite=strict" in key_cookie and "Path=/ui" in key_cookie
        assert "Secure" not in key_cookie  # plain http here; see the https test
        assert c.get("/ui/pools").status_code == 200


def test_cookies_are_secure_over_https(app, world):
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/ui/login")
        token = CSRF_RE.search(page.text).group(1)
        ok = c.post("/ui/login", data={"key": world.admin, "csrf_token": token}, follow_redirects=False)
        assert all("Secure" in v for v in ok.headers.get_list("set-cookie"))


def test_login_goes_back_only_to_console_pages(app, world):
    with TestClient(app) as c:
        token = CSRF_RE.search(c.get("/ui/login").text).group(1)
        for target, expected in [
            ("/ui/pools/sst5/map", "/ui/pools/sst5/map"),
            ("//evil.example/ui/", "/ui/pools"),
            ("https://evil.example/", "/ui/pools"),
        ]:
            r = c.post(
                "/ui/login", data={"key": world.admin, "csrf_token": token, "next": target}, follow_redirects=False
            )
            assert r.headers["location"] == expected


def test_a_revoked_key_ends_the_session(app, world):
    secret, info = world.ws.keys.create("short-lived")
    with TestClient(app) as c:
        login(c, secret)
        assert c.get("/ui/pools").status_code == 200
        world.ws.keys.revoke(info.id)
        assert c.get("/ui/pools", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------------- CSRF
def test_state_changing_forms_need_the_csrf_token(app, admin, world):
    with TestClient(app) as fresh:
        fresh.get("/ui/login")
        r = fresh.post("/ui/login", data={"key": world.admin})  # no token
        assert r.status_code == 403 and "CSRF" in r.text
        r = fresh.post("/ui/login", data={"key": world.admin, "csrf_token": "x" * 43})  # not the cookie's
        assert r.status_code == 403
    upload = {"file": ("labels.jsonl", b'{"id": "sst5-train-0", "label": "great"}\n', "application/json")}
    url = f"/ui/pools/sst5/rounds/{world.round2}/labels"
    before = world.ws.pools.count_examples("sst5", status="labeled")
    assert admin.post(url, files=upload).status_code == 403
    assert admin.post(url, files=upload, data={"csrf_token": "forged" * 8}).status_code == 403
    assert world.ws.pools.count_examples("sst5", status="labeled") == before  # nothing applied
    assert admin.post("/ui/logout", data={}).status_code == 403
    assert admin.get("/ui/pools").status_code == 200  # still logged in


def test_logout_clears_the_session(app, world):
    with TestClient(app) as c:
        token = login(c, world.admin)
        r = c.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        assert c.get("/ui/pools", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------------- escaping
def test_pool_text_is_escaped_everywhere(admin, world):
    pages = [f"/ui/pools/sst5/rounds/{world.round1}", *(f"/ui/prompts/{p}" for p in world.prompt_ids)]
    seen = 0
    for url in pages:
        r = admin.get(url)
        assert r.status_code == 200
        assert "<script>window.__pwned" not in r.text and '<b id="injected">' not in r.text
        assert "<script>alert(1)" not in r.text
        seen += "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in r.text
    assert seen >= 1  # the HTML item is in round 1 (it is labeled) and shows as text
    r = admin.get(f"/ui/pools/sst5/playground?query={HTML_TEXT}&k=3")
    assert "&lt;script&gt;" in r.text and "<script>window" not in r.text
    # no inline script can run even if something slipped through
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_hover_texts_are_json_not_markup(admin, world):
    html_id = next(
        e.id for e in world.ws.list_examples("sst5", status="labeled", limit=100) if e.external_id == HTML_ID
    )
    r = admin.get(f"/ui/pools/sst5/texts?ids={html_id}")
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()[str(html_id)]["text"] == HTML_TEXT


# ---------------------------------------------------------------------------------- scope
def test_a_limited_key_cannot_open_another_pools_pages(limited, world):
    pages = [
        "/ui/pools/sst5",
        "/ui/pools/sst5/budget",
        "/ui/pools/sst5/map",
        f"/ui/pools/sst5/rounds/{world.round1}",
        "/ui/pools/sst5/playground?query=film",
        f"/ui/prompts/{world.prompt_ids[0]}",
        "/ui/prompts?pool=sst5",
    ]
    for url in pages:
        r = limited.get(url)
        assert r.status_code == 403, url
        assert "may not access pool &#39;sst5&#39;" in r.text
    for url in ["/ui/pools/sst5/map.json", "/ui/pools/sst5/budget.json", "/ui/pools/sst5/texts?ids=1"]:
        r = limited.get(url)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", url
    r = limited.get(f"/ui/pools/sst5/rounds/{world.round2}/export?format=jsonl")
    assert r.status_code == 403
    # the same refusal for a pool that does not exist: no existence oracle
    assert limited.get("/ui/pools/no-such-pool").status_code == 403
    pools = limited.get("/ui/pools").text
    assert 'data-pool="trec"' in pools and 'data-pool="sst5"' not in pools
    search = limited.get("/ui/prompts").text
    assert "0 prompts" in search and world.prompt_ids[0] not in search
    assert limited.get("/ui/pools/trec").status_code == 200


def test_unknown_things_are_404_pages(admin):
    r = admin.get("/ui/pools/no-such-pool/rounds")
    assert r.status_code == 404 and "pool &#39;no-such-pool&#39; does not exist" in r.text
    assert admin.get("/ui/pools/sst5/rounds/999").status_code == 404
    assert admin.get("/ui/prompts/" + "0" * 32).status_code == 404
    assert admin.get("/ui/pools/sst5/map?method=tsne").status_code == 422


def test_console_is_not_in_the_api_contract(admin):
    paths = admin.get("/openapi.json").json()["paths"]
    assert paths and not any(p.startswith("/ui") for p in paths)


# ---------------------------------------------------------------------------------- pages
def test_pools_page_shows_counts_model_template_index_and_rounds(admin, world):
    text = admin.get("/ui/pools").text
    info = world.ws.pools.get("sst5")
    card = text[text.index('data-pool="sst5"') :]
    assert f'data-count="labeled">{info.counts["labeled"]}<' in card
    assert f'data-count="selected">{info.counts["selected"]}<' in card
    assert info.embedding_model in card
    assert "Index version</dt><dd>1<" in card.replace("\n", "")
    assert f"#{world.round2} votek (12)" in card


def test_budget_json_has_the_curve_and_recommendation(admin, world):
    body = admin.get("/ui/pools/sst5/budget.json?method=random").json()
    budgets = [r["budget"] for r in body["rows"]]
    assert budgets == sorted(budgets) and len(budgets) >= 3
    assert body["recommended"] in budgets
    assert all(0 <= r["coverage"] <= 1 for r in body["rows"])


def test_round_export_downloads_valid_files(admin, world):
    url = f"/ui/pools/sst5/rounds/{world.round2}/export"
    todo = [i.external_id for i in world.ws.selection.get_round("sst5", world.round2).items if i.label is None]
    r = admin.get(url, params={"format": "jsonl"})
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["id"] for row in rows] == todo and {"id", "text", "score", "position"} <= set(rows[0])
    assert "attachment" in r.headers["content-disposition"]
    every = admin.get(url, params={"format": "jsonl", "only_unlabeled": "false"}).text.splitlines()
    assert len(every) == 12
    tasks = admin.get(url, params={"format": "labelstudio"}).json()
    assert len(tasks) == len(todo) and "data" in tasks[0]
    config = admin.get(url, params={"format": "labelstudio", "part": "config"})
    assert config.text.lstrip().startswith("<View") and "<Choices" in config.text
    records = admin.get(url, params={"format": "argilla"}).json()
    assert len(records) == len(todo)
    assert admin.get(url, params={"format": "xlsx"}).status_code == 422


def test_label_import_shows_the_report(admin, world):
    todo = [i for i in world.ws.selection.get_round("sst5", world.round2).items if i.label is None]
    url = f"/ui/pools/sst5/rounds/{world.round2}/labels"
    bad = "\n".join(json.dumps({"id": i, "label": "great"}) for i in ["no-such-id", todo[0].external_id])
    r = admin.post(
        url, files={"file": ("labels.jsonl", bad.encode(), "application/json")}, data={"csrf_token": admin.csrf}
    )
    assert r.status_code == 422 and 'id="report-problems">1<' in r.text and "unknown_id" in r.text
    assert world.ws.selection.get_round("sst5", world.round2).items[todo[0].position].label is None  # all or nothing
    three = todo[:3]
    good = "\n".join(json.dumps({"id": i.external_id, "label": world.gold[i.external_id]}) for i in three)
    r = admin.post(
        url, files={"file": ("labels.jsonl", good.encode(), "application/json")}, data={"csrf_token": admin.csrf}
    )
    assert r.status_code == 200 and 'id="report-applied">3<' in r.text
    after = world.ws.selection.get_round("sst5", world.round2).items
    assert [after[i.position].label for i in three] == [world.gold[i.external_id] for i in three]


def test_prompt_page_shows_demonstrations_retriever_index_and_rendered_prompt(admin, world):
    pid = world.prompt_ids[0]
    log = world.ws.prompt_log(pid)
    text = admin.get(f"/ui/prompts/{pid}").text
    assert 'id="prompt-retriever">dense<' in text and 'id="prompt-index">1<' in text
    for demo_id in log["demo_ids"]:
        assert f"<code>{demo_id}</code>" in text
    assert 'id="rendered">' in text and "a gorgeous, witty film" in text


def test_playground_compares_two_retrievers(admin):
    text = admin.get("/ui/pools/sst5/playground", params={"query": "a witty film", "retriever2": "bm25", "k": 3}).text
    assert text.count('class="card side"') == 2
    assert text.count('<tr class="demo">') == 6
    assert text.count('<pre class="prompt">') == 2


# ---------------------------------------------------------------------------------- services
def test_provenance_search_by_id_pool_time_and_pages(world):
    ws = world.ws
    every = ws.provenance.search(pool="sst5")
    assert every.total == len(world.prompt_ids)
    assert [r["id"] for r in every.items] == world.prompt_ids[::-1]  # newest first
    one = ws.provenance.search(prompt_id=world.prompt_ids[1][:10])
    assert [r["id"] for r in one.items] == [world.prompt_ids[1]]
    page = ws.provenance.search(pool="sst5", limit=2, offset=2)
    assert page.total == 3 and len(page.items) == 1 and not page.has_next
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert ws.provenance.search(since=future).total == 0
    assert ws.provenance.search(until=future).total == 3
    assert ws.provenance.search(readable=lambda p: p == "trec").total == 0
    with pytest.raises(NotFoundError):
        ws.provenance.search(pool="no-such-pool")
    with pytest.raises(InvalidInputError, match="until"):
        ws.provenance.search(since=future, until=future)
    with pytest.raises(InvalidInputError, match="prompt id"):
        ws.provenance.search(prompt_id="%_")


def test_pool_map_keeps_chosen_items_and_caches_per_vector_version(world, tmp_path):
    ws = world.ws
    full = ws.pool_map.points("sst5")
    assert full.total == full.shown == 301 and full.missing == 0
    small = ws.pool_map.points("sst5", max_points=10)
    chosen = full.counts["selected"] + full.counts["labeled"]
    assert small.shown == chosen  # every selected/labeled item kept beyond max_points
    assert {small.statuses[s] for s in small.status} == {"selected", "labeled"}
    assert small.vector_version == full.vector_version and small.cached
    assert all(0 <= v <= 1 for v in full.x + full.y)
    files = list((ws.settings.home / "maps").rglob("pca-*.npz"))
    assert [f.stem for f in files if "pool-" in str(f)] and any(full.vector_version in f.stem for f in files)
    ws.create_pool("map-cache")
    ws.add_records("map-cache", [{"id": "a", "text": "Who painted the ceiling of the Sistine Chapel ?"}])
    ws.add_records("map-cache", [{"id": "b", "text": "What is the capital of Peru ?"}])
    ws.embed("map-cache")
    before = ws.pool_map.points("map-cache")
    ws.add_records("map-cache", [{"id": "c", "text": "How far is the moon from the earth ?"}])
    ws.embed("map-cache")
    after = ws.pool_map.points("map-cache")
    assert after.vector_version != before.vector_version and not after.cached and after.total == before.total + 1
