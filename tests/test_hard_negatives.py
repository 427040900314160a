"""The synthetic negatives the training and calibration scripts make (deterministic per seed)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from hard_negatives import (
    augment,
    by_surname,
    conjoin,
    extrinsic,
    flip_negation,
    question_answers,
    shaped,
    surnames,
    swap_number,
)

PAIR = {"premise": "Ada Lovelace was born in London in 1815.", "hypothesis": "Ada Lovelace was born in 1815.",
        "label": "entailment", "source": "toy", "id": "1"}


def test_number_swap_and_negation_contradict() -> None:
    rng = random.Random(0)
    swapped = swap_number(PAIR, rng)
    assert swapped is not None and swapped["label"] == "contradiction" and "1815" not in swapped["hypothesis"]
    negated = flip_negation(PAIR, rng)
    assert negated is not None and negated["hypothesis"] == "Ada Lovelace was not born in 1815."
    assert swap_number({**PAIR, "label": "neutral"}, rng) is None


def test_augment_is_deterministic_per_seed() -> None:
    pairs = [{**PAIR, "id": str(i)} for i in range(50)]
    a = list(augment(pairs, random.Random(7), rate=0.5, distractor_rate=0.5))
    b = list(augment(pairs, random.Random(7), rate=0.5, distractor_rate=0.5))
    assert a == b and a


def test_extrinsic_negatives_add_what_the_evidence_never_said() -> None:
    others = [{"premise": f"Premise {i}.", "hypothesis": f"Charles Babbage designed engine number {i}.",
               "label": "entailment", "source": "toy", "id": str(i)} for i in range(20)]
    made = list(extrinsic([PAIR] * 30 + others, random.Random(3), rate=1.0))
    mine = [m for m in made if m["premise"] == PAIR["premise"]]
    assert mine and all(m["label"] == "neutral" for m in mine)
    assert {m["source"] for m in mine} <= {"synthetic_extrinsic", "synthetic_outside_name"}
    assert all(m["hypothesis"] != PAIR["hypothesis"] for m in mine)


def test_question_answers_restate_right_and_wrong_answers() -> None:
    pairs = [{**PAIR, "id": str(i)} for i in range(60)]
    made = list(question_answers(pairs, random.Random(3), rate=1.0))
    assert made == list(question_answers(pairs, random.Random(3), rate=1.0))
    right = [m for m in made if m["label"] == "entailment"]
    wrong = [m for m in made if m["label"] == "neutral"]
    assert right and wrong
    # "What was born in 1815?" / "Ada Lovelace was born in what year?", restated with the right answer
    assert {m["hypothesis"] for m in right} == {"Ada Lovelace was born in 1815."}
    assert {m["answer"] for m in right} == {"Ada Lovelace", "1815"}
    for m in wrong:  # another name or number of the premise, or an outside one
        assert m["answer"] not in {"Ada Lovelace", "1815"} and m["answer"] in m["hypothesis"]
    assert list(question_answers([{**PAIR, "label": "neutral"}], random.Random(0), rate=1.0)) == []


BORN = {"premise": "Ada Lovelace: Ada Lovelace was born in London in 1815.",
        "hypothesis": "Ada Lovelace was born in 1815.", "label": "entailment", "source": "vitaminc", "id": "b"}
WROTE = {"premise": "Ada Lovelace: She wrote the first published algorithm in 1843.",
         "hypothesis": "The first published algorithm was written by Ada Lovelace.",
         "label": "entailment", "source": "vitaminc", "id": "w"}
MOVED = {**WROTE, "hypothesis": "Ada Lovelace wrote the first published algorithm in 1850.",
         "label": "contradiction", "id": "m"}


def test_conjoined_claims_are_entailed_only_when_both_parts_are() -> None:
    for seed in range(8):  # either order, either premise first
        both = conjoin(BORN, WROTE, random.Random(seed))
        assert both is not None and both["label"] == "entailment" and both["source"] == "synthetic_conjoined"
        assert "born in London" in both["premise"] and "first published algorithm in 1843" in both["premise"]
        assert both["premise"].count("Ada Lovelace:") == 1  # one page title, as the evidence reads
        assert both["hypothesis"] in {
            "Ada Lovelace was born in 1815, and the first published algorithm was written by Ada Lovelace.",
            "The first published algorithm was written by Ada Lovelace, and Ada Lovelace was born in 1815."}
        one_wrong = conjoin(BORN, MOVED, random.Random(seed))
        assert one_wrong is not None and one_wrong["label"] == "contradiction" and "1850" in one_wrong["hypothesis"]
    assert conjoin(MOVED, BORN, random.Random(0)) is None  # the first part must be entailed
    # two revisions of one sentence (VitaminC) may disagree: no pair over both
    revised = {**BORN, "premise": "Ada Lovelace: Ada Lovelace was born in Paris in 1815.", "id": "r"}
    assert conjoin(BORN, revised, random.Random(0)) is None


def test_shaped_pairs_come_from_document_pairs_and_follow_the_seed() -> None:
    pairs = [{**p, "id": f"{p['id']}{i}"} for i in range(20) for p in (BORN, WROTE, MOVED)]
    captions = [{**BORN, "source": "snli", "id": f"s{i}"} for i in range(20)]
    made = list(shaped(pairs + captions, random.Random(5), rate=1.0))
    assert made == list(shaped(pairs + captions, random.Random(5), rate=1.0))
    kinds = {m["source"] for m in made}
    assert "synthetic_conjoined" in kinds and any(k.startswith("synthetic_qa") for k in kinds)
    assert {m["label"] for m in made} <= {"entailment", "neutral", "contradiction"}
    assert all(m["source"] != "snli" for m in made)
    assert list(shaped(pairs, random.Random(5), rate=0.0)) == []


def test_surname_premises_keep_the_label_and_skip_other_bearers_of_the_name() -> None:
    pair = {"premise": "Malcolm Smith was named MVP of Super Bowl XLVIII. Malcolm Smith played linebacker.",
            "hypothesis": "Malcolm Smith was named MVP.", "label": "entailment", "source": "vitaminc"}
    made = by_surname(pair)
    assert made == {**pair, "premise": "Smith was named MVP of Super Bowl XLVIII. Smith played linebacker.",
                    "source": "synthetic_surname"}
    # "Smith" alone would also stand for John Smith here: the pair is left out
    assert by_surname({**pair, "premise": pair["premise"] + " John Smith coached."}) is None
    assert by_surname({**pair, "hypothesis": "The MVP was a linebacker."}) is None
    # only pairs whose premise is document text, as many as the rate asks, by the seed
    made = list(surnames([pair, {**pair, "source": "snli"}], random.Random(1), 1.0))
    assert [p["source"] for p in made] == ["synthetic_surname"]
    assert list(surnames([pair], random.Random(1), 0.0)) == []
