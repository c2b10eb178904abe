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


def test_writers_of_old_and_new_versions_at_once_never_fail(tmp_path) -> None:
    """An edit's new version drops the old version's files while other threads still write
    tiles of it: those writes lose their disk copy, never the request (the memory keeps it)."""
    import threading

    cache = TileCache(tmp_path / "tiles", 10_000_000)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(300):
                group = f"layer:1:{n % 7}"  # versions going back and forth as edits land
                key = f"mvt|{group}|{worker}/{n}"
                cache.put("layer", group, key, b"tile %d" % n)
                assert cache.get("layer", group, key) == b"tile %d" % n
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not list((tmp_path / "tiles").rglob(".tmp-*"))  # no half-written file left
