"""Rule-based claim extraction: sentences from a maintained segmenter, split into atomic claims.

The answer is first cut into blocks along its Markdown structure (paragraphs, list items, table
rows, fenced code), so a bullet list or a table never turns into one run-on "sentence"; code and
an answer's list of sources are skipped, and a table's cells are read with their row and column
(``tables``). Each block is segmented by pysbd, every sentence is located in the original text
(offsets are always exact), what asserts nothing is dropped and the talk before a claim cut off
(``nonclaims``), a yes or no is restated with the question it answers, and compound sentences
are split at a coordinating conjunction that starts a new verb phrase ("X was born in 1950 and
died in 2010" gives two claims, the second made self-contained by repeating the subject) or a
new clause, never inside a coordinated noun phrase ("tropical and subtropical waters"). What a
sentence attributes to the source is the claim ("The passage states that X" gives X), and a
leading pronoun takes the subject it most likely means, or stays as it is.
"""

from __future__ import annotations

import re
import threading

from guardrail.checks import opens_sentence
from guardrail.nonclaims import FIRST_PERSON, SOURCE, is_command, is_silence, preamble, says_nothing
from guardrail.questions import SHORT_ANSWER_WORDS, as_statement, reply
from guardrail.report import Claim
from guardrail.tables import FENCE, tables
from guardrail.verbs import FINITE_VERB, IRREGULAR_PAST, is_base_verb, is_present_verb, third_person

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
# a bullet may be a symbol or an emoji, or have one after it: "✅ It is waterproof", "- ➤ It weighs 3.4 kg"
_SYMBOL = r"[\u2190-\u21ff\u25a0-\u25ff\u2600-\u27bf\U0001f300-\U0001faff]\ufe0f?"
_LIST_MARK = re.compile(rf"^\s*(?:(?:[-*+•]|\d{{1,3}}[.)]|[a-zA-Z][.)])\s+(?:{_SYMBOL}\s+)?|{_SYMBOL}\s+)")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
# An answer's list of sources names documents, it asserts nothing: "Sources:", "## References",
# "**Further reading**" open one (to the next heading); "[1] https://...", "[^2]: Smith (2020)" are
# its entries wherever they stand, and "Sources: [1] Wikipedia" is one on a line.
_SOURCES = re.compile(r"^\s*(?:#{1,6}\s*)?[*_]{0,2}(?:sources?|references?|citations?|bibliography|"
                      r"further reading|works cited)[*_]{0,2}\s*(?::[*_]{0,2}\s*(?P<listed>\S.*)?)?$", re.IGNORECASE)
_SOURCE_ENTRY = re.compile(r"^\s*(?:[-*+]\s+)?\[\^?\w{1,12}\]:?\s")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_EMPHASIS = re.compile(r"[*_`]+")
# Signs of code, not of prose with brackets or a semicolon: an assignment or comparison,
# a call, braces, a statement keyword, a prompt, a trailing ";" or ":" of a block.
_CODE_LIKE = re.compile(r"\s[=!<>+\-*/]?=\s|\w\(|[{}]|^(?:def|class|import|from|return|if|for|while|print)\b|"
                        r"^(?:>>>|\$|#!)|[;:]$|^#\s?\w+\s*$")
