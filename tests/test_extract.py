from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from guardrail import RuleBasedExtractor

ex = RuleBasedExtractor()


def spans_ok(text: str) -> None:
    for c in ex.extract(text):
        assert 0 <= c.start < c.end <= len(text)
        assert text[c.start:c.end].strip() == text[c.start:c.end]


def test_offsets_point_into_the_answer() -> None:
    text = "Marie Curie was born in 1867 in Warsaw. She won two Nobel Prizes."
    claims = ex.extract(text)
    assert [text[c.start:c.end] for c in claims] == [
        "Marie Curie was born in 1867 in Warsaw.", "She won two Nobel Prizes."]
    spans_ok(text)


def test_compound_sentence_is_split_and_made_self_contained() -> None:
    text = "Marie Curie was born in 1867 in Warsaw and died in 1934 in France."
    claims = ex.extract(text)
    assert [c.text for c in claims] == [
        "Marie Curie was born in 1867 in Warsaw.", "Marie Curie died in 1934 in France."]
    assert text[claims[1].start:claims[1].end] == "died in 1934 in France."
    # a verb in the present, and a possessive "its" for the first clause's subject
    assert [c.text for c in ex.extract("The H2 runs for 180 minutes and weighs 2.1 kg.")] == [
        "The H2 runs for 180 minutes.", "The H2 weighs 2.1 kg."]
    assert [c.text for c in ex.extract("The H2 comes with a warranty, and its battery is covered too.")] == [
        "The H2 comes with a warranty.", "The H2's battery is covered too."]
    # "and records" after a verb is a plural noun, not a second verb
    assert len(ex.extract("The shop sells books and records from the 1960s.")) == 1
    # "costs" is a verb when a price follows, a noun otherwise
    assert [c.text for c in ex.extract("The H2 weighs 3.4 kg and costs 549 euros.")] == [
        "The H2 weighs 3.4 kg.", "The H2 costs 549 euros."]
    assert len(ex.extract("It reduces waste and costs for the city.")) == 1
    # a second clause with a subject of its own and a verb in the present
    assert [c.text for c in ex.extract("The H2 weighs 3.4 kg, and it costs 549 euros.")] == [
        "The H2 weighs 3.4 kg.", "The H2 costs 549 euros."]
    assert [c.text for c in ex.extract("The H2 weighs 3.4 kg and the H3 weighs 3 kg.")] == [
        "The H2 weighs 3.4 kg.", "the H3 weighs 3 kg."]


def test_passive_second_part_keeps_the_auxiliary() -> None:
    def texts(t: str) -> list[str]:
        return [c.text for c in ex.extract(t)]

    text = "Python was created by Guido van Rossum and first released in 1991."
    claims = ex.extract(text)
    assert [c.text for c in claims] == ["Python was created by Guido van Rossum.", "Python was first released in 1991."]
    assert text[claims[1].start:claims[1].end] == "first released in 1991."
    assert texts("The company was founded in 1976 and later acquired by Oracle.")[1] == (
        "The company was later acquired by Oracle.")
    assert texts("The novel has been translated into Welsh and adapted for film.")[1] == (
        "The novel has been adapted for film.")
    # active verbs after a passive first part take no auxiliary
    assert texts("He was born in Leeds in 1934 and died in 2001.")[1] == "He died in 2001."
    assert texts("The film was directed by Nolan and grossed 800 million dollars.")[1] == (
        "The film grossed 800 million dollars.")
    assert texts("The company was founded in 1976 and released its first product in 1977.")[1] == (
        "The company released its first product in 1977.")


def test_pronoun_is_resolved_to_the_previous_subject() -> None:
    claims = ex.extract("The Eiffel Tower is in Paris. It was completed in 1889.")
    assert claims[1].text == "The Eiffel Tower was completed in 1889."


