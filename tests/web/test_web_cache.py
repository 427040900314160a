"""The on-disk cache: TTL, size bound (LRU), persistence, and failing soft."""

from __future__ import annotations

from pathlib import Path

import pytest
from webworld import LocalServer, html_page, html_reply, json_reply

from guardrail.exceptions import ConfigError
from guardrail.web import WebRetriever
from guardrail.web.cache import WebCache, cache_key


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_round_trip_and_persistence(tmp_path: Path) -> None:
    cache = WebCache(tmp_path)
    cache.put("k", {"hits": [1, 2, "é"]}, kind="search")
    cache.close()
    reopened = WebCache(tmp_path)
    assert reopened.get("k") == {"hits": [1, 2, "é"]}
    assert reopened.get("missing") is None
    reopened.close()


def test_entries_expire_after_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    cache = WebCache(tmp_path, ttl=60, clock=clock)
    cache.put("k", "v")
    clock.now += 59
    assert cache.get("k") == "v"
    clock.now += 2
    assert cache.get("k") is None
    assert len(cache) == 0


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    clock = Clock()
    cache = WebCache(tmp_path, max_bytes=3_500, clock=clock)
    for name in ("a", "b", "c"):
        cache.put(name, "x" * 1000)
        clock.now += 1
    assert cache.get("a") is not None  # touch "a": "b" is now the least recently used
    clock.now += 1
    cache.put("d", "x" * 1000)
    assert cache.get("b") is None
    assert all(cache.get(k) is not None for k in ("a", "c", "d"))
    assert cache.size_bytes <= 3_500


def test_value_larger_than_the_bound_is_not_stored(tmp_path: Path) -> None:
    cache = WebCache(tmp_path, max_bytes=100)
    cache.put("big", "x" * 1000)
    assert cache.get("big") is None


def test_a_corrupt_cache_file_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    cache = WebCache(tmp_path)
    cache.put("k", "v")
    cache._db.execute("UPDATE entries SET value = 'not json{'")
    assert cache.get("k") is None
    cache.put("k2", object())  # not JSON-serialisable: logged and skipped
    assert cache.get("k2") is None


def test_cache_key_is_stable_and_distinct() -> None:
    assert cache_key("search", "searxng", "q", 5) == cache_key("search", "searxng", "q", 5)
    assert cache_key("search", "searxng", "q", 5) != cache_key("search", "searxng", "q", 6)


def test_unusable_cache_location_runs_uncached(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    web = WebRetriever.from_options("searxng", "http://127.0.0.1:9", cache_dir=blocker)
    assert web.cache is None
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / WebCache.FILENAME).write_bytes(b"this is not a database" * 100)
    assert WebRetriever.from_options("searxng", "http://127.0.0.1:9", cache_dir=tmp_path / "db").cache is None


def test_ttl_zero_is_never_a_hit(tmp_path: Path) -> None:
    clock = Clock()  # the clock does not move: a put and a get in the same tick
    cache = WebCache(tmp_path, ttl=0, clock=clock)
    cache.put("k", "v")
    assert cache.get("k") is None
    assert len(cache) == 0  # nothing is stored that could never be read back
    cache.close()
    # An entry written under a positive ttl is not served to a ttl=0 reader either.
    writer = WebCache(tmp_path, ttl=60, clock=clock)
    writer.put("k", "v")
    reader = WebCache(tmp_path, ttl=0, clock=clock)
    assert reader.get("k") is None
    assert writer.get("k") == "v"
    reader.close()
    writer.close()


def test_an_entry_exactly_ttl_old_has_expired(tmp_path: Path) -> None:
    clock = Clock()
    cache = WebCache(tmp_path, ttl=60, clock=clock)
    cache.put("k", "v")
    clock.now += 60
    assert cache.get("k") is None


def test_a_negative_ttl_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ttl"):
        WebCache(tmp_path, ttl=-1)
    with pytest.raises(ConfigError, match="ttl"):
        WebCache(tmp_path, ttl=float("nan"))


def test_retriever_with_cache_ttl_zero_refetches(server: LocalServer, tmp_path: Path) -> None:
    server.route("/page", html_reply(html_page("Page", ["The tower was completed in 1889."])))
    server.route("/search", json_reply({"results": [{"url": server.url("/page"), "title": "", "content": ""}]}))
    web = WebRetriever.from_options("searxng", server.url(""), ["127.0.0.1"], cache_dir=tmp_path, cache_ttl=0,
                                    timeout=3)
    web.retrieve("tower 1889", 2)
    web.retrieve("tower 1889", 2)
    assert server.hits["/search"] == 2 and server.hits["/page"] == 2
    web.close()
