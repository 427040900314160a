"""Synthetic hard negatives for the verifier (the FactCC recipe, adapted to 3-way NLI).

Plain NLI corpora rarely contain the errors LLMs actually make: a changed number or date,
a swapped name, a dropped negation, a right fact buried among distractor sentences.  Each
generator here takes a labelled pair and returns a perturbed copy with the label it implies,
or ``None`` when the perturbation does not apply.  All randomness comes from the ``rng``
passed in so a training run is reproducible from its seed.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable, Iterator

from guardrail.questions import as_statement

Pair = dict[str, str]

_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\w])|(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_ENTITY = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_COPULA = re.compile(r"\b(is|was|are|were|has|had|can|will|did|does)\b")
_NEGATED = re.compile(r"\b(is|was|are|were|has|had|can|will|did|does) not\b")
_QUANTIFIERS = [("all", "some"), ("always", "sometimes"), ("every", "some"), ("most", "few"),
                ("more than", "less than"), ("before", "after"), ("largest", "smallest"),
                ("first", "last"), ("increased", "decreased"), ("won", "lost")]
_SENTENCE_START_WORDS = {"The", "A", "An", "In", "On", "It", "He", "She", "They", "This", "That"}


def _other_number(text: str, rng: random.Random) -> str:
    digits = text.replace(",", "")
    if "." in digits:
        value = float(digits)
        return f"{value * rng.choice([0.5, 1.5, 2.0, 3.0]) + rng.choice([0.1, 1.0]):.{len(digits.split('.')[1])}f}"
    value = int(digits)
    if 1500 <= value <= 2099:  # a year: shift it by a plausible amount
        return str(value + rng.choice([-10, -3, -2, -1, 1, 2, 3, 10]))
    new = value + rng.choice([1, 2, 5, 10]) if value < 20 else int(value * rng.choice([0.5, 0.8, 1.3, 2, 3]))
    if new == value:
        new = value + 1
    return f"{new:,}" if "," in text else str(new)


def swap_number(pair: Pair, rng: random.Random) -> Pair | None:
    """Change one number of an entailed hypothesis: the claim now conflicts with the evidence."""
    if pair["label"] != "entailment":
        return None
    matches = [m for m in _NUMBER.finditer(pair["hypothesis"]) if m.group() in pair["premise"]]
    if not matches:
        return None
    m = rng.choice(matches)
    new = _other_number(m.group(), rng)
    hyp = pair["hypothesis"][: m.start()] + new + pair["hypothesis"][m.end():]
    return {**pair, "hypothesis": hyp, "label": "contradiction", "source": "synthetic_number"}


def swap_entity(pair: Pair, rng: random.Random) -> Pair | None:
    """Replace a name in an entailed hypothesis by another name from the premise."""
    if pair["label"] != "entailment":
        return None
    hyp_entities = [m for m in _ENTITY.finditer(pair["hypothesis"])
                    if m.group() not in _SENTENCE_START_WORDS and m.group() in pair["premise"]]
    premise_entities = {e for e in _ENTITY.findall(pair["premise"]) if e not in _SENTENCE_START_WORDS}
    if not hyp_entities:
        return None
    m = rng.choice(hyp_entities)
    candidates = sorted(e for e in premise_entities if e != m.group() and e not in pair["hypothesis"])
    if not candidates:
        return None
    hyp = pair["hypothesis"][: m.start()] + rng.choice(candidates) + pair["hypothesis"][m.end():]
    return {**pair, "hypothesis": hyp, "label": "neutral", "source": "synthetic_entity"}


def flip_negation(pair: Pair, rng: random.Random) -> Pair | None:
    """Add or remove a negation after the first auxiliary verb."""
    if pair["label"] != "entailment":
        return None
    hyp = pair["hypothesis"]
    if _NEGATED.search(hyp):
        new = _NEGATED.sub(lambda m: m.group(1), hyp, count=1)
    elif _COPULA.search(hyp):
        new = _COPULA.sub(lambda m: m.group(1) + " not", hyp, count=1)
    else:
        return None
    return {**pair, "hypothesis": new, "label": "contradiction", "source": "synthetic_negation"}


def swap_quantifier(pair: Pair, rng: random.Random) -> Pair | None:
    """Swap a quantifier or an ordering word for its opposite."""
    if pair["label"] != "entailment":
        return None
    hyp = pair["hypothesis"]
    options = [(a, b) for a, b in _QUANTIFIERS if re.search(rf"\b{a}\b", hyp)]
    options += [(b, a) for a, b in _QUANTIFIERS if re.search(rf"\b{b}\b", hyp)]
    if not options:
        return None
    a, b = rng.choice(options)
    new = re.sub(rf"\b{a}\b", b, hyp, count=1)
    return {**pair, "hypothesis": new, "label": "neutral", "source": "synthetic_quantifier"}


def bury_in_distractors(pair: Pair, rng: random.Random, pool: list[str]) -> Pair | None:
    """Surround the premise with unrelated sentences: the label must survive distractors,
    the way evidence windows at inference mix the one relevant sentence with others."""
    if not pool:
        return None
    k = rng.randint(1, 3)
    distractors = [rng.choice(pool) for _ in range(k)]
    position = rng.randint(0, k)
    parts = [*distractors[:position], pair["premise"], *distractors[position:]]
    return {**pair, "premise": " ".join(parts), "source": pair["source"] + "+distractors"}


GENERATORS: list[Callable[[Pair, random.Random], Pair | None]] = [
    swap_number, swap_entity, flip_negation, swap_quantifier,
]


def augment(pairs: list[Pair], rng: random.Random, rate: float, distractor_rate: float) -> Iterator[Pair]:
    """Yield synthetic pairs: about ``rate`` hard negatives and ``distractor_rate`` buried
    copies per input pair.  Distractors come from premises of other sources' pairs."""
    pool = [p["premise"] for p in pairs if len(p["premise"]) < 300]
    for pair in pairs:
        if rng.random() < rate:
            for gen in rng.sample(GENERATORS, len(GENERATORS)):
                made = gen(pair, rng)
                if made is not None:
                    yield made
                    break
        if rng.random() < distractor_rate:
            made = bury_in_distractors(pair, rng, pool)
            if made is not None:
                yield made