def test_pronoun_after_a_conjunction_takes_the_clause_subject() -> None:
    text = "Paris is the capital of France, and it has 2.1 million residents."
    claims = ex.extract(text)
    assert [c.text for c in claims] == ["Paris is the capital of France.", "Paris has 2.1 million residents."]
    assert text[claims[1].start:claims[1].end] == "it has 2.1 million residents."
    assert ex.extract("Marie Curie won two Nobel Prizes; she was born in Warsaw.")[1].text == (
        "Marie Curie was born in Warsaw.")
    assert ex.extract("The plant exploded, and it was closed in 2015.")[1].text == "The plant was closed in 2015."
    # the pronoun means something other than a subject that is no plain name or short noun
    assert ex.extract("Nicklaus' achievement was praised, but he was outshone by Villegas.")[1].text == (
        "he was outshone by Villegas.")
    assert ex.extract("The identification of the whale was hard, but it was confirmed by DNA.")[1].text == (
        "it was confirmed by DNA.")
    # an expletive or cleft "it" has no referent, and "they" may be anyone
    assert ex.extract("Mr Mole won the race, and it was after this win that he retired.")[1].text == (
        "it was after this win that he retired.")
    assert ex.extract("The plant was closed, but it is not clear why.")[1].text == "it is not clear why."
    assert ex.extract("Curie studied physics, while they studied chemistry.")[1].text == "they studied chemistry."
    # a pronoun subject is passed on to the previous sentence's subject
    texts = [c.text for c in ex.extract("Marie Curie was a physicist. She won a prize, and she lived in Paris.")]
    assert texts[1:] == ["Marie Curie won a prize.", "Marie Curie lived in Paris."]


def test_what_the_source_says_is_the_claim() -> None:
    text = ("The passage describes Brad Wilk, who is the drummer of Rage Against the Machine. "
            "It also mentions that he joined Greta in 1990. "
            "According to the article, the Su-24 was shot down on 24 November.")
    claims = ex.extract(text)
    assert [c.text for c in claims] == [
        "Brad Wilk is the drummer of Rage Against the Machine.",
        "Brad Wilk joined Greta in 1990.",
        "The Su-24 was shot down on 24 November."]
    assert [text[c.start:c.end] for c in claims] == [
        "Brad Wilk, who is the drummer of Rage Against the Machine.",
        "he joined Greta in 1990.",
        "the Su-24 was shot down on 24 November."]
    assert [c.text for c in ex.extract("In the provided passage, Morton scored four goals against Alloa.")] == [
        "Morton scored four goals against Alloa."]
    appositive = ("The passage provides information about Albert Brooks, an American actor, author, and comedian, "
                  "who was born in 1947. It mentions that he was in the film Finding Dory.")
    assert [c.text for c in ex.extract(appositive)] == [
        "Albert Brooks, an American actor, author, and comedian, was born in 1947.",
        "Albert Brooks was in the film Finding Dory."]
    # a topic that is no sentence stays as it was
    topic = "The passage discusses the appointment of Paul Sheerin as manager, replacing Neil Cooper."
    assert ex.extract(topic)[0].text == topic
    # sentences about the summary itself are no claims
    assert ex.extract("This summary covers the core facts. The summary focuses on the main points.") == []
    # nor is what the source leaves out: there is nothing in it to check that against
    assert ex.extract("However, the passage does not provide specific numbers for the cases.") == []
    assert ex.extract("( Note: The figures for cases are missing in the provided passage.") == []
    assert ex.extract("The passage does not seem to connect Ann Richards to the governor.") == []
    assert [c.text for c in ex.extract("The film stars Holly Hunter. Its plot is not described in the text.")] == [
        "The film stars Holly Hunter."]
    # what the answer says about its sources is checked: it may be made up
    assert ex.extract("This information was added in the prompt but is not in the passage.") != []
    assert ex.extract("The answer is Paris, the capital of France.") != []


def test_a_quoted_title_is_the_subject_a_pronoun_refers_to() -> None:
    claims = ex.extract('"Home for the Holidays" is a 1972 horror film. It premiered on ABC in 1972.')
    assert claims[1].text == '"Home for the Holidays" premiered on ABC in 1972.'


def test_non_assertions_are_dropped() -> None:
    text = ("Hello! Great question. Is Paris in France? I think it is lovely. "
            "I can't browse the web. Let me know if you need more. Paris is the capital of France. "
            "In summary, I hope this helps!")
    assert [c.text for c in ex.extract(text)] == ["Paris is the capital of France."]
    assert ex.extract("Paris is the capital of France. That is all.")[-1].text == "Paris is the capital of France."


