"""What a fetched page holds: its body decoded and its main text, or a refusal.

Main-text extraction is ``guardrail.documents.extract_html`` (trafilatura, chosen by
measurement: see "Why trafilatura" under "Web search as evidence" in the README): it drops
navigation, footers and cookie banners that would otherwise become "evidence".  Bodies that are
not text (PDFs, images, binary served as ``text/html``) are refused.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from guardrail.documents import extract_html, tidy_text
from guardrail.exceptions import WebError
from guardrail.web.http import HttpResult

# Extraction costs about a second per megabyte of HTML on a small CPU and cannot be interrupted,
# so the cap also bounds how long a hostile page can keep a worker busy.
PAGE_MAX_BYTES = 1_000_000
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain",)
# <meta charset=...> or <meta http-equiv=Content-Type content="...; charset=...">, per the
# HTML spec's prescan, which only looks at the first 1024 bytes.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Servers label downloads text/html often enough (misconfigured CDNs, "download.php" scripts)
# that the header alone cannot be trusted: extracting a PDF or a ZIP "as HTML" yields glyph soup
# that BM25 and the NLI model would then treat as a source.
# Only signatures that no text page starts with; formats with short ASCII signatures (Ogg,
# MP3, bzip2...) are compressed and fail the control-byte test below anyway.  PDF and PostScript
# can be all ASCII, hence listed.
_MAGIC = (
    (b"%PDF-", "PDF"), (b"%!PS-Adobe", "PostScript"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"\xff\xd8\xff", "JPEG"), (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"), (b"7z\xbc\xaf\x27\x1c", "7-Zip"), (b"Rar!\x1a\x07", "RAR"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office"), (b"\x7fELF", "ELF"), (b"SQLite format 3\x00", "SQLite"),
)
# C0 control bytes that text never contains (tab, newline, form feed, carriage return and the
# ESC of ISO-2022 encodings are allowed).  Every ASCII-compatible charset keeps these bytes as
# controls, so the test holds for legacy pages too, unlike an "invalid UTF-8" ratio, which would
# refuse every windows-1251 or Shift_JIS page.
_ODD_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
# Random or compressed data has ~10% such bytes; real text has next to none.  2% leaves room for a
# stray NUL or two in an otherwise normal page.
_BINARY_RATIO = 0.02
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Page:
    """A fetched page's main text.  ``url`` is where it ended up after redirects."""

    url: str
    title: str | None
    text: str
    content_type: str
    truncated: bool = False  # the body was cut at the byte cap


# -- decoding -----------------------------------------------------------------------------------
def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    # Browsers treat these labels as windows-1252, and pages rely on it (smart quotes, euro).
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _header_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip()
    return None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Decode like a browser would: BOM, then the HTTP charset, then ``<meta>``, then detection.

    A declared charset that is unknown or does not fit the bytes is not trusted; detection
    (charset-normalizer) decides, and as a last resort UTF-8 with replacement characters.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    declared = [_codec(_header_charset(content_type))]
    match = _META_CHARSET.search(body[:1024])
    if match:
        declared.append(_codec(match.group(1).decode("ascii", "replace")))
    for codec in filter(None, declared):
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


# -- extraction ---------------------------------------------------------------------------------
def _wide(body: bytes, content_type: str) -> bool:
    """UTF-16/32 text, where NUL bytes are half of every ASCII character rather than a sign of binary."""
    if body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    codec = _codec(_header_charset(content_type)) or ""
    return codec.startswith(("utf-16", "utf-32"))


def binary_kind(body: bytes, content_type: str = "", text: str | None = None) -> str | None:
    """What ``body`` is if it is not text (``"PDF"``, ``"binary data"``...), else None.

    ``text``, the body as decoded, lets replacement characters count: a body no charset makes
    sense of is not evidence either.
    """
    head = body[:_SNIFF_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head and not _wide(body, content_type):
        odd = sum(1 for b in head if b in _ODD_BYTES)
        if odd / len(head) > _BINARY_RATIO:
            return "binary data"
    if text:
        sample = text[:_SNIFF_BYTES]
        bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 0x20 and ch not in "\t\n\x0c\r\x1b"))
        if bad / len(sample) > _BINARY_RATIO:
            return "undecodable data"
    return None


def page_from_response(result: HttpResult) -> Page:
    """Turn an HTTP result into a :class:`Page`, or raise :class:`WebError` if it is not text."""
    ctype = result.content_type.split(";", 1)[0].strip().lower()
    if not ctype:  # no header: sniff, as a browser would
        ctype = "text/html" if result.content.lstrip()[:1] == b"<" else "text/plain"
    if ctype not in _HTML_TYPES + _TEXT_TYPES:
        raise WebError(f"{result.url}: unsupported content type {ctype!r}")
    text = decode_body(result.content, result.content_type)
    kind = binary_kind(result.content, result.content_type, text)
    if kind is not None:
        raise WebError(f"{result.url}: unsupported content: {kind} served as {ctype!r}")
    if ctype in _TEXT_TYPES:
        return Page(result.url, None, tidy_text(text), ctype, result.truncated)
    title, body = extract_html(text, result.url)
    return Page(result.url, title, body, ctype, result.truncated)
