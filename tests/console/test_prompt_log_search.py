"""`fewshot.store.prompt_log_search` on both backends: time bounds (UTC, aware or naive), id
prefixes (LIKE wildcards taken literally), pool lists, pages and totals."""

from __future__ import annotations

import datetime as dt

from fewshot.store import prompt_log_search, prompt_logs

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def _log(pool_id: int, n: int, minutes: int) -> dict:
    return dict(
        id=f"{n:02d}" + "a" * 30,
        pool_id=pool_id,
        query_hash="h",
        query=f"query {n}",
        retriever="dense",
        template="default",
        demo_ids=["x", "y"],
        scores=[0.5, 0.4],
        n_tokens=10,
        params={},
        created_at=T0 + dt.timedelta(minutes=minutes),
    )


def test_search_by_time_id_pool_and_page(ws):
    a = ws.create_pool("a").id
    b = ws.create_pool("b").id
    with ws.session() as s:
        prompt_logs.add_logs(s, [_log(a, n, n) for n in range(5)] + [_log(b, 10 + n, n) for n in range(3)])
    with ws.session() as s:
        rows, total = prompt_log_search.search_logs(s, pool_ids=[a])
        assert total == 5 and [r["query"] for r in rows] == [f"query {n}" for n in (4, 3, 2, 1, 0)]
        assert rows[0]["pool"] == "a" and rows[0]["n_demos"] == 2
        since, until = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=3)
        rows, total = prompt_log_search.search_logs(s, pool_ids=[a], since=since, until=until)
        assert total == 2 and [r["query"] for r in rows] == ["query 2", "query 1"]  # [since, until)
        naive = since.replace(tzinfo=None)  # read as UTC
        assert prompt_log_search.search_logs(s, pool_ids=[a], since=naive)[1] == 4
        other_zone = since.astimezone(dt.timezone(dt.timedelta(hours=5)))  # the same instant
        assert prompt_log_search.search_logs(s, pool_ids=[a], since=other_zone)[1] == 4
        rows, total = prompt_log_search.search_logs(s, id_prefix="1")
        assert total == 3 and {r["pool"] for r in rows} == {"b"}
        assert prompt_log_search.search_logs(s, id_prefix="%")[1] == 0  # a wildcard is a character
        assert prompt_log_search.search_logs(s, id_prefix="0_")[1] == 0
        rows, total = prompt_log_search.search_logs(s, limit=3, offset=6)
        assert total == 8 and len(rows) == 2
        assert prompt_log_search.search_logs(s, pool_ids=[]) == ([], 0)
        assert prompt_log_search.all_pool_ids(s) == {"a": a, "b": b}
