"""The output directory of an audit, written so that a kill at any instant loses nothing.

``report.jsonl`` and ``rejects.jsonl`` are append-only and are the source of truth for what is
done: every result line is flushed and fsynced before the next batch starts, and ``--resume``
rebuilds the done set from them (dropping a half-written last line first); once the audit is
complete, rejects.jsonl is rewritten in line order, atomically.  ``checkpoint.json``
holds what the results depend on (input fingerprint, shape, field map, sample, settings) so
that a resume cannot mix two different audits in one report; it is replaced atomically.
Deriving "done" from the results rather than from a counter in the checkpoint is what makes
a kill between "result written" and "checkpoint written" harmless.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from guardrail import ConfigError

from .inputs import STDIN_SPOOL_PREFIX

__all__ = ["AuditDir", "ResumeError"]

CHECKPOINT_VERSION = 1
PENDING_DIR = ".ray-pending"  # the Ray engine's shards of records still to check


class ResumeError(ConfigError):
    """The output directory cannot be used as asked (exists without --resume, or a different audit).

    A ``ConfigError``: like a bad option, the fix is to change how the audit is invoked.  Its
    messages name the CLI flag and the ``AuditOptions`` field, since both entry points raise it.
    """


class AuditDir:
    """Files of one audit under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.report = self.root / "report.jsonl"
        self.rejects = self.root / "rejects.jsonl"
        self.checkpoint = self.root / "checkpoint.json"
        self.summary = self.root / "summary.json"
        self.html = self.root / "report.html"
        self._files: dict[Path, IO[bytes]] = {}
        self._state: dict[str, Any] = {}

    # -- lifecycle ----------------------------------------------------------------------

    def make_root(self) -> None:
        """Create the directory; one that cannot be (a file, no permission) is a bad ``--out``."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(f"cannot use {self.root} as the output directory (--out): {reason}") from None

    def check_usable(self, *, resume: bool, overwrite: bool) -> bool:
        """Whether the directory holds an audit; ``ResumeError`` when it does and neither
        ``resume`` nor ``overwrite`` says what to do with it.  Cheap: callers about to do long
        work first (``--calibrate``) ask before it, not after."""
        existing = self.checkpoint.exists() or _nonempty(self.report) or _nonempty(self.rejects)
        if existing and not resume and not overwrite:
            raise ResumeError(
                f"{self.root} already holds an audit: continue it with --resume (resume=True) "
                "or start again with --overwrite (overwrite=True)"
            )
        return existing

    def open(self, identity: Mapping[str, Any], *, resume: bool, overwrite: bool = False) -> set[int]:
        """Prepare the directory and return the input line numbers already done."""
        self.make_root()
        existing = self.check_usable(resume=resume, overwrite=overwrite)
        if existing and overwrite:
            for path in (self.report, self.rejects, self.checkpoint, self.summary, self.html):
                path.unlink(missing_ok=True)
            existing = False
        done: set[int] = set()
        if existing:
            previous = self.read_checkpoint()
            if previous is not None:
                _check_same(previous.get("identity", {}), identity)
            for path in (self.report, self.rejects):
                _repair_tail(path)
                done.update(int(r["line"]) for r in read_jsonl(path) if "line" in r)
        now = time.time()
        prior = (self.read_checkpoint() or {}) if existing else {}
        self._state = {
            "version": CHECKPOINT_VERSION,
            "identity": dict(identity),
            "started_at": prior.get("started_at", now),
            "updated_at": now,
            "runs": int(prior.get("runs", 0)) + 1,
            "done": len(done),
            "complete": False,
        }
        self._write_checkpoint()
        return done

    def close(self, *, complete: bool) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        if complete:
            self._sort_rejects()
            self._remove_leftovers()
        if self._state:
            self._state.update(complete=complete, updated_at=time.time())
            self._write_checkpoint()

    # -- appending ----------------------------------------------------------------------

    def append(self, results: Iterable[Mapping[str, Any]] = (), rejects: Iterable[Mapping[str, Any]] = ()) -> int:
        """Append result and reject lines durably; returns how many lines were written."""
        n = 0
        for path, rows in ((self.report, results), (self.rejects, rejects)):
            data = b"".join(json.dumps(r, ensure_ascii=False, default=str).encode() + b"\n" for r in rows)
            if not data:
                continue
            fh = self._files.get(path)
            if fh is None:
                fh = self._files[path] = open(path, "ab")  # noqa: SIM115 - kept open for the run
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            n += data.count(b"\n")
        if n:
            self._state["done"] = int(self._state.get("done", 0)) + n
            self._state["updated_at"] = time.time()
            self._write_checkpoint()
        return n

    # -- reading ------------------------------------------------------------------------

    def read_checkpoint(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.checkpoint.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def results(self) -> Iterator[dict[str, Any]]:
        """Result records in file order, one per input line, streamed (reports can be huge).

        Resume never writes a line twice; the guard keeps the first copy if a file was
        concatenated by hand.
        """
        seen: set[int] = set()
        for r in read_jsonl(self.report):
            line = int(r.get("line", -1))
            if line not in seen:
                seen.add(line)
                yield r

    def rejected(self) -> list[dict[str, Any]]:
        """Rejects in line order, one per input line (the first copy, as ``results`` keeps)."""
        first: dict[int, dict[str, Any]] = {}
        for r in read_jsonl(self.rejects):
            first.setdefault(int(r.get("line", 0)), r)
        return [first[line] for line in sorted(first)]

    def _sort_rejects(self) -> None:
        """Put rejects.jsonl in line order once the audit is finished.

        Appending keeps every reject durable the moment it is known, but rejects found by the
        checker arrive after later lines rejected while parsing (and batches finish out of order
        across workers and resumed runs), so the order is fixed here, when no run appends any more.
        Replaced atomically: a kill leaves the old file or the new one.
        """
        rows = self.rejected()
        if not rows:
            return
        tmp = self.rejects.with_suffix(".jsonl.tmp")
        tmp.write_bytes(b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows))
        os.replace(tmp, self.rejects)

    def _remove_leftovers(self) -> None:
        """Delete what killed runs left: the Ray engine's copy of the records still to check
        and stdin spools.  Their own run removes them unless it was SIGKILLed, and a resume on
        another engine, or of other piped data, would otherwise keep a copy of the log forever.
        Done once the audit is complete, when no run reads them any more."""
        shutil.rmtree(self.root / PENDING_DIR, ignore_errors=True)
        for spool in self.root.glob(f"{STDIN_SPOOL_PREFIX}*.jsonl"):
            spool.unlink(missing_ok=True)

    def _write_checkpoint(self) -> None:
        tmp = self.checkpoint.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self._state, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.checkpoint)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # only a torn last line can be broken, and _repair_tail drops it first
            if isinstance(row, dict):
                yield row


def _nonempty(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _repair_tail(path: Path) -> None:
    """Cut a line left half-written by a kill, so that appending continues on a line boundary."""
    if not _nonempty(path):
        return
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        block = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                break
            pos = start
        else:
            keep = 0
        if keep != size:
            fh.truncate(keep)


def _check_same(previous: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    diffs = [k for k in sorted(set(previous) | set(current)) if previous.get(k) != current.get(k)]
    if not diffs:
        return
    if "input" in diffs:
        raise ResumeError(
            "the input changed since this audit started (size or content differs): "
            "resume with the same file, or start again with --overwrite (overwrite=True)"
        )
    detail = ", ".join(_diff(k, previous.get(k), current.get(k)) for k in diffs)
    raise ResumeError(
        f"--resume (resume=True) with different options than the audit in progress ({detail}); "
        "use the original options, or start again with --overwrite (overwrite=True)"
    )


def _diff(key: str, before: Any, after: Any) -> str:
    """``limit: None -> 100``; for settings only the keys that differ, not two dozen that do not."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        return ", ".join(f"{key}.{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in keys)
    return f"{key}: {before!r} -> {after!r}"
