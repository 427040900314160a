"""Audit throughput: records/s of ``guardrail audit`` on the generic shape with context.

Each record has a ~150-word answer and 5 passages (~120 words each), like a RAG app's log.
Scenarios: the local engine, and Ray Data with 1 and 2 actors; then the time to resume after
a SIGKILL at 50% (that audit runs in batches of at most a quarter of the records, so the kill lands
mid-run; when it cannot, the result says "not tested", never "exactly once").  Every run is the
real command in a subprocess, so model loading and Ray start-up are paid as a user pays them;
"steady rate" counts only the records finished after the first one (start-up excluded; n/a when
all arrive in one batch), "wall" is the whole command.

    python benchmarks/audit_throughput.py                # 80 records, all scenarios
    python benchmarks/audit_throughput.py -n 200 --json out/bench.json --skip-ray
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PRODUCTS = [
    "Aurora",
    "Basalt",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
]
CITIES = ["Lisbon", "Oslo", "Denver", "Osaka", "Nairobi", "Lyon", "Austin", "Porto", "Seoul", "Leeds"]
FEATURES = [
    "offline sync",
    "audit logs",
    "single sign-on",
    "usage alerts",
    "data export",
    "role-based access",
    "scheduled reports",
    "webhooks",
    "two-factor login",
    "custom domains",
]
FILLER = (
    "The team publishes release notes every month and keeps older versions available for download. "
    "Support is available by email and through the in-app chat during business hours. "
    "Customers can request a demo from the website, and trials do not need a credit card. "
    "Accessibility reviews happen twice a year, and the product follows the WCAG 2.1 guidelines. "
)


def facts(rng: random.Random, i: int) -> dict:
    return {
        "product": f"{rng.choice(PRODUCTS)} {i}",
        "year": rng.randint(1995, 2022),
        "city": rng.choice(CITIES),
        "staff": rng.randint(20, 4000),
        "price": rng.randint(5, 90),
        "users": rng.randint(2, 900),
        "feature": rng.choice(FEATURES),
        "uptime": rng.choice([99.5, 99.9, 99.95]),
        "regions": rng.randint(2, 12),
    }


def passages(f: dict) -> list[str]:
    p = f["product"]
    return [
        f"{p} was first released in {f['year']} by a company based in {f['city']}. " + FILLER,
        f"The company behind {p} employs about {f['staff']} people across offices in {f['city']} and "
        f"{f['regions']} other locations. " + FILLER,
        f"{p} costs ${f['price']} per user per month on the standard plan, and larger teams can negotiate "
        f"annual contracts. More than {f['users']} thousand people use it every week. " + FILLER,
        f"The standard plan of {p} includes {f['feature']}, priority email support and a "
        f"{f['uptime']}% uptime commitment. " + FILLER,
        f"{p} stores customer data in {f['regions']} regions and encrypts it at rest and in transit. " + FILLER,
    ]


def answer(f: dict, rng: random.Random) -> str:
    p = f["product"]
    wrong = dict(f, year=f["year"] + rng.choice([-3, 2, 5]), price=f["price"] + 10, city=rng.choice(CITIES))
    g = wrong if rng.random() < 0.4 else f  # 40% of answers get hallucinated details
    sentences = [
        f"{p} is a collaboration product that was first released in {g['year']}.",
        f"It is made by a company headquartered in {g['city']} with roughly {f['staff']} employees.",
        f"The standard plan costs ${g['price']} per user per month, and bigger teams can sign annual contracts.",
        f"Every week more than {f['users']} thousand people rely on it for their daily work.",
        f"The plan includes {f['feature']} together with priority email support.",
        f"{p} promises {f['uptime']}% uptime on the standard plan.",
        f"Customer data is kept in {f['regions']} regions and is encrypted both at rest and in transit.",
        "Support can be reached by email or in-app chat during business hours.",
        "You can request a demo on the website, and the trial does not require a credit card.",
        "Release notes come out every month, and older versions stay available for download.",
        f"Overall, {p} is a reasonable choice for teams that need {f['feature']} at a predictable price.",
    ]
    return " ".join(sentences)


def make_log(path: Path, n: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    words = []
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            f = facts(rng, i)
            ans = answer(f, rng)
            words.append(len(ans.split()))
            fh.write(
                json.dumps(
                    {
                        "id": f"rec-{i:05d}",
                        "model": rng.choice(["model-a", "model-b"]),
                        "question": f"Tell me about {f['product']}.",
                        "context": passages(f),
                        "response": ans,
                    }
                )
                + "\n"
            )
    return {"records": n, "answer_words_mean": round(sum(words) / len(words), 1), "passages": 5}


def cmd(log: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "guardrail.integrations.audit",
        str(log),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def lines_in(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def timed_run(args: list[str], report: Path, *, kill_at: int | None = None, timeout: float = 1800) -> dict:
    """Run the audit, sampling report.jsonl to time the first and the last results."""
    start = time.perf_counter()
    base = lines_in(report)
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first: tuple[float, int] | None = None  # (seconds since start, lines) when results first appeared
    last: tuple[float, int] = (0.0, base)
    killed = False
    while proc.poll() is None:
        now, t = lines_in(report), time.perf_counter() - start
        if now > last[1]:
            first = first or (t, now)
            last = (t, now)
        if kill_at is not None and now >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        if t > timeout:
            proc.kill()
            raise TimeoutError(" ".join(args))
        time.sleep(0.02)
    proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    wall = time.perf_counter() - start
    final = lines_in(report)
    if final > last[1]:  # the last batch landed between two samples
        first = first or (wall, final)
        last = (wall, final)
    if not killed and proc.returncode not in (0, 3, 4):
        raise RuntimeError(f"audit failed ({proc.returncode}): {err[-2000:]}")
    new = final - base
    steady = (last[1] - first[1]) / (last[0] - first[0]) if first and last[0] > first[0] else None
    return {
        "wall_s": round(wall, 2),
        "first_result_s": round(first[0], 2) if first else None,
        "records": new,
        "records_per_s_wall": round(new / wall, 2),
        "records_per_s_steady": round(steady, 2) if steady is not None else None,
        "killed": killed,
    }


def fmt(value: float | None, spec: str, unit: str = "") -> str:
    """A figure, or n/a when there is none (a one-batch run has no steady rate)."""
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def kill_and_resume(log: Path, out: Path, records: int, batch_size: int) -> dict:
    """SIGKILL an audit once half the records are in report.jsonl, resume it, and check every
    record is reported exactly once.  Results land batch by batch, so the kill run uses batches
    small enough (at most a quarter of the records) for the kill to land mid-run."""
    kill_bs = max(1, min(batch_size, records // 4))
    kill_at = max(1, records // 2)
    bs = ["--batch-size", str(kill_bs)]
    killed = timed_run(cmd(log, out, *bs), out / "report.jsonl", kill_at=kill_at)
    done = killed["records"]
    resume: dict = {
        "batch_size": kill_bs,
        "kill_at_records": kill_at,
        "killed": killed["killed"],
        "killed_after_records": done,
        "killed_run_wall_s": killed["wall_s"],
        "resume_wall_s": None,
        "resume_first_new_result_s": None,
        "resumed_records": None,
        "exactly_once": None,  # only known when the kill interrupted the audit
    }
    if not killed["killed"] or done >= records:
        resume["note"] = (
            f"not tested: the audit wrote all {done} of {records} records before the kill at {kill_at}"
            if not killed["killed"] else f"not tested: killed after all {records} records were written"
        )
        return resume
    resumed = timed_run(cmd(log, out, "--resume", *bs), out / "report.jsonl")
    counts = Counter()
    for line in (out / "report.jsonl").read_text().splitlines():
        try:
            counts[json.loads(line)["line"]] += 1
        except (ValueError, KeyError):  # a torn line would itself break exactly-once
            counts[None] += 1
    resume.update(
        resume_wall_s=resumed["wall_s"],
        resume_first_new_result_s=resumed["first_result_s"],
        resumed_records=resumed["records"],
        exactly_once=len(counts) == records and None not in counts and set(counts.values()) == {1},
    )
    return resume


def resume_line(resume: dict, records: int) -> str:
    if resume["exactly_once"] is None:
        return f"resume after SIGKILL (batch size {resume['batch_size']}): {resume['note']}; exactly once: n/a"
    return (
        f"resume after SIGKILL at {resume['killed_after_records']}/{records} (batch size {resume['batch_size']}): "
        f"{resume['resume_wall_s']:.1f}s for the remaining {resume['resumed_records']} records, "
        f"first new result after {fmt(resume['resume_first_new_result_s'], '.1f', 's')}, "
        f"exactly once: {resume['exactly_once']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--records", type=int, default=80)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        tmpdir = Path(tmp)
        log = tmpdir / "logs.jsonl"
        data = make_log(log, args.records)
        bs = ["--batch-size", str(args.batch_size)]
        scenarios = [
            ("local, 1 worker", ["--engine", "local", "--workers", "1"]),
            ("local, 2 workers", ["--engine", "local", "--workers", "2"]),
        ]
        if not args.skip_ray:
            scenarios += [
                ("ray, 1 actor", ["--engine", "ray", "--workers", "1"]),
                ("ray, 2 actors", ["--engine", "ray", "--workers", "2"]),
            ]
        results = {}
        for name, extra in scenarios:
            out = tmpdir / name.replace(", ", "-").replace(" ", "")
            results[name] = timed_run(cmd(log, out, *extra, *bs), out / "report.jsonl")
            print(f"{name:18s} {json.dumps(results[name])}", flush=True)

        resume = kill_and_resume(log, tmpdir / "resume", args.records, args.batch_size)
        print(f"{'resume after kill':18s} {json.dumps(resume)}", flush=True)

    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "data": data,
        "batch_size": args.batch_size,
        "scenarios": results,
        "resume": resume,
    }
    print()
    print(f"{'scenario':18s} {'wall s':>8s} {'rec/s (wall)':>13s} {'rec/s (steady)':>15s} {'1st result s':>13s}")
    for name, r in results.items():
        print(
            f"{name:18s} {r['wall_s']:8.1f} {fmt(r['records_per_s_wall'], '.2f'):>13s} "
            f"{fmt(r['records_per_s_steady'], '.2f'):>15s} {fmt(r['first_result_s'], '.1f'):>13s}"
        )
    print(resume_line(resume, args.records))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