def add_unsupported_detail(pair: Pair, rng: random.Random, pool: list[str]) -> Pair | None:
    """An entailed claim with a detail from elsewhere tacked on: the extrinsic error of LLM
    answers (right fact, plus something the evidence never said), where the new words are
    what gives it away."""
    if pair["label"] != "entailment" or not pool:
        return None
    other = rng.choice(pool).strip().rstrip(".")
    if not other or other.lower() in pair["premise"].lower():
        return None
    hyp = f"{pair['hypothesis'].strip().rstrip('.')}, and {other[0].lower()}{other[1:]}."
    return {**pair, "hypothesis": hyp, "label": "neutral", "source": "synthetic_extrinsic"}


def swap_outside_name(pair: Pair, rng: random.Random, names: list[str]) -> Pair | None:
    """Replace a name of an entailed claim by a name the evidence never mentions."""
    if pair["label"] != "entailment" or not names:
        return None
    hyp_entities = [m for m in _ENTITY.finditer(pair["hypothesis"])
                    if m.group() not in _SENTENCE_START_WORDS and m.group() in pair["premise"]]
    if not hyp_entities:
        return None
    m = rng.choice(hyp_entities)
    new = rng.choice(names)
    if new in pair["premise"]:
        return None
    hyp = pair["hypothesis"][: m.start()] + new + pair["hypothesis"][m.end():]
    return {**pair, "hypothesis": hyp, "label": "neutral", "source": "synthetic_outside_name"}


def _names(pairs: list[Pair]) -> list[str]:
    """Every name the claims mention: the pool of outside names to swap in."""
    return sorted({e for p in pairs for e in _ENTITY.findall(p["hypothesis"])
                   if e not in _SENTENCE_START_WORDS and len(e) > 3})


def extrinsic(pairs: list[Pair], rng: random.Random, rate: float) -> Iterator[Pair]:
    """Yield about ``rate`` extrinsic-error negatives per input pair (for calibration: the
    training recipe above stays as it was, so a rerun reproduces the shipped model)."""
    pool = [p["hypothesis"] for p in pairs if 20 < len(p["hypothesis"]) < 120]
    names = _names(pairs)
    for pair in pairs:
        if rng.random() < rate:
            made = _extrinsic_error(pair, rng, pool, names)
            if made is not None:
                yield made