def test_html_tags_are_markup_not_claims() -> None:
    text = '<img src="h2.png" alt="The H2 robot">\n\nThe <b>H2</b> costs 499 euros.'
    (claim,) = ex.extract(text)
    assert claim.text == "The H2 costs 499 euros." and text[claim.start:claim.end] == "The <b>H2</b> costs 499 euros."


def test_a_name_that_begins_like_a_greeting_is_still_a_claim() -> None:
    text = "Hillary Clinton won the popular vote. Thanksgiving is a holiday. Sorrento is a town."
    assert len(ex.extract(text)) == 3


def test_a_name_that_begins_like_a_command_is_still_a_claim() -> None:
    text = ("Open Road Films distributed the film. Click Save to continue. Type 1 diabetes is a chronic "
            "condition. Run-DMC was a hip hop group. Check that the file is saved.")
    assert [c.text for c in ex.extract(text)] == ["Open Road Films distributed the film.",
                                                  "Type 1 diabetes is a chronic condition.",
                                                  "Run-DMC was a hip hop group."]
    # the whole answer to a question is a name, not an instruction
    q = "Where does the club play its home matches?"
    assert ex.extract("Select Security Stadium", question=q)[0].text == (
        "The club plays its home matches in Select Security Stadium.")


def test_markdown_lists_tables_and_code_do_not_make_garbage() -> None:
    text = (
        "# Facts about Paris\n\n"
        "- **Paris** is the capital of France.\n"
        "- The city has about 2.1 million residents [1].\n\n"
        "| City | Country |\n|---|---|\n| Paris | France |\n\n"
        "```python\nprint('Paris is in Germany')\n```\n\n"
        "1. Open the map.\n2. Click on Paris.\n"
    )
    texts = [c.text for c in ex.extract(text)]
    assert texts == ["Paris is the capital of France.", "The city has about 2.1 million residents.",
                     "The country of Paris is France."]  # a table's cell with its row and column
    spans_ok(text)


def test_indented_prose_is_checked_and_indented_code_is_not() -> None:
    # nested list items and indented sentences are prose; an indented block that looks like
    # code after a blank line is code
    text = ("Specs:\n- Physical:\n    - The H2 weighs 99 kg.\n    - It was designed by NASA.\n\n"
            "\tThe H2 costs 549 euros.\n\nRun this:\n\n    x = weigh('H2 is 99 kg')\n    print(x)\n")
    assert [c.text for c in ex.extract(text)] == [
        "The H2 weighs 99 kg.", "The H2 was designed by NASA.", "The H2 costs 549 euros."]
    spans_ok(text)


def test_short_answer_to_a_question_is_made_self_contained() -> None:
    claims = ex.extract("Paris", question="Which city hosts the Louvre?")
    assert claims[0].text == "Paris hosts the Louvre."
    assert (claims[0].start, claims[0].end) == (0, 5)
    # a question shape that cannot be restated keeps the question in front of the answer
    assert ex.extract("cake", question="What did they gobble?")[0].text == "What did they gobble? cake"


def test_empty_and_whitespace() -> None:
    assert ex.extract("") == []
    assert ex.extract("   \n\t ") == []


def test_sentences_cover_abbreviations() -> None:
    text = "Dr. Smith moved to the U.S. in 1990. He works at MIT."
    assert [text[s:e] for s, e in ex.sentences(text)] == ["Dr. Smith moved to the U.S. in 1990.", "He works at MIT."]


def test_an_exclamation_mark_inside_a_name_does_not_end_the_sentence() -> None:
    text = "He recorded for Impulse! Records in 1961. I love Paris! It is big."
    assert [text[s:e] for s, e in ex.sentences(text)] == [
        "He recorded for Impulse! Records in 1961.", "I love Paris!", "It is big."]


def test_a_stop_without_its_space_still_ends_the_sentence() -> None:
    # two pages pasted together: one sentence to pysbd, two facts about two subjects
    text = ("It is 7 miles from Memphis, Tennessee, United States.Southwest Georgia Regional Airport is in "
            "Georgia. They lost 6–3, 8–6.Anna Kournikova (born 1981) is Russian.")
    assert [text[s:e] for s, e in ex.sentences(text)] == [
        "It is 7 miles from Memphis, Tennessee, United States.",
        "Southwest Georgia Regional Airport is in Georgia.", "They lost 6–3, 8–6.",
        "Anna Kournikova (born 1981) is Russian."]
    # not an abbreviation, a title or a decimal
    text = "He served in the U.S.Army and Dr.Smith said 3.5 is fine."
    assert [text[s:e] for s, e in ex.sentences(text)] == [text]


