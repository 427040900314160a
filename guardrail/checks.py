"""Checks for what NLI models miss: numbers, dates and names that the evidence does not contain.

A small NLI model reads "born in 1867" and "born in 1876" as near-identical.  These checks
look for every number, year, month and capitalised name of the claim in the evidence the
verifier relied on or found about the claim; anything missing becomes an issue on the claim
and lowers its score.
Numbers are compared as values ("1,200" = "1200", "3.0" = "3", "five" = "5", "$5 million" =
"5,000,000"), measures across units ("5 km" = "3.1 miles", "90 minutes" = "1.5 hours"), so
formatting does not create false alarms, and an abbreviated month beside a number is the
month ("Nov 10" = "November 10"); a qualified number ("more than 17", "before 1985",
"about 300") is a bound that some evidence number must meet, and idiomatic number words ("one
of", "a single") are not counts. Names match without accents, possessive endings and titles
("CEO Duncan Fraser" = "Duncan Fraser"), a demonym matches its country ("Russian" / "Russia",
"Jordanians" / "Jordan"), a hyphenated name its parts ("Russia-Turkey" / "Russia and Turkey"), a
name of several words its initials ("Western Australia" / "WA"), and a name may be found
anywhere in the evidence retrieved for the claim (a document names a person in full once, by
surname after).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass

from guardrail.evidence import STOPWORDS, content_tokens

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "once": 1,
    "twice": 2,
    "thrice": 3,
    "dozen": 12,
    "single": 1,
    "double": 2,
}
_IDIOMS = frozenset({"one", "single", "once", "double"})
# A number with a unit of measurement: the same quantity with another value in the evidence is a
# conflict NLI misses ("weighs 9 kg" against "weighs 3.4 kg" reads as entailed).
_UNIT_ALIASES = {"kilograms": "kg", "kilogram": "kg", "grams": "g", "gram": "g", "tonne": "tonnes",
                 "kilometres": "km", "kilometers": "km", "kilometre": "km", "kilometer": "km", "metres": "m",
                 "meters": "m", "metre": "m", "meter": "m", "centimetres": "cm", "centimeters": "cm",
                 "centimetre": "cm", "centimeter": "cm", "millimetres": "mm", "millimeters": "mm",
                 "millimetre": "mm", "millimeter": "mm", "mile": "miles", "foot": "feet", "ft": "feet",
                 "inch": "inches", "yard": "yards", "pound": "lb", "pounds": "lb", "lbs": "lb", "ounce": "oz",
                 "ounces": "oz", "litre": "litres", "liters": "litres", "liter": "litres", "millilitres": "ml",
                 "milliliters": "ml", "kph": "km/h", "minute": "minutes", "min": "minutes", "mins": "minutes",
                 "hour": "hours", "hrs": "hours", "second": "seconds", "secs": "seconds",
                 "euro": "euros", "€": "euros", "dollar": "dollars", "percent": "%", "degrees": "°"}
_DURATIONS = frozenset({"seconds", "minutes", "hours"})
# Units of one quantity by their size in a common unit, so that "5 km" is checked against
# "3.1 miles" and "90 minutes" against "1.5 hours".  Units whose size is ambiguous (gallons,
# tons, GB as 1000 or 1024 MB) are compared only with themselves.
_SIZES = {
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0), "km": ("length", 1000.0),
    "inches": ("length", 0.0254), "feet": ("length", 0.3048), "yards": ("length", 0.9144),
    "miles": ("length", 1609.344), "g": ("mass", 0.001), "kg": ("mass", 1.0), "tonnes": ("mass", 1000.0),
    "oz": ("mass", 0.028349523125), "lb": ("mass", 0.45359237), "ml": ("volume", 0.001),
    "litres": ("volume", 1.0), "km/h": ("speed", 1 / 3.6), "mph": ("speed", 0.44704),
    "seconds": ("time", 1.0), "minutes": ("time", 60.0), "hours": ("time", 3600.0),
    "w": ("power", 1.0), "kw": ("power", 1000.0),
}
# one-letter units other than "m" are left out: "1990s", "5G", "3 v 1" are not measurements
_UNITS = sorted({*_UNIT_ALIASES, *_UNIT_ALIASES.values(), *_SIZES, "mah", "gb", "mb", "tb", "kwh", "db",
                 "hz", "ghz", "mhz"} - {"s", "h", "g"}, key=len, reverse=True)
# after a currency sign, "m" is million: "$330m" is money, not a length
_MEASURE = re.compile(r"(?<![\w.,$£€¥])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(" + "|".join(map(re.escape, _UNITS))
                      + r")(?![\w/])", re.IGNORECASE)
# A number ends at a non-word character or at a unit written onto it ("330m", "5000mAh"); the
# digits of a name ("Su-24", "F-16", "COVID-19") are the name check's, not a quantity; after
# a lower-case prefix ("mid-2019", "top-10") they are one.
_NUMBER = re.compile(r"(?<![\w.])(?<![A-Z]-)(?<![A-Z][a-z]-)(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(%|percent))?"
                     r"(?=(?i:" + "|".join(map(re.escape, _UNITS)) + r")(?![\w/])|\W|$)")
_SCALE = re.compile(r"\s*(hundred|thousand|million|billion)\b", re.IGNORECASE)
# what follows a scale in "three hundred and fifty": the plain number words below a hundred
_BELOW_HUNDRED = [w for w, v in _WORD_NUMBERS.items()
                   if v < 100 and w not in {"once", "twice", "thrice", "single", "double", "dozen"}]
_ADDEND = re.compile(r"\s+(?:and\s+)?(" + "|".join(_BELOW_HUNDRED) + r")\b", re.IGNORECASE)
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.IGNORECASE)
# A qualified number ("more than 17", "before 1985", "about 300") is not a value the evidence
# must repeat but a bound it must satisfy: "more than 17 seasons" is true of "eighteen seasons".
_BOUNDS = {
    ">": ("more than", "greater than", "higher than", "larger than", "over", "above", "exceeding",
          "in excess of", "upwards of", "after", "later than"),
    ">=": ("at least", "no fewer than", "no less than", "a minimum of", "since"),
    "<": ("less than", "fewer than", "lower than", "smaller than", "under", "below", "before",
          "prior to", "earlier than"),
    "<=": ("at most", "up to", "no more than", "a maximum of"),
    "~": ("about", "around", "approximately", "roughly", "nearly", "almost", "close to", "some",
          "an estimated", "estimated", "circa"),
}
_BOUND_OF = {phrase: op for op, phrases in _BOUNDS.items() for phrase in phrases}
_BOUND_BEFORE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _BOUND_OF), key=len, reverse=True)) + r")\s+(?:[$£€]\s?)?$",
    re.IGNORECASE)
_BOUND_AFTER = re.compile(r"^(?:\s*%|\s*percent)?\s*(or more|or greater|or above|or less|or fewer|\+)",
                          re.IGNORECASE)
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_BOUND_WORDS = {">": "more than", ">=": "at least", "<": "less than", "<=": "at most", "~": "about"}
_APPROX = 0.15  # "about 300" holds for evidence within 15%
# A day the evidence gives as an ordinal ("from March 4th") states the claim's "March 4"; a
# claim's own ordinals ("the 11th Prime Minister") are not checked, since evidence may spell them out.
_ORDINAL = re.compile(r"(?<![\w.])(\d{1,4})(?:st|nd|rd|th)\b")

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_CALENDAR = frozenset([*_MONTHS, "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
# "Nov 10, 2018", "10 Sept. 2019": an abbreviated month counts only beside a number, since
# "Mar", "Jun" or "Jan" alone may be a word or a name
_ABBREVIATED = {"jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
                "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
                "nov": "november", "dec": "december"}
_ABBREVIATED_DATE = re.compile(r"\b(?P<a>jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?(?=\s*\d)"
                               r"|(?<=\d)(?:st|nd|rd|th)?\s+(?P<b>jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b",
                               re.IGNORECASE)
_MAY_DATE = re.compile(r"\bmay\s+\d{1,2}(?:st|nd|rd|th)?\b(?![.,]?\d)|\b\d{1,2}(?:st|nd|rd|th)?\s+may\b")
# "2007-11" and "2001 -- 07" are ranges of years that end in 2011 and 2007
_YEAR_RANGE = re.compile(r"\b((?:1[5-9]|20)\d\d)\s*(?:--?|–|—)\s*(\d\d)\b(?![\d,.]\d)")
# Digits may follow the capital: "Su-24", "F-16", "COVID-19", "A320" are names.
_NAME = re.compile(r"(?<![\w])[A-Z][a-zA-Z0-9'’-]+(?:\s+[A-Z][a-zA-Z0-9'’-]+)*")
_SENTENCE_WORDS = {
    "The",
    "A",
    "An",
    "In",
    "On",
    "At",
    "It",
    "He",
    "She",
    "They",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Its",
    "His",
    "Her",
    "Their",
    "As",
    "For",
    "By",
    "From",
    "After",
    "Before",
    "During",
    "However",
    "While",
    "When",
    "Where",
    "Yes",
    "No",
}


def numbers(text: str) -> set[float]:
    return {value for value, _ in _numbers_with_bounds(text)}


def _numbers_with_bounds(text: str, *, idioms: bool = True) -> list[tuple[float, str]]:
    """Every number of ``text`` (digits or words; "5 million" is 5,000,000) with how it is
    stated: "=" for a plain value, or the bound a qualifier puts on it (">", ">=", "<", "<=",
    "~").  ``idioms=False`` leaves out the number words that are mostly idiom in a claim
    ("one of the", "a single", "once")."""
    found, scaled = [], set()
    for m in _NUMBER.finditer(text):
        value, end = float(m.group(1).replace(",", "")), m.end()
        if scale := _SCALE.match(text, end):
            value, end = value * _WORD_NUMBERS[scale.group(1).lower()], scale.end()
            scaled.add(scale.start(1))
        found.append((m.start(), end, value))
    for m in _WORD_NUMBER.finditer(text):
        word = m.group(1).lower()
        if m.start() in scaled or (not idioms and word in _IDIOMS):
            continue
        value, end = float(_WORD_NUMBERS[word]), m.end()
        # "three hundred" is 300 and "five hundred thousand" 500,000, not 3 and 100 or 500 and 1000
        last_scale = 0
        while (scale := _SCALE.match(text, end)) and _WORD_NUMBERS[scale.group(1).lower()] > value:
            last_scale = _WORD_NUMBERS[scale.group(1).lower()]
            value, end = value * last_scale, scale.end()
            scaled.add(scale.start(1))
        # "three hundred and fifty" is 350, "two thousand five" 2005
        if last_scale and (rest := _ADDEND.match(text, end)) and _WORD_NUMBERS[rest.group(1).lower()] < last_scale:
            value, end = value + _WORD_NUMBERS[rest.group(1).lower()], rest.end()
            scaled.add(rest.start(1))
        found.append((m.start(), end, value))
    for m in _YEAR_RANGE.finditer(text):
        first = int(m.group(1))
        last = first // 100 * 100 + int(m.group(2))
        # the "11" of "2007-11" is the year 2011, not a count of 11
        found = [f for f in found if f[0] != m.start(2)]
        found.append((m.start(2), m.end(2), float(last if last > first else last + 100)))
    out = []
    for start, end, value in found:
        op = "="
        if before := _BOUND_BEFORE.search(text[max(0, start - 30):start]):
            op = _BOUND_OF[before.group(1).lower()]
        elif after := _BOUND_AFTER.match(text[end:end + 20]):
            op = "<=" if after.group(1).lower() in ("or less", "or fewer") else ">="
        out.append((value, op))
    return out


def _satisfied(value: float, op: str, evidence: set[float], evidence_bounds: set[tuple[float, str]]) -> bool:
    if op == "=":
        return any(_states(e, value) for e in evidence)
    if (value, op.rstrip("=")) in evidence_bounds:  # "over 600" where the evidence says "more than 600"
        return True
    if op == "~":
        return any(abs(e - value) <= _APPROX * abs(value) for e in evidence)
    # A bound is met by an evidence number of the same order of magnitude: "more than 17
    # seasons" by "18", not by an unrelated "2015" elsewhere in the window.
    near = [e for e in evidence if value / 3 <= e <= value * 3] if value > 0 else list(evidence)
    # ... but a maximum the evidence states is the maximum: "up to 240 minutes" against "up to
    # 180 minutes" names another one, though 180 <= 240 ("more than 17" is still met by "more
    # than 20": a lower bound may understate)
    if op == "<=" and any(o == "<" and e in near for e, o in evidence_bounds):
        return False
    return any(_COMPARE[op](e, value) for e in near)


def _abbreviated_months(text: str) -> set[str]:
    """The month abbreviations of ``text`` that stand beside a number ("nov" of "Nov 10")."""
    return {(m["a"] or m["b"]).lower() for m in _ABBREVIATED_DATE.finditer(text)}


def months(text: str) -> set[str]:
    lowered = text.lower()
    found = {m for m in _MONTHS if re.search(rf"\b{m}\b", lowered)}
    found |= {_ABBREVIATED[a] for a in _abbreviated_months(text)}
    # "may" is the month as "May", or beside a day in a lower-cased text ("on may 30"); else the verb
    if "may" in found and "May" not in text and not _MAY_DATE.search(text):
        found.discard("may")
    return found


# Words capitalised only because they open the sentence ("Additionally, ...", "Despite Smith's ...").
_OPENERS = frozenset([
    "meanwhile", "overall", "furthermore", "moreover", "despite", "although", "though", "nevertheless",
    "nonetheless", "therefore", "thus", "hence", "instead", "besides", "later", "earlier", "today",
    "currently", "according", "following", "including", "since", "because", "unlike", "like",
    "without", "yet", "still", "regarding", "atop", "prior", "note", "amid", "upon", "whether", "unless",
    "within", "throughout", "together", "along", "alongside", "thanks", "due",
    # participles that open a sentence ("Born in Ohio, ...", "Accompanied by his wife, ...")
    "born", "based", "known", "located", "founded", "named", "given", "having", "being", "speaking",
    "asked", "compared", "considered", "described", "accompanied", "backed",
    # indefinite subjects: "Someone is ...", "People gather ...", "Two men ..." (number words too)
    "someone", "somebody", "everyone", "everybody", "people", "many", "several", "some", "both", "each",
])
# a lone "-ing" word opening a sentence that goes on in lower case is a verb form ("Sinking sand
# is ...", "Staring at ..."), not a name, which would run on in capitals ("Flushing Meadows");
# a short answer ("Beijing") stays a name
_GERUND = re.compile(r"[A-Z][a-z]{2,}ing$")
_LOWER_WORD = re.compile(r"\s+[a-z]")
_ADVERB = re.compile(r"\w{3}(?:ally|ingly|ately|ently|ably|arly|ously|ively|edly)$")  # not "Sally"
_POSSESSIVE = re.compile(r"(?:['’]s?)$")
# A title or role before a name: the evidence often names the person without it, or with
# other words ("CEO Duncan Fraser" / "chief executive Duncan Fraser", "Mr Mole" / "Mole").
_TITLES = frozenset([
    "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "sir", "dame", "lord", "lady", "ceo", "cfo",
    "coo", "cto", "president", "chairman", "chairwoman", "chair", "senator", "sen", "rep", "governor",
    "gov", "mayor", "judge", "justice", "coach", "captain", "capt", "boss", "manager", "minister",
    "secretary", "director", "chancellor", "prime", "king", "queen", "prince", "princess", "pope", "rev",
])
# A club's or company's legal form after its name: the evidence often leaves it out ("Aberdeen
# FC" / "Aberdeen", "Apple Inc" / "Apple").
_LEGAL_FORMS = frozenset(["fc", "afc", "cf", "sc", "inc", "ltd", "llc", "plc", "corp", "co", "ag", "gmbh", "sa"])
_INITIAL = re.compile(r"(?:^|[\s.])[A-Z]\.$")
_HYPHENATED = re.compile(r"(?<=[a-z])-(?=[a-z])")  # not the digits of "su-25"
# What may stand before a sentence's first word: "( Note: ...", "\"The ...".
_LEAD_IN = " \t\n\"'“‘(["


def names(text: str) -> set[str]:
    """Capitalised word runs, without sentence-opening words and possessive endings."""
    out: set[str] = set()
    for m in _NAME.finditer(text):
        words = [w for w in m.group().split() if w not in _SENTENCE_WORDS]
        if words and _at_sentence_start(text, m.start()) and (opens_sentence(words[0]) or (
                len(words) == 1 and _GERUND.match(words[0]) and _LOWER_WORD.match(text, m.end()))):
            words = words[1:]
        # a possessive ends a name: "Castleford's Paddy Flynn" names Castleford and Paddy Flynn
        run: list[str] = []
        for word in words:
            run.append(_POSSESSIVE.sub("", word))
            if _POSSESSIVE.search(word):
                _add_name(out, run)
                run = []
        _add_name(out, run)
    # a month or weekday is the date check's ("in April", "Nov 10"), not a name
    return out - _CALENDAR - _abbreviated_months(text)


def _add_name(out: set[str], words: list[str]) -> None:
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        words = words[1:]
    while len(words) > 1 and words[-1].lower() in _LEGAL_FORMS:
        words = words[:-1]
    if words:
        out.add(" ".join(words).lower())


def _at_sentence_start(text: str, pos: int) -> bool:
    # walks back over the lead-in only: slicing the whole prefix per name is quadratic
    while pos > 0 and text[pos - 1] in _LEAD_IN:
        pos -= 1
    # the full stop of an initial ends no sentence: "J.K. Rowling", "the U.S. Army"
    return pos == 0 or (text[pos - 1] in ".!?:" and not _INITIAL.search(text, max(0, pos - 3), pos))


def opens_sentence(word: str) -> bool:
    """Whether a capitalised first word is capitalised only because it opens the sentence."""
    lowered = word.lower()
    return (lowered in STOPWORDS or lowered in _OPENERS or lowered in _WORD_NUMBERS
            or bool(_ADVERB.search(lowered)))


@dataclass(frozen=True)
class CheckResult:
    """What the extra checks found for one claim against its evidence."""

    missing_numbers: tuple[str, ...] = ()
    missing_months: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()
    # (claimed, stated): a measurement the evidence gives with another value, in any unit of it
    wrong_measures: tuple[tuple[str, str], ...] = ()

    @property
    def issues(self) -> tuple[str, ...]:
        out = [f"the evidence gives {stated}, not {claimed}" for claimed, stated in self.wrong_measures]
        wrong = {claimed.split()[0] for claimed, _ in self.wrong_measures}
        out += [f"number {n} is not in the evidence" if n[0].isdigit() else f"the evidence does not say {n}"
                for n in self.missing_numbers if n not in wrong]
        out += [f"date '{m}' is not in the evidence" for m in self.missing_months]
        out += [f"name '{n}' is not in the evidence" for n in self.missing_names]
        return tuple(out)

    @property
    def conflict(self) -> bool:
        """A number or date of the claim is absent from evidence that has numbers or dates."""
        return bool(self.missing_numbers or self.missing_months)


def check_claim(claim: str, evidence: str, *, retrieved: str | None = None) -> CheckResult:
    """Compare the claim's numbers, dates and names with ``evidence`` (the windows the verifier
    relied on and those about the claim).

    Names are looked for in ``retrieved`` instead when given (everything retrieved for the
    claim, ``evidence`` included): a document names a person in full once and by surname
    after, so the window the verifier relied on may not hold the full name.  Numbers and dates
    must be in ``evidence`` itself: a window about something else has numbers of its own.
    """
    stated = _numbers_with_bounds(evidence)
    ev_numbers = {value for value, _ in stated} | {float(m.group(1)) for m in _ORDINAL.finditer(evidence)}
    ev_bounds = {(value, op.rstrip("=")) for value, op in stated if op != "="}
    ev_measures = measures(evidence)
    # a measure the evidence gives in another unit is a number it states: "3.1 miles" by "5 km"
    for value, unit in _measure_values(claim, bounded=True):
        for _, other, converted in _same_quantity(unit, ev_measures):
            if other != unit:
                ev_numbers.update((converted, value) if _close(value, converted) else (converted,))
    missing_numbers = tuple(
        _fmt(value) if op == "=" else f"{_BOUND_WORDS[op]} {_fmt(value)}"
        for value, op in sorted(set(_numbers_with_bounds(claim, idioms=False)))
        if not _satisfied(value, op, ev_numbers, ev_bounds)
    )
    missing_months = tuple(sorted(months(claim) - months(evidence)))
    wrong_measures = tuple(
        (f"{_fmt(value)} {unit}", ", ".join(f"{_fmt(v)} {other}" for v, other, _ in same))
        for value, unit in sorted(_measure_values(claim))
        # per quantity: "9 kg" is wrong against "3.4 kg" or "3,400 grams" even where the page has
        # "9 USB ports"; not durations, which evidence often splits ("90 minutes" is "1 h 30 min")
        if unit not in _DURATIONS and (same := _same_quantity(unit, ev_measures))
        and not any(_states(converted, value) if other == unit else _close(value, converted)
                    for _, other, converted in same)
    )
    missing_names = _missing_names(names(_fold(claim)), _fold(evidence if retrieved is None else retrieved))
    return CheckResult(missing_numbers, missing_months, missing_names, wrong_measures)


def _missing_names(claimed: set[str], evidence: str) -> tuple[str, ...]:
    """The names (lower case) that ``evidence`` does not name: verbatim, by all their words in
    any order and form ("Western Australia" / "west australian"), or by their initials ("WA")."""
    lowered = evidence.lower()
    ev_tokens = content_tokens(evidence)
    ev_forms = {f for t in ev_tokens for f in _forms(t)}

    def word_named(word: str) -> bool:
        # a hyphenated word by its parts too: "russia-turkey" by "Russia and Turkey"
        return bool(_forms(word) & ev_forms) or (
            "-" in word and all(_forms(part) & ev_forms for part in _HYPHENATED.split(word)))

    def named(name: str) -> bool:
        if name in lowered or all(word_named(w) for w in name.split()):
            return True
        initials = _initials(name)
        if initials is None:
            return False
        if evidence.islower():  # a lower-cased text ("in wa and"): no capitals to tell initials by
            return initials in ev_tokens and initials not in _SHORT_WORDS
        return re.search(r"\b" + r"\.?".join(initials.upper()) + r"\b", evidence) is not None

    return tuple(sorted(n for n in claimed if not named(n)))


def _initials(name: str) -> str | None:
    words = [w for w in name.split() if w not in ("of", "the", "and", "de", "von", "van")]
    if len(words) < 2 or not all(w[0].isalpha() for w in words):
        return None
    return "".join(w[0] for w in words)


def measures(text: str) -> dict[str, set[float]]:
    """Plain values of ``text`` by unit of measurement: "weighs 3.4 kg" -> {"kg": {3.4}}."""
    out: dict[str, set[float]] = {}
    for value, unit in _measure_values(text):
        out.setdefault(unit, set()).add(value)
    return out


def _measure_values(text: str, *, bounded: bool = False) -> list[tuple[float, str]]:
    """Every (value, unit) of ``text``; with ``bounded``, also those a qualifier makes a bound."""
    found = []
    for m in _MEASURE.finditer(text):
        if not bounded and _BOUND_BEFORE.search(text[max(0, m.start() - 30):m.start()]):
            continue  # "up to 180 minutes" is a bound, which the number check weighs
        unit = m.group(2).lower()
        found.append((float(m.group(1).replace(",", "")), _UNIT_ALIASES.get(unit, unit)))
    return found


def _same_quantity(unit: str, ev_measures: dict[str, set[float]]) -> list[tuple[float, str, float]]:
    """The evidence's measures of what ``unit`` measures, as (value, its unit, value in ``unit``);
    a unit of no known size matches only itself."""
    quantity, size = _SIZES.get(unit, (unit, 1.0))
    found = []
    for other, values in sorted(ev_measures.items()):
        other_quantity, other_size = _SIZES.get(other, (other, 1.0))
        if other_quantity == quantity:
            found.extend((v, other, v if other == unit else v * other_size / size) for v in sorted(values))
    return found


def _states(stated: float, claimed: float) -> bool:
    """Whether an evidence number states the claim's: the same, or more precise and rounded to it
    ("88%" for "88.1%", "3.4 kg" for "3.42 kg"); never a whole number for another whole number
    ("5 million" for "5.4 million")."""
    if stated == claimed:
        return True
    decimals = len(_fmt(claimed).partition(".")[2])
    return len(_fmt(stated).partition(".")[2]) > decimals and round(stated, decimals) == claimed


def _close(claimed: float, converted: float) -> bool:
    """Whether a value converted from another unit is the claimed one as people round it:
    "3.1 miles" and "3 miles" for 5 km (3.107 miles), "10,000 feet" for 3,000 m (9,843 feet),
    to the claim's last digit or within 2%, and never beyond 5%."""
    decimals = _fmt(claimed).partition(".")[2]
    gap = abs(converted - claimed)
    return gap <= max(0.5 * 10 ** -len(decimals), 0.02 * abs(claimed)) and gap <= 0.05 * abs(claimed)


