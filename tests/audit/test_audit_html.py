"""report.html: self-contained, and it renders offline in headless Chromium with its charts."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import EXAMPLES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install -y chromium)"
)


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            # Any network request would fail: the page must not need one.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_html_is_self_contained(example_audit):
    html = (example_audit / "report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "external asset referenced"
    assert "<link" not in html and "@import" not in html
    assert html.count('<svg class="chart') >= 4
    assert 'class="seg v-' in html  # flagged spans are highlighted in the drill-down
    assert "does not support its sentence" in html  # a citation the evidence does not back
    assert "chat-0002" in html and 'id="rejects"' in html  # records and the rejected line are listed


@needs_chromium
def test_html_renders_offline_in_headless_chromium(example_audit, tmp_path):
    page = (example_audit / "report.html").as_uri()
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, "--window-size=1280,2200", f"--screenshot={shot}", page)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a blank page compresses to far less

    dom = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=2000", page)
    assert dom.returncode == 0, dom.stderr.decode()[-2000:]
    rendered = dom.stdout.decode()
    assert 'data-ready="1"' in rendered  # the inline script ran
    assert len(re.findall(r'<svg class="chart', rendered)) >= 4
    assert re.search(r'<span class="stat" id="count">\d+ shown</span>', rendered)
    assert "<rect" in rendered


def test_top_claims_link_only_to_records_drawn_below(example_audit, tmp_path, run_cli):
    out = tmp_path / "few"
    shutil.copytree(example_audit, out)
    for f in ("report.html", "summary.json"):
        (out / f).unlink()
    result = run_cli(EXAMPLES, "--out", out, "--resume", "--html-max-records", "1")
    assert result.exit_code == 3, result.output
    html = (out / "report.html").read_text()
    drawn = set(re.findall(r'id="rec-(\d+)"', html))
    linked = set(re.findall(r'href="#rec-(\d+)"', html))
    assert len(drawn) == 1 and linked <= drawn
    assert 'title="input line' in html  # the others are named, not linked