def test_verbless_short_answer_gets_the_question_but_a_sentence_does_not() -> None:
    q = "They were eventually monarchs of which country?"
    assert ex.extract("Great Britain", question=q)[0].text == "They were eventually monarchs of Great Britain."
    assert (ex.extract("The Kingdom of Great Britain", question=q)[0].text
            == "They were eventually monarchs of The Kingdom of Great Britain.")
    sentence = "They ruled the Kingdom of Great Britain."
    assert ex.extract(sentence, question=q)[0].text == sentence
    # an irregular past is a verb too: the sentence is not restated with the question
    assert ex.extract("Trump won the election.", question="Who won?")[0].text == "Trump won the election."
    # so is a known verb in the present ("weighs"), but not a plural noun after "the"
    assert ex.extract("The H2 weighs 2.1 kg.", question="How heavy is the H2?")[0].text == "The H2 weighs 2.1 kg."
    assert ex.extract("Sang-Wook Cheong works as a scientist.", question="Where does Sang-Wook Cheong work?")[
        0].text == "Sang-Wook Cheong works as a scientist."
    # only a one-sentence answer is a reply to the question; a longer answer stands alone
    assert [c.text for c in ex.extract("Great Britain. It was a kingdom.", question=q)] == ["It was a kingdom."]


def test_lead_ins_and_meta_sentences_are_not_claims() -> None:
    text = ("Here's a concise summary of the passage, covering the core pieces of information:\n\n"
            "The plant produces paraxylene. The key points are:\n- It employs 300 people.")
    assert [c.text for c in ex.extract(text)] == ["The plant produces paraxylene.", "It employs 300 people."]


def test_pronoun_resolution_skips_determiners_expletives_and_function_words() -> None:
    text = ("Over 600 firefighters fought the fire. It is not the first time the plant burned. "
            "Eugene won the bid. This decision was made by the council. She was born in 1867.")
    texts = [c.text for c in ex.extract(text)]
    assert "It is not the first time the plant burned." in texts
    assert "This decision was made by the council." in texts
    assert ex.extract("Mole won the race. It was after this win that he retired.")[1].text.startswith("It was after")
    assert "Eugene was born in 1867." in texts  # a real pronoun still takes the last subject
    assert not any(t.startswith("Over ") and "born" in t for t in texts)
    # a capitalised preposition or participle opening the sentence is no subject to resolve to
    texts = [c.text for c in ex.extract("Prior to 1990, she was treasurer. She was defeated in 1994.")]
    assert texts[1] == "She was defeated in 1994."


def test_coordinated_words_are_not_split_into_clauses() -> None:
    for text in [
        "The whale, a species restricted to tropical and subtropical waters, was found on a beach.",
        "Over 190 countries and 200 territories have reported cases.",
        "It is a 1972 horror film directed by John Moxey and produced by Aaron Spelling.",
    ]:
        assert [c.text for c in ex.extract(text)] == [text]
    texts = [c.text for c in ex.extract("Identifying it was hard for Parks and Wildlife staff, but DNA profiling "
                                         "confirmed it was a whale.")]
    assert texts == ["Identifying it was hard for Parks and Wildlife staff.", "DNA profiling confirmed it was a whale."]
    # the verb of an opening phrase is not the left part's: two subjects of one verb
    text = "As of the date mentioned, over 190 countries and 200 territories have reported cases."
    assert [c.text for c in ex.extract(text)] == [text]
    # while a clause after a comma-separated place or apposition still is one of its own
    texts = [c.text for c in ex.extract("Eugene lost the 2019 bid to Doha, Qatar, but a recent presentation "
                                         "convinced the IAAF.")]
    assert texts == ["Eugene lost the 2019 bid to Doha, Qatar.", "a recent presentation convinced the IAAF."]


