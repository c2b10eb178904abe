"""The tile cache: memory LRU bounded in bytes, files on disk, older versions dropped."""

from __future__ import annotations

from geo_service.tiles.cache import TileCache, etag, matches


def test_memory_cache_keeps_the_most_recent_within_its_budget():
    cache = TileCache(None, max_bytes=25)
    cache.put("f", "g", "a", b"x" * 10)
    cache.put("f", "g", "b", b"y" * 10)
    assert cache.get("f", "g", "a") == b"x" * 10  # a is now the most recent
    cache.put("f", "g", "c", b"z" * 10)
    assert cache.get("f", "g", "b") is None
    assert cache.get("f", "g", "a") == b"x" * 10
    assert cache.get("f", "g", "c") == b"z" * 10


def test_disk_cache_survives_a_new_process_and_drops_older_versions(tmp_path):
    first = TileCache(tmp_path, max_bytes=1000)
    first.put("roads", "roads:v1", "roads:v1|0/0/0", b"old")
    first.put("roads", "roads:v1", "roads:v1|1/0/0", b"")
    second = TileCache(tmp_path, max_bytes=1000)
    assert second.get("roads", "roads:v1", "roads:v1|0/0/0") == b"old"
    assert second.get("roads", "roads:v1", "roads:v1|1/0/0") == b""  # empty tiles are kept too
    second.put("roads", "roads:v2", "roads:v2|0/0/0", b"new")
    third = TileCache(tmp_path, max_bytes=1000)
    assert third.get("roads", "roads:v1", "roads:v1|0/0/0") is None
    assert third.get("roads", "roads:v2", "roads:v2|0/0/0") == b"new"
    assert not list(tmp_path.rglob(".tmp-*"))


def test_etags_are_strong_and_follow_the_key():
    tag = etag("a|1/2/3")
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag == etag("a|1/2/3") != etag("a|1/2/4")
    assert matches(f'"other", {tag}', (tag,))
    assert matches(f"W/{tag}", (tag,))  # weak comparison, as RFC 9110 asks for If-None-Match
    assert matches("*", (tag,))
    assert not matches('"other"', (tag,))
    assert not matches(None, (tag,))
