"""Where log lines come from: a file, a gzip file, or stdin, with a fingerprint for ``--resume``.

Stdin is spooled to a temporary file first: the audit reads its input twice (a counting pass
for the progress bar and sampling, then the real pass), and the spool's hash lets ``--resume``
check that the same data was piped again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from guardrail import ConfigError

__all__ = ["InputSource", "UnreadableInput", "open_input"]

_GZIP_MAGIC = b"\x1f\x8b"
STDIN_SPOOL_PREFIX = "audit-stdin-"  # AuditDir removes spools a SIGKILLed run left behind
_BOM = "\ufeff"  # Windows tools (PowerShell, Excel, Notepad) start UTF-8 files with it
_HEAD = 1 << 20  # bytes hashed at each end of a file: enough to tell logs apart, cheap for GBs


class UnreadableInput(ConfigError):
    """The input cannot be read to its end (a truncated or corrupt gzip file).

    A ``ConfigError`` (exit 2, like a missing input): found by the counting pass, before
    anything is written, rather than as an "Aborted." halfway through the audit.
    """


@dataclass(frozen=True)
class InputSource:
    """A readable copy of the input; ``name`` is what the user passed."""

    name: str
    path: Path
    fingerprint: str
    spooled: bool = False

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based line number, text) of every non-blank line; a leading BOM is not text."""
        for i, raw in self._raw_lines():
            text = _text(i, raw)
            if text:
                yield i, text

    def line_numbers(self) -> list[int]:
        """Line numbers of non-blank lines (the counting pass).

        Blank is decided as ``lines`` decides it: a line of non-ASCII spaces counted here but
        never yielded there would stay "to do" forever and be counted in scope.
        """
        return [i for i, raw in self._raw_lines() if _text(i, raw)]

    def select(self, *, limit: int | None, sample: int | None, seed: int) -> set[int] | None:
        """Line numbers to audit: a seeded sample of ``sample`` lines, then the first ``limit``.

        None means every line (no counting pass needed to decide).
        """
        if limit is None and sample is None:
            return None
        lines = self.line_numbers()
        if sample is not None and sample < len(lines):
            lines = sorted(random.Random(seed).sample(lines, sample))
        if limit is not None:
            lines = lines[:limit]
        return set(lines)

    def cleanup(self) -> None:
        if self.spooled:
            self.path.unlink(missing_ok=True)

    def _raw_lines(self) -> Iterator[tuple[int, bytes]]:
        i = 0
        try:
            with self._open() as fh:
                for i, raw in enumerate(fh, start=1):
                    yield i, raw
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise UnreadableInput(
                f"{self.name}: the gzip data is truncated or corrupt after line {i} ({exc}); "
                "recompress or repair it (zcat FILE | guardrail audit - ... reads what is left)"
            ) from None

    def _open(self) -> BinaryIO:
        fh = open(self.path, "rb")  # noqa: SIM115 - returned to the caller's with-block
        if fh.read(2) == _GZIP_MAGIC:
            fh.seek(0)
            return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
        fh.seek(0)
        return fh


def open_input(name: str, *, spool_dir: Path | None = None) -> InputSource:
    """An ``InputSource`` for a path (plain or gzip, detected by magic bytes) or ``-`` for stdin."""
    if name == "-":
        fd, tmp = tempfile.mkstemp(prefix=STDIN_SPOOL_PREFIX, suffix=".jsonl", dir=spool_dir)
        with os.fdopen(fd, "wb") as out:
            # CliRunner and some embedders give a text-only stdin.
            stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode())
            shutil.copyfileobj(stdin, out)
        path = Path(tmp)
        return InputSource(name="-", path=path, fingerprint=_fingerprint(path), spooled=True)
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no such input file: {name}")
    return InputSource(name=name, path=path, fingerprint=_fingerprint(path))


def _text(line_no: int, raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    if line_no == 1:
        text = text.removeprefix(_BOM)
    return text.strip()


def _fingerprint(path: Path) -> str:
    """Size plus hashes of the first and last MiB: changes when the log is edited or replaced."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(_HEAD))
        if size > 2 * _HEAD:
            fh.seek(size - _HEAD)
            h.update(fh.read(_HEAD))
        elif size > _HEAD:
            h.update(fh.read())
    return f"{size}:{h.hexdigest()[:32]}"
