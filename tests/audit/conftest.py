"""Fixtures for the audit tests: example logs, a finished audit of them, a CLI to drive."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from guardrail.integrations.audit.cli import register
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "logs.jsonl"
# examples/logs.jsonl: 13 lines; line 10 is cut off mid-write (rejected), lines 9 (a retriever
# run) and 12 (a tool-call-only response) have nothing to check (skipped), the rest are checked.
EXAMPLE_REJECTED = {10}
EXAMPLE_SKIPPED = {9, 12}
EXAMPLE_LINES = set(range(1, 14))


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    """A Typer app built the way the core CLI does it: ``register(app)`` from the entry point."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app: keeps ``audit`` a sub-command as in the real CLI."""

    register(app)
    return app


@pytest.fixture()
def run_cli(cli_app: typer.Typer, guard) -> Callable[..., object]:
    """Invoke ``audit`` in-process (the model is already loaded by the session ``guard``)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli_app, ["audit", *map(str, args), "--no-progress"], input=input)

    return invoke


@pytest.fixture(scope="session")
def example_audit(tmp_path_factory: pytest.TempPathFactory, cli_app: typer.Typer, guard) -> Path:
    """examples/logs.jsonl audited once per session (read-only for tests: copy before changing)."""
    out = tmp_path_factory.mktemp("example-audit")
    result = CliRunner().invoke(cli_app, ["audit", str(EXAMPLES), "--out", str(out), "--no-progress"])
    assert result.exit_code == 3, result.output  # 3: a line was rejected
    return out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def copy_audit(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def assert_same_verdicts(path_a: Path, path_b: Path, *, threshold: float = 0.5, tol: float = 0.01) -> None:
    """Two audits of the same input agree.  Scores are compared with a tolerance: batches of
    different sizes pad NLI inputs differently, which moves float results in the last digits."""
    a = {r["line"]: r for r in read_jsonl(path_a)}
    b = {r["line"]: r for r in read_jsonl(path_b)}
    assert sorted(a) == sorted(b)
    for line, ra in a.items():
        rb = b[line]
        assert (ra["status"], ra.get("n_claims")) == (rb["status"], rb.get("n_claims")), line
        if ra["status"] != "checked":
            continue
        assert abs(ra["score"] - rb["score"]) <= tol, (line, ra["score"], rb["score"])
        if min(abs(ra["score"] - threshold), abs(rb["score"] - threshold)) > tol:
            assert ra["hallucinated"] == rb["hallucinated"], line
