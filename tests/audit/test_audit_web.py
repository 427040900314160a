"""``guardrail audit --web PROVIDER --web-url URL --allow-host HOST``, as ``guardrail check`` takes them.

A server on 127.0.0.1 plays a SearxNG instance and the page its one result points at; nothing
leaves loopback (the suite runs with sockets limited to it).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import read_jsonl

from guardrail import Settings

pytest.importorskip("trafilatura", reason="web search needs guardrail[web]")

PAGE = (
    "<!doctype html><html><head><title>Eiffel Tower</title></head><body><article>"
    "<p>The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.</p>"
    "<p>The tower was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair.</p>"
    "</article></body></html>"
)
ANSWER = {
    "id": "w1",
    "question": "When was the Eiffel Tower finished?",
    "response": "The Eiffel Tower was completed in 1889.",
}


class SearxServer:
    """``/search`` answers with one result, ``/wiki/Eiffel_Tower`` is that page; or every path 500s."""

    def __init__(self, *, down: bool = False) -> None:
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                server.hits[path] += 1
                status, ctype, body = server.reply(path, down)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def reply(self, path: str, down: bool) -> tuple[int, str, bytes]:
        if down:
            return 500, "text/plain", b"down"
        if path == "/search":
            result = {"url": self.base + "/wiki/Eiffel_Tower", "title": "Eiffel Tower", "content": "iron tower"}
            return 200, "application/json", json.dumps({"results": [result]}).encode()
        if path == "/wiki/Eiffel_Tower":
            return 200, "text/html; charset=utf-8", PAGE.encode()
        return 404, "text/plain", b"not found"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GUARDRAIL_CACHE_DIR", str(tmp_path / "cache"))  # never the user's cache
    return tmp_path / "cache"


@pytest.fixture
def searx(cache_dir: Path) -> Iterator[SearxServer]:
    srv = SearxServer()
    yield srv
    srv.close()


@pytest.fixture
def searx_down(cache_dir: Path) -> Iterator[SearxServer]:
    srv = SearxServer(down=True)
    yield srv
    srv.close()


def web_args(url: str) -> tuple[str, ...]:
    return ("--web", "searxng", "--web-url", url, "--allow-host", "127.0.0.1")


def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs.jsonl"
    path.write_text(json.dumps(ANSWER) + "\n")
    return path


def test_web_evidence_comes_from_the_configured_search(run_cli, searx, tmp_path):
    result = run_cli(logs(tmp_path), "--out", tmp_path / "out", *web_args(searx.base), "--json")
    assert result.exit_code == 0, result.output
    (row,) = read_jsonl(tmp_path / "out" / "report.jsonl")
    assert row["status"] == "checked" and not row["errors"]
    page = searx.base + "/wiki/Eiffel_Tower"
    assert row["claims"][0]["evidence"][0]["url"] == page
    assert searx.hits["/search"] >= 1 and searx.hits["/wiki/Eiffel_Tower"] >= 1
    # The search endpoint changes the evidence, so a resume must use the same one.
    moved = run_cli(logs(tmp_path), "--out", tmp_path / "out", "--resume", *web_args(searx.base + "/other"))
    assert moved.exit_code == 2 and "different options" in moved.output


@pytest.mark.parametrize("fail", ["open", "closed"])
def test_a_failing_search_makes_the_record_an_error_and_the_exit_code_3(run_cli, searx_down, tmp_path, fail):
    settings = tmp_path / "settings.json"
    Settings(fail=fail).save(settings)
    args = ("--settings", settings, *web_args(searx_down.base), "--json")
    result = run_cli(logs(tmp_path), "--out", tmp_path / "out", *args)
    assert result.exit_code == 3, result.output
    (row,) = read_jsonl(tmp_path / "out" / "report.jsonl")
    assert row["status"] == "error" and "HTTP 500" in row["error"], row
    summary = json.loads(result.stdout)
    assert summary["counts"]["errors"] == 1 and summary["counts"]["checked"] == 0
    assert summary["hallucination_rate"] is None


def test_bad_web_options_are_usage_errors(run_cli, cache_dir, tmp_path):
    unknown = run_cli(logs(tmp_path), "--out", tmp_path / "o1", "--web", "altavista")
    assert unknown.exit_code == 2 and "unknown web search provider" in unknown.output, unknown.output
    assert not (tmp_path / "o1").exists()
    no_url = run_cli(logs(tmp_path), "--out", tmp_path / "o2", "--web", "searxng")
    assert no_url.exit_code == 2, no_url.output
    orphan = run_cli(logs(tmp_path), "--out", tmp_path / "o3", "--web-url", "http://127.0.0.1:9/")
    assert orphan.exit_code == 2 and "--web" in orphan.output
