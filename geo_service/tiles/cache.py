"""The server-side tile cache: an in-memory LRU in front of files under <home>/tiles.

A key names everything a tile depends on: the layers with their `version` (bumped by a database
trigger on any edit or import), the tile, the format and the query. An edit therefore makes every
older tile of the layer unreachable at once, in every worker, with nothing to purge; the files of
older versions are removed when a newer version of the same layers is first written.
The ETag is derived from the key alone, so `If-None-Match` is answered without building the tile.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path


def digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def etag(key: str) -> str:
    """The strong ETag of the tile under `key` (quoted, as sent in the header)."""
    return f'"{digest(key)}"'


def matches(if_none_match: str | None, tags: tuple[str, ...]) -> bool:
    """Whether an If-None-Match header names one of `tags` (or is `*`)."""
    if not if_none_match:
        return False
    sent = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in sent or not sent.isdisjoint(tags)


class TileCache:
    """Bytes by key, at most `max_bytes` in memory and, when `root` is set, all on disk.

    `group` gathers the keys of one state of some layers (for instance `concessions` at
    version 12); writing a new group of the same `family` removes the older groups' files.
    """

    def __init__(self, root: Path | None, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._known_groups: dict[str, str] = {}

    def get(self, family: str, group: str, key: str) -> bytes | None:
        name = digest(key)
        with self._lock:
            data = self._memory.get(name)
            if data is not None:
                self._memory.move_to_end(name)
                return data
        if self.root is None:
            return None
        try:
            data = self._path(family, group, name).read_bytes()
        except OSError:
            return None
        self._remember(name, data)
        return data

    def put(self, family: str, group: str, key: str, data: bytes) -> None:
        name = digest(key)
        self._remember(name, data)
        if self.root is None:
            return
        path = self._path(family, group, name)
        if self._known_groups.get(family) != group:
            self._drop_older_groups(family, group)
        # The disk copy is a bonus: another thread (or worker) that has just seen a newer
        # version may be removing this group's folder right now, and then the tile stays in
        # memory only. Written under another name and renamed, so a reader never sees half.
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            self._size = 0
            self._known_groups.clear()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _remember(self, name: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._memory.pop(name, None)
            self._size += len(data) - (len(old) if old is not None else 0)
            self._memory[name] = data
            while self._size > self.max_bytes:
                _, dropped = self._memory.popitem(last=False)
                self._size -= len(dropped)

    def _path(self, family: str, group: str, name: str) -> Path:
        assert self.root is not None
        return self.root / digest(family) / digest(group) / name[:2] / name

    def _drop_older_groups(self, family: str, group: str) -> None:
        assert self.root is not None
        folder = self.root / digest(family)
        keep = digest(group)
        if folder.is_dir():
            for child in folder.iterdir():
                if child.name != keep:
                    shutil.rmtree(child, ignore_errors=True)
        self._known_groups[family] = group
