"""What in an answer asserts nothing to check, and where a claim starts after a preamble.

A chat answer wraps its facts in talk: greetings and small talk ("Happy to help!"), refusals
("I can't browse the web"), instructions ("Click Save"), hedged opinions, lead-ins ("Here is
the answer:") and remarks on what the source leaves out ("The passage does not give the
figures").  None is a fact the evidence could support or refute, and checking them only
raises false alarms.  A fact after such talk is still checked: "I'm sorry, but the tower
closed in 2020" claims "The tower closed in 2020".  The rule-based extractor asks whether a
sentence says nothing (``says_nothing``, ``is_silence``, ``is_command``) and where its claim
begins (``preamble``).
"""

from __future__ import annotations

import re

from guardrail.verbs import FINITE_VERB

# Sentences that assert nothing checkable: greetings, meta talk, refusals, hedged opinions.
_NON_CLAIM = re.compile(
    r"^(?:hi|hello|hey|thanks|thank you|sure|certainly|of course|great question|good question|"
    r"here (?:is|are)|here's|let me|feel free|i hope|hope this|i think|i believe|i feel|in my opinion|"
    r"i would say|i'd say|"
    r"i(?:'m| am) (?:not sure|sorry|unable|happy|glad)|sorry|unfortunately,? i|as an ai|"
    r"i(?:'m| am) not (?:\d+% |entirely |completely |totally |quite |fully |absolutely )?(?:sure|certain)|"
    r"i (?:can(?:no|')t|cannot|don't know|do not know|won't)|please|note that you|"
    r"i (?:don't|do not) have (?:access|real-time|the ability|browsing|internet|current|up-to-date|live)|"
    r"i(?:'m| am) (?:not|just|only) an? |i(?:'m| am) an? (?:ai|language model)|"
    r"if you (?:have|need|want)|let me know|i(?:'d| would)? (?:recommend|suggest)|you (?:should|could|might|may) |"
    r"(?:this|the above|my) (?:summary|response|answer)|the summary|that(?:'s| is) (?:all|it|everything)|"
    # what the answer says about the question or itself: "You asked whether ...", "The following are ..."
    r"you(?:'re| are)? ask(?:ed|ing)|you want(?:ed)? to know|your question|this is an? (?:common|good|great|"
    r"frequent|popular|tricky) question|i (?:can|could|will|'ll) (?:help|assist)|the following (?:is|are)|"
    r"there are (?:several|a few|many|some|two|three|a number of) (?:things|factors|points|ways|reasons|"
    r"options|aspects|key))\b",
    re.IGNORECASE,
)
# A chat answer's small talk ("Happy to help!", "That's a great question!", "Let's dive in.",
# "Absolutely!").  Titles begin the same way ("Let's Dance", "Good Luck Charlie", "You're
# Welcome"), so a capitalised second word makes the sentence a claim after all.
_SMALL_TALK = re.compile(
    r"^(?:(?:i'd|i would|we'd|we would) (?:be )?(?:happy|glad|love)|(?:happy|glad) to (?:help|assist)|"
    r"glad (?:i|we) could|you(?:'re| are) (?:very |most )?welcome|good luck|best of luck|"
    r"have a (?:great|good|nice|wonderful|lovely) (?:day|one|time|trip)|enjoy (?:your|yourself)|let's|"
    r"let us|(?:that's |that is |what )?(?:a |an )?(?:great|good|excellent|interesting|fantastic) "
    r"(?:question|point|choice)(?=\W*$|[!.,])|(?:below|above) (?:is|are)|hope (?:that|it|you)|"
    r"no (?:problem|worries)(?=\W*$))\b|"
    r"^(?:absolutely|definitely|okay|ok|cheers|indeed|exactly|great|awesome|perfect|got it|sounds good|"
    r"good (?:morning|afternoon|evening)|welcome|congratulations|congrats)\W*$",
    re.IGNORECASE,
)
# "Yes, it opened in 1889.", "No, it is in Berlin.": the claim is what follows (the extractor also
# restates a "No" with the question it denies)
_REPLY_LEAD = re.compile(r"^(?:yes|yeah|no|absolutely|definitely|certainly|indeed|of course|sure)[,!]\s+(?=\S)",
                         re.IGNORECASE)
_MARKUP = re.compile(r"[*_`]+|<br\s*/?>")
FIRST_PERSON = re.compile(r"I\b")
_LEAD_IN = re.compile(r"^[*_]{0,2}(?:here(?:'s| is| are)|in (?:short|summary)|to (?:summari[sz]e|sum up)|"
                      r"(?:the )?(?:short )?answer(?: is)?|step \d+|(?:pro )?tip|hint)\b[^:.!?\n]{0,80}:[*_]{0,2}"
                      r"\s+(?=\S)", re.IGNORECASE)
