"""Telling and inflecting base-form verbs."""

from __future__ import annotations

import pytest

from guardrail.verbs import is_base_verb, is_present_verb, past, third_person


@pytest.mark.parametrize(("verb", "expected"), [
    ("win", "won"), ("make", "made"), ("play", "played"), ("receive", "received"), ("study", "studied"),
    ("star", "starred"), ("occur", "occurred"), ("stay", "stayed"),
])
def test_past(verb: str, expected: str) -> None:
    assert past(verb) == expected


@pytest.mark.parametrize(("verb", "expected"), [
    ("play", "plays"), ("have", "has"), ("go", "goes"), ("study", "studies"), ("pass", "passes"),
    ("teach", "teaches"), ("stay", "stays"),
])
def test_third_person(verb: str, expected: str) -> None:
    assert third_person(verb) == expected


def test_only_listed_lowercase_words_are_verbs() -> None:
    assert is_base_verb("play") and is_base_verb("take")
    assert not is_base_verb("Get")  # a capitalised word is a name ("Get Him to the Greek")
    assert not is_base_verb("events") and not is_base_verb("based")


@pytest.mark.parametrize(("previous", "word", "expected"), [
    ("H2", "weighs", True), ("moth", "contains", True), ("It", "has", True),
    ("the", "records", False), ("of", "records", False), ("and", "plays", False),  # plural nouns
    ("H2", "gobbles", False),  # a verb outside the list
])
def test_present_verb_is_told_from_a_plural_noun_by_the_word_before(previous: str, word: str,
                                                                    expected: bool) -> None:
    assert is_present_verb(previous, word) is expected
