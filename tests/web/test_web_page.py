"""What a fetched page holds: charsets, and the main text of a page (boilerplate dropped)."""

from __future__ import annotations

from webworld import EIFFEL, html_page

from guardrail.documents import extract_html
from guardrail.web.page import decode_body

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
