"""--engine ray: the same outputs as the local engine, on a local Ray and on an existing cluster."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from conftest import EXAMPLE_LINES, EXAMPLE_REJECTED, EXAMPLES, REPO, assert_same_verdicts, read_jsonl

ray = pytest.importorskip("ray", reason="Ray not installed (pip install guardrail[ray])")


def audit(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "guardrail.integrations.audit", *map(str, args), "--no-progress"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def test_ray_engine_writes_the_same_audit_as_local(example_audit, tmp_path):
    """One small local Ray (started by the command), one actor: kept in the default suite."""
    out = tmp_path / "ray"
    run = audit(EXAMPLES, "--out", out, "--engine", "ray", "--workers", "1", "--batch-size", "4")
    assert run.returncode == 3, run.stdout + run.stderr[-3000:]
    assert_same_verdicts(out / "report.jsonl", example_audit / "report.jsonl")
    assert [r["line"] for r in read_jsonl(out / "rejects.jsonl")] == sorted(EXAMPLE_REJECTED)
    assert json.loads((out / "summary.json").read_text())["engine"] == "ray"
    assert (out / "report.html").exists()
    assert not (out / ".ray-pending").exists()


@pytest.mark.slow
def test_ray_two_workers_and_resume_switching_engines(example_audit, tmp_path):
    out = tmp_path / "mixed"
    first = audit(EXAMPLES, "--out", out, "--limit", "6")
    assert first.returncode == 0, first.stderr[-3000:]
    # Resuming must keep the same scope, so it carries --limit; then finish the rest on Ray.
    again = audit(EXAMPLES, "--out", out, "--resume", "--limit", "6", "--engine", "ray", "--workers", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    fresh = audit(EXAMPLES, "--out", tmp_path / "two", "--engine", "ray", "--workers", "2", "--batch-size", "2")
    assert fresh.returncode == 3, fresh.stderr[-3000:]
    assert_same_verdicts(tmp_path / "two" / "report.jsonl", example_audit / "report.jsonl")
    lines = [r["line"] for r in read_jsonl(out / "report.jsonl")]
    assert sorted(lines) == [1, 2, 3, 4, 5, 6]


@pytest.fixture()
def ray_cluster(tmp_path):
    """An existing Ray cluster on loopback, owned by a helper process this test starts and stops."""
    script = (
        "import ray, sys\n"
        "ctx = ray.init(num_cpus=3, include_dashboard=False)\n"
        "print(ctx.address_info['gcs_address'], flush=True)\n"
        "sys.stdin.read()\n"
    )
    # Loopback only, and Ray's token auth on with a token the test hands to the audit.
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
    }
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        address = owner.stdout.readline().strip()
        assert address.startswith("127.0.0.1:"), f"the Ray helper did not start on loopback: {address!r}"
        yield address, env["RAY_AUTH_TOKEN"]
    finally:
        owner.stdin.close()  # the helper's driver exits and takes its cluster down
        try:
            owner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            owner.kill()
            owner.wait()
        time.sleep(1)


@pytest.mark.slow
def test_ray_engine_on_an_existing_cluster_address(example_audit, ray_cluster, tmp_path):
    address, token = ray_cluster
    out = tmp_path / "cluster"
    run = audit(
        EXAMPLES,
        "--out",
        out,
        "--engine",
        "ray",
        "--ray-address",
        address,
        "--workers",
        "1",
        env={**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
    )
    assert run.returncode == 3, run.stdout + run.stderr[-3000:]
    assert sorted(r["line"] for r in read_jsonl(out / "report.jsonl")) == sorted(EXAMPLE_LINES - EXAMPLE_REJECTED)
    assert_same_verdicts(out / "report.jsonl", example_audit / "report.jsonl")


def test_shards_spread_work_over_actors_and_stay_few():
    from guardrail.integrations.audit.ray_engine import _is_loopback, _shard_size

    assert _shard_size(60, 16, 2) == 16  # 4 shards: both actors busy, results stream back
    assert _shard_size(10**7, 16, 2) == 16 * 64  # huge logs: bounded number of files
    assert _shard_size(None, 8, 1) == 32
    assert _is_loopback("127.0.0.1:6379") and _is_loopback("localhost:1") and not _is_loopback("head:6379")
