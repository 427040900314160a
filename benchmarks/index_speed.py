"""How fast the evidence index builds and answers: ``python benchmarks/index_speed.py [--n 10000]``.

Builds an index of ``--n`` synthetic passages (about 100 characters each, one chunk apiece)
with the bundled all-MiniLM-L6-v2 (or ``--model``), saves and reloads it, then times single
searches (query embedding + FAISS), FAISS alone, and batched ``search_many``.  Prints a table;
numbers depend on the CPU and on what else runs on it, so note both when quoting them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from guardrail.embeddings import load_embedder
from guardrail.index import EvidenceIndex

SUBJECTS = ["The warehouse", "The river", "The museum", "The satellite", "The bridge", "The library",
            "The vaccine", "The telescope", "The orchestra", "The railway"]
VERBS = ["was opened in", "was renovated in", "was first described in", "reached its peak in",
         "was moved to a new site in", "received an award in"]


def passages(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} number {i} {rng.choice(VERBS)} {rng.randint(1800, 2024)} and serves "
            f"about {rng.randint(1, 900)} thousand people in region {rng.randint(1, 60)}." for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="passages to index")
    parser.add_argument("--queries", type=int, default=200, help="single searches to time")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--model", default=None, help="sentence-transformers name or path (default: bundled)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice; 1 is faster on a busy CPU)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    rows: list[tuple[str, str]] = []
    started = time.perf_counter()
    embedder = load_embedder(args.model)
    rows.append(("model load", f"{time.perf_counter() - started:.2f} s"))

    texts = passages(args.n)
    index = EvidenceIndex(args.model)
    started = time.perf_counter()
    index.add_texts(texts)
    build = time.perf_counter() - started
    rows.append((f"build ({args.n:,} passages: embed + add)",
                 f"{build:.1f} s ({args.n / build:,.0f} passages/s)"))

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index.save(Path(tmp) / "idx")
        rows.append(("save", f"{(time.perf_counter() - started) * 1000:.0f} ms"))
        size = sum(f.stat().st_size for f in (Path(tmp) / "idx").iterdir())
        rows.append(("size on disk", f"{size / 1e6:.1f} MB"))
        started = time.perf_counter()
        index = EvidenceIndex.load(Path(tmp) / "idx")
        rows.append(("load (model cached)", f"{(time.perf_counter() - started) * 1000:.0f} ms"))

    rng = random.Random(1)
    queries = [rng.choice(texts).split(" and ")[0] for _ in range(args.queries)]
    index.search(queries[0], args.k)  # warm-up
    single = []
    for q in queries:
        started = time.perf_counter()
        index.search(q, args.k)
        single.append((time.perf_counter() - started) * 1000)
    rows.append((f"search, k={args.k} (embed query + FAISS) p50 / p95",
                 f"{percentile(single, 50):.1f} / {percentile(single, 95):.1f} ms"))

    vectors = embedder.encode(queries)
    faiss_only = []
    for i in range(len(queries)):
        started = time.perf_counter()
        index._faiss.search(vectors[i:i + 1], args.k)
        faiss_only.append((time.perf_counter() - started) * 1000)
    rows.append(("FAISS only p50 / p95",
                 f"{percentile(faiss_only, 50):.2f} / {percentile(faiss_only, 95):.2f} ms"))

    started = time.perf_counter()
    index.search_many(queries, args.k)
    batch = (time.perf_counter() - started) * 1000
    rows.append((f"search_many ({len(queries)} queries)",
                 f"{batch:.0f} ms ({batch / len(queries):.1f} ms/query)"))

    table = Table(title=f"EvidenceIndex speed: {index.model_label}, dim {index.dim}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    console.print(f"CPU: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
                  f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
                  f"median single search {statistics.median(single):.1f} ms")


if __name__ == "__main__":
    main()
