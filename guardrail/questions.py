"""A question and its short answer, restated as one declarative claim.

"Paris" answers "What is the capital of France?"; what it claims is "The capital of France is
Paris".  NLI models are trained on statements, so the claim is verified in that form.  The
rules cover the question shapes that can be restated without parsing: a wh-phrase in place
("... was born in what year?", "... plays its home matches where?"), "What is X?", a subject
question ("Who wrote X?", "Which band was founded first?"), "Where/When is X located/born?",
questions with do-support ("What sport did Jack Sock play?" -> "Jack Sock played tennis", for
the verbs ``verbs.py`` knows), yes/no questions ("Are X and Y both directors?" -> "X and Y are
both directors", with "not" for "no") and alternatives ("Is X or Y the largest hospital in Z?" ->
"Y is the largest hospital in Z").  Anything else returns ``None`` and the caller falls back
to "question answer".
"""

from __future__ import annotations

import re

from guardrail.verbs import is_base_verb, is_present_verb, past, third_person

_AUX = {"is", "was", "are", "were", "has", "had", "have", "did", "does", "do", "can", "could",
        "will", "would", "should", "may", "might"}
_BE = {"is", "was", "are", "were"}
_DO = {"did", "does", "do"}
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "their"}
# a wh-phrase inside the question: "in what year", "which former member of ...", "how many"
_IN_PLACE = re.compile(r"\b(?:how (?:many|much)|what|which)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"^(?P<lead>.*?(?:,|;|\bbut|\band))\s+(?P<rest>(?:what|which|who|when|where)\b.*)$",
                     re.IGNORECASE)
_TRAILING = re.compile(r"\s(?P<wh>who|whom|where|when)$", re.IGNORECASE)
_LOCATIVE = {"located", "based", "situated", "headquartered", "born", "buried", "held", "filmed",
             "founded", "formed", "built", "made", "released", "published", "set", "established"}
# a reply that says only yes or no: "Yes.", "Absolutely!", "No, it isn't.", "Yes, they did."
_REPLY = re.compile(
    r"^(?:(?P<no>no|nope|not at all|(?:absolutely|definitely|certainly|of course) not)|yes|yeah|yep|"
    r"absolutely|definitely|certainly|indeed|correct|that(?:'s| is) (?:right|correct)|of course|sure)"
    r"(?:,?\s+(?:it|he|she|they|we|you|i|that|there|this)\s+(?:is|was|are|were|am|do|does|did|has|"
    r"have|had|can|could|will|would|should|may|might|must)(?P<negated>n't|\s+not)?)?$",
    re.IGNORECASE,
)
_PREPOSITIONS = {"in", "on", "at", "from", "for", "by", "of"}
_STRANDED = _PREPOSITIONS | {"to", "with", "into", "about", "as"}  # "What label did X sign with"
_TIME_NOUNS = {"year", "month", "decade", "century", "date", "day", "season"}
_PLACE_NOUNS = {"city", "country", "state", "town", "county", "province", "region", "place",
                "location", "village", "island", "continent", "stadium", "venue", "arena"}
SHORT_ANSWER_WORDS = 10  # a verbless answer up to this long is a fragment of a sentence, not one


# "Where is Halcyra based?" + "In Tallinn": the restatement's own preposition gives way to the
# answer's ("based in In Tallinn" -> "based in Tallinn", "arrived in On Monday" -> "arrived on Monday")
_DOUBLE_PREPOSITION = re.compile(r"\b(?:in|on|at|from|during|by) ((?i:in|on|at|from|during|by)) ")


def as_statement(question: str, answer: str) -> str | None:
    """The claim an answer to ``question`` makes, as a sentence; ``None`` if the shape is unknown."""
    q = " ".join(question.split()).rstrip(" ?")
    a = " ".join(answer.split()).rstrip(" .!")
    if not q or not a:
        return None
    if (yes := reply(a)) is not None:
        return _yes_no(q.split(), yes)
    if q.split()[0].lower() in _AUX and (stated := _aux_first(q.split(), a)):
        return stated
    q = _drop_choices(q, a)
    words = q.split()
    first = words[0].lower()
    if first in {"what", "which", "who", "whom", "whose", "where", "when", "how"} or (
            first in _PREPOSITIONS and len(words) > 1
            and words[1].lower() in {"what", "which", "whom"}):
        return _fronted(words, a)
    trailing = _TRAILING.search(q)  # "... plays its home matches where?", "..., and who?"
    if trailing:
        wh = trailing["wh"].lower()
        preposition = "" if wh in {"who", "whom"} else "on" if wh == "when" and _has_day(a) else "in"
        return _sentence(" ".join([q[: trailing.start()], preposition, a]))
    m = _asked(q)
    clause = _CLAUSE.match(q)  # "X is a ferry, but what is the population of Orient?"
    # the clause's wh-word asks the question unless another wh-phrase does, in the lead or after
    # it, which makes the clause's "who" a relative one ("..., who play in X, in which country?")
    if clause and (m is None or m.start() == clause.start("rest")):
        restated = _fronted(clause["rest"].split(), a)
        if restated and restated.split()[0].lower() in _DETERMINERS:
            restated = restated[0].lower() + restated[1:]
        return f"{clause['lead']} {restated}" if restated else None
    return _sentence(_in_place(q, m, a)) if m else None


