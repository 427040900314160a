"""Telling what asserts nothing from a claim, and where a claim starts after talk."""

from __future__ import annotations

import pytest

from guardrail.nonclaims import is_command, is_silence, preamble, says_nothing


@pytest.mark.parametrize("sentence", [
    "Happy to help.", "I'd be happy to help with that.", "Glad I could help!", "You're welcome!",
    "Absolutely!", "Okay.", "Good morning!", "No worries.", "Good luck with your trip!", "Have a great day!",
    "Hope that helps!", "Enjoy your visit to Paris!", "Let's break it down.", "That's a great question!",
    "Below is a summary of the key facts.", "In summary, I hope this helps!", "I can't browse the web.",
    "I don't have real-time data.", "I'm not a lawyer.", "I think it is lovely.",
    "You asked whether the tower is in Paris.", "Your question is about the Eiffel Tower.",
    "This is a common question.", "There are several things to consider.", "The following are key facts.",
    "I can help with that.", "I would say the tower is the most famous landmark.",
    "I'd recommend the H3 if you have pets.", "Hmm, I'm not sure.",
])
def test_small_talk_and_refusals_say_nothing(sentence: str) -> None:
    assert says_nothing(sentence)


@pytest.mark.parametrize("sentence", [
    # titles begin like small talk: a capitalised word after the opening makes them names
    "Let's Dance is a David Bowie album.", "Good Luck Charlie is a sitcom.", "You're Welcome is a song.",
    "Have a Nice Day is a Bon Jovi album.", "Happy Days is an American sitcom.", "Hope Solo is a goalkeeper.",
    "Good point guards are rare.", "No problem was found in the audit.", "The tower is 330 m tall.",
    "Your Song is an Elton John song.", "There are three towers in the city.",
])
def test_claims_that_begin_like_small_talk(sentence: str) -> None:
    assert not says_nothing(sentence)


@pytest.mark.parametrize(("sentence", "claim"), [
    ("I'm sorry, but the tower closed in 2020.", "the tower closed in 2020."),
    ("**I'm not sure**, but it opened in 1889.", "it opened in 1889."),
    ("I believe that Paris is the capital.", "Paris is the capital."),
    ("As of my knowledge cutoff in 2023, it is 330 m tall.", "it is 330 m tall."),
    ("Based on the documents you provided, it is 330 m tall.", "it is 330 m tall."),
    ("No, it is in Berlin.", "it is in Berlin."),
    ("Here is the answer: Mars is red.", "Mars is red."),
    ("Step 2: Take the lift.", "Take the lift."),
    ("In conclusion, the tower is a landmark.", "the tower is a landmark."),
    ("To answer your question, it opened in 1889.", "it opened in 1889."),
    ("**Answer:** The tower opened in 1889.", "The tower opened in 1889."),
    ("Fun fact: the tower grows 15 cm in summer.", "the tower grows 15 cm in summer."),
    ("Please note that the tower closes at 11 pm.", "the tower closes at 11 pm."),
    ("**Navigation:** It maps rooms with a LiDAR sensor.", "It maps rooms with a LiDAR sensor."),
    ("**Battery**: The 5,200 mAh battery lasts 180 minutes.", "The 5,200 mAh battery lasts 180 minutes."),
    ("Keep in mind that prices change.", "prices change."),
    ("It is worth noting that the tower is 330 m tall.", "the tower is 330 m tall."),
    ("I can tell you that it opened in 1889.", "it opened in 1889."),
    ("As mentioned earlier, the tower is in Paris.", "the tower is in Paris."),
    ("Hmm, the H2 should work fine.", "the H2 should work fine."),
    ("Based on what you've shared, the H2 should work fine.", "the H2 should work fine."),
])
def test_where_the_claim_starts_after_talk(sentence: str, claim: str) -> None:
    assert sentence[preamble(sentence):] == claim


@pytest.mark.parametrize("sentence", [
    "The tower is tall, but it is not the tallest.",  # a "but" after a claim, not after talk
    "I think it is lovely.",  # a hedge before an opinion that names and counts nothing
    "I believe I saw it.",
    "Nobody knows, but it is old.",
    "So far the tower has had 300 million visitors.",  # a marker opens a claim only with its comma
    "Well water is safe to drink.",
    "At 10:30 the show started.",
    "**Location:** Paris, France",  # a label before a short value is its subject
])
def test_no_preamble(sentence: str) -> None:
    assert preamble(sentence) == 0


def test_instructions_and_names_that_begin_like_them() -> None:
    for instruction in ("Buy a ticket online.", "Don't forget your passport.", "Turn left at the station.",
                        "Click Save to continue."):
        assert is_command(instruction, whole=False), instruction
    for name in ("Contact lenses are medical devices.", "Take That is a British band.",
                 "Don't Look Up is a 2021 film.", "Open Road Films distributed it.",
                 "Remember the Titans is a 2000 film."):
        assert not is_command(name, whole=False), name


def test_what_the_source_leaves_out_is_silence() -> None:
    assert is_silence("However, the passage does not provide specific numbers.")
    assert is_silence("Details of this film are not described in the text.")
    assert is_silence("The passage provided does not contain information about the price.")
    assert not is_silence("The passage was written in 1990.")