def test_a_clause_saying_what_the_source_leaves_out_is_dropped() -> None:
    # "but" starts a clause with a long subject; what the passage does not describe is no claim
    text = ("The second film is a 1995 film starring Holly Hunter and others, but the plot and details of "
            "this film are not described in the passage.")
    assert [c.text for c in ex.extract(text)] == ["The second film is a 1995 film starring Holly Hunter and others."]


def test_a_verb_after_a_reported_clause_is_not_given_the_sentence_subject() -> None:
    # "is found" goes on "the species", not on the minister who noted it
    text = ("Minister Albert Jacob praised the find, noting the species was first described in 2003 and "
            "is typically found in tropical waters.")
    assert [c.text for c in ex.extract(text)] == [text]
    assert len(ex.extract("Jacob praised the find and noted its value.")) == 2
    # nor does a verb after a subordinate clause ("when the car spun and struck ...")
    text = "Todd Phillips was injured when the car spun and struck his leg."
    assert [c.text for c in ex.extract(text)] == [text]
    # a verb with an irregular past gets the subject too
    texts = [c.text for c in ex.extract("He joined the club last summer and took over as manager in February.")]
    assert texts == ["He joined the club last summer.", "He took over as manager in February."]
    # and where no subject can be found for it (this one runs too long), the sentence stays whole
    subject = ("A chemical plant in Zhangzhou City, Fujian Province, China, producing paraxylene (PX), a "
               "potentially carcinogenic chemical,")
    text = f"{subject} exploded and caught fire."
    assert [c.text for c in ex.extract(text)] == [text]
    assert [c.text for c in ex.extract("A plant exploded and caught fire.")] == [
        "A plant exploded.", "A plant caught fire."]


def test_adverb_before_the_second_verb_keeps_the_subject() -> None:
    texts = [c.text for c in ex.extract("Sheerin played in Sweden and also earned a Scotland cap.")]
    assert texts == ["Sheerin played in Sweden.", "Sheerin also earned a Scotland cap."]


def test_long_subject_is_repeated_for_the_second_verb_phrase() -> None:
    text = ("An explosion at a controversial chemical plant in Zhangzhou, Fujian province, China, "
            "caused a large fire and injured six people.")
    texts = [c.text for c in ex.extract(text)]
    assert texts[1] == ("An explosion at a controversial chemical plant in Zhangzhou, Fujian province, China, "
                        "injured six people.")


def test_subject_comes_from_the_first_part_even_with_an_unlisted_verb() -> None:
    texts = [c.text for c in ex.extract("The H2 weighs 3.4 kg and is rated at 62 dB.")]
    assert texts == ["The H2 weighs 3.4 kg.", "The H2 is rated at 62 dB."]


def test_threads_extracting_at_once_get_the_claims_one_thread_gets() -> None:
    # pysbd's segmenter keeps state between calls: shared by threads, it dropped sentences
    texts = [f"Dr. Smith moved to the U.S. in {1900 + i}. He works at MIT and lives in Boston. "
             f"The firm earned ${i}.5 million in Q{i % 4 + 1}! Its CEO, Mr. Jones, said so. Is it true? "
             f"The H{i} weighs {i}.1 kg and runs for {i * 10} minutes." for i in range(40)] * 5
    alone = [[c.text for c in ex.extract(t)] for t in texts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: [c.text for c in ex.extract(t)], texts))
    assert together == alone


def test_a_lead_in_before_a_colon_is_not_the_claim() -> None:
    text = "Here is the answer: Mars is the fifth planet. Mars has two moons."
    claims = ex.extract(text)
    assert [c.text for c in claims] == ["Mars is the fifth planet.", "Mars has two moons."]
    assert text[claims[0].start:claims[0].end] == "Mars is the fifth planet."


def test_the_subject_is_repeated_for_a_second_present_tense_verb_and_after_an_adverb() -> None:
    assert [c.text for c in ex.extract("The laptop weighs 2.1 kg and runs Windows 11.")] == [
        "The laptop weighs 2.1 kg.", "The laptop runs Windows 11."]
    # an adverb before the second verb is not a new subject ("first released" keeps "Python")
    assert ex.extract("Python was created by Guido van Rossum and first released in 1991.")[1].text.startswith(
        "Python ")
    # indented prose with brackets and a semicolon is prose
    assert len(ex.extract("Summary:\n\n    The H2 (2024 model) weighs 3.4 kg; it ships in March.")) == 1


