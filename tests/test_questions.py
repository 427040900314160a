"""Restating a question and its short answer as one claim."""

from __future__ import annotations

import pytest

from guardrail.questions import as_statement, reply


@pytest.mark.parametrize(("question", "answer", "statement"), [
    ("Is Children's National Medical Center or MedStar Washington Hospital Center the largest private "
     "hospital in Washington, D.C.?", "MedStar Washington Hospital Center",
     "MedStar Washington Hospital Center is the largest private hospital in Washington, D.C."),
    ("Was Beyond the Gates of Splendor or Jesus Camp released first?", "Jesus Camp",
     "Jesus Camp was released first."),
    ("Is Paris the capital of which country?", "France", "Paris is the capital of France."),
])
def test_questions_opening_with_an_auxiliary(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer", "statement"), [
    # "What is X"
    ("What is the capital of France?", "Paris", "The capital of France is Paris."),
    # a wh-phrase in place, to the end of the question
    ("Prince William and Prince George were eventually monarchs of which Kingdom?", "Great Britain",
     "Prince William and Prince George were eventually monarchs of Great Britain."),
    ("The 1976 German Grand Prix was won by a driver who retired in what year?", "1979",
     "The 1976 German Grand Prix was won by a driver who retired in 1979."),
    # "how many" keeps its noun
    ("The airline operating in Whitehorse handled how many passengers in 2012?", "294,000",
     "The airline operating in Whitehorse handled 294,000 passengers in 2012."),
    ("How many moons does Mars have?", "two", "Mars has two moons."),
    # subject questions
    ("Who wrote Hamlet?", "William Shakespeare", "William Shakespeare wrote Hamlet."),
    ("Which video game producers worked with an English film director?", "Rockstar Games",
     "Rockstar Games worked with an English film director."),
    ("Which genus of moth in Australia contains only one species?", "Crambidae",
     "Crambidae contains only one species."),
    ("What type of records did he sell?", "vinyl", "He sold vinyl."),  # "records" is a noun here
    # where / when / a fronted preposition, with the participle put back in place
    ("Where is the company that built Woodvale Historic District located?", "Rockhill Furnace, Pennsylvania",
     "The company that built Woodvale Historic District is located in Rockhill Furnace, Pennsylvania."),
    ("When was Marie Curie born?", "7 November 1867", "Marie Curie was born on 7 November 1867."),
    ("In what year was the company that co-developed the DTEK60 founded?", "1984",
     "The company that co-developed the DTEK60 was founded in 1984."),
    # a second clause asks the question
    ("The USS LST-510 is a ferry between New London and Orient but what is the population of Orient?", "743",
     "The USS LST-510 is a ferry between New London and Orient but the population of Orient is 743."),
])
def test_question_shapes(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer", "statement"), [
    # the answer is the verb's object, in the tense "did"/"does" carried
    ("What sport did Jack Sock and Raffaella Reggi play?", "tennis", "Jack Sock and Raffaella Reggi played tennis."),
    ("What city does the Bundestag share with the Reichstag?", "Berlin",
     "The Bundestag shares Berlin with the Reichstag."),
    ("Who did Elvis Presley marry in 1967?", "Priscilla", "Elvis Presley married Priscilla in 1967."),
    ("How many test centuries did the grandfather of Fabian Cowdrey make for England?", "22",
     "The grandfather of Fabian Cowdrey made 22 test centuries for England."),
    ("How many weeks did the single spend at number one?", "ten weeks", "The single spent ten weeks at number one."),
    ("How much money did the film earn?", "$268 million", "The film earned $268 million."),
    # or at the end, where a preposition asks for it
    ("In what city did Duane Swank get his PhD?", "Evanston", "Duane Swank got his PhD in Evanston."),
    ("At which stadium does the team, for which the Marching Ravens play, play its home games?", "M&T Bank Stadium",
     "The team, for which the Marching Ravens play, plays its home games at M&T Bank Stadium."),
    ("What label did the band sign with?", "Sub Pop", "The band signed with Sub Pop."),
    ("When did Marilyn Monroe die?", "August 5, 1962", "Marilyn Monroe died on August 5, 1962."),
    ("Which American city did the events take place?", "Granby", "The events took place in Granby."),
])
def test_do_support_questions(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer", "statement"), [
    ("Halfpenny played for a club that plays its home matches where?", "Select Security Stadium",
     "Halfpenny played for a club that plays its home matches in Select Security Stadium."),
    ("The Jazz signed free agents John Starks, and who?", "Danny Manning",
     "The Jazz signed free agents John Starks, and Danny Manning."),
    # relative pronouns are passed over: the question asks with the last wh-phrase
    ("The club, who play at a stadium which is shared with Town, is based in which country?", "England",
     "The club, who play at a stadium which is shared with Town, is based in England."),
    ("The film starred a nominee, who received a star on the Walk of Fame in what year?", "2006",
     "The film starred a nominee, who received a star on the Walk of Fame in 2006."),
])
def test_wh_word_at_the_end_of_a_statement(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer", "statement"), [
    ("Which magazine was started first Arthur's Magazine or First for Women?", "Arthur's Magazine",
     "Arthur's Magazine was started first."),
    ("Which band was founded first, Hole, the band of Courtney Love, or The Wolfhounds?", "The Wolfhounds",
     "The Wolfhounds was founded first."),
    ("Which is located in Chestnut Hill, Massachusetts Boston College or Stanford University?", "Boston College",
     "Boston College is located in Chestnut Hill, Massachusetts."),
    # an answer that is none of the choices keeps them: the claim then names all three
    ("Which band was founded first, Hole or The Wolfhounds?", "Nirvana",
     "Nirvana was founded first, Hole or The Wolfhounds."),
])
def test_choices_offered_by_the_question_are_dropped(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer", "statement"), [
    ("Are both Simon Wincer and Patrice Leconte film directors?", "yes",
     "Both Simon Wincer and Patrice Leconte are film directors."),
    ("Do filmmakers Chris Carter and Theo van Gogh share the same nationality?", "No.",
     "Filmmakers Chris Carter and Theo van Gogh do not share the same nationality."),
    ("Did both Carl Boese and Franco Zeffirelli direct films?", "yes",
     "Both Carl Boese and Franco Zeffirelli did direct films."),
])
def test_yes_no_questions(question: str, answer: str, statement: str) -> None:
    assert as_statement(question, answer) == statement