def _asked(q: str) -> re.Match[str] | None:
    """The wh-phrase a question asks with, passing over relative pronouns ("which is shared")."""
    for m in _IN_PLACE.finditer(q):
        following = q[m.end():].split()
        if not following or following[0].lower() not in _AUX:
            return m
    return None


def _in_place(q: str, m: re.Match[str], a: str) -> str:
    before, wh, after = q[: m.start()], m.group().lower(), q[m.end():]
    if wh.startswith("how"):
        rest = after.split()
        if rest and rest[0].lower() == "money":  # "earned how much money" -> "earned $268 million"
            rest = rest[1:]
        return " ".join([before.rstrip(), a, *rest])
    # "which former member of the Eagles" / "what year": the wh-phrase runs to the end
    return f"{before.rstrip()} {a}"


def _fronted(words: list[str], a: str) -> str | None:
    lead = ""
    if words[0].lower() in _PREPOSITIONS:
        lead, words = words[0].lower(), words[1:]
    wh, rest = words[0].lower(), words[1:]
    if wh == "how" and len(rest) > 2 and rest[0].lower() in {"many", "much"}:
        # "How many moons does Mars have" -> "Mars has two moons"
        at = next((i for i, word in enumerate(rest) if word.lower() in _DO), None)
        return None if at is None else _do_question(wh, rest[:at], rest[at].lower(), rest[at + 1:], lead, a)
    if not rest or wh == "how":
        return None
    if rest[0].lower() in _DO and wh in {"where", "when", "who", "whom"}:
        return _do_question(wh, [], rest[0].lower(), rest[1:], lead, a)  # "When did X die"
    if wh in {"where", "when"}:
        if rest[0].lower() not in _BE or len(rest) < 2:
            return None
        preposition = "in" if wh == "where" or not _has_day(a) else "on"
        return _be_question(rest[0].lower(), rest[1:], preposition, a, where=True)
    if wh in {"who", "whom"}:
        if rest[0].lower() in _BE and len(rest) > 1 and _starts_subject(rest[1]):
            return _sentence(f"{a} {rest[0].lower()} {' '.join(rest[1:])}")  # "Who is the author of X"
        return _sentence(f"{a} {' '.join(rest)}")  # "Who wrote X"
    # what / which (+ noun phrase), then a verb
    for i, word in enumerate(rest):
        w = word.lower()
        if w in _DO:  # "What sport did Jack Sock play"
            return _do_question(wh, rest[:i], w, rest[i + 1:], lead, a)
        if w in _BE and i + 1 < len(rest) and _starts_subject(rest[i + 1]):
            if i == 0 and not lead:  # "What is the capital of France" -> "The capital of France is Paris"
                return _sentence(f"{' '.join(rest[1:])} {w} {a}")
            # "In what year was the company founded" -> "The company was founded in 1984"
            return _be_question(w, rest[i + 1:], lead or "in", a)
        # a present-tense verb is told from a plural noun right after a one-word noun phrase
        # and before its object ("Which city hosts the Louvre"), or further on when it is a
        # verb we know that no article or preposition introduces ("Which genus of moth in
        # Australia contains only one species", not "What type of records")
        present = (i == 1 and w.endswith("s") and not w.endswith("ss") and i + 1 < len(rest)
                   and _starts_subject(rest[i + 1])) or (i > 1 and is_present_verb(rest[i - 1], w))
        if w in _AUX or _participle(w, i) or (i == 0 and w.endswith("ed")) or present:
            # "Which band was founded first" / "Which producers worked with X": a subject question
            return None if lead else _sentence(f"{a} {' '.join(rest[i:])}")
    return None


