"""Report JSON: what to_json writes, from_json reads back as the same report."""

from __future__ import annotations

import json

import pytest

from guardrail import Claim, ClaimResult, Evidence, InputError, Passage, Report
from guardrail.report import CitationCheck

PASSAGE = Passage("Marie Curie was born in Warsaw in 1867.", "c1", url="https://ex.org/curie", title="Curie",
                  metadata={"source": "wiki", "page": 2})
REPORT = Report(
    answer="Marie Curie was born in Warsaw [1]. She was born in 1900.",
    claims=(
        ClaimResult(Claim("Marie Curie was born in Warsaw.", 0, 35), "supported", 0.93,
                    (Evidence(PASSAGE, PASSAGE.text, 0, 39, 0.97, 0.01),), (), citation=1),
        ClaimResult(Claim("Marie Curie was born in 1900.", 36, 57), "contradicted", 0.04,
                    (Evidence(PASSAGE, PASSAGE.text, 0, 39, 0.02, 0.9),), ("number '1900' is not in the evidence",)),
        ClaimResult(Claim("extra", 57, 57), "unsupported", 0.0, (), ("not verified: ...",), verified=False),
    ),
    sources=(PASSAGE,),
    annotated="Marie Curie was born in Warsaw [1]. She was born in 1900.\n\nSources:\n[1] Curie <https://ex.org/curie>",
    output="...",
    policy="annotate",
    citations=(CitationCheck("[1]", 0, 35, "c1", True),),
    errors=("WebRetriever failed: timeout",),
    elapsed_ms=12.5,
)


def test_json_round_trip_gives_the_same_report() -> None:
    back = Report.from_json(REPORT.to_json())
    assert back == REPORT and Report.from_dict(REPORT.to_dict()) == REPORT  # to_dict keeps tuples
    assert back.to_dict() == REPORT.to_dict() and back.claims[2].verified is False


def _with(change: dict) -> str:
    data = REPORT.to_dict()
    for key, value in change.items():
        if key.startswith("claim."):
            data["claims"][0][key[6:]] = value
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize("text", ["[]", "{}", "not json", '{"answer": "a", "claims": [{"claim": 1}]}',
                                  "[" * 100_000 + "]" * 100_000, _with({"claim.verdict": "maybe"}),
                                  _with({"claim.score": "high"}), _with({"claim.verified": "no"}),
                                  _with({"claim.issues": "abc"}), _with({"errors": "down"})])
def test_what_is_not_a_report_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="not a guardrail report"):
        Report.from_json(text)
