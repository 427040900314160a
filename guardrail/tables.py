"""Markdown tables in an answer, read as claims.

A comparison table is where an answer puts most of its numbers ("| Weight | 3.4 kg | 3.9 kg |"),
and a cell alone ("3.9 kg") says nothing checkable.  Each data cell is read with its row label
and column header as one sentence, whose offsets are the cell's:

- a table whose first header is generic ("Feature", "Spec", or empty) has attributes as rows and
  things as columns: "The weight of H3 is 3.9 kg", or with one column of values, "Weight: 3.4 kg";
- otherwise things are rows and attributes columns: "The height of Eiffel Tower is 330 m", and
  "Eiffel Tower, opened: 1889" under a header that is no noun.
"""

from __future__ import annotations

import re
from itertools import pairwise

from guardrail.nonclaims import plain
from guardrail.report import Claim

FENCE = re.compile(r"^\s*(```|~~~)")  # a code fence, which the extractor uses too
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_GENERIC = re.compile(r"^(?:features?|attributes?|specs?|specifications?|propert(?:y|ies)|metrics?|"
                      r"characteristics?|items?|aspects?|categor(?:y|ies)|details?|)$", re.IGNORECASE)
_EMPTY = {"", "-", "—", "–", "n/a", "N/A"}


def tables(text: str) -> tuple[list[Claim], list[tuple[int, int]]]:
    """The claims of every Markdown table in ``text`` (header row, rule row, data rows; none in
    code), and the spans the tables cover, which are read here and nowhere else."""
    lines, pos = [], 0
    for line in text.splitlines(keepends=True):
        lines.append((pos, line.rstrip("\r\n")))
        pos += len(line)
    claims: list[Claim] = []
    covered: list[tuple[int, int]] = []
    in_code = False
    i = 0
    while i < len(lines):
        start, line = lines[i]
        if FENCE.match(line):
            in_code = not in_code
        if in_code or not _ROW.match(line) or i + 1 >= len(lines) or not _RULE.match(lines[i + 1][1]):
            i += 1
            continue
        headers = [plain(text[s:e]) for s, e in _cells(line, start)]
        j = i + 2
        while j < len(lines) and _ROW.match(lines[j][1]):
            row = _cells(lines[j][1], lines[j][0])
            claims.extend(_row_claims(headers, row, text))
            j += 1
        covered.append((start, lines[j - 1][0] + len(lines[j - 1][1])))
        i = j
    return claims, covered


def _cells(line: str, start: int) -> list[tuple[int, int]]:
    """Offsets of a row's cells (between its bars), without their padding."""
    bars = [m.start() for m in re.finditer(r"\|", line)]
    cells = []
    for a, b in pairwise(bars):
        s, e = a + 1, b
        while s < e and line[s].isspace():
            s += 1
        while e > s and line[e - 1].isspace():
            e -= 1
        cells.append((start + s, start + e))
    return cells


def _row_claims(headers: list[str], row: list[tuple[int, int]], text: str) -> list[Claim]:
    if len(row) < 2 or len(headers) < 2:
        return []
    label = plain(text[row[0][0]:row[0][1]])
    if not label:
        return []
    out = []
    for k, (s, e) in enumerate(row[1:len(headers)], start=1):
        value = plain(text[s:e])
        if value in _EMPTY:
            continue
        if _GENERIC.match(headers[0]) and len(headers) == 2:
            sentence = f"{label}: {value}"
        elif _GENERIC.match(headers[0]):
            sentence = f"The {_attribute(label)} of {headers[k]} is {value}"
        elif headers[k].lower().endswith(("ed", "ing")):  # "Opened", "Starring": no noun to say "the ... of"
            sentence = f"{label}, {_attribute(headers[k])}: {value}"
        else:
            sentence = f"The {_attribute(headers[k])} of {label} is {value}"
        out.append(Claim(text=sentence.rstrip(".") + ".", start=s, end=e))
    return out


def _attribute(word: str) -> str:
    """"Weight" reads "weight" inside a sentence (capitalised, the name check would take it for a
    name); "RAM" and "USB ports" stay as written."""
    return word[0].lower() + word[1:] if word[:1].isupper() and word[1:2].islower() else word