def test_clauses_with_a_modal_verb_are_split() -> None:
    assert [c.text for c in ex.extract("Emma Thompson will play Mrs Potts, and Kevin Kline will play Maurice.")] == [
        "Emma Thompson will play Mrs Potts.", "Kevin Kline will play Maurice."]
    # a second verb phrase with its own modal takes the first part's subject
    assert [c.text for c in ex.extract("The law was passed in 2010 and would cost billions.")] == [
        "The law was passed in 2010.", "The law would cost billions."]
    # a modal after coordinated nouns is one subject, not two clauses
    assert [c.text for c in ex.extract("Cats and dogs will eat fish.")] == ["Cats and dogs will eat fish."]


def test_a_name_ending_in_a_number_stands_for_its_pronoun() -> None:
    assert [c.text for c in ex.extract("Windows 11 was released in 2021. It supports Android apps.")] == [
        "Windows 11 was released in 2021.", "Windows 11 supports Android apps."]
    assert ex.extract("Tesla's Model 3 was launched in 2017, and it has a range of 500 km.")[1].text == (
        "Tesla's Model 3 has a range of 500 km.")


def test_sentences_ending_in_consecutive_numbers_keep_their_numbers() -> None:
    # pysbd takes "0. Marie ... 1. Marie ..." for an inline numbered list
    text = " ".join(f"Marie Curie was physicist number {i}." for i in range(5))
    claims = ex.extract(text)
    assert [text[c.start:c.end] for c in claims] == [f"Marie Curie was physicist number {i}." for i in range(5)]
    # an inline list whose items end in other words: its numbers are markers, not facts
    inline = "Its highlights 1. The battery lasts 10 hours 2. The screen is bright."
    assert [c.text for c in ex.extract(inline)] == ["The battery lasts 10 hours", "The screen is bright."]
    # a real numbered list after a colon or a line break is left alone
    assert [c.text for c in ex.extract("Facts:\n1. Paris is in France.\n2. Rome is in Italy.")] == [
        "Paris is in France.", "Rome is in Italy."]


def test_both_x_and_y_is_one_claim_about_each() -> None:
    def texts(t: str) -> list[str]:
        return [c.text for c in ex.extract(t)]

    text = "Yes, both The New Pornographers and Kings of Leon are American rock bands."
    claims = ex.extract(text)
    assert [c.text for c in claims] == ["The New Pornographers is an American rock band.",
                                        "Kings of Leon is an American rock band."]
    # both come from the whole sentence after the reply word ("Yes, " claims nothing of its own)
    assert all(text[c.start:c.end] == text[len("Yes, "):] for c in claims)
    assert texts("Russia and Turkey are both members of the G20.") == [
        "Russia is a member of the G20.", "Turkey is a member of the G20."]
    assert texts("Am Rong and Alexandre Rockwell both directed movies.") == [
        "Am Rong directed movies.", "Alexandre Rockwell directed movies."]
    assert texts("Both Nasdaq and Citrix have offices in Boston.") == [
        "Nasdaq has offices in Boston.", "Citrix has offices in Boston."]
    assert texts("Both Sony and Nintendo make consoles.") == ["Sony makes consoles.", "Nintendo makes consoles."]
    assert texts("Both Sony and Nintendo and Apple make consoles.") == [  # three names: left whole
        "Both Sony and Nintendo and Apple make consoles."]
    # a "They" after it means both names: not resolved to the sentence before
    assert texts("The H2 weighs 3.4 kg. Both Sony and Apple make consoles. They are popular.")[-1] == (
        "They are popular.")
    # without "both" a pair may act together; and "both" without two names is left alone
    assert texts("Simon and Garfunkel are a famous duo.") == ["Simon and Garfunkel are a famous duo."]
    assert texts("Both crew members ejected from the jet.") == ["Both crew members ejected from the jet."]


def test_citation_markers_are_not_part_of_the_claim() -> None:
    text = "Paris is the capital of France [ctx2]. Curie died in 1934 [^1]. She won it twice[1][^2]."
    assert [c.text for c in ex.extract(text)] == [
        "Paris is the capital of France.", "Curie died in 1934.", "Curie won it twice."]


