"""The crash test from the issue: SIGKILL an audit midway, --resume, exactly one result per line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from conftest import EXAMPLE_REJECTED, EXAMPLES, REPO, read_jsonl

N_COPIES = 3  # 3 x 13 example lines: long enough to be killed midway on 2 busy cores


def big_log(path):
    lines = []
    for copy in range(N_COPIES):
        for i, line in enumerate(EXAMPLES.read_text().splitlines(), start=1):
            if i in EXAMPLE_REJECTED:
                lines.append(line)  # malformed, stays malformed
                continue
            raw = json.loads(line)
            if "id" in raw:
                raw["id"] = f"{raw['id']}-{copy}"
            lines.append(json.dumps(raw))
    path.write_text("\n".join(lines) + "\n")
    return len(lines), {n for n, line in enumerate(lines, start=1) if not line.endswith("}")}


def audit_cmd(log, out, *extra):
    return [
        sys.executable,
        "-m",
        "guardrail.integrations.audit",
        str(log),
        "--out",
        str(out),
        "--batch-size",
        "2",
        "--no-progress",
        *extra,
    ]


def test_sigkill_midway_then_resume_yields_one_result_per_valid_line(tmp_path):
    log, out = tmp_path / "logs.jsonl", tmp_path / "out"
    total, malformed = big_log(log)
    proc = subprocess.Popen(audit_cmd(log, out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    report = out / "report.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = report.read_bytes().count(b"\n") if report.exists() else 0
            if done >= total // 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, (
            "the audit finished (or died) before it could be killed: " + proc.stderr.read().decode()[-2000:]
        )
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    killed_at = len(read_jsonl(report))
    assert 0 < killed_at < total - len(malformed), "not killed midway"
    assert not (out / "summary.json").exists()  # reports are written only by a finished run

    resumed = subprocess.run(audit_cmd(log, out, "--resume"), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 3, resumed.stdout + resumed.stderr  # 3: malformed lines were rejected
    counts = Counter(r["line"] for r in read_jsonl(report))
    assert set(counts) == set(range(1, total + 1)) - malformed
    assert set(counts.values()) == {1}, "a record was audited twice"
    rejects = Counter(r["line"] for r in read_jsonl(out / "rejects.jsonl"))
    assert set(rejects) == malformed and set(rejects.values()) == {1}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["checked"] + summary["counts"]["skipped"] == total - len(malformed)
    assert json.loads((out / "checkpoint.json").read_text())["runs"] == 2
