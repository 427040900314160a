"""Base-form verbs, told apart and inflected without a tagger.

A question with do-support ("What sport did Jack Sock play?") keeps its main verb in base form;
restating it ("Jack Sock played tennis") needs to find that verb among the subject's words and
put it in the tense ``did``/``does`` carried.  With no part-of-speech tagger installed, the verb
is recognised from a list of the verbs such questions use; a verb outside it leaves the
question unrestated, which costs less than a wrong restatement.
"""

from __future__ import annotations

import re

_IRREGULAR = {
    "be": "was", "bear": "bore", "beat": "beat", "become": "became", "begin": "began", "break": "broke",
    "bring": "brought", "broadcast": "broadcast", "build": "built", "buy": "bought", "catch": "caught",
    "choose": "chose", "come": "came", "cost": "cost", "cut": "cut", "do": "did", "draw": "drew",
    "drive": "drove", "eat": "ate", "fall": "fell", "feel": "felt", "fight": "fought", "find": "found",
    "flee": "fled", "fly": "flew", "forget": "forgot", "get": "got", "give": "gave", "go": "went",
    "grow": "grew", "have": "had", "hear": "heard", "hit": "hit", "hold": "held", "keep": "kept",
    "know": "knew", "lead": "led", "leave": "left", "lose": "lost", "make": "made", "mean": "meant",
    "meet": "met", "pay": "paid", "put": "put", "read": "read", "ride": "rode", "rise": "rose",
    "run": "ran", "say": "said", "see": "saw", "seek": "sought", "sell": "sold", "send": "sent",
    "set": "set", "shoot": "shot", "sing": "sang", "sink": "sank", "sit": "sat", "speak": "spoke",
    "spend": "spent", "split": "split", "stand": "stood", "steal": "stole", "strike": "struck",
    "swim": "swam", "take": "took", "teach": "taught", "tell": "told", "think": "thought",
    "throw": "threw", "undergo": "underwent", "understand": "understood", "wear": "wore", "win": "won",
    "withdraw": "withdrew", "write": "wrote",
}
_REGULAR = frozenset({
    "achieve", "acquire", "act", "adapt", "admit", "adopt", "air", "allow", "appear", "arrive", "attend",
    "award", "base", "belong", "call", "capture", "claim", "coach", "collaborate", "commit",
    "compete", "complete", "compose", "conquer", "consist", "contain", "control", "cover", "create",
    "debut", "defeat", "depict", "describe", "design", "develop", "die", "direct", "discover",
    "earn", "edit", "elect", "emigrate", "employ", "end", "enter", "escape", "establish", "feature",
    "film", "finish", "form", "found", "govern", "graduate", "happen", "help", "hire", "honor",
    "host", "immigrate", "include", "influence", "inspire", "invade", "invent", "join", "kill",
    "last", "launch", "live", "locate", "manage", "marry", "move", "name", "nominate", "obtain",
    "occur", "offer", "open", "operate", "originate", "own", "pass", "perform", "plan", "play", "portray",
    "premiere", "produce", "provide", "publish", "purchase", "qualify", "rank", "reach", "receive", "record",
    "refer", "release", "remain", "replace", "represent", "require", "reside", "retire", "return", "rule",
    "score", "serve", "settle", "share", "sign", "specialize", "star", "start", "stay", "stop",
    "study", "succeed", "support", "tour", "train", "translate", "travel", "use", "visit", "voice",
    "vote", "want", "weigh", "work",
})
# irregular past forms that are seldom anything else ("won", "became"); a fragment answer may
# well hold "set", "hit", "left" or "rose" as a noun or adjective ("a hit single", "left wing")
IRREGULAR_PAST = frozenset(_IRREGULAR.values()) - {
    "beat", "bore", "broadcast", "cost", "cut", "felt", "fell", "hit", "left", "put", "read", "rose",
    "saw", "set", "shot", "split",
}
# A finite verb, or a word that is most likely one: a short answer without any ("Great Britain",
# "375 mi long") is a fragment that only means something with the question it answers, and an
# instruction's verb followed by one ("Type 1 diabetes is chronic") is a name.
FINITE_VERB = re.compile(
    r"\b(?:is|was|are|were|be|been|has|had|have|do|does|did|will|would|can|could|may|might|"
    rf"should|shall|must|[a-z]{{3,}}ed|{'|'.join(sorted(IRREGULAR_PAST))})\b"
)
_DOUBLED = frozenset({"admit", "commit", "control", "occur", "plan", "refer", "star", "stop"})
_VOWELS = frozenset("aeiou")
_THIRD_PERSON = {"be": "is", "have": "has", "do": "does", "go": "goes"}


def is_base_verb(word: str) -> bool:
    return word in _IRREGULAR or word in _REGULAR


def is_third_person(word: str) -> bool:
    """``contains``, ``plays``, ``has``: a known verb in the present third person singular."""
    return word in _THIRD_PERSON_FORMS


# words after which "records", "plays", "works" are plural nouns, not verbs
_NOUN_CONTEXT = frozenset({"the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "their",
                           "of", "in", "on", "at", "from", "for", "by", "to", "with", "into", "about", "as",
                           "and", "or"})


def is_present_verb(previous: str, word: str) -> bool:
    """Whether ``word`` is a known verb in the present ("The H2 weighs", "genus of moth in X
    contains"), told from the plural noun it may also be by the word before it ("the records",
    "type of records", "books and records")."""
    return is_third_person(word) and previous.lower() not in _NOUN_CONTEXT


def past(verb: str) -> str:
    """``win`` -> ``won``, ``star`` -> ``starred``, ``study`` -> ``studied``."""
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb in _DOUBLED:
        return verb + verb[-1] + "ed"
    if verb.endswith("e"):
        return verb + "d"
    if _consonant_y(verb):
        return verb[:-1] + "ied"
    return verb + "ed"


def third_person(verb: str) -> str:
    """``play`` -> ``plays``, ``belong`` -> ``belongs``, ``study`` -> ``studies``."""
    if verb in _THIRD_PERSON:
        return _THIRD_PERSON[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if _consonant_y(verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _consonant_y(verb: str) -> bool:
    """"study" -> "studied"/"studies", but "stay" -> "stayed"/"stays"."""
    return verb.endswith("y") and verb[-2:-1] not in _VOWELS


_THIRD_PERSON_FORMS = frozenset(third_person(v) for v in (*_IRREGULAR, *_REGULAR))