def test_an_instruction_about_inline_code_is_not_a_claim() -> None:
    text = "Use `Marie Curie was born in 1900` as input. The Eiffel Tower is 330 metres tall."
    assert [c.text for c in ex.extract(text)] == ["The Eiffel Tower is 330 metres tall."]
    assert [c.text for c in ex.extract("Open Road Films distributed it in 2014.")] == [
        "Open Road Films distributed it in 2014."]


def test_a_yes_or_no_reply_is_restated_with_the_question() -> None:
    q = "Is the Eiffel Tower in Paris?"

    def texts(answer: str, question: str | None = q) -> list[tuple[str, str]]:
        return [(c.text, answer[c.start:c.end]) for c in ex.extract(answer, question=question)]

    for answer in ("Yes.", "Absolutely!", "Yes, it is.", "Of course."):
        assert texts(answer) == [("The Eiffel Tower is in Paris.", answer)]
    assert texts("No, it isn't.") == [("The Eiffel Tower is not in Paris.", "No, it isn't.")]
    # a "No," also denies what was asked; the words after it are claims too, where "it" is the
    # subject the question asks about
    assert texts("No, it is in Berlin.") == [("The Eiffel Tower is not in Paris.", "No"),
                                             ("The Eiffel Tower is in Berlin.", "it is in Berlin.")]
    assert texts("No, I think it is in Rome.")[1] == ("The Eiffel Tower is in Rome.", "it is in Rome.")
    # a verb the rules do not know ("ships") leaves no fragment once "it" names the subject
    assert texts("No, it ships to Germany.", "Does the H2 ship to Italy?") == [
        ("The H2 does not ship to Italy.", "No"), ("The H2 ships to Germany.", "it ships to Germany.")]
    # after "Yes," the words say what it affirms; the same claim is not made twice
    assert texts("Yes, the Eiffel Tower is in Paris. It opened in 1889.") == [
        ("The Eiffel Tower is in Paris.", "the Eiffel Tower is in Paris."),
        ("The Eiffel Tower opened in 1889.", "It opened in 1889.")]
    assert texts("No, the Eiffel Tower is not in Paris.") == [
        ("The Eiffel Tower is not in Paris.", "the Eiffel Tower is not in Paris.")]
    # "no" to "both" is "not both" (one may be): never a claim about each
    assert texts("No, Joseph Roth was a journalist.", "Were both Joseph Roth and Cid Corman authors?") == [
        ("Joseph Roth and Cid Corman were not both authors.", "No"),
        ("Joseph Roth was a journalist.", "Joseph Roth was a journalist.")]
    # a labelled reply is a reply: "**Short answer:** No."
    assert texts("**Short answer:** No.\n\n**Longer answer:** It is in Paris.")[0] == (
        "The Eiffel Tower is not in Paris.", "No.")
    # without its question, or answering a request, a reply claims nothing
    assert texts("Yes, it is.", None) == [] and texts("No.", None) == []
    assert texts("Sure!", "Can you help me?") == []
    assert texts("Sure, here is a summary. Apollo 11 landed in 1969.", "Could you summarise Apollo 11?") == [
        ("Apollo 11 landed in 1969.", "Apollo 11 landed in 1969.")]


def test_a_claim_after_a_refusal_a_hedge_or_a_preamble_is_checked() -> None:
    def texts(answer: str) -> list[tuple[str, str]]:
        return [(c.text, answer[c.start:c.end]) for c in ex.extract(answer)]

    for preamble in ("I'm sorry, but ", "I can't browse the web, but ", "I don't know the exact date, but ",
                     "Unfortunately, I cannot verify this, but ", "I'm not a historian, but ",
                     "I don't have real-time data, but ", "I believe ", "I think that ", "If I recall correctly, ",
                     "As of my knowledge cutoff in 2023, ", "Based on the documents you provided, ",
                     "According to my training data, "):
        answer = preamble + "the tower opened in 1889."
        assert texts(answer) == [("The tower opened in 1889.", "the tower opened in 1889.")], preamble
    # a hedged opinion that names and counts nothing stays unchecked, as does a refusal alone
    assert texts("I think it is lovely. I can't browse the web.") == []
    assert texts("The tower is tall, but it is not the tallest.")[0] == ("The tower is tall.", "The tower is tall")


