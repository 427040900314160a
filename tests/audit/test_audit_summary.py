"""summary.json arithmetic and the HTML highlighting, on hand-written verdict records."""

from __future__ import annotations

import json
import random

from guardrail.integrations.audit.html import segments
from guardrail.integrations.audit.summary import summarize_results


def rec(line, model, hallucinated, score, claims=(), citations=(), route="/a"):
    return {
        "line": line,
        "id": f"r{line}",
        "status": "checked",
        "groups": {"model": model, "route": route},
        "hallucinated": hallucinated,
        "score": score,
        "n_claims": len(claims),
        "n_flagged": sum(c["flagged"] for c in claims),
        "n_contradicted": sum(c["verdict"] == "contradicted" for c in claims),
        "factual_precision": None,
        "citation_recall": _recall(citations),
        "citation_precision": _precision(citations),
        "claims": list(claims),
        "citations": list(citations),
    }


def _precision(citations):
    return sum(c["supports"] for c in citations) / len(citations) if citations else None


def _recall(citations):
    sent = {}
    for c in citations:
        sent[(c["start"], c["end"])] = sent.get((c["start"], c["end"]), False) or c["supports"]
    return sum(sent.values()) / len(sent) if sent else None


def claim(text, verdict, score, issues=(), verified=True):
    return {
        "text": text,
        "start": 0,
        "end": len(text),
        "verdict": verdict,
        "score": score,
        "flagged": verdict != "supported",
        "verified": verified,
        "issues": list(issues),
    }


def unverified(text):
    """A claim as the engine reports one past ``max_claims``."""
    return claim(text, "unsupported", 0.0, ["not verified: the answer has over 2 claims"], verified=False)


def cite(marker, start, end, supports, pid="p1"):
    return {"marker": marker, "start": start, "end": end, "supports": supports, "passage_id": pid}


RESULTS = [
    rec(
        1,
        "a",
        True,
        0.1,
        [claim("Refunds take 90 days.", "contradicted", 0.1), claim("Ok.", "supported", 0.9)],
        [cite("[1]", 0, 20, False), cite("[2]", 0, 20, True), cite("[1]", 21, 30, False)],
    ),
    rec(2, "a", False, 0.8, [claim("Fine.", "supported", 0.8)]),
    rec(3, "b", True, 0.3, [claim("refunds take 90 days", "unsupported", 0.3)], [cite("[1]", 0, 5, True)]),
    rec(4, "b", False, 1.0, []),
    {"line": 5, "id": "r5", "status": "skipped", "reason": "retriever run without an answer"},
]


def test_rates_groups_histograms_and_top_claims():
    s = summarize_results(
        RESULTS,
        [{"line": 6, "reason": "invalid JSON: Expecting value"}],
        {"input": "x.jsonl", "settings": {"support_threshold": 0.5}, "in_scope": 6},
    )
    assert s["counts"] == {
        "in_scope": 6,
        "checked": 4,
        "skipped": 1,
        "errors": 0,
        "rejected": 1,
        "hallucinated": 2,
        "claims": 4,
        "flagged_claims": 2,
        "unverified_claims": 0,
    }
    assert s["hallucination_rate"] == 0.5
    assert s["by_group"]["model"]["a"]["hallucination_rate"] == 0.5
    assert s["by_group"]["model"]["b"]["records"] == 2
    assert s["by_group"]["route"]["/a"]["records"] == 4
    assert sum(s["histograms"]["response_score"]) == 3  # the answer without claims has no score
    assert s["histograms"]["response_score"][1] == 1 and s["histograms"]["response_score"][8] == 1
    assert sum(map(sum, s["histograms"]["claim_score"].values())) == 4
    assert s["verdicts"] == {"supported": 2, "unsupported": 1, "contradicted": 1, "unverified": 0}
    top = s["top_unsupported_claims"][0]  # the same claim, worded twice, counted together
    assert top["count"] == 2 and top["contradicted"] == 1 and {r["line"] for r in top["records"]} == {1, 3}
    assert s["reject_reasons"] == {"invalid JSON": 1}
    assert s["skipped_reasons"] == {"retriever run without an answer": 1}
    assert s["thresholds"]["support"] == 0.5


