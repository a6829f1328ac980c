"""The rules in the order they run, and the `Masker` that applies them (with extra national-id patterns and
person names), never making a text longer than its limit."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lepton_stream.pipeline.masking.cards import cards, cvvs
from lepton_stream.pipeline.masking.emails import EMAIL, EMAIL_IN_URL, spelt_emails
from lepton_stream.pipeline.masking.iban import ibans
from lepton_stream.pipeline.masking.national_ids import dnis, ninos, ssns
from lepton_stream.pipeline.masking.phones import phones
from lepton_stream.pipeline.masking.placeholders import short

# ---------------------------------------------------------------- how a text is read

# No-break, narrow and thin spaces and Unicode dashes between digits ("06\u00a012 34", "555\u2013123") are
# typed as spaces and hyphens: every kind's patterns see them as such.
UNICODE_SEPARATOR = re.compile(r"(?<=[\d)])[\u00a0\u202f\u2009\u2007\u2010-\u2014\u2212](?=[\d(])")
# Fullwidth forms, which CJK keyboards type ("０９０－１２３４", "ｎａｍｅ＠ｍａｉｌ．ｃｏｍ"), are read as the
# ASCII they stand for, as is the ideographic space.
FULLWIDTH = re.compile(r"[\uff01-\uff5e\u3000]")
_TO_ASCII = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def read_as_typed(text: str) -> str:
    """A text that is not ASCII as every kind's patterns read it: fullwidth forms as ASCII, Unicode spaces and
    dashes between digits as spaces and hyphens. Written so only where something is masked (see _run)."""
    if FULLWIDTH.search(text):
        text = text.translate(_TO_ASCII)
    return UNICODE_SEPARATOR.sub(lambda m: " " if m.group() in "\u00a0\u202f\u2009\u2007" else "-", text)


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Rule:
    apply: Callable[[str, bool], str]  # (text, fit) -> text
    # Skip the rule where it cannot replace anything: fewer digits in the text than any replaced match has,
    # or a character every match contains is absent (most texts have no personal data; a pass over each
    # costs more than the rest of the stage).
    min_digits: int = 0
    needs: str = ""


def pattern_rule(pattern: re.Pattern[str], placeholder: str, min_digits: int = 0, needs: str = "") -> Rule:
    def apply(text: str, fit: bool) -> str:
        return pattern.sub(lambda m: short(placeholder, m.group(), fit), text)

    return Rule(apply, min_digits, needs)


def names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive match of any name, any run of spaces between its words. Built as a trie
    (one branch per shared prefix): at each position the engine follows the text's letters down one path
    instead of trying every name in turn."""
    trie: dict[str, Any] = {}
    for name in {" ".join(n.split()).lower() for n in names if n and n.strip()}:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [(r"\s+" if ch == " " else re.escape(ch)) + build(sub) for ch, sub in sorted(node.items()) if ch]
        optional = "" in node
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if optional else body

    if not trie:
        return None
    return re.compile(rf"(?<!\w)(?:{build(trie)})(?!\w)", re.IGNORECASE)


# Order matters: the specific, checksummed kinds first so a card number is never half-eaten as a phone.
DEFAULT_RULES: list[Rule] = [
    pattern_rule(EMAIL, "[EMAIL]", needs="@"),
    pattern_rule(EMAIL_IN_URL, "[EMAIL]", needs="%40"),
    Rule(spelt_emails),
    Rule(ibans, min_digits=7),  # check digits + an account number that is at least half digits
    Rule(cards, min_digits=13),
    Rule(cvvs, min_digits=3),
    Rule(ssns, min_digits=9),
    Rule(ninos, min_digits=6),
    Rule(dnis, min_digits=7),
    Rule(phones, min_digits=7),
]


class Masker:
    """Masks personal data; extra patterns (e.g. national ids) and person names can be added.

    max_len: the contract's limit on the text; masking never makes a text longer than it (see the module doc).
    graph: a holder with a `.graph` (a GraphHolder): person names follow its reloads, on top of `names`."""

    def __init__(self, extra_patterns: Iterable[str] = (), names: Iterable[str] = (), max_len: int | None = None,
                 graph: Any = None):  # fmt: skip
        self.max_len = max_len
        self.rules: list[Rule] = list(DEFAULT_RULES)
        self.rules += [pattern_rule(re.compile(p), "[NATIONAL_ID]") for p in extra_patterns]
        self._base = len(self.rules)
        self._names = list(names)
        self._holder = graph
        self._graph: Any = None
        self._set_names(self._names)

    def limited(self, max_len: int | None) -> Masker:
        """A copy of this masker that keeps texts within max_len."""
        m = copy.copy(self)
        m.rules, m.max_len = list(self.rules), max_len
        return m

    def _set_names(self, names: Iterable[str]) -> None:
        pattern = names_pattern(names)
        del self.rules[self._base :]
        if pattern is not None:
            self.rules.append(pattern_rule(pattern, "[PERSON]"))

    def _follow(self) -> None:
        graph = self._holder.graph
        if graph is not self._graph:  # a reload swapped the graph in: its names from now on
            self._graph = graph
            self._set_names([*self._names, *graph.person_names()])

    def mask(self, text: str, max_len: int | None = None) -> str:
        if self._holder is not None:
            self._follow()
        out = self._run(text, False)
        if max_len is not None and len(out) > max_len and len(out) > len(text):
            out = self._run(text, True)
        return out

    def __call__(self, text: str) -> str:
        return self.mask(text, self.max_len)

    def _run(self, text: str, fit: bool) -> str:
        # isdigit() counts every character \d matches (and a few more); replacements only remove digits,
        # so the count of the original text bounds every later rule's.
        digits = sum(map(str.isdigit, text))
        original = text
        if not text.isascii():
            text = read_as_typed(text)
        read = text
        for r in self.rules:
            if digits >= r.min_digits and (not r.needs or r.needs in text):
                text = r.apply(text, fit)
        # A text with nothing masked comes back as it was ("9:00–18:00" stays, fullwidth stays fullwidth).
        return original if text == read else text


mask = Masker()
