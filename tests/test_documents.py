"""Files read as documents, HTML reduced to its main text, text cut into chunks with exact offsets."""

from __future__ import annotations

import itertools
import random
import re
import sys
from pathlib import Path

import pytest

from guardrail.documents import chunk_text, extract_html, read_document
from guardrail.exceptions import ConfigError, InputError

DOCS = Path(__file__).resolve().parents[1] / "examples" / "docs"


# -- chunking ------------------------------------------------------------------------------------

def _spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    chunks = chunk_text(text, size, overlap)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    return [(c.start, c.end) for c in chunks]


def test_chunks_end_at_sentences_and_overlap() -> None:
    text = " ".join(f"This is sentence {i} of the test." for i in range(30))
    spans = _spans(text, 200, 60)
    assert len(spans) > 4
    for (s, e), (s2, _) in itertools.pairwise(spans):
        assert text[e - 1] == "." and e - s <= 200
        assert s2 < e and text[s2:s2 + 4] == "This"  # overlaps, and starts at a sentence
    assert _spans("short text", 800, 150) == [(0, 10)]
    assert _spans("  \n ", 800, 150) == []
    assert _spans("  padded.  ", 800, 150) == [(2, 9)]
    assert chunk_text("") == []


def test_chunking_invariants_on_random_text() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta.", "gamma,", "delta!", "\n\n", "\n", "epsilon?", "x" * 150, "»quoted.«", "終わり。"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 300)))
        size = rng.randint(50, 900)
        overlap = rng.randint(0, size // 2 - 1)
        spans = _spans(text, size, overlap)
        covered: set[int] = set()
        for i, (s, e) in enumerate(spans):
            assert 0 <= s < e <= len(text) and e - s <= size
            assert not text[s].isspace() and not text[e - 1].isspace()
            assert i == 0 or s > spans[i - 1][0]
            covered.update(range(s, e))
        assert {i for i, c in enumerate(text) if not c.isspace()} <= covered


def test_lines_without_a_full_stop_end_chunks_before_spaces_do() -> None:
    # A web page or a PDF page: one heading or list item a line, no blank lines, no full stops.
    text = "\n".join(f"Item {i} of the price list costs {i} euros" for i in range(40))
    for c in chunk_text(text, 200, 0):
        assert c.text.startswith("Item ") and c.text.endswith(" euros")


def test_cjk_sentences_end_chunks_without_a_following_space() -> None:
    text = "エッフェル塔は1889年に完成した。" * 40
    chunks = chunk_text(text, 100, 20)
    assert len(chunks) > 5 and all(c.text.endswith("。") for c in chunks[:-1])


def test_an_enormous_sentence_is_cut_at_spaces_then_anywhere() -> None:
    words = " ".join(f"word{i}" for i in range(300))
    spans = _spans(words + " " + "x" * 3000, 400, 100)
    assert all(e - s <= 400 for s, e in spans)
    assert all(words[e - 1].isdigit() for s, e in spans if e <= len(words))  # ends on a whole word


def test_settings_that_make_no_sense_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="size must be at least 50"):
        chunk_text("text", 10, 0)
    with pytest.raises(ConfigError, match=r"overlap must be in \[0, size/2\)"):
        chunk_text("text", 100, 50)
    with pytest.raises(ConfigError, match="overlap"):
        chunk_text("text", 100, -1)


# -- HTML and files ------------------------------------------------------------------------------

def test_html_file_gives_main_text_title_and_canonical_url() -> None:
    doc = read_document(DOCS / "halcyra-faq.html")
    assert doc.title == "Halcyra H2: frequently asked questions"
    assert doc.url == "https://halcyra.example/support/h2-faq"
    assert "does not support Apple HomeKit" in doc.text and "<p>" not in doc.text
    assert "Shop" not in doc.text  # navigation is not evidence
    assert doc.metadata["type"] == "html" and doc.metadata["source"] == str((DOCS / "halcyra-faq.html").resolve())


def test_tiny_html_falls_back_to_visible_text(tmp_path: Path) -> None:
    page = tmp_path / "tiny.html"
    page.write_text("<html><head><title>T</title><script>var x;</script></head>"
                    "<body><p>Hi.</p></body></html>", encoding="utf-8")
    doc = read_document(page)
    assert "Hi." in doc.text and "var x" not in doc.text
    assert doc.url is None  # no canonical link, and a file path is not a URL


def test_a_bare_html_fragment_is_read_as_a_page() -> None:
    title, text = extract_html("<p>The tower was finished in 1889.</p><p>It is 330 m tall.</p>")
    assert title is None and text == "The tower was finished in 1889.\nIt is 330 m tall."


def test_markdown_and_text_titles(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("\n# Mowers #\n\nThe H3 mows lawns.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Warranty terms\nTwo years.", encoding="utf-8")
    (tmp_path / "c.txt").write_text("This first line is a sentence.\nMore.", encoding="utf-8")
    assert [read_document(tmp_path / n).title for n in ("a.md", "b.txt", "c.txt")] == ["Mowers", "Warranty terms", "c"]
    assert read_document(tmp_path / "a.md").text == "\n# Mowers #\n\nThe H3 mows lawns."  # offsets need it verbatim


def test_html_without_trafilatura_is_an_input_error_naming_the_fix(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "p.html").write_text("<p>Hi.</p>", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    with pytest.raises(InputError, match=r"cannot index .*p\.html: reading HTML needs trafilatura: "
                                         r"pip install 'guardrail\[web\]'"):
        read_document(tmp_path / "p.html")
    with pytest.raises(ConfigError, match="needs trafilatura"):
        extract_html("<p>Hi.</p>")


def test_files_that_cannot_be_read_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {"notes.docx": (b"PK", "unsupported file type '.docx'"), "README": (b"x", "unsupported file type '(none)'"),
             "bin.txt": (b"ab\x00cd", "looks binary"), "latin1.md": ("café".encode("latin-1"), "not UTF-8"),
             "bad.pdf": (b"%PDF-garbage", "unreadable PDF")}
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=re.escape(message)):
            read_document(tmp_path / name)
    with pytest.raises(InputError, match="cannot read"):
        read_document(tmp_path / "missing.txt")
    monkeypatch.setattr("guardrail.documents.MAX_FILE_BYTES", 3)
    (tmp_path / "big.txt").write_bytes(b"four")
    with pytest.raises(InputError, match="4 bytes is over the 3-byte limit"):
        read_document(tmp_path / "big.txt")
