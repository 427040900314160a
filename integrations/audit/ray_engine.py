"""``--engine ray``: the same audit on Ray Data, for logs too big for one process.

The driver does the cheap, ordered part (parse lines, reject malformed ones, skip what a
previous run finished) and writes the records still to check as JSONL shards under the
output directory.  Ray Data reads them (``read_json``), an actor pool of ``AuditActor``
(each holding one model) checks them with ``map_batches``, and the driver streams results
back and appends them to ``report.jsonl`` as they finish — so resume, rejects and reports
work exactly as with the local engine.  Several shards, not one file, because Ray Data
schedules a block on one actor: one file would leave every actor but one idle.

On a multi-node cluster the output directory must be on storage every node can read.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .checkpoint import PENDING_DIR
from .formats import AuditRecord

if TYPE_CHECKING:
    from rich.console import Console

    from .runner import AuditOptions, Planned

__all__ = ["AuditActor", "run_ray"]


class AuditActor:
    """Callable class for ``map_batches``: builds the checker once per actor, then checks batches."""

    def __init__(
        self,
        settings: dict[str, Any],
        index: str | None = None,
        web: str | None = None,
        web_url: str | None = None,
        allow_hosts: list[str] | None = None,
    ) -> None:
        from .runner import build_guardrail

        self.guard = build_guardrail(settings, index=index, web=web, web_url=web_url, allow_hosts=allow_hosts or ())

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .runner import check_records

        records = [AuditRecord.from_json(json.loads(s)) for s in batch["record"]]
        results, rejects = check_records(self.guard, records)
        kinds = ["result"] * len(results) + ["reject"] * len(rejects)
        payloads = [json.dumps(r, ensure_ascii=False) for r in (*results, *rejects)]
        return {"kind": np.array(kinds, dtype=object), "payload": np.array(payloads, dtype=object)}


def run_ray(
    work: Iterable[Planned],
    options: AuditOptions,
    write: Callable[[list[dict], list[dict]], None],
    *,
    console: Console,
    expected: int | None = None,
) -> None:
    if not options.ray_address or _is_loopback(options.ray_address):
        # A Ray started here, or one on loopback, is single-node: keep this driver on loopback too,
        # not on the machine's network address, or it cannot find the node (Ray reads this at import).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    import ray.data
    from ray.data import ActorPoolStrategy

    workers = max(1, options.workers)
    pending = Path(options.out) / PENDING_DIR
    shutil.rmtree(pending, ignore_errors=True)
    pending.mkdir(parents=True)
    n = _write_shards(work, pending, write, shard_size=_shard_size(expected, options.batch_size, workers))
    started_here = False
    try:
        if n == 0:
            return
        if not ray.is_initialized():
            if options.ray_address:
                ray.init(address=options.ray_address, log_to_driver=False, logging_level=logging.WARNING)
            else:
                # The read task needs a CPU beside the actors' (two 1-CPU actors on a 2-core
                # machine would starve it), and logical CPUs cost nothing: ask for spare ones.
                ray.init(
                    num_cpus=workers + 2,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
                started_here = True
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # "progress bars disabled", "finished in"
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the audit's own progress bar shows rate and ETA
        ctx.print_on_execution_start = False
        ds = ray.data.read_json(str(pending), lines=True)
        ds = ds.map_batches(
            AuditActor,
            fn_constructor_kwargs={
                "settings": options.settings.model_dump(mode="json"),
                "index": options.index,
                "web": options.web,
                "web_url": options.web_url,
                "allow_hosts": list(options.allow_hosts),
            },
            compute=ActorPoolStrategy(size=workers),
            batch_size=options.batch_size,
            batch_format="numpy",
            num_cpus=1,
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            results, rejects = [], []
            for kind, payload in zip(batch["kind"], batch["payload"], strict=True):
                (results if kind == "result" else rejects).append(json.loads(payload))
            write(results, rejects)
    finally:
        shutil.rmtree(pending, ignore_errors=True)
        if started_here:
            ray.shutdown()


def _shard_size(expected: int | None, batch_size: int, workers: int) -> int:
    """Records per shard file: about four shards per actor, so the work spreads and results
    stream back in small steps, but whole batches, and at most 64 batches (bounded file count)."""
    batch_size = max(1, batch_size)
    if not expected:
        return batch_size * 4
    batches = math.ceil(expected / (workers * 4) / batch_size)
    return batch_size * min(64, max(1, batches))


def _is_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _write_shards(
    work: Iterable[Planned],
    pending: Path,
    write: Callable[[list[dict], list[dict]], None],
    *,
    shard_size: int,
) -> int:
    """Write records to shard files; rejects and skips go straight to the output."""
    n = 0
    fh = None
    try:
        for kind, item in work:
            if kind == "result":
                write([item], [])
            elif kind == "reject":
                write([], [item])
            else:
                if n % shard_size == 0:
                    if fh is not None:
                        fh.close()
                    fh = open(pending / f"part-{n // shard_size:06d}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
                # One string column: Arrow cannot infer a schema for context lists that mix
                # strings and documents across records.
                fh.write(json.dumps({"record": json.dumps(item.to_json(), ensure_ascii=False)}) + "\n")
                n += 1
    finally:
        if fh is not None:
            fh.close()
    return n
