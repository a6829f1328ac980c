"""Personal-data masking, applied before cache keys, log lines and outputs.

Each kind of personal data is replaced by a typed placeholder ("[EMAIL]", "[PHONE]", ...), so masked
texts stay readable and identical inputs mask identically (stable cache keys).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
# IBAN: country code, 2 check digits, 11-30 alphanumerics, optionally grouped by 4 with spaces.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Card: 13-19 digits, optionally grouped with spaces or dashes; confirmed by the Luhn check below.
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Phone: an optional +country code, then 7-15 digits with common separators; at least 7 digits in all.
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?![\w])")
# US social security number, a common national-id shape.
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group()


def _iban(m: re.Match[str]) -> str:
    return "[IBAN]" if iban_ok(m.group()) else m.group()


DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
YEAR_RANGE = re.compile(r"(?:19|20)\d\d ?[-/] ?(?:19|20)?\d\d")
THOUSANDS = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+")
PHONE_PREFIX = re.compile(r"^(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?")
# A number right after these words, or right before these units, is a reference or an amount, not a phone.
NOT_PHONE_BEFORE = re.compile(r"(?:isbn|order|invoice|ref|reference|ticket|tracking|no\.|#)\W{0,3}$", re.I)
NOT_PHONE_AFTER = re.compile(r"^\s*(?:dollars|usd|eur|euros|gbp|pounds|yen|shares|units|barrels|tonnes|%)\b", re.I)


def _phone(m: re.Match[str]) -> str:
    text = m.group()
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or DATE.fullmatch(text) or YEAR_RANGE.fullmatch(text):
        return text
    if not text.startswith("+") and THOUSANDS.fullmatch(text):
        return text  # 100 000 000
    context = m.string
    if NOT_PHONE_BEFORE.search(context[max(0, m.start() - 16) : m.start()]) or NOT_PHONE_AFTER.match(
        context[m.end() : m.end() + 12]
    ):
        return text
    rest = text[PHONE_PREFIX.match(text).end() :]
    separators = set(re.sub(r"\d", "", rest))
    # Numbers in prose (prices, dates, amounts next to each other) mix separators; phones use one kind.
    # An unseparated number needs a phone's full length, or it is an amount or an order number.
    if len(separators) > 1 or (not separators and text == rest and len(digits) < 10) or text.count(".") == 1:
        return text
    return "[PHONE]"


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    repl: Callable[[re.Match[str]], str] | str
    # Skip the pattern where it cannot replace anything: fewer digits in the text than any replaced match has,
    # or a character every match contains is absent (most texts have no personal data; five regex passes
    # over each cost more than the rest of the stage).
    min_digits: int = 0
    needs: str = ""


# Order matters: the specific, checksummed kinds first so a card number is never half-eaten as a phone.
DEFAULT_RULES: list[Rule] = [
    Rule(EMAIL, "[EMAIL]", needs="@"),
    Rule(IBAN, _iban, min_digits=2),  # the two check digits
    Rule(CARD, _card, min_digits=13),
    Rule(SSN, "[NATIONAL_ID]", min_digits=9),
    Rule(PHONE, _phone, min_digits=7),
]


class Masker:
    """Masks personal data; extra patterns (e.g. national ids) and person names can be added."""

    def __init__(self, extra_patterns: Iterable[str] = (), names: Iterable[str] = ()):
        self.rules: list[Rule] = list(DEFAULT_RULES)
        self.rules += [Rule(re.compile(p), "[NATIONAL_ID]") for p in extra_patterns]
        names = sorted({n for n in names if n}, key=len, reverse=True)
        if names:
            alt = "|".join(re.escape(n) for n in names)
            self.rules.append(Rule(re.compile(rf"\b(?:{alt})\b"), "[PERSON]"))

    def __call__(self, text: str) -> str:
        # isdigit() counts every character \d matches (and a few more); replacements only remove digits,
        # so the count of the original text bounds every later rule's.
        digits = sum(map(str.isdigit, text))
        for r in self.rules:
            if digits >= r.min_digits and (not r.needs or r.needs in text):
                text = r.pattern.sub(r.repl, text)
        return text


mask = Masker()
