"""Claim features and verdicts from scored evidence windows (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from guardrail.evidence import Selection, Window
from guardrail.report import Claim, Passage
from guardrail.verify import FEATURES, Calibration, Scored, claim_features, decide, merge_chunks

EVIDENCE = Passage("The terminal handled 294,000 passengers in 2012. Its main base is Whitehorse.", "p1")


def scored(entailment: float, contradiction: float = 0.0, relevance: float = 1.0) -> list[Scored]:
    return [Scored(Window(EVIDENCE, 0, len(EVIDENCE.text)), relevance, entailment, contradiction)]


def test_question_words_do_not_count_as_support_for_the_answer() -> None:
    question = "How many passengers did the terminal in Whitehorse handle in 2012?"
    right, _ = claim_features(f"{question} 294,000", scored(0.5), asserted="294,000")
    wrong, checks = claim_features(f"{question} 187,500", scored(0.5), asserted="187,500")
    assert right[FEATURES.index("lexical")] == 1.0
    assert wrong[FEATURES.index("lexical")] == 0.0
    assert checks.conflict and checks.issues == ("number 187500 is not in the evidence",)
    # without ``asserted`` the question's words would make the wrong answer look supported
    diluted, _ = claim_features(f"{question} 187,500", scored(0.5))
    assert diluted[FEATURES.index("lexical")] >= 0.5


def test_names_count_over_the_whole_passage_of_a_window() -> None:
    page = Passage("Paul Sheerin joined Aberdeen in 2004. He later coached. Sheerin scored 12 goals.", "p2")
    window = Window(page, page.text.index("Sheerin scored"), len(page.text))
    _, checks = claim_features("Paul Sheerin scored 12 goals.", [Scored(window, 1.0, 0.9, 0.0)])
    assert checks.missing_names == ()  # the page names him in full, outside the window
    _, checks = claim_features("Paul Sheerin scored 12 goals for Dundee.", [Scored(window, 1.0, 0.9, 0.0)])
    assert checks.missing_names == ("dundee",)


def test_contradiction_counts_only_from_relevant_windows() -> None:
    off_topic = scored(0.1, contradiction=0.9, relevance=0.1) + scored(0.2, contradiction=0.0, relevance=1.0)
    features, _ = claim_features("The terminal handled 294,000 passengers.", off_topic)
    assert features[FEATURES.index("contradiction")] == 0.0



def test_numbers_count_from_the_windows_about_the_claim() -> None:
    page = Passage("By Neil Genzlinger, May 10, 2018. Charlie Russell died on May 7 in Calgary. "
                   "The cause was complications after surgery. He wrote 3 books in 1999.", "obit")

    def window(start: str, end: str | None) -> Window:
        return Window(page, page.text.index(start), page.text.index(end) if end else len(page.text))

    body = Scored(window("Charlie", " The cause"), 1.0, 0.9, 0.0)
    cause = Scored(window("The cause", " He wrote"), 0.5, 0.3, 0.0)
    dateline = Scored(window("By Neil", " Charlie"), 0.8, 0.1, 0.0)
    off_topic = Scored(window("He wrote", None), 0.2, 0.01, 0.0)
    # the body, relied on, gives the day; the dateline, about the claim but not relied on, the year
    _, checks = claim_features("Charlie Russell died on May 7, 2018 in Calgary.", [body, cause, dateline])
    assert not checks.conflict
    # a number that only a window about something else gives is still missing
    _, checks = claim_features("Charlie Russell died in 1999 in Calgary.", [body, cause, dateline, off_topic])
    assert checks.missing_numbers == ("1999",)


def test_decide_verdicts_and_evidence() -> None:
    claim = Claim("The terminal handled 294,000 passengers in 2012.", 0, 48)
    cal = Calibration()
    supported = decide(claim, scored(0.98), cal, 0.5, 0.5)
    assert supported.verdict == "supported" and supported.evidence[0].passage.id == "p1"
    contradicted = decide(claim, scored(0.01, contradiction=0.95), cal, 0.5, 0.5)
    assert contradicted.verdict == "contradicted"
    nothing = decide(claim, [], cal, 0.5, 0.5)
    assert nothing.verdict == "unsupported" and nothing.score == 0.0


def test_a_measurement_the_evidence_gives_otherwise_is_never_supported() -> None:
    specs = Passage("The H2 weighs 3.4 kg and costs 549 euros.", "specs")
    entailed = [Scored(Window(specs, 0, len(specs.text)), 1.0, 0.97, 0.01)]  # NLI reads it as entailed
    wrong = decide(Claim("The H2 weighs 9 kg.", 0, 19), entailed, Calibration(), 0.5, 0.5)
    assert wrong.verdict == "contradicted" and wrong.issues == ("the evidence gives 3.4 kg, not 9 kg",)
    right = decide(Claim("The H2 weighs 3.4 kg.", 0, 21), entailed, Calibration(), 0.5, 0.5)
    assert right.verdict == "supported" and right.issues == ()
    # in another unit: 9 pounds is 4.1 kg; 7.5 pounds is 3.4 kg as people round it
    wrong = decide(Claim("The H2 weighs 9 pounds.", 0, 23), entailed, Calibration(), 0.5, 0.5)
    assert wrong.verdict == "contradicted" and wrong.issues == ("the evidence gives 3.4 kg, not 9 lb",)
    right = decide(Claim("The H2 weighs 7.5 pounds.", 0, 25), entailed, Calibration(), 0.5, 0.5)
    assert right.verdict == "supported" and right.issues == ()


def test_calibration_loads_from_the_model_dir(tmp_path: Path) -> None:
    assert Calibration.load(tmp_path) == Calibration()
    (tmp_path / "calibration.json").write_text(json.dumps({"bias": 0.5, "weights": [1, 0, 0, 0, 0]}))
    cal = Calibration.load(tmp_path)
    assert cal.score([0.0, 0, 0, 0, 0]) == 1 / (1 + np.exp(-0.5))


def test_merge_chunks_takes_the_weakest_entailment_and_strongest_contradiction() -> None:
    merged = merge_chunks([np.array([0.9, 0.05, 0.05]), np.array([0.2, 0.1, 0.7])])
    assert merged.tolist() == np.array([0.2, 0.1, 0.7], dtype=np.float32).tolist()


def test_short_answers_use_their_own_weights(tmp_path: Path) -> None:
    data = {"bias": 0.0, "weights": [1, 0, 0, 0, 0],
            "short_answer": {"bias": 0.0, "weights": [0, 0, 2, 0, 0]}}
    (tmp_path / "calibration.json").write_text(json.dumps(data))
    cal = Calibration.load(tmp_path)
    assert cal.for_claim(None) is cal
    assert cal.for_claim("Paris") == Calibration(0.0, (0.0, 0.0, 2.0, 0.0, 0.0))
    # a calibration without a short-answer fit uses its one set of weights for every claim
    assert Calibration().for_claim("Paris") == Calibration()
    claim = Claim("The capital of France is Paris.", 0, 5)
    evidence = [Scored(Window(Passage("Paris is the capital of France.", "p"), 0, 31), 1.0, 0.5, 0.0)]
    assert decide(claim, evidence, cal, 0.5, 0.5).score == 0.5  # sentence weights: logit(0.5) = 0
    assert decide(claim, evidence, cal, 0.5, 0.5, asserted="Paris").score > 0.85  # lexical 1.0 * 2


def test_a_selection_is_quoted_sentence_by_sentence() -> None:
    first, second = Window(EVIDENCE, 0, 48), Window(EVIDENCE, 49, len(EVIDENCE.text))
    picked = Scored(Selection((first, second)), 1.0, 0.97, 0.01)
    result = decide(Claim("The terminal in Whitehorse handled 294,000 passengers in 2012.", 0, 61),
                    [picked, *scored(0.4)], Calibration(), 0.5, 0.5)
    assert [(e.start, e.end, e.entailment) for e in result.evidence] == [(0, 48, 0.97), (49, 77, 0.97)]
    assert all(EVIDENCE.text[e.start:e.end] == e.quote for e in result.evidence)