def _do_question(wh: str, phrase: list[str], aux: str, body: list[str], lead: str, a: str) -> str | None:
    """"(What sport) did Jack Sock play" -> "Jack Sock played tennis": ``body`` is the subject, the
    verb in base form and what follows it; the answer goes after the verb as its object, or at
    the end where a preposition asks for it ("In what city did X get his PhD" -> "... his PhD
    in A", "What label did X sign with" -> "... signed with A", "When did X die" -> "X died in A")."""
    at = next((i for i, word in enumerate(body) if i > 0 and is_base_verb(word)
               and body[i - 1].lower() not in _DETERMINERS), None)
    if at is None:
        return None  # no verb we know: better unrestated than restated wrong
    subject, verb, tail = body[:at], body[at], body[at + 1:]
    plural = any(word.lower() == "and" for word in subject)
    verb = past(verb) if aux == "did" else third_person(verb) if aux == "does" and not plural else verb
    noun = phrase[-1].lower() if phrase else ""
    if wh == "how":  # "How many weeks did it spend at number one" -> "It spent ten weeks at number one"
        counted = [w for w in phrase[1:] if w.lower() != "money"]  # "$268 million", not "... money"
        said = {w.lower() for w in a.split()}
        obj = [a] if any(w.lower() in said for w in counted) else [a, *counted]
        return _sentence(" ".join([*subject, verb, *obj, *tail]))
    stranded = bool(tail) and tail[-1].lower() in _STRANDED
    timed = wh == "when" or noun in _TIME_NOUNS
    # "What city did the events take place" -> "... took place in A"; not when the verb's own
    # object follows ("What city does X share with Y" -> "X shares A with Y")
    placed = noun in _PLACE_NOUNS and bool(tail) and tail[0].lower() not in _STRANDED
    if lead or stranded or timed or wh == "where" or placed:
        preposition = lead or ("" if stranded else "on" if timed and _has_day(a) else "in")
        return _sentence(" ".join([*subject, verb, *tail, preposition, a]))
    return _sentence(" ".join([*subject, verb, a, *tail]))


def _drop_choices(q: str, a: str) -> str:
    """"Which came first, Hole or The Wolfhounds" -> "Which came first" when the answer is
    one of the choices: restated, the choices would only repeat names after the answer."""
    k = q.rfind(" or ")
    right = q[k + 4:].strip(" ,") if k > 0 else ""
    if not right or len(right.split()) > 8 or _IN_PLACE.search(right) or re.search(r"[?:;]", right):
        return q
    al = a.lower().strip("\"' ")
    if q[:k].lower().endswith(al):
        start = k - len(al)  # "Who is older Glenn Hughes or Ross Lynch"
    elif "," in q[:k]:
        start = q.index(",")  # "Which band was founded first, Hole, ..., or The Wolfhounds"
    else:
        words = q[:k].split()
        n = 0
        while n < len(words) and (words[-1 - n][0].isupper() or words[-1 - n] in {"of", "the", "and", "&"}):
            n += 1
        start = len(" ".join(words[: len(words) - n]))
    choices = [c.strip(" \"'") for c in (q[start:k].lower().split(",")[-1], right.lower())]
    if start <= 0 or not any(c and (c in al or al in c) for c in choices):
        return q
    return q[:start].rstrip(" ,")


def reply(answer: str) -> bool | None:
    """``True`` for an answer that only says yes ("Yes, it is.", "Absolutely!"), ``False`` for one
    that only says no ("No, they didn't."), ``None`` for anything else."""
    m = _REPLY.match(" ".join(answer.split()).rstrip(" .!"))
    if m is None:
        return None
    return not (m["no"] or m["negated"])


def _yes_no(words: list[str], yes: bool) -> str | None:
    """"Are both X and Y directors? yes" -> "Both X and Y are directors"; "no" adds "not"."""
    aux = words[0].lower()
    # "Can you summarise the Apollo 11 mission?" is a request, not a question about a subject
    if aux not in _AUX or len(words) < 3 or words[1].lower() in {"you", "i", "we"}:
        return None
    # the subject runs to the end of its first run of names ("both Simon Wincer and Patrice
    # Leconte", "filmmakers Chris Carter and Theo van Gogh", "the New Orleans Outfall Canals")
    seen_name, end = False, 0
    for i, word in enumerate(words[1:], start=1):
        if _starts_name(word):
            seen_name, end = True, i + 1
        elif seen_name and word.lower() not in _NAME_JOINERS | {"and"}:
            break
    if not seen_name or end >= len(words):
        return None
    subject = " ".join(words[1:end])
    negation = [] if yes else ["not"]
    if not yes and subject.lower().startswith("both "):  # "no" to "Are both X and Y Z?": not both, maybe one
        subject, negation = subject[len("both "):], ["not", "both"]
    return _sentence(" ".join([subject[0].upper() + subject[1:], aux, *negation, *words[end:]]))