def _extrinsic_error(pair: Pair, rng: random.Random, details: list[str], names: list[str]) -> Pair | None:
    return (add_unsupported_detail(pair, rng, details) if rng.random() < 0.5
            else swap_outside_name(pair, rng, names))


_ANSWER_SPAN = re.compile(rf"{_NUMBER.pattern}|{_ENTITY.pattern}")


def _wh(span: str, before: str) -> str:
    if _YEAR.fullmatch(span):
        return "what year"
    if _NUMBER.fullmatch(span):
        return "how many" if not before.rstrip().endswith(("in", "on", "of", "at")) else "what"
    return "what"


def question_answer(pair: Pair, rng: random.Random, names: list[str]) -> list[Pair]:
    """Turn an entailed claim into a question and short answers, each restated as the claim
    the extractor makes of them (``as_statement``), the form a short answer is verified in.
    Asks about one name or number of the claim that the premise states, and answers it three
    ways: with that span (label entailment), with another name or number of the premise (the
    wrong-but-plausible answer; neutral), and with a name or number the premise never mentions
    (neutral).  All three, so the fit sees right and wrong answers to the same question.
    ``answer`` holds the answer's own words."""
    if pair["label"] != "entailment":
        return []
    hyp = pair["hypothesis"].strip()
    # Ask about the subject ("Who/What ...?") or the last phrase ("... in what year?"), the
    # places real questions ask from; a capitalised first word alone is rarely a name.
    end = len(hyp.rstrip(".!"))
    spans = [m for m in _ANSWER_SPAN.finditer(hyp) if m.group() in pair["premise"]
             and ((m.start() == 0 and " " in m.group()) or m.end() == end)]
    if not spans:
        return []
    m = rng.choice(spans)
    before, after = hyp[: m.start()], hyp[m.end():].rstrip().rstrip(".!")
    question = f"{before}{_wh(m.group(), before)}{after}?"
    question = question[0].upper() + question[1:]
    right = m.group()
    answers = [(right, "entailment", "synthetic_qa")]
    kind = _NUMBER if _NUMBER.fullmatch(right) else _ENTITY
    others = sorted({o for o in kind.findall(pair["premise"])
                     if o not in _SENTENCE_START_WORDS and o != right and o not in question})
    if others:
        answers.append((rng.choice(others), "neutral", "synthetic_qa_wrong"))
    outside = _other_number(right, rng) if kind is _NUMBER else rng.choice(names) if names else right
    if outside not in pair["premise"]:
        answers.append((outside, "neutral", "synthetic_qa_outside"))
    # Restated as the extractor words them.
    return [{**pair, "hypothesis": as_statement(question, answer) or f"{question} {answer}",
             "answer": answer, "label": label, "source": source} for answer, label, source in answers]


def question_answers(pairs: list[Pair], rng: random.Random, rate: float) -> Iterator[Pair]:
    """Yield the question-answer pairs of about ``rate`` of the entailed input pairs
    (calibration only)."""
    names = _names(pairs)
    for pair in pairs:
        if rng.random() < rate:
            yield from question_answer(pair, rng, names)


# Sources whose premise is document text; a pair's page is its "<title>: " prefix (VitaminC,
# FM2) or, where there is none (new_protocols), the premise itself.
_DOCUMENT_SOURCES = frozenset({"vitaminc", "new_protocols", "fm2"})
_TITLE = re.compile(r"^([^:]{1,80}): ")
_JOIN_LOWER = {"The", "A", "An", "It", "He", "She", "They", "This", "That", "There", "Its", "His", "Her", "Their"}


def _page(pair: Pair) -> str:
    m = _TITLE.match(pair["premise"])
    return m.group(1) if m else pair["premise"]


