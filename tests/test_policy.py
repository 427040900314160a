from __future__ import annotations

import pytest

from guardrail import BlockedResponse, Claim, ClaimResult, ConfigError, Evidence, Passage, Report
from guardrail.policy import assign_citations, get_policy, render

ANSWER = "Paris is the capital of France. It has 90 million people. The Seine flows through it."
P1 = Passage("Paris is the capital and largest city of France.", "doc1", url="https://ex.org/paris", title="Paris")
P2 = Passage("The Seine flows through Paris.", "doc2")


def result(text: str, verdict: str, passage: Passage | None) -> ClaimResult:
    start = ANSWER.index(text)
    ev = (Evidence(passage, passage.text, 0, len(passage.text), 0.9, 0.0),) if passage else ()
    return ClaimResult(Claim(text, start, start + len(text)), verdict, 0.9 if verdict == "supported" else 0.1, ev)  # type: ignore[arg-type]


def make_report(policy: str) -> Report:
    claims, sources = assign_citations([
        result("Paris is the capital of France.", "supported", P1),
        result("It has 90 million people.", "contradicted", P1),
        result("The Seine flows through it.", "supported", P2),
    ])
    return Report(ANSWER, tuple(claims), tuple(sources), render(ANSWER, claims, sources), "", policy)


def test_annotate_cites_supported_claims_before_their_punctuation() -> None:
    report = make_report("annotate")
    assert [c.citation for c in report.claims] == [1, None, 2]
    out = get_policy("annotate").apply(report)
    assert out.startswith(
        "Paris is the capital of France [1]. It has 90 million people. The Seine flows through it [2].")
    assert "Sources:\n[1] Paris <https://ex.org/paris>\n[2] doc2" in out


def test_the_answers_own_marker_gives_way_to_the_citation() -> None:
    answer = "Paris is the capital of France [3]. The Seine flows through it [1][2]."
    claims = [ClaimResult(Claim("Paris is the capital of France [3].", 0, 35), "supported", 0.9,
                          (Evidence(P1, P1.text, 0, len(P1.text), 0.9, 0.0),), citation=1),
              ClaimResult(Claim("The Seine flows through it [1][2].", 36, 70), "supported", 0.9,
                          (Evidence(P2, P2.text, 0, len(P2.text), 0.9, 0.0),), citation=2)]
    out = render(answer, claims, [P1, P2])
    assert out.startswith("Paris is the capital of France [1]. The Seine flows through it [2].\n\nSources:")


def test_flag_returns_the_answer_unchanged() -> None:
    assert get_policy("flag").apply(make_report("flag")) == ANSWER


def test_redact_removes_flagged_claims_only() -> None:
    out = get_policy("redact").apply(make_report("redact"))
    assert "90 million" not in out
    assert out.startswith("Paris is the capital of France [1]. The Seine flows through it [2].")


@pytest.mark.parametrize(("answer", "flagged", "expected"), [
    # a later clause takes its "and" with it and leaves the sentence its full stop
    ("The H2 weighs 3.4 kg, and it was designed by NASA.", "it was designed by NASA.", "The H2 weighs 3.4 kg."),
    ("The H2 weighs 3.4 kg; it was designed by NASA.", "it was designed by NASA.", "The H2 weighs 3.4 kg."),
    # a first clause gives its "and" away and the rest opens the sentence
    ("It was designed by NASA, and the H2 weighs 3.4 kg.", "It was designed by NASA", "The H2 weighs 3.4 kg."),
    # a list item goes with its bullet; indentation and code elsewhere stay as they were
    ("- The H2 weighs 3.4 kg.\n- It was designed by NASA.\n\n    x = 1  # two spaces\n",
     "It was designed by NASA.", "- The H2 weighs 3.4 kg.\n\n    x = 1  # two spaces"),
])
def test_redact_leaves_the_rest_well_formed(answer: str, flagged: str, expected: str) -> None:
    start = answer.index(flagged)
    claims = [ClaimResult(Claim(flagged, start, start + len(flagged)), "contradicted", 0.1, ())]
    assert render(answer, claims, [], drop_flagged=True) == expected


