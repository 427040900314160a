from __future__ import annotations

import pytest

from guardrail import Guardrail


@pytest.fixture(scope="session")
def guard() -> Guardrail:
    """One engine per test session: the verifier model loads once (seconds), then is shared."""
    g = Guardrail(policy="annotate")
    g.nli  # noqa: B018 - load now so test timings do not include it
    return g

