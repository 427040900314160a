"""Shared helpers of the integration tests (uniquely named: tests/conftest.py is also on the path)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

_STOP_WORDS = "a an the of in on at to for by was is are were and or it its she he they this that"
_STOP = frozenset(_STOP_WORDS.split())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


class LexicalNLI:
    """Entailed when every content word of the claim is in the evidence; contradicted when the
    claim's words are there but a number is not."""

    calls = 0

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        LexicalNLI.calls += 1
        rows = []
        for premise, hypothesis in pairs:
            p, h = _words(premise), _words(hypothesis)
            numbers = {w for w in h if w.isdigit()}
            if h and h <= p:
                rows.append([0.98, 0.01, 0.01])
            elif numbers - p and len((h - numbers) & p) >= 0.6 * max(1, len(h - numbers)):
                rows.append([0.01, 0.04, 0.95])
            else:
                rows.append([0.02, 0.96, 0.02])
        return np.asarray(rows, dtype=np.float32).reshape(-1, 3)


class FailingNLI:
    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        raise RuntimeError("verifier crashed")


DOCS = [
    Document(
        id="curie",
        page_content="Marie Curie was a physicist and chemist. She won the Nobel Prize in Physics in 1903.",
        metadata={"id": "curie", "title": "Marie Curie", "url": "https://example.org/curie"},
    ),
    Document(
        id="eiffel",
        page_content="The Eiffel Tower is in Paris. It opened in 1889.",
        metadata={"id": "eiffel", "title": "Eiffel Tower"},
    ),
]
GOOD = "Marie Curie was a physicist. She won the Nobel Prize in Physics in 1903."
BAD = "Marie Curie was a physicist. The Eiffel Tower opened in 1925."


def tokens(text: str) -> list[str]:
    """Split like a streaming model: words with their following whitespace."""
    return re.findall(r"\S+\s*", text)


class ToolModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts tools (for create_agent) and counts its calls."""

    calls: int = 0
    seen: list[Any] = []  # noqa: RUF012 - a pydantic field, copied per instance

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolModel:
        return self

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)