@pytest.mark.parametrize(("answer", "flagged", "expected"), [
    # every clause of the sentence: nothing is left, not even its full stop
    ("Mars is the fifth planet, and Mars is the size of Jupiter.",
     ["Mars is the fifth planet", "Mars is the size of Jupiter."], ""),
    # CRLF lists lose the bullet too; emphasis around a removed sentence goes with it
    ("Facts:\r\n- A is x.\r\n- B is y.\r\n- C is z.\r\n", ["B is y."], "Facts:\r\n- A is x.\r\n- C is z."),
    ("**Mars is the fifth planet.** Mars has two moons.", ["Mars is the fifth planet."], "Mars has two moons."),
    # a removed paragraph leaves one blank line between its neighbours
    ("Intro is here.\n\nMars is big.\n\nMars has moons.", ["Mars is big."], "Intro is here.\n\nMars has moons."),
])
def test_redact_cleans_up_after_several_cuts(answer: str, flagged: list[str], expected: str) -> None:
    claims = [ClaimResult(Claim(f, answer.index(f), answer.index(f) + len(f)), "contradicted", 0.1, ())
              for f in flagged]
    assert render(answer, claims, [], drop_flagged=True) == expected


@pytest.mark.parametrize(("answer", "claims", "expected"), [
    # the sentence a pronoun pointed back to is gone: the subject the claim was checked with opens it
    ("Curie was born in Paris. She won two Nobel Prizes.",
     [("Curie was born in Paris.", "Curie was born in Paris.", True),
      ("She won two Nobel Prizes.", "Curie won two Nobel Prizes.", False)], "Curie won two Nobel Prizes."),
    ("The H2 weighs 30 kg, and its battery is covered.",
     [("The H2 weighs 30 kg", "The H2 weighs 30 kg.", True),
      ("its battery is covered.", "The H2's battery is covered.", False)], "The H2's battery is covered."),
    # the antecedent is still there: the pronoun stays
    ("Curie was born in Warsaw. She won two Nobel Prizes. She died in 1934.",
     [("Curie was born in Warsaw.", "Curie was born in Warsaw.", False),
      ("She won two Nobel Prizes.", "Curie won two Nobel Prizes.", False),
      ("She died in 1934.", "Curie died in 1934.", True)], "Curie was born in Warsaw. She won two Nobel Prizes."),
])
def test_redact_names_the_subject_a_cut_sentence_held(answer: str, claims: list[tuple[str, str, bool]],
                                                    expected: str) -> None:
    results = [ClaimResult(Claim(text, answer.index(span), answer.index(span) + len(span)),
                           "contradicted" if flagged else "supported", 0.5)
               for span, text, flagged in claims]
    assert render(answer, results, [], drop_flagged=True) == expected


def test_block_raises_with_the_report() -> None:
    with pytest.raises(BlockedResponse) as info:
        get_policy("block").apply(make_report("block"))
    assert len(info.value.report.flagged) == 1 and "1 of 3 claims" in str(info.value)


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown policy 'shout'"):
        get_policy("shout")


def test_redact_cuts_a_span_that_several_claims_share_once() -> None:
    # "Both Blur and Oasis are ..." is one claim about each name, on the same span
    answer = "Intro sentence here is fine. Both Blur and Oasis are British rock bands. The end is near now."
    start, end = answer.index("Both"), answer.index("bands.") + len("bands.")
    cited = (Evidence(P1, P1.text, 0, len(P1.text), 0.9, 0.0),)
    for verdicts in (("contradicted", "contradicted"), ("supported", "contradicted")):
        claims = [ClaimResult(Claim("Intro sentence here is fine.", 0, 28), "supported", 0.9, cited, citation=1),
                  *(ClaimResult(Claim(name, start, end), v, 0.5, cited if v == "supported" else (),
                                citation=1 if v == "supported" else None)
                    for name, v in zip(("Blur is a British rock band.", "Oasis is a British rock band."), verdicts)),
                  ClaimResult(Claim("The end is near now.", end + 1, len(answer)), "supported", 0.9, cited, citation=1)]
        assert render(answer, claims, [P1], drop_flagged=True).startswith(
            "Intro sentence here is fine [1]. The end is near now [1].\n\nSources:")


def test_a_sentence_one_of_its_claims_makes_false_is_cited_for_none() -> None:
    answer = "Both Blur and Oasis are British rock bands. Everything else here was cut."
    end = answer.index("bands.") + len("bands.")
    cited = (Evidence(P1, P1.text, 0, len(P1.text), 0.9, 0.0),)
    claims = [ClaimResult(Claim("Blur is a British rock band.", 0, end), "supported", 0.9, cited, citation=1),
              ClaimResult(Claim("Oasis is a British rock band.", 0, end), "unsupported", 0.1),
              ClaimResult(Claim("Everything else here was cut.", end + 1, len(answer)), "unsupported", 0.1)]
    assert render(answer, claims, [P1]) == answer  # no [1], and no Sources list with nothing to explain
    assert render(answer, claims, [P1], drop_flagged=True) == ""  # all cut: no orphan Sources list