# What an answer says of itself before a claim, which is checked without it: "As of my knowledge
# cutoff in 2023, X", "Based on the documents you provided, X", and a hedge, "I believe (that) X".
_OWN_SOURCE = re.compile(
    r"^(?:as of my (?:last )?(?:knowledge cut-?off|training(?: data)?|update)|according to my (?:knowledge|"
    r"training(?: data)?|information)|based on (?:my (?:knowledge|training(?: data)?)|the (?:information|"
    r"documents?|context|sources?|passages?|search results)(?: (?:that )?(?:you(?:'ve)? )?(?:provided|shared|"
    r"gave|given|above|available))?|what you(?:'ve| have)? (?:shared|said|told me|provided|described)))"
    r"\b[^,.;]{0,40},\s+(?=\S)",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"^(?:i (?:think|believe|recall|suspect|guess|would say)|i'd say|"
    r"i(?:'m| am) (?:fairly|pretty|quite) (?:sure|certain)|if i (?:recall|remember)(?: correctly)?|"
    r"as far as i (?:know|remember)|to (?:the best of )?my knowledge|"
    r"in my (?:opinion|view))(?: that)?,?\s+(?=\S)",
    re.IGNORECASE,
)
# What frames a claim: "Please note that X", "Keep in mind that X", "It is worth noting that X",
# "As mentioned earlier, X" ("Remember the Titans" is a film: a verb needs its "that")
_FRAMING = re.compile(
    r"^(?:(?:please )?note that|(?:keep|bear) in mind(?: that)?|remember that|it(?:'s| is) (?:important|worth|"
    r"interesting) (?:to note|noting|to mention|mentioning|to remember)(?: that)?|i can (?:tell you|confirm|"
    r"say) that|i found that|as (?:i )?(?:mentioned|noted|stated|said|discussed)(?: (?:earlier|above|before|"
    r"previously))?,)\s+(?=\S)",
    re.IGNORECASE,
)
# A marker that opens a claim, with its comma: "In conclusion, X", "To answer your question, X"
# (without the comma "So far ..." and "Well water ..." begin claims)
_MARKERS = (r"in (?:summary|short|conclusion|any case)|to (?:summari[sz]e|conclude|sum up)|overall|anyway|"
            r"finally|again|so|ok(?:ay)?|well|all in all|hmm+|oh|ah|um")
_OPENER = re.compile(rf"^(?:{_MARKERS}|in answer to your question|to answer your question|great|alright|"
                     r"(?:with )?that said),\s+(?=\S)", re.IGNORECASE)
# A list item's label before a sentence: "**Navigation:** It maps rooms with LiDAR."  Kept before a
# short fragment ("**Location:** Paris, France"), whose subject it is; a sentence opens with a
# pronoun, has a finite verb or runs to five words.
_LABEL = re.compile(r"^[*_]{0,2}[A-Z][^:.!?\n]{0,38}?[*_]{0,2}:[*_]{0,2}\s+(?=[*_]{0,2}[A-Z])")
_PRONOUN = re.compile(r"[*_]{0,2}(?:It|He|She|They|We|This|These|Its|Their|His|Her)\b")
# A label that says what kind of remark follows: "Fun fact: the tower grows 15 cm in summer".  Not
# any label: in "**Eiffel Tower**: It is 330 m tall" the label is what "It" means.
_NAMED_LABEL = re.compile(r"^[*_]{0,2}(?:good news|bad news|fun fact|tl;?dr|note|important|bottom line|"
                          r"key (?:point|fact|takeaway)s?|update|answer):[*_]{0,2}\s+(?=\S)", re.IGNORECASE)
# "I'm sorry, but X", "I can't browse the web, but X": small talk or a refusal before the claim
_BUT = re.compile(r"[,;]?\s+(?:but|however,?|though)\s+(?=\S)", re.IGNORECASE)
# A discourse marker may precede the small talk: "In summary, I hope this helps!"
_DISCOURSE = re.compile(rf"^(?:{_MARKERS}),?\s+", re.IGNORECASE)
SOURCE = (r"(?:the|this|that) (?:(?:provided|given|above|original|following|source) )?"
          r"(?:passage|article|text|document|context|source|report|story|excerpt|paragraph)(?: provided| given)?")