def test_an_answers_list_of_sources_is_not_checked() -> None:
    text = ("The tower is in Paris [1].\n\n## Sources\n1. Wikipedia, 2023.\n2. The official site.\n\n"
            "## Details\n\nIt opened in 1889.\n\nReferences:\n[1] https://en.wikipedia.org/wiki/Eiffel_Tower\n"
            "- Smith, J. (2020). The Eiffel Tower. Paris Press.")
    assert [c.text for c in ex.extract(text)] == ["The tower is in Paris.", "It opened in 1889."]
    assert [c.text for c in ex.extract("Sources: [1] Wikipedia, [2] Britannica.\nThe tower is in Paris.")] == [
        "The tower is in Paris."]
    assert [c.text for c in ex.extract("The tower is in Paris.[^1]\n\n[^1]: Smith, The Eiffel Tower, 2020.")] == [
        "The tower is in Paris."]
    for sentence in ("The sources of the Nile are in Uganda.", "References to the tower appear in films."):
        assert [c.text for c in ex.extract(sentence)] == [sentence]


def test_symbol_bullets_and_numbered_steps() -> None:
    text = "✅ It is in Paris.\n⚠️ It is closed on Mondays.\n- ➤ It weighs 7,300 tonnes.\n1. 🔹 It is iron."
    claims = ex.extract(text)
    assert [text[c.start:c.end] for c in claims] == ["It is in Paris.", "It is closed on Mondays.",
                                                     "It weighs 7,300 tonnes.", "It is iron."]
    steps = ("Step 1: Buy a ticket online.\nStep 2: Take the lift to the top.\nTip: book early.\n"
             "Don't forget your passport. Turn left at the station. Avoid the crowds by arriving early.")
    assert ex.extract(steps) == []
    names = ("Contact lenses are medical devices. Book sales rose 5% in 2020. Take That is a British band. "
             "Don't Look Up is a 2021 film. Stop signs are red.")
    assert len(ex.extract(names)) == 5


def test_a_chat_answers_small_talk_is_not_a_claim() -> None:
    text = ("Great question! I'd be happy to help with that. Let's break it down. Below is a summary of "
            "the key facts. The tower is 330 m tall. Hope that helps! Have a great day! You're welcome! "
            "Good luck with your trip! Enjoy your visit to Paris! Glad I could help. No problem!")
    assert [c.text for c in ex.extract(text)] == ["The tower is 330 m tall."]
    assert ex.extract("Absolutely!") == [] and ex.extract("Happy to help.") == []


def test_a_sentence_without_spaces_between_words_is_not_dropped() -> None:
    text = "The tower is in Paris. 埃菲尔铁塔高330米。"
    assert [text[c.start:c.end] for c in ex.extract(text)] == ["The tower is in Paris.", "埃菲尔铁塔高330米。"]


def test_where_an_answer_says_its_sentence_comes_from_is_not_part_of_the_claim() -> None:
    for text in ("The tower is 330 m tall (source: Wikipedia).", "The tower is 330 m tall (see [1])."):
        assert [c.text for c in ex.extract(text)] == ["The tower is 330 m tall."]
    assert [c.text for c in ex.extract("Paris (France) is big and old.")] == ["Paris (France) is big and old."]


def test_a_list_items_label_is_cut_unless_it_names_what_it_is_pronoun_means() -> None:
    text = ("Python and Rust differ.\n\n- **Python**: It is interpreted.\n- **Navigation:** It maps rooms.\n"
            "- **Battery:** The 5,200 mAh battery lasts 180 minutes.\n- **Weight:** It weighs 3.4 kg.\n"
            "- **Location:** Paris, France")
    assert [c.text for c in ex.extract(text)] == [
        "Python and Rust differ.", "Python is interpreted.", "It maps rooms.",
        "The 5,200 mAh battery lasts 180 minutes.", "It weighs 3.4 kg.", "Location: Paris, France"]


def test_the_answers_own_i_is_no_subject_for_the_next_pronoun() -> None:
    assert [c.text for c in ex.extract("I'd recommend the H3 if you have pets. It has a bigger dustbin.")] == [
        "It has a bigger dustbin."]
