"""What a fetched page holds: charsets, main-text extraction, chunk offsets."""

from __future__ import annotations

import itertools

from webworld import EIFFEL, html_page

from guardrail.web.page import chunk_text, decode_body, extract_html

RUSSIAN = "Эйфелева башня построена в 1889 году в Париже, её высота составляет 330 метров."
FRENCH = "La tour Eiffel a été achevée en 1889 ; elle mesure 330 mètres — un « record » à l'époque."


# -- charsets -----------------------------------------------------------------------------------
def test_decode_uses_the_http_charset() -> None:
    assert decode_body(FRENCH.encode("cp1252"), "text/html; charset=windows-1252") == FRENCH


def test_decode_uses_meta_charset_when_the_header_has_none() -> None:
    html = f'<html><head><meta charset="windows-1251"></head><body>{RUSSIAN}</body></html>'
    assert RUSSIAN in decode_body(html.encode("cp1251"), "text/html")


def test_decode_survives_an_unknown_charset_label() -> None:
    assert decode_body(FRENCH.encode("utf-8"), "text/html; charset=x-no-such-charset") == FRENCH


def test_decode_does_not_trust_a_declaration_the_bytes_contradict() -> None:
    # Declared UTF-8, actually windows-1252: detection must win over the wrong label.
    text = decode_body((FRENCH + " " + FRENCH).encode("cp1252"), "text/html; charset=utf-8")
    assert "achevée" in text and "\ufffd" not in text


def test_decode_detects_undeclared_charsets() -> None:
    assert RUSSIAN in decode_body((RUSSIAN * 3).encode("cp1251"), "text/html")


def test_decode_honours_a_bom() -> None:
    assert decode_body(FRENCH.encode("utf-16"), "text/plain; charset=iso-8859-1") == FRENCH


def test_decode_of_garbage_never_raises() -> None:
    assert isinstance(decode_body(bytes(range(256)) * 10, "text/html; charset=utf-8"), str)


# -- extraction and chunking --------------------------------------------------------------------
def test_extraction_keeps_the_article_and_drops_boilerplate() -> None:
    title, text = extract_html(html_page("Eiffel Tower", EIFFEL))
    assert title == "Eiffel Tower"
    for sentence in EIFFEL:
        assert sentence in text
    assert "All rights reserved" not in text and "Log in" not in text


def test_extraction_of_a_tiny_page_falls_back_to_its_text() -> None:
    _, text = extract_html("<html><body><div>Just one line about 1889.</div></body></html>")
    assert "1889" in text


def test_chunks_carry_exact_offsets_and_respect_the_size() -> None:
    text = "\n".join(f"Paragraph {i}. " + "word " * 60 for i in range(20))
    chunks = chunk_text(text, size=500, overlap=100)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert len(c.text) <= 500
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_split_an_oversized_paragraph_on_sentences_and_words() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200)) + " " + "x" * 3000
    chunks = chunk_text(text, size=400)
    assert all(len(c.text) <= 400 and text[c.start:c.end] == c.text for c in chunks)
    assert chunks[0].text.endswith(".")


def test_chunks_overlap_on_short_boundary_units() -> None:
    paras = [f"Short para {i}." for i in range(30)]
    chunks = chunk_text("\n".join(paras), size=100, overlap=40)
    assert any(a.end > b.start for a, b in itertools.pairwise(chunks))


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("") == []
