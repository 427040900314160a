"""Fixtures for the integration tests.

``guard`` (tests/conftest.py) is the real engine with the embedded verifier, loaded once per
session.  ``lexical`` is the same engine with a deterministic word-overlap verifier, for the
tests whose assertions depend on a verdict (block, redact, retry, citations): they test the
integration's behaviour, not the verifier's accuracy, and must not change when it is retrained.
"""

from __future__ import annotations

import pytest
from _integration_helpers import DOCS, FailingNLI, LexicalNLI
from langchain_core.documents import Document

from guardrail import Guardrail


@pytest.fixture(scope="session")
def lexical() -> Guardrail:
    return Guardrail(policy="annotate", nli=LexicalNLI())


@pytest.fixture(scope="session")
def failing() -> Guardrail:
    return Guardrail(policy="annotate", nli=FailingNLI())


@pytest.fixture
def docs() -> list[Document]:
    return list(DOCS)