# What the source leaves out is no fact to check against it: "However, the passage does not
# provide specific numbers", "Details of this film are not described in the text".
_SILENCE = re.compile(
    rf"^(?:(?:however|but|unfortunately|also|additionally),?\s+)?(?:{SOURCE}|it) (?:also )?"
    r"(?:does not|doesn't|did not|didn't|fails to) (?:seem to |appear to )?(?:provide|mention|specify|"
    r"give|say|state|include|describe|detail|list|contain|offer|indicate|reveal|disclose|name|explain|"
    r"connect)\b|"
    r"^[^,;]{2,100}? (?:is|are|was|were) (?:not (?:\w+ly )?(?:described|mentioned|provided|specified|given|"
    rf"stated|detailed|included|listed|named|explained|disclosed)|missing) (?:in|from) {SOURCE}\W*$",
    re.IGNORECASE,
)
_TITLED = re.compile(r"\s*(?:the|a|an)\s+[A-Z]")
_IMPERATIVE = re.compile(
    r"^(?:click|run|open|install|type|press|select|go|add|remove|use|make sure|ensure|try|"
    r"check|see|visit|call|create|set|enter|choose|copy|paste|navigate|download|save|restart)\b|"
    # verbs that also name things ("Contact lenses are ...", "Book sales rose") before what they act on
    r"^(?:buy|book|reserve|take|follow|read|contact|ask|avoid|keep|start|stop|turn|wait|get|put|find|look|"
    r"consider|remember|plan|bring|pick|grab|head|walk|drive)\s+(?=(?:the|a|an|your|it|them|this|that|these|"
    r"those|some|any|at|to|for|with|online|early|up|out|off|in|on|by|until|ahead|back|left|right)\b)|"
    r"^(?:don't|do not)\s+(?=(?-i:[a-z]))",
    re.IGNORECASE,
)


def preamble(sentence: str) -> int:
    """Where the claim starts after a lead-in, a "yes" or "no", an opening marker, a label, a framing,
    a preamble of the answer's own, or small talk before a "but"; 0 where none (the caller repeats it:
    "No, I think X").  A hedged claim ("I believe X") is checked when it names or counts something;
    "I think it is lovely" stays an opinion."""
    if m := _LEAD_IN.match(sentence) or _REPLY_LEAD.match(sentence) or _OWN_SOURCE.match(sentence) \
            or _OPENER.match(sentence) or _NAMED_LABEL.match(sentence) or _FRAMING.match(sentence):
        return m.end()
    if (m := _LABEL.match(sentence)) and (_PRONOUN.match(sentence, m.end()) or FINITE_VERB.search(sentence, m.end())
                                          or len(sentence[m.end():].split()) >= 5):
        return m.end()
    if (m := _HEDGE.match(sentence)) and re.search(r"\d|\b(?!I\b)[A-Z]", sentence[m.end():]):
        return m.end()
    if (m := _BUT.search(sentence)) and says_nothing(plain(sentence[:m.start()])):
        return m.end()
    return 0


def says_nothing(body: str) -> bool:
    return _NON_CLAIM.match(_DISCOURSE.sub("", body)) is not None or _small_talk(body)


def _small_talk(body: str) -> bool:
    m = _SMALL_TALK.match(body)
    if m is None:
        return False
    # the words after the first, up to the one after the match: "Have a Nice Day is an album"
    words = body[:m.end()].split()[1:] + body[m.end():].split()[:1]
    return not any(word[:1].isupper() and not FIRST_PERSON.match(word) for word in words)


def is_command(body: str, whole: bool, raw: str = "") -> bool:
    """"Click Save to continue" is an instruction; "Open Road Films distributed it", "Type 1
    diabetes is chronic" and the answer "Select Security Stadium" begin with a name that only
    starts like one.  ``raw`` is the sentence before cleaning: "Use `x = 1` as input" is an
    instruction whatever the code says."""
    m = _IMPERATIVE.match(body)
    if m is None:
        return False
    raw = raw.lstrip("*_ ")
    if (verb := _IMPERATIVE.match(raw)) and raw[verb.end():].lstrip().startswith("`"):
        return True
    rest = body[m.end():]
    following = rest.lstrip()[:1]
    if rest.startswith("-") or following.isupper() or following.isdigit():  # a name
        return not (whole or FINITE_VERB.search(rest))
    # a title with its article is a name too when a verb follows: "Remember the Titans is a film"
    return not (_TITLED.match(rest) and FINITE_VERB.search(rest))


def is_silence(text: str) -> bool:
    """Whether ``text`` only says what the source leaves out ("The passage does not say ...")."""
    return _SILENCE.match(_DISCOURSE.sub("", text)) is not None


def plain(text: str) -> str:
    """Without Markdown emphasis, line breaks and extra spaces: "**I'm sorry**" is small talk too."""
    return " ".join(_MARKUP.sub(" ", text).split())
