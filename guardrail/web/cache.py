"""An on-disk cache of search results and extracted pages, so re-running an audit refetches nothing.

One SQLite file (safe across threads and processes, atomic writes, no half-written entries
after a crash).  Entries expire after ``ttl`` seconds (``ttl=0``: nothing is ever served from
the cache, or stored in it); when the stored values exceed
``max_bytes`` the least recently used ones are evicted.  Values are JSON, never pickles: a
cache file is data, and loading it must not run code.  Failures to read or write the cache
are logged and treated as a miss, because a broken cache must not break a check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guardrail.exceptions import ConfigError

log = logging.getLogger("guardrail.web")

DEFAULT_TTL = 7 * 24 * 3600.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    accessed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_accessed ON entries (accessed);
"""


def cache_key(*parts: Any) -> str:
    """A stable key for a request: the SHA-256 of its parts as canonical JSON."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class WebCache:
    """TTL- and size-bounded key/value store in ``directory/web-cache.sqlite3``."""

    FILENAME = "web-cache.sqlite3"

    def __init__(self, directory: str | Path, *, ttl: float = DEFAULT_TTL,
                 max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time) -> None:
        if not ttl >= 0:  # also refuses NaN, which would make every comparison below false
            raise ConfigError(f"web cache ttl must be 0 or more seconds, got {ttl!r}")
        self.path = Path(directory).expanduser() / self.FILENAME
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def get(self, key: str) -> Any | None:
        if self.ttl <= 0:
            return None
        now = self._clock()
        try:
            with self._lock:
                row = self._db.execute("SELECT value, created FROM entries WHERE key = ?", (key,)).fetchone()
                if row is None:
                    return None
                # ">=": an entry is stale once it is ttl seconds old, so ttl=0 is never a hit,
                # even within one tick of a coarse clock.
                if now - row[1] >= self.ttl:
                    self._db.execute("DELETE FROM entries WHERE key = ?", (key,))
                    return None
                self._db.execute("UPDATE entries SET accessed = ? WHERE key = ?", (now, key))
            return json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            log.warning("web cache read failed (%s); treating as a miss", exc)
            return None

    def put(self, key: str, value: Any, *, kind: str = "") -> None:
        if self.ttl <= 0:  # it could never be read back
            return
        now = self._clock()
        try:
            blob = json.dumps(value, ensure_ascii=False)
            size = len(blob.encode("utf-8"))
            if size > self.max_bytes:
                return
            with self._lock:
                self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                                 (key, kind, blob, size, now, now))
                self._evict(now)
        except (sqlite3.Error, TypeError, ValueError) as exc:
            log.warning("web cache write failed (%s); continuing without it", exc)

    def _evict(self, now: float) -> None:
        self._db.execute("DELETE FROM entries WHERE created <= ?", (now - self.ttl,))
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - self.max_bytes
        doomed: list[str] = []
        for key, size in self._db.execute("SELECT key, size FROM entries ORDER BY accessed, created"):
            doomed.append(key)
            excess -= size
            if excess <= 0:
                break
        self._db.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in doomed])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries")

    def close(self) -> None:
        with self._lock:
            self._db.close()