# where the answer says its sentence comes from: "(source: Wikipedia)", "(see [1])" once the marker is gone
_SOURCE_NOTE = re.compile(r"\s*\((?:sources?|via|see|cf\.?|ref\.?)\b[^()]{0,200}\)|\s*\((?:see|cf\.?)?\s*\)",
                          re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")
_CITATION = re.compile(r"\s*\[\^?(?:\d+|[A-Za-z_-]+\d*)\](?:\[\^?(?:\d+|[A-Za-z_-]+\d*)\])*")  # [1] [doc2] [^3]

# "The passage states that X", "According to the article, X", "In the provided passage, X", "It
# also mentions that X": the claim is X; a claim about what the source says would be checked
# against that same source.
_ATTRIBUTION = re.compile(
    rf"^(?:(?:according to|as (?:stated|mentioned|noted|described|reported) in|in) {SOURCE},\s+|"
    rf"(?:{SOURCE}|it) (?:also |further |then )?(?:states|says|mentions|notes|reports|explains|indicates|"
    r"adds|clarifies|claims|confirms|reveals|highlights|suggests|emphasi[sz]es|points out|specifies) that\s+)",
    re.IGNORECASE,
)
# "The passage describes Brad Wilk, who is a drummer": the claim is "Brad Wilk is a drummer"
# ("about X, an actor, who was born ..." gives "X, an actor, was born ...").
_ABOUT = re.compile(
    rf"^{SOURCE} (?:also )?(?:describes|discusses|is about|introduces|profiles|talks about|focuses on|"
    r"(?:provides|gives) information (?:about|on)|tells the story of)\s+(?P<name>[^,;]{2,80}?)"
    r"(?:,\s+(?:an?|the) [^;]{2,120}?,(?P<relative>\s+(?:who|which))|(?P<bare>,\s+(?:who|which)))\s+(?=[a-z])",
    re.IGNORECASE,
)
_IRREGULAR = "|".join(sorted(IRREGULAR_PAST))
_VERB_START = re.compile(
    r"^(?:(?:also|later|then|subsequently|eventually|still|now|currently|previously|first|originally|"
    r"initially|officially|formally|publicly|widely|mainly|mostly|largely|primarily|only|never|always|"
    r"often|usually|recently|finally|once|again)\s+)?"
    r"(?:is|was|are|were|has|had|have|won|lost|became|died|served|founded|wrote|played|received|"
    r"moved|joined|left|led|released|published|directed|starred|married|graduated|studied|"
    r"worked|lives|lived|holds|held|remains|remained|contains|includes|[a-z]+ed|"
    rf"{_IRREGULAR}|"  # "and took over as manager when ..."
    r"(?:will|would|could|should|must|might)(?:\s+not)?\s+[a-z]+|"
    # present-tense verbs that are seldom plural nouns ("and weighs 2.1 kg", not "and records")
    r"weighs|comes|provides|requires|allows|belongs|consists|exists|seems|appears|becomes|goes|"
    r"gives|brings|runs|measures|supports|works|offers|takes|makes|gets|keeps|"
    # "and costs 549 euros": a verb when a price follows, else a noun ("waste and costs")
    r"costs?(?=\s+(?:[$€£¥]|\d|about|around|over|under|less|more|nothing|just|only|roughly)))\b"
)
_SPLIT = re.compile(r",?\s+(?:and|but|while|whereas)\s+|;\s+")
_OPENING_PHRASE = re.compile(r"^\s*(?:as|in|on|at|after|before|during|since|by|following|"
                             r"according to|with|despite)\b[^,]{1,80},\s*", re.IGNORECASE)
# Pronouns worth resolving to the previous sentence's subject.  "This"/"That" only when a verb
# follows ("This decision ..." is a determiner), and not an expletive "it" ("It is not the first
# time ..." has no referent).
_PRONOUN_START = re.compile(
    r"^(?:He|She|They)\b|^(?:This|That)(?=\s+(?:is|was|has|had|will|would|can|could)\b)|"
    r"^It\b(?!(?:\s+is|\s+was|'s)\s+(?:not|also|possible|likely|unlikely|unclear|clear|important|said|"
    r"reported|believed|thought|expected|estimated|known|true|the first|the second|the last)\b)"
    # nor a cleft: "It was after this win that he retired"
    r"(?!\s+(?:is|was)\s+(?:only |not |just )?(?:after|before|during|in|on|at|because|when|until|then)\b"
    r"[^,.]{0,60}?\s+that\b)"
)
# a name may end in a number: "Model 3", "Windows 11", "Apollo 11"
_ENTITY = re.compile(r"\b(?:[A-Z][\w'’.-]*)(?:\s+(?:of|the|de|von|van|[A-Z][\w'’.-]*))*(?:\s+\d{1,3}(?![\w.,]))?")
# A title in quotes opening a sentence is its subject: '"Home for the Holidays" is a film'.
_QUOTED_TITLE = re.compile(r'^(?:"[^"]{2,80}"|“[^”]{2,80}”)(?=\s)')
_SHORT_NOUN = re.compile(r"(?:The|This|Its|His|Her|Their)(?:\s+[a-z][\w-]*){1,2}")
_SUBJECT_VERB = re.compile(
    r"^(.{2,120}?)\s+(?:is|was|are|were|has|had|have|will|would|can|could|won|became|died|served|"
    r"founded|wrote|played|received|[a-z]+ed)\b"
)
# "directed by X and produced by Y": a second participle of the same noun, not a new clause.
_PARTICIPLE_BY = re.compile(r"\b[a-z]+ed by\b")
# not "since", "after", "that": mostly a preposition or determiner there ("since 2010", "that race")
_SUBORDINATOR = re.compile(r"\b(?:when|whenever|while|because|although|though|if|unless|where|who|whom|"
                           r"whose|which)\b")
_REPORTING = re.compile(r",\s+(?:noting|saying|adding|stating|explaining|claiming|suggesting|indicating|"
                        r"arguing|warning|stressing|emphasi[sz]ing|insisting|revealing)\b")
# "Python was created by Guido and first released in 1991": the second part is passive too
# and needs the first part's auxiliary ("Python was first released in 1991").  Only verbs
# that are nearly always passive of such a subject, or any participle before "by": "... and
# died in 2001" / "... and moved to Paris" are active and take no auxiliary.
_PASSIVE_AUX = re.compile(
    r"\s+((?:is|was|are|were)|(?:has|have|had) been|will be)\s+(?:[a-z]+ly\s+)?[a-z]+(?:ed|en|n|t)\b")
_PASSIVE_PART = re.compile(
    r"^((?:[a-z]+ly|first|later|then|also|again|once)\s+)?"
    r"(?:(?:released|published|founded|built|completed|designed|established|born|created|named|renamed|"
    r"located|based|headquartered|known|written|launched|produced|developed|opened|introduced|awarded|"
    r"elected|appointed|inducted|nominated|discovered|invented|constructed|formed|acquired|sold|owned|"
    r"listed|ranked|described|composed|recorded|adapted|translated|renovated|restored|demolished|"
    r"destroyed|rebuilt|replaced|buried|educated|raised|killed|arrested|convicted|sentenced|drafted|"
    r"inaugurated|dedicated|painted|dissolved|incorporated|distributed|broadcast|honou?red|shown|"
    r"held|made|given|taken|chosen)(?=\s+(?:in|on|at|by|as|during|under|from|after|before|for|with|"
    r"into|near|between|until)\b|\s*[.!]?$)|[a-z]+ed(?=\s+by\b))"
)


_INLINE_ITEM = re.compile(r"^\s*\d{1,3}[.)]\s+(?=[A-Z])")
_NUMBER_STOP = re.compile(r"(\d{1,3}\.)\s+(?=\S)")
_TAKES_NUMBER = re.compile(
    r"\b(?:number|no|version|vol|volume|chapter|grade|level|step|phase|round|season|episode|page|"
    r"figure|fig|table|rank|ranked|top|position|place|class|category|type|model|series|edition|seed)$",
    re.IGNORECASE)

# a word of three lower-case letters, a number or a closing bracket or quote, then the stop and a
# capitalised word: not "U.S.Army", "Dr.Smith" or "3.5"
_GLUED_STOP = re.compile(r"(?:(?<=[a-z]{3})|(?<=\d)|(?<=[)\"”]))[.!?](?=[A-Z][a-z])")

_LOCAL = threading.local()


def _segmenter():  # type: ignore[no-untyped-def]
    """One pysbd segmenter per thread: a shared one keeps per-call state, and threads checking
    answers at once (an audit's workers) lost sentences."""
    segmenter = getattr(_LOCAL, "segmenter", None)
    if segmenter is None:
        import pysbd

        segmenter = _LOCAL.segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of prose blocks: paragraphs, list items and table cells; code and lists of sources skipped."""
    spans: list[tuple[int, int]] = []
    in_code = in_indented_code = in_sources = False
    blank_before = True
    pos = 0
    para_start: int | None = None
    para_end = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        if FENCE.match(line):
            in_code = not in_code
            if para_start is not None:
                spans.append((para_start, para_end))
                para_start = None
            continue
        stripped = line.strip()
        # Indented code only where it looks like code after a blank line: LLMs fence their code,
        # and indent nested list items and their continuation lines, which are prose to check.
        indented = line.startswith(("    ", "\t")) and not _LIST_MARK.match(line)
        in_indented_code = indented and (in_indented_code or (blank_before and bool(_CODE_LIKE.search(stripped))))
        blank_before = not stripped or in_indented_code
        sources = None if in_code else _SOURCES.match(line)
        if sources or (not in_code and _HEADING.match(line)):
            in_sources = sources is not None and not sources["listed"]
        if in_code or not stripped or _TABLE_RULE.match(line) or in_indented_code or in_sources \
                or sources or _SOURCE_ENTRY.match(line):
            if para_start is not None:
                spans.append((para_start, para_end))
                para_start = None
            continue
        if stripped.startswith("|"):  # a table row: each cell stands alone
            if para_start is not None:
                spans.append((para_start, para_end))
                para_start = None
            for cell in re.finditer(r"[^|]+", line):
                if cell.group().strip():
                    spans.append((start + cell.start(), start + cell.end()))
            continue
        if _HEADING.match(line):  # a title names a topic, it asserts nothing
            if para_start is not None:
                spans.append((para_start, para_end))
                para_start = None
            continue
        marker = _LIST_MARK.match(line)
        if marker:
            if para_start is not None:
                spans.append((para_start, para_end))
            para_start, para_end = start + marker.end(), end
            continue
        if para_start is None:
            para_start = start
        para_end = end
    if para_start is not None:
        spans.append((para_start, para_end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _unglued(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span cut after each stop that lacks its space ("... the United States.Mara Santangelo
    is ..."): pages pasted together, as scraped or concatenated knowledge often is, read as
    one sentence to pysbd, and a window of two facts about two subjects misleads the verifier."""
    spans: list[tuple[int, int]] = []
    for m in _GLUED_STOP.finditer(text, start, end):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, end))
    return [(s, e) for s, e in spans if s < e]