def _overlap(a: str, b: str) -> float:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def conjoin(first: Pair, second: Pair, rng: random.Random) -> Pair | None:
    """Two claims about one page as one compound claim ("A, and B") over both premises, in
    either order: entailed only when both parts are, otherwise the label of the part that is
    not (``first`` must be entailed).  LLM answers and Wikipedia claims (WiCE) join facts
    that the evidence states in different sentences; NLI corpora pair one claim with one."""
    if first["label"] != "entailment" or first is second or first["hypothesis"] == second["hypothesis"]:
        return None
    a, b = (first, second) if rng.random() < 0.5 else (second, first)
    if a["premise"] == b["premise"]:
        premise = a["premise"]
    elif _overlap(a["premise"], b["premise"]) > 0.5:  # two revisions of one sentence (VitaminC) can disagree
        return None
    else:
        # which premise keeps the page title (and comes first) is drawn apart from the claims' order
        if rng.random() < 0.5:
            premise = f"{a['premise']} {_TITLE.sub('', b['premise'], count=1)}"
        else:
            premise = f"{b['premise']} {_TITLE.sub('', a['premise'], count=1)}"
    second_hyp = b["hypothesis"].strip()
    head, _, tail = second_hyp.partition(" ")
    if head in _JOIN_LOWER:
        second_hyp = f"{head.lower()} {tail}"
    hyp = f"{a['hypothesis'].strip().rstrip('.')}, and {second_hyp}"
    return {**second, "premise": premise, "hypothesis": hyp, "source": "synthetic_conjoined"}


def shaped(pairs: list[Pair], rng: random.Random, rate: float) -> Iterator[Pair]:
    """Yield about ``rate`` pairs shaped like what the engine verifies per document-grounded
    input pair: compound claims over two premises of one page (``conjoin``), short answers
    restated with their question (``question_answer``), and claims with an unsupported detail
    or an outside name (``extrinsic``).  Phase 8 of the shipped verifier trained on these; the
    calibration data makes its extrinsic and question-answer pairs from the validation split."""
    documents = [p for p in pairs if p["source"] in _DOCUMENT_SOURCES]
    by_page: dict[str, list[Pair]] = {}
    for pair in documents:
        by_page.setdefault(_page(pair), []).append(pair)
    names = _names(documents)
    details = [p["hypothesis"] for p in documents if 20 < len(p["hypothesis"]) < 120]
    for pair in documents:
        if pair["label"] != "entailment" or rng.random() >= rate:
            continue
        kind = rng.random()
        if kind < 0.45:
            same_page = by_page[_page(pair)]
            made = conjoin(pair, rng.choice(same_page), rng) if len(same_page) > 1 else None
            if made is not None:
                yield made
        elif kind < 0.75:
            yield from question_answer(pair, rng, names)
        else:
            made = _extrinsic_error(pair, rng, details, names)
            if made is not None:
                yield made


_PERSON = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}\b")


def by_surname(pair: Pair) -> Pair | None:
    """The pair with the premise calling the claim's person by surname alone ("Smith was named
    ..." for a claim about "Malcolm Smith"), label unchanged: retrieved chunks often do, and the
    swapped-name negatives above teach a model that a name the premise does not give in full
    is not supported.  Only where the surname stands nowhere else in the premise (not beside a
    "John Smith" or a "Smith Barney")."""
    for m in _PERSON.finditer(pair["hypothesis"]):
        full = m.group()
        surname = full.rsplit(" ", 1)[1]
        if full.split()[0] in _SENTENCE_START_WORDS or len(surname) < 3:
            continue
        premise = pair["premise"]
        if full in premise and premise.count(surname) == premise.count(full):
            return {**pair, "premise": premise.replace(full, surname), "source": "synthetic_surname"}
    return None


def surnames(pairs: list[Pair], rng: random.Random, rate: float) -> Iterator[Pair]:
    """Yield about ``rate`` surname-only premises (``by_surname``) per document-grounded pair."""
    for pair in pairs:
        if pair["source"] in _DOCUMENT_SOURCES and rng.random() < rate:
            made = by_surname(pair)
            if made is not None:
                yield made


def main(argv: list[str] | None = None) -> int:
    """Nothing to run: a library of generators, imported by the training and calibration scripts."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="A library module: train_verifier.py and calibrate_verifier.py import it; run those instead.")
    ap.parse_args(argv)
    print("hard_negatives.py is a library: training/train_verifier.py and training/calibrate_verifier.py "
          "import it; run those instead (python training/train_verifier.py --help).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
