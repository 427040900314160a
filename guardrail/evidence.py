"""Evidence preparation: normalise what the app passed, cut it into windows, rank per claim.

Long evidence is never truncated: each passage is cut into windows of a few sentences (a
sentence too long for the verifier is cut into overlapping word chunks), every window keeps
its offsets into the passage, and each claim is verified against its best-ranked windows,
plus a selection of the sentences most about it from across the context (read together, in
document order), for claims whose support is spread over sentences no window holds at once.
Ranking is lexical (IDF-weighted overlap with the claim), which is cheap enough to run over
thousands of passages per check and keeps the NLI model for the few windows that matter.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guardrail.exceptions import InputError
from guardrail.report import Passage

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*[A-Za-z0-9]|[A-Za-z0-9]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "as",
        "until",
        "while",
        "also",
    ]
)


def as_passages(items: Iterable[Any] | None, *, prefix: str = "ctx") -> list[Passage]:
    """Normalise context into ``Passage`` objects.

    Accepts strings, ``Passage``, LangChain ``Document`` (anything with ``page_content`` and
    ``metadata``: ``id``/``source``/``url``/``title`` are used) and mappings with a ``text``,
    ``page_content`` or ``content`` key.  Strings get ids ``ctx1``, ``ctx2``, ... in order.
    """
    if items is None:
        return []
    if isinstance(items, (bytes, bytearray)):
        try:
            items = bytes(items).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the context is bytes that are not UTF-8 text") from None
    if isinstance(items, (str, Passage, Mapping)) or hasattr(items, "page_content"):
        items = [items]
    elif not isinstance(items, Iterable):
        raise InputError(f"context must be a list of texts, Documents or dicts, got {type(items).__name__}")
    out: list[Passage] = []
    for i, item in enumerate(items, start=1):
        default_id = f"{prefix}{i}"
        if isinstance(item, Passage):
            out.append(item)
        elif isinstance(item, str):
            out.append(Passage(text=item, id=default_id))
        elif hasattr(item, "page_content"):
            meta = dict(getattr(item, "metadata", None) or {})
            # metadata names the document; Document.id is often a vector store's UUID
            doc_id = meta.get("id") or meta.get("source") or getattr(item, "id", None) or default_id
            out.append(
                Passage(
                    text=str(item.page_content),
                    id=str(doc_id),
                    url=meta.get("url") or _url_or_none(meta.get("source")),
                    title=meta.get("title"),
                    metadata=meta,
                )
            )
        elif isinstance(item, Mapping):
            key = next((k for k in ("text", "page_content", "content") if k in item), None)
            if key is None:  # silently dropping it would check the answer against nothing
                raise InputError(f"a context dict needs a 'text', 'page_content' or 'content' key; "
                                 f"got keys {sorted(map(str, item))}")
            text = item[key] or ""
            meta = dict(item.get("metadata") or {})
            out.append(
                Passage(
                    text=str(text),
                    id=str(item.get("id") or meta.get("id") or default_id),
                    url=item.get("url") or meta.get("url"),
                    title=item.get("title") or meta.get("title"),
                    metadata=meta,
                )
            )
        else:
            raise InputError(
                f"cannot use {type(item).__name__} as evidence: pass str, Passage, "
                "a LangChain Document or a dict with a 'text' key"
            )
    return [p for p in out if p.text and p.text.strip()]


def _url_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class Window:
    """A few consecutive sentences of a passage; ``passage.text[start:end] == text``."""

    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]

    @property
    def premise(self) -> str:
        """What the verifier reads: the text after the passage's title when it has one, the
        "<title>: <evidence>" form the verifier was trained on (VitaminC), so a window that
        never names its subject ("The crew landed on 20 July") still has it."""
        title = (self.passage.title or "").strip()
        text = self.text
        return f"{title}: {text}" if title and not text.lstrip().startswith(title) else text


def tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_tokens(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOPWORDS}


@lru_cache(maxsize=4096)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    from guardrail.extract import RuleBasedExtractor

    spans = RuleBasedExtractor().sentences(text)
    return tuple(spans) if spans else ((0, len(text)),)


@dataclass(frozen=True)
class Selection:
    """Sentences picked for one claim from across the context, read as one premise in document
    order.  "born in 1934" in one paragraph and "in Leeds" in another support a claim that no
    window of consecutive sentences holds (multi-hop answers, claims summing up a page); and
    the one sentence about the claim, read without the window's other sentences, is what a
    small verifier judges best."""

    parts: tuple[Window, ...]

    @property
    def premise(self) -> str:
        # a passage's title once, before its first part, as a window would have it
        seen: set[int] = set()
        texts = []
        for w in self.parts:
            texts.append(w.text.strip() if id(w.passage) in seen else w.premise.strip())
            seen.add(id(w.passage))
        return " ".join(texts)


def sentence_units(passage: Passage, *, max_chars: int = 700) -> list[Window]:
    """The passage as sentences (a sentence over ``max_chars`` as overlapping word chunks)."""
    text = passage.text
    return [Window(passage, a, b) for s, e in _sentence_spans(text) for a, b in _chunks(text, s, e, max_chars)]


def select_sentences(claim: str, units: Sequence[Window], n: int, *, max_chars: int = 700) -> Selection | None:
    """Up to ``n`` sentence units most about ``claim`` (ranked as windows are, so those with
    under half the best one's overlap are left out), as many as fit in ``max_chars``; None when
    no unit shares a word with the claim or the pick is a whole passage one window holds."""
    picked: list[Window] = []
    size = 0
    for w, relevance in rank_windows(claim, units, n):
        if relevance <= 0:
            break
        if size + len(w.text) > max_chars:
            continue
        picked.append(w)
        size += len(w.text) + 1
    if not picked:
        return None
    first = units[0].passage
    if len(picked) == len(units) and len(first.text) <= max_chars and all(u.passage is first for u in units):
        return None  # the whole of a passage that one window holds
    order: dict[int, int] = {}
    for w in units:
        order.setdefault(id(w.passage), len(order))
    return Selection(tuple(sorted(picked, key=lambda w: (order[id(w.passage)], w.start))))


def windows(passage: Passage, *, sentences: int = 3, stride: int = 2, max_chars: int = 700) -> list[Window]:
    """Cut a passage into overlapping windows of ``sentences`` sentences, each at most
    ``max_chars`` long (longer sentences are cut into overlapping word chunks)."""
    text = passage.text
    if len(text) <= max_chars:
        return [Window(passage, 0, len(text))]
    # Merge spans that do not end a sentence (cuts made for speed on huge text) so they are
    # chunked as one run, with overlap, instead of meeting edge to edge.
    runs: list[tuple[int, int]] = []
    for s, e in _sentence_spans(text):
        if runs and text[runs[-1][1] - 1] not in ".!?:;\"')]":
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    units: list[tuple[int, int]] = []
    for s, e in runs:
        units.extend(_chunks(text, s, e, max_chars))
    out: list[Window] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and j - i < sentences and units[j][1] - units[i][0] <= max_chars:
            j += 1
        out.append(Window(passage, units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        i = max(i + 1, min(i + stride, j - 1)) if j - i > 1 else j
    return out


def _chunks(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Word-boundary chunks of text[start:end] overlapping by a third; the span itself when it fits."""
    out: list[tuple[int, int]] = []
    step = max_chars * 2 // 3
    pos = start
    while pos < end:
        stop = min(end, pos + max_chars)
        if stop < end:
            space = text.rfind(" ", pos + step // 2, stop)
            stop = space if space > pos else stop
        out.append((pos, stop))
        if stop >= end:
            break
        nxt = text.find(" ", pos + step, stop)
        pos = (nxt + 1) if nxt > pos else stop
    return out


def rank_windows(claim: str, candidates: Sequence[Window], k: int) -> list[tuple[Window, float]]:
    """The ``k`` windows sharing the most IDF-weighted content words with the claim."""
    if not candidates:
        return []
    claim_terms = content_tokens(claim)
    if not claim_terms:
        return [(w, 0.0) for w in candidates[:k]]
    bags = [content_tokens(w.text) for w in candidates]
    df = Counter(t for bag in bags for t in bag if t in claim_terms)
    n = len(bags)
    idf = {t: math.log(1 + n / (1 + df[t])) + 0.1 for t in claim_terms}
    # fsum: a plain float sum over a set depends on the set's order, which changes with each
    # process's string hashing; a last-bit difference would reorder tied windows between runs
    # (the same claim and context verified against other evidence, perhaps to another verdict)
    total = math.fsum(idf.values())
    scored = [(w, math.fsum(idf[t] for t in claim_terms & bag) / total) for w, bag in zip(candidates, bags)]
    scored.sort(key=lambda x: -x[1])
    # Windows sharing under half of the best window's weighted overlap are rarely the evidence;
    # dropping them keeps NLI work near one or two windows per claim on typical RAG context.
    floor = 0.5 * scored[0][1]
    return [x for x in scored[:k] if x[1] >= floor]


def candidates(claim: str, context_windows: Sequence[Window], units: Sequence[Window], *, top_k: int,
               sentences: int) -> list[tuple[Window | Selection, float]]:
    """What a claim is verified against, with relevance: its ``top_k`` best-ranked windows and,
    when there is one, the selection of its ``sentences`` most relevant sentence ``units``."""
    ranked: list[tuple[Window | Selection, float]] = [*rank_windows(claim, context_windows, top_k)]
    if ranked and (picked := select_sentences(claim, units, sentences)):
        ranked.append((picked, ranked[0][1]))
    return ranked