def lexical_support(claim: str, evidence: str) -> float:
    """Share of the claim's content words found in ``evidence`` (1.0 for a claim with none).
    A hyphenated word counts by its parts on either side: "action" is in "action-adventure
    film", "action-adventure" in "action and adventure"."""
    claim_tokens = content_tokens(claim)
    if not claim_tokens:
        return 1.0
    ev_tokens = content_tokens(evidence)
    ev_tokens |= {part for t in ev_tokens if "-" in t for part in t.split("-")}

    def found(token: str) -> bool:
        return token in ev_tokens or ("-" in token and all(
            p in ev_tokens or p in STOPWORDS for p in token.split("-") if p))

    return sum(map(found, claim_tokens)) / len(claim_tokens)


def _fold(text: str) -> str:
    """Without accents, so "Bozovic" matches "Božović"."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _stem(word: str) -> str:
    """Crude possessive and plural folding: "Prizes" matches "Prize", "Arthur's" matches "Arthur"
    (names drop their possessive ending, so the evidence's words must drop it too)."""
    word = _POSSESSIVE.sub("", word)
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _forms(word: str) -> set[str]:
    """The forms a name word may take in the evidence, one of which the evidence's own word
    shares: its stem, the country of a demonym ("russian" -> "russia", "chinese" -> "china"),
    the direction of "western" ("west")."""
    forms = {_stem(word)}
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes", "zes")):
        forms.add(word[:-2])  # "gases" -> "gas", "boxes" -> "box" ("-es" after a hiss)
    for single in {word, *forms}:  # a plural demonym too: "jordanians" -> "jordan"
        if single in _DEMONYMS:
            forms.add(_DEMONYMS[single])
        elif len(single) >= 6 and single.endswith("an"):
            forms.update((single[:-1], single[:-3]) if single.endswith("ian") else (single[:-1],))
    if word in ("northern", "southern", "eastern", "western"):
        forms.add(word[:-3])
    return forms


# Words that lower-cased initials may spell ("us" is no "United States" in "told us"); the
# stopwords ("to", "in", ...) are already left out of the evidence words they are looked for in.
_SHORT_WORDS = frozenset({"go", "hi", "oh", "ok", "us"})
# Demonyms that the "-an" rule misses, to their country's name as a word of it.
_DEMONYMS = {
    "american": "america", "british": "britain", "english": "england", "scottish": "scotland",
    "welsh": "wales", "irish": "ireland", "french": "france", "dutch": "netherlands",
    "belgian": "belgium", "swiss": "switzerland", "spanish": "spain", "portuguese": "portugal",
    "danish": "denmark", "swedish": "sweden", "finnish": "finland", "norwegian": "norway",
    "polish": "poland", "greek": "greece", "turkish": "turkey", "chinese": "china",
    "japanese": "japan", "vietnamese": "vietnam", "thai": "thailand", "filipino": "philippines",
    "lebanese": "lebanon", "israeli": "israel", "iraqi": "iraq", "pakistani": "pakistan",
    "afghan": "afghanistan", "kurdish": "kurdistan", "saudi": "arabia", "emirati": "emirates",
    "yemeni": "yemen", "omani": "oman", "qatari": "qatar", "kuwaiti": "kuwait",
    "bangladeshi": "bangladesh", "nepali": "nepal", "nepalese": "nepal", "sudanese": "sudan",
    "senegalese": "senegal", "congolese": "congo", "somali": "somalia", "maltese": "malta",
    "icelandic": "iceland", "czech": "czechia", "slovak": "slovakia", "croat": "croatia",
    "serb": "serbia", "peruvian": "peru", "argentine": "argentina", "argentinian": "argentina",
    "chilean": "chile", "ecuadorian": "ecuador", "uruguayan": "uruguay", "venezuelan": "venezuela",
    "cuban": "cuba", "mexican": "mexico", "canadian": "canada", "egyptian": "egypt",
    "moroccan": "morocco", "german": "germany", "ukrainian": "ukraine", "hungarian": "hungary",
}


def _fmt(n: float) -> str:
    return str(int(n)) if n.is_integer() else str(n)