def _aux_first(words: list[str], a: str) -> str | None:
    """"Is X or Y the largest hospital in Z? Y" -> "Y is the largest hospital in Z"; "Is Paris the
    capital of which country? France" -> "Paris is the capital of France"."""
    if chosen := _alternative(words, a) or _trailing_choice(words, a):
        return chosen
    declared = _yes_no(words, True)
    m = _asked(declared) if declared else None
    return _sentence(_in_place(declared.rstrip("."), m, a)) if declared and m else None


def _alternative(words: list[str], a: str) -> str | None:
    """"Is X or Y the largest hospital in Z? Y" -> "Y is the largest hospital in Z": the second
    choice runs to the end of the name after "or"."""
    lowered = [w.lower() for w in words]
    if "or" not in lowered:
        return None
    k = lowered.index("or")
    end = k + 1
    while end < len(words) and (_starts_name(words[end]) or lowered[end] in _NAME_JOINERS):
        end += 1
    while end > k + 1 and lowered[end - 1] in _NAME_JOINERS:
        end -= 1
    choices = (" ".join(words[1:k]).lower(), " ".join(words[k + 1:end]).lower())
    al = a.lower().strip("\"' ")
    if end == k + 1 or end == len(words) or al not in choices:
        return None
    return _sentence(" ".join([a, lowered[0], *words[end:]]))


def _trailing_choice(words: list[str], a: str) -> str | None:
    """"Is the Eiffel Tower in Paris or Lyon? Paris" -> "The Eiffel Tower is in Paris": the
    choice ends the question, and the answer is one of its two names."""
    lowered = [w.lower() for w in words]
    if "or" not in lowered[2:]:
        return None
    k = len(lowered) - 1 - lowered[::-1].index("or")
    answer = a.lower().strip("\"' ").split()
    start = k  # the first choice: the run of name words before "or"
    while start > 1 and (_starts_name(words[start - 1]) or lowered[start - 1] in _NAME_JOINERS):
        start -= 1
    if answer == lowered[k + 1:]:
        kept = [*words[:start], *words[k + 1:]]
    elif answer == lowered[start:k]:
        kept = words[:k]
    else:
        return None
    return _yes_no(kept, True) if start < k and k + 1 < len(words) else None


def _be_question(aux: str, body: list[str], preposition: str, a: str, *, where: bool = False) -> str | None:
    """"(Where) is X located" -> "X is located in A"; "(What nationality) was X" -> "X was A"."""
    # the participle is the last word when there is one there ("the company that built X located")
    last = len(body) - 1
    order = [last, *range(last)] if _participle(body[last].lower(), last) else range(len(body))
    for i in order:
        if _participle(body[i].lower(), i):
            tail = body[i:]
            ends_open = tail[-1].lower() in {"in", "on", "at", "by", "from", "of", "as"}
            return _sentence(" ".join([*body[:i], aux, *tail, *([] if ends_open else [preposition]), a]))
    if len(body) > 1 and body[-1].lower() in {"from", "near", "in", "on", "at"}:  # "(Where) is X from"
        return _sentence(f"{' '.join(body[:-1])} {aux} {body[-1].lower()} {a}")
    if where and aux in _BE and body:  # "(Where) is the Louvre" -> "The Louvre is in Paris"
        return _sentence(f"{' '.join(body)} {aux} {preposition} {a}")
    if preposition == "in" and aux in _BE and body:
        return _sentence(f"{' '.join(body)} {aux} {a}")
    return None


def _participle(w: str, i: int) -> bool:
    return i > 0 and (w in _LOCATIVE or (w.endswith("ed") and len(w) > 4))


_NAME_JOINERS = {"of", "the", "&", "van", "von", "de", "du", "la"}  # inside a name: "Hall of Fame"


def _starts_name(word: str) -> bool:
    return word[0].isupper() or word[0].isdigit() or word[0] in "\"'“"


def _starts_subject(word: str) -> bool:
    return word.lower() in _DETERMINERS or _starts_name(word)


def _has_day(a: str) -> bool:
    return bool(re.search(r"\b\d{1,2}\b.*\b\d{4}\b|\b(?:January|February|March|April|May|June|July|"
                          r"August|September|October|November|December) \d", a))


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" ,")
    text = _DOUBLE_PREPOSITION.sub(lambda m: m.group(1).lower() + " ", text)
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".") if text else text
