"""Entity linking: one Aho-Corasick automaton over every surface form (cashtag, ticker, name, alias).

The text is lower-cased and every character that is not a letter, digit or '$' becomes a space (one character for
one, so spans stay valid); patterns are stored the same way with a space on each side. A match therefore always
sits on word boundaries, and the automaton never reports matches inside words. Each match is then checked by
rules on the original text:

- cashtag `$AAPL`: any case.
- bare ticker `AAPL`: exactly upper case, not a common word or acronym (IT, ON, CEO, ...), not in a shouted
  (all-caps) text; tickers on the stop list link only after an exchange prefix ("NYSE: KO").
- name or alias: as written or all upper case (all lower case for multi-word names). Aliases marked common
  ("Apple", "Target", "Visa") must be capitalised as written and need company context: the same entity evidenced
  elsewhere in the text (cashtag, ticker, distinctive name, producer tickers), or a company cue nearby ("shares",
  "CEO", "Inc", a price move, the entity's own cues such as "iPhone"), and no rule-out word next to it ("an Apple",
  "Apple pie", "Target price").
Overlaps keep the longest match; one span naming two entities is kept only when the context decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Upper-case words that are tickers somewhere but far more often mean something else.
TICKER_STOP = _words(
    """
    A I AI AM ARE AS AT BE BIG BY CAN CAR CASH CAT CEO CFO COO CTO DD DO EAT EOD EPS ESG ETF EU EV FAST FDA
    FED FOR FUN GDP GO GOOD HAS HD HE HR IPO IRS IT JOB KEY LIFE LOVE LOW MA MAN ME MS NEW NEXT NICE NOW NYC
    OK ON ONE OPEN OR OUT PC PE PG PLAY PM REAL RUN SEC SEE SO TECH THE TOP TV TWO UK UN UP US USA WELL WORK
    YOU ALL ANY BOX FLOW MARK TEN TOPS SAVE SUN SKY TRUE WIN GPS WE
    """
)
EXCHANGES = ("nyse", "nasdaq", "amex", "lse", "tse", "hkex", "otc", "xetra", "krx")

# Words that say a capitalised common-word name is the company.
COMPANY_CUES = _words(
    """
    inc incorporated corp corporation co company companies ltd plc llc ag sa nv shares share stock stocks
    equity ticker nyse nasdaq ceo cfo chairman chief executive founder earnings revenue revenues profit
    profits sales quarter quarterly q1 q2 q3 q4 fy guidance outlook dividend buyback ipo valuation analyst
    analysts investors investor shareholders shareholder upgrade upgrades upgraded downgrade downgrades
    downgraded overweight underweight outperform underperform rating stake acquire acquires acquired
    acquisition merger lawsuit sues sued antitrust layoffs rallies rally surges surged soars soared jumps
    jumped gains gained rises rose falls fell drops dropped slides slid tumbles tumbled plunges plunged sinks
    sank slumps slumped climbs climbed results beats beat misses missed reports reported announces announced
    unveils unveiled launches launched giant maker makers firm retailer rival rivals supplier suppliers
    partnership market cap billion million stores
    """
) | {"%"}
NEAR = 40  # characters between two mentions for one to vouch for the other
# Words right before a common-word name that make it an ordinary noun ("an apple", "a target").
ANTI_BEFORE = frozenset({"a", "an", "my", "your", "his", "her", "our", "their"})

_TOKEN = re.compile(r"[a-z0-9]+|%")
# Everything that is not a letter, digit or '$' becomes a space (one character for one).
_SEP = re.compile(r"[^\w$]|_")


# The same for ASCII text in one C call (most news is ASCII): a third of the regex's time.
_ASCII_SEP = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "$")}


def normalise(text: str) -> str:
    low = text.lower()
    if low.isascii():
        return low.translate(_ASCII_SEP)
    if len(low) != len(text):  # a few Unicode letters grow when lower-cased; keep those as they are
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return _SEP.sub(" ", low)


class Surface(NamedTuple):
    entity: int  # node index
    kind: str  # cashtag | ticker | xticker (after an exchange prefix) | name | common
    form: str  # as written in the graph
    strip: int = 0  # characters of the match before the entity's own span (exchange prefix)


@dataclass(slots=True)
class Match:
    start: int
    end: int
    surfaces: list[Surface]


def _shouting(text: str) -> bool:
    # map() over str methods runs the loop in C: a fifth of the linker's time went here with a generator
    letters = sum(map(str.isalpha, text))
    return letters >= 12 and sum(map(str.isupper, text)) > 0.7 * letters


class Linker:
    def __init__(self, nodes: list, linkable: list[bool]):
        """nodes: schema.Node per index; linkable: whether names of that node are looked for in text."""
        self.cues: list[frozenset[str]] = []
        self.anti: list[frozenset[str]] = []
        raw: list[str] = []
        surfaces: list[Surface] = []

        def add(key: str, s: Surface) -> None:
            raw.append(key)
            surfaces.append(s)

        empty: frozenset[str] = frozenset()
        for i, node in enumerate(nodes):
            self.cues.append(frozenset(node.cues) if node.cues else empty)
            self.anti.append(frozenset(node.anti) if node.anti else empty)
            for t in node.all_tickers():
                add("$" + t, Surface(i, "cashtag", t))
                if t in node.common and linkable[i]:
                    continue  # an upper-case common alias ("BP" the blood pressure) is handled as a common name
                if len(t) >= 2 and t not in TICKER_STOP and not t.isdigit():
                    add(t, Surface(i, "ticker", t))
                elif len(t) >= 2:
                    for ex in EXCHANGES:
                        add(f"{ex} {t}", Surface(i, "xticker", t, len(ex) + 1))
            if linkable[i]:
                for form in dict.fromkeys((node.name, *node.aliases)):
                    add(form, Surface(i, "common" if form in node.common else "name", form))
        # normalise every key in one pass (one call per key costs seconds at 100k nodes); "\n" becomes a space
        joined = normalise("\n".join(raw))
        table: dict[str, list[Surface]] = {}
        pos = 0
        for key, surface in zip(raw, surfaces, strict=True):
            norm = joined[pos:pos + len(key)]
            pos += len(key) + 1
            if norm.strip():
                table.setdefault(f" {norm} ", []).append(surface)
        self.automaton = ahocorasick.Automaton()
        for key, surfaces in table.items():
            self.automaton.add_word(key, (len(key), surfaces))
        if table:
            self.automaton.make_automaton()
        self.empty = not table

    # ------------------------------------------------------------ matching

    def _candidates(self, text: str) -> list[Match]:
        if self.empty:
            return []
        norm = " " + normalise(text) + " "
        loud: list[bool] = []  # the shouting test, worked out once, only if a ticker or common name needs it

        def shouting() -> bool:
            if not loud:
                loud.append(_shouting(text))
            return loud[0]

        out: list[Match] = []
        for end_idx, (klen, surfaces) in self.automaton.iter(norm):
            # key = " form " ending at end_idx in norm; norm is text shifted right by one
            start, end = end_idx - klen + 1, end_idx - 1
            seg = text[start:end]
            ok: list[Surface] = []
            for s in surfaces:
                if s.kind == "cashtag":
                    ok.append(s)
                elif s.kind == "ticker":
                    if seg == s.form and not shouting():
                        ok.append(s)
                elif s.kind == "xticker":
                    if seg[s.strip:] == s.form:
                        ok.append(s)
                elif s.kind == "name":
                    # lower case only for multi-word names: "tesla" the unit, "intel" the slang are not companies
                    if (seg == s.form or seg.isupper() or (seg.islower() and " " in s.form)) and not self._ruled_out(
                        norm, start, end, s.entity
                    ):
                        ok.append(s)
                elif seg == s.form or (seg.isupper() and not shouting()):
                    ok.append(s)
            if ok:
                strip = ok[0].strip if all(s.strip == ok[0].strip for s in ok) else 0
                out.append(Match(start + strip, end, ok))
        return out

    def _ruled_out(self, norm: str, start: int, end: int, entity: int) -> bool:
        """A rule-out word right next to a distinctive name ("Nikola Tesla") still vetoes it."""
        anti = self.anti[entity]
        if not anti:
            return False
        before = norm[max(0, start - 30):start + 1].split()[-1:]
        after = norm[end + 1:end + 40].split()[:2]
        return any(w in anti for w in before + after)

    @staticmethod
    def _resolve_overlaps(cands: list[Match]) -> list[Match]:
        # Longest first; among equals the earlier one. Few matches per text, so a linear overlap check is fine.
        chosen: list[Match] = []
        for m in sorted(cands, key=lambda m: (m.start - m.end, m.start)):
            if all(m.end <= c.start or m.start >= c.end for c in chosen):
                chosen.append(m)
        return sorted(chosen, key=lambda m: m.start)

    def _context_ok(self, text: str, norm_low: str, m: Match, entity: int, evidence: set[int], near: bool) -> bool:
        if entity in evidence:
            return True
        if m.end < len(text) and text[m.end] == "-" and m.end + 1 < len(text) and text[m.end + 1].isalpha():
            return False  # "Meta-analysis", "Target-rich"
        before = _TOKEN.findall(norm_low[max(0, m.start - 40):m.start])[-4:]
        after = _TOKEN.findall(norm_low[m.end:m.end + 50])[:5]
        anti = self.anti[entity]
        if (before and before[-1] in ANTI_BEFORE) or (before and before[-1] in anti):
            return False
        if any(w in anti for w in after[:2]):
            return False
        cues = self.cues[entity]
        window = before + after
        # another company named right next to it ("Coke and Pepsi") also makes it a company
        return near or any(w in COMPANY_CUES or w in cues for w in window) or any(
            c in norm_low for c in cues if " " in c
        )

    def link(self, text: str, given: set[int] | None = None) -> list[tuple[int, int, int]]:
        """[(entity index, start, end)] in text order."""
        matches = self._resolve_overlaps(self._candidates(text))
        if not matches:
            return []
        given = set(given or ())
        sure_of = [{s.entity for s in m.surfaces if s.kind != "common"} for m in matches]
        low = text.lower()
        norm_low = low if len(low) == len(text) else normalise(text)
        out: list[tuple[int, int, int]] = []
        for k, m in enumerate(matches):
            # evidence from the producer's tickers and from the other spans, never from this one
            evidence = given.union(*(e for j, e in enumerate(sure_of) if j != k))
            sure = sure_of[k]
            maybe = {s.entity for s in m.surfaces if s.kind == "common"} - sure
            near = any(sure_of[j] and abs(matches[j].start - m.start) <= NEAR for j in range(len(matches)) if j != k)
            ents = sure | {e for e in maybe if self._context_ok(text, norm_low, m, e, evidence, near)}
            if len(ents) > 1:  # one span, several entities: keep the one evidenced elsewhere, else give up
                ents = ents & evidence if len(ents & evidence) == 1 else set()
            out.extend((e, m.start, m.end) for e in ents)
        return out