@pytest.mark.parametrize(("question", "answer"), [
    ("Is it raining?", "no"),  # a yes/no question without a named subject
    ("What did the committee gobble?", "cake"),  # a verb outside the list: where it is is unknown
    ("Tell me about Paris", "It is big"),  # not a question shape we know
    ("Was Beyond the Gates of Splendor or Jesus Camp released first?", "Titanic"),  # not a choice offered
    ("", "Paris"),
    ("What is the capital of France?", "  "),
])
def test_unknown_shapes_return_none(question: str, answer: str) -> None:
    assert as_statement(question, answer) is None


def test_where_and_when_answers_with_their_own_preposition() -> None:
    assert as_statement("Where is Halcyra based?", "In Tallinn") == "Halcyra is based in Tallinn."
    assert as_statement("When was the tower opened?", "On 31 March 1889") == "The tower was opened on 31 March 1889."
    assert as_statement("Where is Marie Curie from?", "Poland") == "Marie Curie is from Poland."
    # the answer's own preposition wins over the one the restatement would add
    assert as_statement("When did Marie Curie die?", "On Monday") == "Marie Curie died on Monday."
    assert as_statement("Where did she live?", "On a farm") == "She lived on a farm."
    assert as_statement("What country is the festival in?", "In Spain") == "The festival is in Spain."
    assert as_statement("Where is the Louvre?", "Paris") == "The Louvre is in Paris."
    assert as_statement("What nationality was Marie Curie?", "Polish") == "Marie Curie was Polish."


def test_a_choice_that_ends_a_yes_no_question() -> None:
    assert as_statement("Is the Eiffel Tower in Paris or Lyon?", "Paris") == "The Eiffel Tower is in Paris."
    assert as_statement("Is the Eiffel Tower in Paris or Lyon?", "Lyon") == "The Eiffel Tower is in Lyon."
    assert as_statement("Was Marie Curie born in Warsaw or Krakow?", "Warsaw") == "Marie Curie was born in Warsaw."
    assert as_statement("Is the Eiffel Tower in Paris or Lyon?", "Rome") is None  # neither: question + answer


@pytest.mark.parametrize(("answer", "yes"), [
    ("yes", True), ("Yes, it is.", True), ("Absolutely!", True), ("That's right.", True), ("Yes, they did", True),
    ("No.", False), ("No, it isn't.", False), ("Definitely not!", False), ("Not at all.", False),
    ("No, they did not.", False),
    ("Yes, the tower is in Paris.", None), ("Paris", None), ("Nobody", None), ("", None),
])
def test_a_reply_that_only_says_yes_or_no(answer: str, yes: bool | None) -> None:
    assert reply(answer) is yes


def test_no_to_a_both_question_is_not_both_and_a_request_is_no_question() -> None:
    assert as_statement("Are both Simon Wincer and Patrice Leconte film directors?", "no") == (
        "Simon Wincer and Patrice Leconte are not both film directors.")
    assert as_statement("Is the Eiffel Tower in Paris?", "Absolutely!") == "The Eiffel Tower is in Paris."
    assert as_statement("Could you summarise the Apollo 11 mission?", "Sure") is None
    assert as_statement("Can I visit the Eiffel Tower at night?", "Yes") is None