def test_unverified_claims_are_counted_apart_from_flagged_ones():
    long_answer = rec(
        1,
        "a",
        True,
        0.0,
        [claim("It is red.", "unsupported", 0.2)] + [unverified("The H2 weighs 3.4 kg.")] * 4,
    )
    s = summarize_results([long_answer, rec(2, "b", False, 0.9, [claim("Fine.", "supported", 0.9)])], [], {})
    assert (s["counts"]["claims"], s["counts"]["flagged_claims"], s["counts"]["unverified_claims"]) == (6, 1, 4)
    assert s["verdicts"] == {"supported": 1, "unsupported": 1, "contradicted": 0, "unverified": 4}
    assert s["by_group"]["model"]["a"]["unverified_claims"] == 4
    assert s["by_group"]["model"]["a"]["flagged_claims"] == 1
    assert [c["claim"] for c in s["top_unsupported_claims"]] == ["It is red."]
    # a placeholder 0.0 is not a score: the histogram holds only the claims that were judged
    assert sum(map(sum, s["histograms"]["claim_score"].values())) == 2


def test_summary_does_not_depend_on_the_order_records_finished_in():
    # Every record says the same thing (record 7 twice); two other claims tie on count.
    refunds = claim("Refunds take 90 days.", "unsupported", 0.25)
    results = [
        rec(n, "ab"[n % 2], True, 0.25, [refunds] * (2 if n == 7 else 1), [cite("[1]", 0, 9, n % 2 == 0)])
        for n in range(1, 8)
    ]
    results += [
        rec(8, "c", True, 0.3, [claim("Zebras fly.", "unsupported", 0.3), claim("Apples fly.", "unsupported", 0.4)]),
        {"line": 9, "id": "r9", "status": "skipped", "reason": "b"},
        {"line": 10, "id": "r10", "status": "skipped", "reason": "a"},
    ]
    first = summarize_results(results, [], {})
    top = first["top_unsupported_claims"]
    assert top[0]["count"] == 8
    assert top[0]["records"] == [{"id": f"r{n}", "line": n} for n in range(1, 6)]  # once each, lowest lines
    assert [c["claim"] for c in top[1:]] == ["Apples fly.", "Zebras fly."]  # a tie goes by text
    assert list(first["skipped_reasons"]) == ["a", "b"]
    assert list(first["citations"]["by_group"]["model"]) == ["b", "a"]  # more records first
    first.pop("generated_at")
    for seed in range(3):
        shuffled = results[:]
        random.Random(seed).shuffle(shuffled)
        again = summarize_results(shuffled, [], {})
        again.pop("generated_at")
        # compared as text, key order included: that is how two summary.json files get diffed
        assert json.dumps(again) == json.dumps(first)


def test_alce_citation_recall_and_precision_overall_and_per_group():
    c = summarize_results(RESULTS, [], {})["citations"]
    # record 1: sentences (0,20) supported by [2], (21,30) not -> recall 1/2; markers 1/3 support.
    # record 3: recall 1, precision 1.  ALCE averages per record.
    assert c["records_with_citations"] == 2
    assert c["recall"] == 0.75 and c["precision"] == round((1 / 3 + 1) / 2, 4)
    assert c["recall_micro"] == round(2 / 3, 4) and c["precision_micro"] == 0.5
    assert c["unsupported_markers"] == 2
    assert c["by_group"]["model"]["a"] == {
        "recall": 0.5,
        "precision": round(1 / 3, 4),
        "records_with_citations": 1,
    }


def test_segments_mark_flagged_claims_bad_citations_and_markers():
    answer = "Refunds take 90 days [1]. Shipping is free [2]."
    claims = [
        {"n": 1, "start": 0, "end": 20, "verdict": "contradicted", "score": 0.1},
        {"n": 2, "start": 26, "end": 43, "verdict": "supported", "score": 0.9},
    ]
    citations = [cite("[1]", 0, 25, False), cite("[2]", 26, 47, True)]
    segs = segments(answer, claims, citations)
    assert "".join(s["text"] for s in segs) == answer  # nothing lost or repeated
    first = segs[0]
    assert (first["text"], first["verdict"]) == ("Refunds take 90 days", "contradicted")
    assert first["bad_cite"]
    markers = [s for s in segs if "marker" in s]
    assert [(m["text"], m["marker"]["supports"]) for m in markers] == [("[1]", False), ("[2]", True)]
    shipping = next(s for s in segs if s["text"].startswith("Shipping"))
    assert shipping["verdict"] == "supported" and not shipping["bad_cite"]


def test_claims_written_before_the_verified_field_are_still_told_apart():
    # an audit resumed across the upgrade: its older lines carry only the engine's issue text
    legacy = {k: v for k, v in unverified("The H2 weighs 3.4 kg.").items() if k != "verified"}
    row = rec(1, "a", True, 0.0, [claim("It is red.", "supported", 0.9), legacy])
    s = summarize_results([row], [], {})
    assert (s["counts"]["flagged_claims"], s["counts"]["unverified_claims"]) == (0, 1)
