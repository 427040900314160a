"""Which-came-first questions settled by the evidence's years (no model needed)."""

from __future__ import annotations

import pytest

from guardrail.compare import alternatives, check_order

DIRECTORS = ("Allan Dwan (3 April 1885 – 28 December 1981) was a Canadian-born director. "
             "George E. Marshall (December 29, 1891 – February 17, 1975) was an American director.")


@pytest.mark.parametrize(("question", "expected"), [
    ("Who was born first, George Marshall or Allan Dwan?", ("George Marshall", "Allan Dwan", True)),
    ("Who is older Glenn Hughes or Ross Lynch?", ("Glenn Hughes", "Ross Lynch", True)),
    # an appositive after the first name, a title with small words, "between X and Y"
    ("Which band was founded first, Hole, the rock band of Courtney Love, or The Wolfhounds?",
     ("Hole", "The Wolfhounds", True)),
    ("Was Beyond the Gates of Splendor or Jesus Camp released first?",
     ("Beyond the Gates of Splendor", "Jesus Camp", True)),
    ("Arthur's Magazine or First for Women, which was started first?",
     ("Arthur's Magazine", "First for Women", True)),
    ("Between two tennis players Kim Clijsters and Mary Pierce, who is younger?",
     ("Kim Clijsters", "Mary Pierce", False)),
    # no order asked, or no choice offered, or a text too long to be such a question
    ("Who directed Rebel Without a Cause, Nicholas Ray or Elia Kazan?", None),
    ("Between " + "Aa " * 5000 + "and Bb, who is older?", None),
    ("Who was the first woman to win a Nobel Prize?", None),
])
def test_the_two_names_and_the_order_asked(question: str, expected: tuple[str, str, bool] | None) -> None:
    assert alternatives(question) == expected


def test_the_answer_is_checked_against_the_years_of_both_names() -> None:
    question = "Who was born first, George Marshall or Allan Dwan?"
    wrong = check_order(question, "George Marshall was born earlier.", DIRECTORS)
    assert wrong is not None and not wrong.right and wrong.years == (1891, 1885)
    assert wrong.issue == ("the evidence dates George Marshall to 1891 and Allan Dwan to 1885: "
                           "the question asks for the other one")
    right = check_order(question, "Allan Dwan", DIRECTORS)
    assert right is not None and right.right
    # "younger" asks for the later year; a name is found by its surname too ("George E. Marshall")
    younger = check_order("Who is younger, Allan Dwan or George Marshall?", "George Marshall", DIRECTORS)
    assert younger is not None and younger.right


def test_undecided_when_the_evidence_or_the_answer_does_not_settle_it() -> None:
    question = "Who was born first, George Marshall or Allan Dwan?"
    assert check_order(question, "Both were directors.", DIRECTORS) is None  # names neither
    assert check_order(question, "Allan Dwan, then George Marshall.", DIRECTORS) is None  # both
    # another sentence of a longer answer that names one of them, with no order word
    assert check_order(question, "Allan Dwan directed 400 films.", DIRECTORS) is None
    assert check_order(question, "Allan Dwan directed films in the First World War.", DIRECTORS) is None
    assert check_order(question, "Allan Dwan.", DIRECTORS) is not None  # the bare name is the pick
    # an order word about something else, or the other direction, is no answer to "born first"
    assert check_order(question, "Allan Dwan was the first director to use a dolly.", DIRECTORS) is None
    assert check_order(question, "Allan Dwan was born later.", DIRECTORS) is None
    assert check_order(question, "Allan Dwan", "Allan Dwan was a director. George Marshall, 1891.") is None
    assert check_order(question, "Allan Dwan", "Allan Dwan (1891) and George Marshall (1891).") is None
    # a count before the year, or digits run together, are no year to compare
    assert check_order(question, "Allan Dwan", "Allan Dwan (26 September 188526 May 1981). "
                                               "George Marshall (born 1891).") is None
