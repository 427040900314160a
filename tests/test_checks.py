from __future__ import annotations

from guardrail.checks import check_claim, lexical_support, names, numbers


def test_numbers_compare_by_value() -> None:
    assert numbers("1,200 people, 3.5 km and five cars") == {1200.0, 3.5, 5.0}
    assert not check_claim("It has 1200 seats.", "It has 1,200 seats.").missing_numbers
    assert not check_claim("She won the prize twice.", "She won it 2 times.").missing_numbers


def test_changed_number_or_date_is_a_conflict() -> None:
    r = check_claim("Curie was born in 1876.", "Curie was born on 7 November 1867.")
    assert r.missing_numbers == ("1876",) and r.conflict
    r = check_claim("She was born in March 1867.", "She was born on 7 November 1867.")
    assert r.missing_months == ("march",) and r.conflict


def test_names_missing_from_evidence() -> None:
    r = check_claim("She won two Nobel Prizes.", "She won the Nobel Prize twice.")
    assert "nobel prizes" not in r.missing_names
    assert check_claim("Einstein discovered radium.", "Curie discovered radium.").missing_names == ("einstein",)
    assert names("The tower is in Paris.") == {"paris"}


def test_sentence_openers_and_possessives_are_not_missing_names() -> None:
    assert names("Additionally, Rage is a band.") == {"rage"}
    assert names("Despite Smith's efforts, Italy won.") == {"smith", "italy"}
    assert names("Italy is in Europe.") == {"italy", "europe"}  # a name that opens the sentence stays
    assert not check_claim("Joe Mellor extended Widnes' lead.", "Joe Mellor's try gave Widnes the lead.").missing_names


def test_lexical_support() -> None:
    assert lexical_support("Paris is the capital of France", "Paris is the capital of France.") == 1.0
    assert lexical_support("Bananas are blue", "The sky is grey.") == 0.0
    assert lexical_support("the of and", "anything") == 1.0  # no content words: nothing to miss