_MAX_BLOCK = 4000
_HARD_STOP = re.compile(r"[.!?]\s+(?=[A-Z0-9\"'“(])")


def _bounded(blocks: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Cut blocks longer than ``_MAX_BLOCK`` at a sentence-final stop: pysbd's time grows
    faster than linearly with block length, and a 1 MB paragraph would take minutes."""
    out: list[tuple[int, int]] = []
    for start, end in blocks:
        while end - start > _MAX_BLOCK:
            stop = None
            for m in _HARD_STOP.finditer(text, start + _MAX_BLOCK // 2, start + _MAX_BLOCK):
                stop = m.start() + 1
            if stop is None:  # no sentence end in range: cut at a space
                space = text.rfind(" ", start + _MAX_BLOCK // 2, start + _MAX_BLOCK)
                stop = space if space > start else start + _MAX_BLOCK
            out.append((start, stop))
            start = stop
            while start < end and text[start].isspace():
                start += 1
        if start < end:
            out.append((start, end))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\r\n*_>":
        start += 1
    while end > start and text[end - 1] in " \t\r\n*_":
        end -= 1
    return start, end


class RuleBasedExtractor:
    """The offline default: pysbd sentences, Markdown-aware, split into atomic claims.

    ``min_words``: shorter fragments are not claims unless they are the whole answer.  A short
    answer to a question ("Paris.", "Great Britain") is made self-contained by restating it with
    the question (``as_statement``; the question is prefixed where that fails); the engine then
    checks the answer's own words against the evidence.
    """

    def __init__(self, *, min_words: int = 3, split_compounds: bool = True) -> None:
        self.min_words = min_words
        self.split_compounds = split_compounds

    def sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence spans of ``text`` (offsets into it), Markdown blocks respected."""
        spans: list[tuple[int, int]] = []
        for b_start, b_end in _bounded(_blocks(text), text):
            block = text[b_start:b_end]
            cursor = 0
            for sentence in _segmenter().segment(block):
                core = sentence.strip()
                if not core:
                    continue
                found = block.find(core, cursor)
                if found < 0:  # pysbd altered the text; fall back to the rest of the block
                    found, core = cursor, block[cursor:].strip()
                cursor = found + len(core)
                for s, e in _unglued(text, *_trim(text, b_start + found, b_start + found + len(core))):
                    previous = spans[-1] if spans and spans[-1][0] >= b_start else None
                    if previous and _inside_name(text[previous[0]:previous[1]], text[s:e]):
                        spans[-1] = (previous[0], e)
                        continue
                    # pysbd reads sentences ending in consecutive numbers ("... number 0. X ... number 1.")
                    # as an inline numbered list: the number belongs to the sentence before when that
                    # one ends in a word a number follows (a real list's items end otherwise).
                    if previous and _TAKES_NUMBER.search(text, previous[0], previous[1]) \
                            and (num := _NUMBER_STOP.match(text, s)):
                        spans[-1], s = (previous[0], s + len(num.group(1))), num.end()
                    spans.append((s, e))
        return spans

    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        """Atomic claims of ``text`` with offsets into it; ``question`` makes a short answer a sentence."""
        claims, covered = tables(text)  # a table's cells are read with their row and column
        sentences = [(s, e) for s, e in self.sentences(text) if not any(a <= s < b for a, b in covered)]
        # "Is the H2 waterproof?" "No, it is splash-proof.": "it" is the subject the question asks about
        asked = as_statement(question, "yes") if question else None
        previous_entity = _leading_entity(asked) if asked else None
        denied: list[Claim] = []
        for index, (s, e) in enumerate(sentences):
            sentence = text[s:e]
            # "Here is the answer: Mars is ...", "I'm sorry, but Mars is ...", "No, I think Mars is ..."
            # check "Mars is ..."
            while (yes := reply(_clean(sentence))) is None and (skip := preamble(sentence)):
                said = sentence[:skip].rstrip(" ,!")
                if said.rstrip("*_").endswith(":"):
                    # "**Eiffel Tower**: It is ..." is about the tower; after "**Navigation:**", "It" may be anything
                    previous_entity = _named_label(said, text, question)
                if question and index == 0 and not denied and reply(said) is False:
                    # "No, Roth was a journalist." also denies what was asked; after a "Yes," the
                    # words say what is affirmed themselves
                    denied = [Claim(text=t, start=s, end=s + len(said)) for t in self._reply(question, said)]
                    claims.extend(denied)
                s, sentence = s + skip, sentence[skip].upper() + sentence[skip + 1:]
            if yes is not None:
                # "Yes, it is.", "**Short answer:** No." claim something only as the reply to the question
                if question and index == 0 and not denied:
                    claims.extend(Claim(text=t, start=s, end=e) for t in self._reply(question, _clean(sentence)))
                continue
            if not self._is_assertion(sentence, whole=len(sentences) == 1):
                continue
            s, body = _unwrap_attribution(sentence, s)
            distributed: tuple[str, ...] = ()
            for c_start, c_end, claim_text in self._atomic(body, s):
                clean = _clean(claim_text)
                if is_silence(clean):  # "..., but the plot is not described in the text"
                    continue
                pronoun = _PRONOUN_START.match(clean)
                # "No, it ships to Spain.": a pronoun the question names is a subject, not a fragment's word
                if question and len(sentences) == 1 and not (pronoun and previous_entity) \
                        and self._is_fragment(clean):
                    clean = as_statement(question, clean) or f"{question.strip()} {clean}"
                    pronoun = _PRONOUN_START.match(clean)
                if pronoun and previous_entity:
                    clean = previous_entity + clean[pronoun.end():]
                distributed = self._distributed(clean)
                claims.extend(Claim(text=atomic, start=c_start, end=c_end) for atomic in distributed)
            entity = _leading_entity(body)
            if len(distributed) > 1:  # "Both Sony and Apple ...": a "They" next means both, no one name
                previous_entity = None
            elif entity:
                previous_entity = entity
        # "No, the tower is not in Paris." says its "No" again in words: one claim, not two
        said_again = {c.text for c in claims if c not in denied}
        return sorted((c for c in claims if c not in denied or c.text not in said_again), key=lambda c: c.start)

    def _distributed(self, claim: str) -> tuple[str, ...]:
        return _distribute(claim) if self.split_compounds else (claim,)

    def _reply(self, question: str, said: str) -> tuple[str, ...]:
        """The claims of a yes or no reply: the question restated ("Both X and Y are directors"),
        else, for a bare "yes" or "no", the question and the reply together."""
        stated = as_statement(question, said)
        if stated is None and said.lower().rstrip(".!") in {"yes", "no"}:
            stated = f"{question.strip()} {said}"
        return self._distributed(stated) if stated else ()

    def _is_fragment(self, clean: str) -> bool:
        words = clean.split()
        verbless = not FINITE_VERB.search(clean) and not _present_verb(clean)
        return len(words) < self.min_words or (len(words) <= SHORT_ANSWER_WORDS and verbless)

    def _is_assertion(self, sentence: str, whole: bool) -> bool:
        body = _clean(sentence)
        if not body or not any(ch.isalnum() for ch in body):
            return False
        # a question, or a lead-in to a list ("Here are the key points:"), asserts nothing
        if body.endswith(("?", ":")) or says_nothing(body) or is_silence(body) or is_command(body, whole, sentence):
            return False
        # Chinese and Japanese write no spaces between words: each character counts, so such a
        # sentence is checked (and, the models being English, most likely flagged), never dropped
        return whole or len(body.split()) + len(_UNSPACED.findall(body)) >= self.min_words

    def _atomic(self, sentence: str, start: int) -> list[tuple[int, int, str]]:
        if not self.split_compounds:
            return [(start, start + len(sentence), sentence)]
        parts: list[tuple[int, int]] = []
        last = 0
        for m in _SPLIT.finditer(sentence):
            rest, left = sentence[m.end():], sentence[last:m.start()]
            if len(left.split()) < 3:
                continue
            # Split only where a new verb phrase (same subject) or a new clause starts.
            if _VERB_START.match(rest):
                if _PARTICIPLE_BY.match(rest) and _PARTICIPLE_BY.search(left):
                    continue
                # after "..., noting the species was ...", a verb goes on the reported clause,
                # whose subject is not the sentence's: "and is found in tropical waters"
                if _REPORTING.search(left) or _subordinate_before(left):
                    continue
            # "but" and "while" join clauses, whose subjects run longer than those "and" joins
            # ("but the plot and details of this film are ..."); a verb of an opening phrase is
            # none of the left part's: "As of the date mentioned, over 190 countries and 200
            # territories have ..." joins two subjects of one verb
            elif not (_new_clause(rest, longest=6 if m.group().strip(" ,") == "and" else 10)
                      and _has_verb(_OPENING_PHRASE.sub("", left))):
                continue
            parts.append((last, m.start()))
            last = m.end()
        if not parts:
            return [(start, start + len(sentence), sentence)]
        parts.append((last, len(sentence)))
        # The subject to repeat comes from the first part only (a verb the pattern misses,
        # "weighs", must not pull the next part's words into it), else its leading name.
        first = _clean(sentence[: parts[0][1]])
        subject_match = _SUBJECT_VERB.match(first)
        subject = subject_match.group(1) if subject_match else (_present_subject(first) or _leading_entity(first))
        if not subject and any(_VERB_START.match(sentence[a:b].strip()) for a, b in parts[1:]):
            # a verb phrase with no subject to give it is no claim: the sentence stays whole
            return [(start, start + len(sentence), sentence)]
        aux = _PASSIVE_AUX.match(first, len(subject_match.group(1))) if subject_match else None
        out: list[tuple[int, int, str]] = []
        for i, (a, b) in enumerate(parts):
            piece = sentence[a:b].strip()
            if not piece:
                continue
            a = a + sentence[a:b].find(piece)
            claim_text = piece
            if i > 0 and subject and _VERB_START.match(piece):
                passive = aux is not None and _PASSIVE_PART.match(piece)
                claim_text = f"{subject} {aux.group(1)} {piece}" if passive else f"{subject} {piece}"
            elif i > 0 and subject and (referent := _clause_referent(piece, subject)):
                claim_text = subject + ("'s" if piece.startswith("its ") else "") + piece[referent:]
            if not claim_text.endswith((".", "!")):
                claim_text += "."
            out.append((start + a, start + a + len(piece), claim_text))
        return out


# "Both X and Y are Z" / "X and Y are both Z" / "X and Y both directed films": one fact about
# each name.  "both" is what makes it distributive ("Simon and Garfunkel are a duo" is not).
_NAME_WORDS = r"[A-Z][\w'’.&-]*(?:\s+(?:of|the|de|von|van|and the|[A-Z][\w'’.&-]*))*"
_BOTH = re.compile(
    rf"^(?:(?i:yes|no),?\s+)?(?:(?P<b1>[Bb]oth)\s+)?(?P<x>{_NAME_WORDS})\s+and\s+(?P<y>{_NAME_WORDS})\s+"
    r"(?:(?P<be>are|were)\s+(?(b1)|both\s+)|(?(b1)|both\s+)(?P<verb>(?:have|had)\s+|[a-z]+ed\s+|))"
    r"(?P<rest>[^,;]+?)\s*[.!]?$"
)
_PLURAL_HEAD = re.compile(
    r"^(?P<pre>(?:[\w-]+\s+){0,3}?)(?P<noun>[a-z]+(?<![su])s)(?=\s+(?:of|in|from|for|who|that|with|at|on|based)\b|$)")


def _distribute(claim: str) -> tuple[str, ...]:
    m = _BOTH.match(claim)
    # three names or more are left whole, and so is "not": "X and Y are not both Z" is no claim about X
    if not m or m.group("rest").startswith(("and ", "or ", "not ")):
        return (claim,)
    rest = m.group("rest")
    if m.group("be"):
        verb = {"are": "is", "were": "was"}[m.group("be").lower()]
        if head := _PLURAL_HEAD.match(rest):  # "American rock bands" -> "an American rock band"
            noun = head.group("noun")
            singular = noun[:-3] + "y" if noun.endswith("ies") else noun[:-2] if noun.endswith(
                ("ches", "shes", "xes", "sses")) else noun[:-1]
            phrase = head.group("pre") + singular
            rest = ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase + rest[head.end():]
    else:
        verb = {"have": "has"}.get(m.group("verb").strip().lower(), m.group("verb").strip())
        first, _, after = rest.partition(" ")
        if not verb and is_base_verb(first):  # "Both Sony and Nintendo make consoles": "Sony makes"
            rest = f"{third_person(first)} {after}".strip()
    return tuple(" ".join(w for w in (name, verb, rest) if w) + "." for name in (m.group("x"), m.group("y")))


def _clause_referent(piece: str, subject: str) -> int:
    """Where a leading "he"/"she"/"it" ends if it refers to the first clause's subject, else 0.

    "Paris is the capital, and it has 2.1 million residents".  Only a plain subject counts:
    a name for "he"/"she", a name or a short "the ..." for "it"; in "Nicklaus' achievement was
    praised, but he ..." or "The identification of the whale was hard, but it ..." the pronoun
    means something else, and "they" may be anyone.
    """
    word = piece.split(maxsplit=1)[0]
    if word == "its":  # "..., and its battery is covered": the caller makes it "The H2's battery"
        return 3 if _ENTITY.fullmatch(subject) or _SHORT_NOUN.fullmatch(subject) else 0
    pronoun = _PRONOUN_START.match(piece[0].upper() + piece[1:])  # no expletive or cleft "it"
    if not pronoun or word not in ("he", "she", "it"):
        return 0
    if _ENTITY.fullmatch(subject) or (word == "it" and _SHORT_NOUN.fullmatch(subject)):
        return pronoun.end()
    return 0


def _inside_name(before: str, after: str) -> bool:
    """pysbd ends a sentence at the "!" of "Impulse! Records" or "Yahoo! Japan": the stop was
    part of a name when a sentence ends in a capitalised word with "!" and what follows is a
    fragment going on with capitalised words ("Records in 1961.")."""
    return (bool(re.search(r"\s[A-Z][\w.-]*!$", before)) and after[:1].isupper()
            and not _has_verb(after))


def _subordinate_before(left: str) -> bool:
    """Whether ``left`` ends in a subordinate clause after its main verb ("was injured when the
    car spun"): a verb phrase joined next goes on that clause, not on the sentence's subject."""
    m = _SUBJECT_VERB.match(left.strip())
    return bool(m) and _SUBORDINATOR.search(left.strip(), m.end()) is not None


def _has_verb(text: str) -> bool:
    return bool(FINITE_VERB.search(text) or _SUBJECT_VERB.match(text.strip())) or _present_verb(text)


def _present_at(words: list[str]) -> int | None:
    """Where the first known present-tense verb is ("weighs" in "The H2 weighs 2.1 kg")."""
    return next((i for i in range(1, len(words)) if is_present_verb(words[i - 1], words[i])), None)


def _present_subject(text: str) -> str | None:
    """The words before a known present-tense verb: "The laptop" of "The laptop weighs 2.1 kg"."""
    words = text.split()
    at = _present_at(words[:8])
    subject = " ".join(words[:at]) if at else None
    # not an appositive ("Anderson, 27,": the name does) nor the source the answer talks about
    if subject is None or "," in subject or re.fullmatch(SOURCE, subject, re.IGNORECASE):
        return None
    return subject


def _present_verb(text: str) -> bool:
    """A known verb in the present after its subject ("The H2 weighs 2.1 kg")."""
    return _present_at(text.split()) is not None


def _new_clause(rest: str, *, longest: int = 6) -> bool:
    """Whether ``rest`` starts a clause of its own: a subject of at most ``longest`` words,
    then a verb.  A comma before the verb means the conjunction joined words, not clauses
    ("tropical and subtropical waters, was found")."""
    m = _SUBJECT_VERB.match(rest)
    subject = m.group(1) if m else _present_subject(rest)  # "..., and it costs 549 euros"
    return subject is not None and not re.search(r"[,;:()]", subject) and len(subject.split()) <= longest


def _clean(text: str) -> str:
    """Claim text as the verifier should see it: no citation markers, no Markdown emphasis."""
    text = _SOURCE_NOTE.sub("", _CITATION.sub("", text))
    text = _HTML_TAG.sub(" ", text)  # an <img> or <a href> in a Markdown answer is markup, not words
    text = _EMPHASIS.sub("", text)
    text = _INLINE_ITEM.sub("", text)  # "2. The screen is bright" of an inline list: "2" is no fact
    return " ".join(text.split())


def _unwrap_attribution(sentence: str, start: int) -> tuple[int, str]:
    """The sentence without a "the passage says that" wrapper, and where the rest starts.

    "The passage describes X, who is ..." keeps X and blanks ", who" (blanked, not deleted,
    so offsets stay exact; ``_clean`` folds the spaces), leaving "X is ...".
    """
    m = _ATTRIBUTION.match(sentence)
    if m:  # "... that he was born" gives "He was born" (the same length: offsets hold)
        rest = sentence[m.end():]
        return start + m.end(), rest[:1].upper() + rest[1:]
    m = _ABOUT.match(sentence)
    if m:
        a, b = m.span("relative" if m.group("relative") else "bare")
        blanked = sentence[:a] + " " * (b - a) + sentence[b:]
        return start + m.start("name"), blanked[m.start("name"):]
    return start, sentence


def _named_label(said: str, text: str, question: str | None) -> str | None:
    """A list item's label when it names what the item is about: a name the answer or question
    uses elsewhere ("Compare Python and Rust" ... "**Python**: It is interpreted"), not a heading
    word ("**Navigation:** It maps rooms")."""
    label = _clean(said).rstrip(":").strip()
    if _ENTITY.fullmatch(label) and (text.count(label) > 1 or label in (question or "")):
        return label
    return None


def _leading_entity(sentence: str) -> str | None:
    title = _QUOTED_TITLE.match(_clean(sentence))
    if title:
        return title.group()
    m = _ENTITY.match(_clean(sentence))
    # a label ("Battery: ...") or the answer's "I" ("I'd recommend the H3") is no subject
    if m and (_clean(sentence)[m.end():m.end() + 1] == ":" or FIRST_PERSON.match(m.group())):
        return None
    # a sentence-initial function word, opener or participle ("Over 600 firefighters", "In Paris",
    # "Prior to ...", "Accompanied by ...") starts no subject, though "The" may ("The Eiffel Tower")
    words = m.group().split() if m else []
    function_word = bool(words) and opens_sentence(words[0]) and (words[0] != "The" or len(words) == 1)
    if m and not _PRONOUN_START.match(m.group()) and not function_word:
        return m.group().strip()
    return None
