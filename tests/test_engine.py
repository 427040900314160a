"""End-to-end checks with the real embedded verifier."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from guardrail import (
    BlockedResponse,
    Claim,
    ConfigError,
    EvidenceError,
    Guardrail,
    InputError,
    Passage,
    Policy,
    Report,
    Settings,
    VerificationError,
)

CURIE_CONTEXT = [
    "Marie Curie was a Polish and naturalised-French physicist and chemist who conducted pioneering "
    "research on radioactivity. Marie Curie was born in Warsaw in 1867. She was the first woman to win "
    "a Nobel Prize.",
    "Marie Curie died in France in 1934, of aplastic anaemia caused by her long exposure to radiation.",
]

GOOD = "Marie Curie was born in Warsaw in 1867. She died in 1934 in France."
BAD = "Marie Curie was born in Berlin in 1901."


def test_supported_claims_get_citations(guard: Guardrail) -> None:
    report = guard.check(GOOD, context=CURIE_CONTEXT)
    assert len(report.claims) == 2
    assert all(c.verdict == "supported" for c in report.claims), report.claims
    assert report.factual_precision == 1.0 and report.ok
    assert "[1]" in report.output and "Sources:" in report.output
    ev = report.claims[0].evidence[0]
    assert ev.passage.text[ev.start:ev.end] == ev.quote


def test_wrong_claim_is_flagged_with_issues(guard: Guardrail) -> None:
    report = guard.check(BAD, context=CURIE_CONTEXT)
    assert [c.verdict for c in report.claims] != ["supported"]
    assert report.flagged and not report.ok
    assert any("1901" in issue for issue in report.claims[0].issues)


def test_support_spread_over_distant_sentences_is_read_together(guard: Guardrail) -> None:
    filler = " ".join(f"The orchestra toured city number {i} during the spring season." for i in range(14))
    context = f"Joan Hartley was born in 1934 in Vienna. {filler} Hartley's first opera premiered in Leeds in 1961."
    right = guard.verify("Joan Hartley, born in 1934, saw her first opera premiered in Leeds.", context=[context])
    assert right.verdict == "supported", right
    # no window of consecutive sentences holds both facts: the evidence is the two sentences, quoted apart
    assert [context[e.start:e.end] for e in right.evidence[:2]] == [
        "Joan Hartley was born in 1934 in Vienna.", "Hartley's first opera premiered in Leeds in 1961."]
    wrong = guard.verify("Joan Hartley was born in 1934 and her first opera premiered in York.", context=[context])
    assert wrong.verdict != "supported" and "name 'york' is not in the evidence" in wrong.issues


def test_off_topic_evidence_gives_unsupported_not_contradicted(guard: Guardrail) -> None:
    report = guard.check("The Halcyra H2 robot vacuum weighs 3.4 kg.", context=CURIE_CONTEXT)
    assert [c.verdict for c in report.claims] == ["unsupported"]


def test_no_evidence_is_never_supported(guard: Guardrail) -> None:
    report = guard.check(GOOD)
    assert all(c.verdict == "unsupported" for c in report.claims)
    assert report.claims[0].issues == ("no evidence found for this claim",)
    assert report.output == GOOD  # nothing to cite


def test_empty_and_whitespace_answers(guard: Guardrail) -> None:
    for text in ("", "   \n", b""):
        report = guard.check(text, context=CURIE_CONTEXT)
        assert report.claims == () and report.ok and report.score == 1.0


def test_binary_invalid_utf8_and_huge_answers_raise_input_error(guard: Guardrail) -> None:
    with pytest.raises(InputError, match="not valid UTF-8"):
        guard.check(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="NUL"):
        guard.check("abc\x00def")
    with pytest.raises(InputError, match=r"not valid Unicode text .*surrogate"):
        guard.check("Paris is in France.\udcff")
    small = Guardrail(max_answer_chars=100, nli=guard.nli)
    with pytest.raises(InputError, match="over the limit"):
        small.check("x" * 101)


def test_one_megabyte_answer_gives_a_bounded_report(guard: Guardrail) -> None:
    text = ("Marie Curie was born in Warsaw in 1867. " * 26_000)[:1_000_000]
    g = Guardrail(max_claims=5, nli=guard.nli)
    report = g.check(text, context=CURIE_CONTEXT)
    assert len(report.claims) > 5
    verified, skipped = report.claims[:5], report.claims[5:]
    assert all(c.evidence and c.verified for c in verified)
    assert all(c.verdict == "unsupported" and not c.verified and "not verified" in c.issues[0] for c in skipped)
    assert skipped[0].issues == ("not verified: the answer has over 5 claims",)
    one = Guardrail(max_claims=1, nli=guard.nli).check(text[:200], context=CURIE_CONTEXT)
    assert one.claims[1].issues == ("not verified: the answer has over 1 claim",)
    assert [c["verified"] for c in report.to_dict()["claims"][4:6]] == [True, False]


def test_claim_longer_than_the_model_window_is_verified_in_chunks(guard: Guardrail) -> None:
    long_claim = "Marie Curie was born in Warsaw in 1867 and " + " and ".join(
        f"she studied topic number {i} in depth" for i in range(60))
    result = guard.verify(long_claim, context=CURIE_CONTEXT)
    assert result.claim.text == long_claim  # never truncated
    assert result.verdict != "supported"


def test_ten_thousand_passages_of_context(guard: Guardrail) -> None:
    context = [f"Record {i}: the warehouse in town {i} stores {i} crates." for i in range(10_000)]
    context[7777] = "Marie Curie was born in Warsaw in 1867."
    report = guard.check("Marie Curie was born in Warsaw in 1867.", context=context)
    assert report.claims[0].verdict == "supported"
    assert report.claims[0].evidence[0].passage.id == "ctx7778"


def test_existing_citation_markers_are_audited(guard: Guardrail) -> None:
    answer = "Marie Curie was born in Warsaw in 1867 [1]. She died in 1934 [1]."
    report = guard.check(answer, context=CURIE_CONTEXT)
    assert [c.supports for c in report.citations] == [True, False]
    assert report.citation_recall == 0.5 and report.citation_precision == 0.5


def test_block_policy_raises(guard: Guardrail) -> None:
    g = Guardrail(policy="block", nli=guard.nli)
    with pytest.raises(BlockedResponse) as info:
        g.check(BAD, context=CURIE_CONTEXT)
    assert info.value.report.flagged
    assert g.check(GOOD, context=CURIE_CONTEXT).ok


def test_check_many_batches_and_never_raises_block(guard: Guardrail) -> None:
    g = Guardrail(policy="block", nli=guard.nli)
    reports = g.check_many([{"answer": GOOD, "context": CURIE_CONTEXT}, {"answer": BAD, "context": CURIE_CONTEXT}])
    assert reports[0].ok and reports[0].output
    assert reports[1].flagged and reports[1].output == ""


async def test_acheck_matches_check(guard: Guardrail) -> None:
    sync = guard.check(GOOD, context=CURIE_CONTEXT)
    asyn = await guard.acheck(GOOD, context=CURIE_CONTEXT)
    assert [c.verdict for c in sync.claims] == [c.verdict for c in asyn.claims]
    assert sync.output == asyn.output


class _Broken:
    def predict(self, pairs):  # type: ignore[no-untyped-def]
        raise RuntimeError("CUDA out of memory")


class _FailingRetriever:
    def retrieve(self, query: str, k: int) -> list[Passage]:
        raise TimeoutError("search timed out")

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        await asyncio.sleep(0)
        raise TimeoutError("search timed out")


class _StaticRetriever:
    def retrieve(self, query: str, k: int) -> list[Passage]:
        return [Passage(CURIE_CONTEXT[0], "wiki", url="https://en.wikipedia.org/wiki/Marie_Curie")]

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        return self.retrieve(query, k)


def test_verifier_failure_fails_open_by_default() -> None:
    report = Guardrail(nli=_Broken()).check(GOOD, context=CURIE_CONTEXT)
    assert report.output == GOOD and report.errors and "CUDA out of memory" in report.errors[0]
    assert all(c.verdict == "unsupported" and not c.verified for c in report.claims) and not report.ok


def test_verifier_failure_fails_closed_when_asked() -> None:
    with pytest.raises(VerificationError, match="CUDA out of memory"):
        Guardrail(nli=_Broken(), fail="closed").check(GOOD, context=CURIE_CONTEXT)


async def test_retriever_failure_is_recorded_and_other_evidence_still_used(guard: Guardrail) -> None:
    g = Guardrail(retrievers=[_FailingRetriever(), _StaticRetriever()], nli=guard.nli)
    for report in (g.check(GOOD), await g.acheck(GOOD)):
        assert any("search timed out" in e for e in report.errors)
        assert report.claims[0].verdict == "supported"
        assert report.sources[0].url == "https://en.wikipedia.org/wiki/Marie_Curie"
    closed = Guardrail(retrievers=[_FailingRetriever()], nli=guard.nli, fail="closed")
    with pytest.raises(EvidenceError, match="_FailingRetriever failed: search timed out") as info:
        closed.check(GOOD)
    assert isinstance(info.value.__cause__, TimeoutError)  # the retriever's own error is kept
    with pytest.raises(EvidenceError, match="search timed out"):
        await closed.acheck(GOOD)


class _FailingExtractor:
    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        raise KeyError("quota")


async def test_a_custom_part_failing_closed_raises_a_guardrail_error(guard: Guardrail) -> None:
    # README: "closed" raises GuardrailError subclasses, so one except clause catches every failure
    g = Guardrail(extractor=_FailingExtractor(), nli=guard.nli, fail="closed")
    with pytest.raises(VerificationError, match="_FailingExtractor failed: 'quota'"):
        g.check(GOOD, context=CURIE_CONTEXT)
    with pytest.raises(VerificationError, match="_FailingExtractor failed"):
        await g.acheck(GOOD, context=CURIE_CONTEXT)


class _JunkExtractor:
    def __init__(self, claims: object) -> None:
        self.claims = claims

    def extract(self, text: str, *, question: str | None = None) -> object:
        return self.claims


@pytest.mark.parametrize(("claims", "message"), [
    (["Marie Curie was born in Warsaw in 1867."], "returned a str among its claims, not a Claim"),
    ("Marie Curie was born in Warsaw in 1867.", "returned str, not a list of Claim"),
    ([Claim("Marie Curie was born in Warsaw in 1867.", 5, 500)], "offsets are not a span of the 67-character answer"),
])
async def test_an_extractor_returning_junk_is_a_component_failure(guard: Guardrail, claims: object,
                                                                  message: str) -> None:
    g = Guardrail(extractor=_JunkExtractor(claims), nli=guard.nli)  # type: ignore[arg-type]
    for report in (g.check(GOOD, context=CURIE_CONTEXT), await g.acheck(GOOD, context=CURIE_CONTEXT)):
        assert report.errors and message in report.errors[0]
        # the rule-based claims are checked instead, and their offsets point into the answer
        assert [GOOD[c.claim.start:c.claim.end] for c in report.claims] == [
            "Marie Curie was born in Warsaw in 1867.", "She died in 1934 in France."]
    with pytest.raises(VerificationError, match=message):
        Guardrail(extractor=_JunkExtractor(claims), nli=guard.nli, fail="closed").check(GOOD)  # type: ignore[arg-type]


class _WithBrokenFallback(_JunkExtractor):
    """An extractor whose own fallback fails too."""

    def __init__(self) -> None:
        super().__init__("not claims")
        self.fallback = _Raising()


class _Raising:
    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        raise RuntimeError("fallback down")


async def test_a_fallback_that_fails_too_hands_over_to_the_rule_based_extractor(guard: Guardrail) -> None:
    g = Guardrail(extractor=_WithBrokenFallback(), nli=guard.nli)  # type: ignore[arg-type]
    for report in (g.check(GOOD, context=CURIE_CONTEXT), await g.acheck(GOOD, context=CURIE_CONTEXT)):
        assert "_Raising failed: fallback down" in report.errors[1]
        assert len(report.claims) == 2 and report.claims[0].verdict == "supported"


class _TextRetriever:
    def retrieve(self, query: str, k: int) -> list[str]:
        return [CURIE_CONTEXT[0]]

    async def aretrieve(self, query: str, k: int) -> list[str]:
        return self.retrieve(query, k)


async def test_a_retriever_returning_texts_is_a_component_failure(guard: Guardrail) -> None:
    g = Guardrail(retrievers=[_TextRetriever()], nli=guard.nli)  # type: ignore[list-item]
    for report in (g.check(GOOD, context=CURIE_CONTEXT), await g.acheck(GOOD, context=CURIE_CONTEXT)):
        assert "_TextRetriever returned a str among its passages, not a Passage" in report.errors[0]
        assert report.claims[0].verdict == "supported"  # the context still counts
    with pytest.raises(EvidenceError, match="not a Passage"):
        Guardrail(retrievers=[_TextRetriever()], nli=guard.nli, fail="closed").check(GOOD)  # type: ignore[list-item]


class _WrongShape:
    def predict(self, pairs):  # type: ignore[no-untyped-def]
        return np.zeros((len(pairs), 2))  # a 2-way model: no contradiction column


def test_a_verifier_returning_the_wrong_shape_fails_like_a_broken_one() -> None:
    report = Guardrail(nli=_WrongShape()).check(GOOD, context=CURIE_CONTEXT)
    assert report.output == GOOD and "_WrongShape.predict returned shape" in report.errors[0]
    assert not any(c.verified for c in report.claims)
    with pytest.raises(VerificationError, match=r"expected \(\d+, 3\)"):
        Guardrail(nli=_WrongShape(), fail="closed").check(GOOD, context=CURIE_CONTEXT)


def test_parts_without_their_method_are_config_errors_at_setup() -> None:
    with pytest.raises(ConfigError, match=r"an extractor needs extract.*; object has not"):
        Guardrail(extractor=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"an NLI model needs predict.*; str has not"):
        Guardrail(nli="cross-encoder/nli-deberta")  # type: ignore[arg-type]


def test_a_policy_returning_no_text_is_a_config_error(guard: Guardrail) -> None:
    class Forgetful:
        def apply(self, report: Report) -> str:
            report.answer.upper()  # forgot the return
            return None  # type: ignore[return-value]

    with pytest.raises(ConfigError, match="policy 'Forgetful' returned NoneType, not the text to show"):
        Guardrail(policy=Forgetful(), nli=guard.nli).check(GOOD, context=CURIE_CONTEXT)


def test_a_question_that_is_not_text_is_an_input_error(guard: Guardrail) -> None:
    with pytest.raises(InputError, match="the question must be text, got int"):
        guard.check("1867", context=CURIE_CONTEXT, question=1867)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="the question must be text, got list"):
        guard.check_many([{"answer": "1867", "question": ["When?"]}])
    # bytes are read as UTF-8, like the answer
    report = guard.check(b"1867", context=CURIE_CONTEXT, question=b"In what year was Marie Curie born?")
    assert report.claims[0].claim.text == "Marie Curie was born in 1867." and report.ok


async def test_acheck_does_not_extract_from_a_blank_answer(guard: Guardrail) -> None:
    class Counting:
        calls = 0

        def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
            Counting.calls += 1
            return []

    g = Guardrail(extractor=Counting(), nli=guard.nli)
    for text in ("", "  \n"):
        assert g.check(text).ok and (await g.acheck(text)).ok
    assert Counting.calls == 0  # an LLM extractor would have been called (and billed) for nothing


def test_settings_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match="support_threshold: Input should be less than or equal to 1"):
        Guardrail(support_threshold=3)
    with pytest.raises(ConfigError, match=r"fail: .*'open' or 'closed' \(got 'maybe'\)"):
        Guardrail(fail="maybe")
    with pytest.raises(ConfigError, match="top_kk: Extra inputs"):
        Guardrail(top_kk=3)
    assert Guardrail(top_k=2).settings.top_k == 2
    assert Settings().fail == "open"


def test_check_many_rejects_items_it_would_misread(guard: Guardrail) -> None:
    for items, got in [([{"answr": GOOD}], "keys \\['answr'\\]"), ([GOOD], "got str"),
                       ([{"answer": GOOD, "contxt": CURIE_CONTEXT}], "keys \\['answer', 'contxt'\\]")]:
        with pytest.raises(InputError, match=f"item 0 must be a mapping with 'answer'.*{got}"):
            guard.check_many(items)


def test_verify_many_rejects_what_is_not_a_claim_and_context(guard: Guardrail) -> None:
    with pytest.raises(InputError, match="item 0 must be a \\(claim, context\\) pair, got 1 items"):
        guard.verify_many([("x",)])  # type: ignore[list-item]
    with pytest.raises(InputError, match="the claim must be text, got int"):
        guard.verify(123)  # type: ignore[arg-type]
    result = guard.verify("  Marie Curie was born in Warsaw.  ", context=CURIE_CONTEXT)
    assert (result.claim.start, result.claim.end) == (2, 33) and result.verdict == "supported"


def test_a_claim_read_from_two_passages_cites_the_one_about_it(guard: Guardrail) -> None:
    context = [{"text": "Marie Curie was born in Warsaw in 1867.", "id": "bio", "title": "Curie bio"},
               {"text": "She died in 1934 of aplastic anaemia.", "id": "death", "title": "Curie death"}]
    report = guard.check("Marie Curie was born in Warsaw. She died in 1934.", context=context)
    assert [c.verdict for c in report.claims] == ["supported", "supported"]
    assert [report.sources[c.citation - 1].id for c in report.claims if c.citation] == ["bio", "death"]


def test_a_retriever_without_retrieve_is_a_config_error() -> None:
    class LangChainLike:
        def invoke(self, query: str) -> list[str]:
            return []

    with pytest.raises(ConfigError, match=r"LangChainLike has not .*wrap it in .*LangChainRetriever"):
        Guardrail(retrievers=[LangChainLike()])  # type: ignore[list-item]


def test_a_custom_policy_needs_only_apply(guard: Guardrail) -> None:
    class Shout:
        def apply(self, report: Report) -> str:
            return report.answer.upper()

    report = Guardrail(policy=Shout(), nli=guard.nli).check(GOOD, context=CURIE_CONTEXT)
    assert report.output == GOOD.upper() and report.policy == "Shout"
    assert isinstance(Shout(), Policy)  # the protocol, like the README, asks for apply alone


def test_report_json_round_trip(guard: Guardrail) -> None:
    import json

    data = json.loads(guard.check(GOOD, context=CURIE_CONTEXT).to_json())
    assert data["factual_precision"] == 1.0 and data["claims"][0]["evidence"][0]["passage"]["id"] == "ctx1"
    assert isinstance(np.float32(1).item(), float)


def test_titled_passage_lets_a_window_that_never_names_its_subject_support_a_claim(guard: Guardrail) -> None:
    doc = Path(__file__).resolve().parents[1] / "examples" / "docs" / "apollo-11.txt"
    passage = Passage(doc.read_text(), "apollo", title="Apollo 11")
    report = guard.check("Apollo 11 landed on the Moon on 20 July 1969.", context=[passage])
    assert report.claims[0].verdict == "supported"
    assert "20 July 1969" in report.claims[0].evidence[0].quote


def test_short_answer_is_verified_as_the_statement_it_makes(guard: Guardrail) -> None:
    question = "In what year was Marie Curie born?"
    right = guard.check("1867", context=CURIE_CONTEXT, question=question)
    assert right.claims[0].claim.text == "Marie Curie was born in 1867."
    assert (right.claims[0].claim.start, right.claims[0].claim.end) == (0, 4)
    assert right.claims[0].verdict == "supported", right.claims[0]
    wrong = guard.check("1901", context=CURIE_CONTEXT, question=question)
    assert wrong.claims[0].verdict != "supported"
    # only the answer's own words are checked: the question's names are given, not claimed
    assert wrong.claims[0].issues == ("number 1901 is not in the evidence",)


def test_a_which_came_first_answer_is_settled_by_the_years(guard: Guardrail) -> None:
    context = ["Allan Dwan (3 April 1885 – 28 December 1981) was a Canadian-born American film director.",
               "George E. Marshall (December 29, 1891 – February 17, 1975) was an American film director."]
    question = "Who was born first, George Marshall or Allan Dwan?"
    wrong = guard.check("George Marshall was born earlier.", context=context, question=question)
    assert wrong.claims[0].verdict == "contradicted" and wrong.score <= 0.1
    assert "the evidence dates George Marshall to 1891 and Allan Dwan to 1885" in wrong.claims[0].issues[-1]
    right = guard.check("Allan Dwan", context=context, question=question)
    assert right.claims[0].verdict == "supported" and right.ok
    # the years settle the pick, not another sentence about the one picked
    longer = guard.check("Allan Dwan was born first. Allan Dwan directed 400 films.", context=context,
                         question=question)
    assert longer.claims[0].verdict == "supported" and longer.claims[1].flagged, longer.claims
    assert longer.claims[1].issues == ("number 400 is not in the evidence",)


def test_a_chat_answers_small_talk_is_not_flagged_and_its_hedged_claim_is_checked(guard: Guardrail) -> None:
    answer = ("Great question! I'm not sure about her prizes, but Marie Curie was born in Berlin. "
              "Hope this helps! Let me know if you have other questions.")
    report = guard.check(answer, context=CURIE_CONTEXT)
    (claim,) = report.claims
    assert answer[claim.claim.start:claim.claim.end] == "Marie Curie was born in Berlin."
    assert claim.verdict == "contradicted" and not report.ok
    # a yes to a yes/no question is the question restated, and "she" is the one it asks about
    reply = guard.check("Yes, she was. She died in 1934 in France.", context=CURIE_CONTEXT,
                        question="Was Marie Curie born in Warsaw?")
    assert [c.claim.text for c in reply.claims] == ["Marie Curie was born in Warsaw.",
                                                    "Marie Curie died in 1934 in France."]
    assert reply.ok, reply.claims


def test_an_annotated_answer_checked_again_makes_the_same_claims(guard: Guardrail) -> None:
    # a monitor downstream of the guard sees the [n] markers and the Sources list: neither is a claim
    report = guard.check(GOOD, context=[Passage(text=t, id=f"doc{i}", url=f"https://example.org/{i}",
                                                title=f"Marie Curie was a physicist, part {i}")
                                        for i, t in enumerate(CURIE_CONTEXT)])
    assert "Sources:" in report.output
    again = guard.check(report.output, context=CURIE_CONTEXT)
    assert [c.claim.text for c in again.claims] == [c.claim.text for c in report.claims]


def test_a_wrong_no_is_caught_by_the_denial_it_makes(guard: Guardrail) -> None:
    context = ["The Halcyra H2 robot vacuum comes in black and white. It weighs 3.4 kg."]
    wrong = guard.check("No, it only comes in black.", context=context, question="Does the H2 come in white?")
    denied, clause = wrong.claims
    assert denied.claim.text == "The H2 does not come in white." and denied.verdict == "contradicted"
    assert clause.claim.text == "The H2 only comes in black." and not wrong.ok
    right = guard.check("Yes, it comes in black and white.", context=context, question="Does the H2 come in white?")
    assert [c.claim.text for c in right.claims] == ["The H2 comes in black and white."] and right.ok


def test_a_wrong_number_in_a_table_is_caught(guard: Guardrail) -> None:
    context = ["The Halcyra H2 weighs 3.4 kg and its battery lasts 180 minutes. The H3 weighs 3.9 kg."]
    answer = "| Feature | H2 | H3 |\n|---|---|---|\n| Weight | 3.4 kg | 5.2 kg |"
    report = guard.check(answer, context=context)
    right, wrong = report.claims
    assert right.claim.text == "The weight of H2 is 3.4 kg." and right.verdict == "supported", right
    assert answer[wrong.claim.start:wrong.claim.end] == "5.2 kg" and wrong.flagged
