"""Fixtures for the web tests (helpers live in webworld.py: a unique module name, so they
never collide with another directory's conftest)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The test modules import webworld by name whether or not tests/ becomes a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from webworld import FORBIDDEN_IP, LocalServer, StubResolver


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def resolver() -> StubResolver:
    return StubResolver({"good.test": ["127.0.0.1"], "evil.test": [FORBIDDEN_IP],
                         "mixed.test": [FORBIDDEN_IP, "127.0.0.1"]})
