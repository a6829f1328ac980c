"""Number-aware reading of news sentences: does a figure comparison say the company did better or worse?

News wires state results as comparisons ("operating profit rose to EUR 9.2 mn from EUR 6.1 mn", "EPS $3.93
vs $3.42 expected", "net loss narrowed to ..."), and whether such a sentence is good news turns on two things
a sentence encoder reads poorly: which way the figures moved, and whether the quantity is one an investor
wants more of (profit, sales, orders, margin) or less of (loss, costs, debt, impairments).

`direction(text)` returns +1 (the company's figures improved), -1 (worsened) or 0 (no comparison found, the
quantity is neither good nor bad, e.g. share capital or head count, or the cues disagree). It is regular
expressions and word look-ups (about 0.1 ms a sentence), imports nothing beyond the standard library, and
serves the same way at training and at serving time.

How a sentence is read, clause by clause (split at ";", ", while", ", whereas", " but "):
1. A swing between profit and loss decides alone: "swung to a net profit ... from a net loss" is +1,
   "net loss ... compared with a net profit" -1.
2. Figure pairs: the new figure and the one it is compared with, in the forms "to X from Y", "from Y to X",
   "X (Y)" (the previous year's figure in brackets), "X, compared with/to Y", "X against/vs/versus Y",
   "X, up/down from Y", "X, beating/topping/above/below/short of Y". Amounts carry currencies and scales
   (EUR 13.1 mn, $2.4 billion, 94 cents, 5.6%, 1,234 units, ranges as their midpoint); a percentage is never
   compared with an amount. Figures within 1 % of each other count as unchanged (0).
3. Without a figure pair: word cues. Directional ones (rose, fell, narrowed, widened, cut, raised, lost,
   added, record ...) move the nearest quantity; evaluative ones (improved, weakened, beat, missed, did not
   reach, upgraded ...) say +1 or -1 by themselves. A negation within a few words before a cue flips it
   ("does not expect profit to grow" is -1).
The signal of a change is its direction times the quantity's polarity (+1 good, -1 bad, 0 neutral); the
sentence's signal is the sign of the sum over its clauses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

# Quantities, as words (a hyphen separates words: "cost-to-income ratio" is four); the longest match wins.
_GOOD = [
    "net interest income", "return on equity", "return on capital", "average revenue per user", "equity ratio",
    "order intake", "order book", "order backlog", "earnings per share", "share price", "price target",
    "target price", "credit rating", "cash flow", "market share", "operating result", "profitability",
    "profit", "profits", "earnings", "eps", "net sales", "sales", "revenue", "revenues", "turnover", "ebitda",
    "ebita", "ebit", "margin", "margins", "order", "orders", "backlog", "income", "dividend", "dividends",
    "result", "arpu", "volume", "volumes", "deliveries",
    "production", "output", "subscribers", "customers", "users", "growth", "savings", "rating", "roe", "shares",
    "demand", "capacity",
]
_BAD = [
    "cost-to-income ratio", "interest expense", "interest expenses", "net debt", "debt", "net loss", "net losses",
    "loss", "losses", "cost", "costs", "expenses", "impairment", "impairments", "write-down", "write-downs",
    "charges", "provisions", "leverage", "gearing", "churn", "deficit",
]
_NEUTRAL = [
    "share capital", "number of shares", "shares outstanding", "number of employees", "employees", "personnel",
    "staff", "headcount", "head count", "workforce",
]
_WORD = re.compile(r"[a-z]+")
_POLARITY = {tuple(_WORD.findall(t)): pol for terms, pol in ((_GOOD, 1), (_BAD, -1), (_NEUTRAL, 0)) for t in terms}
_FIRST = {k[0] for k in _POLARITY}
_LONGEST = max(len(k) for k in _POLARITY)

# "above/below" a reference is a direction of the quantity it is said of (costs above plan are bad news)
_REF = (r"(?:expectations|estimates?|forecasts?|consensus|guidance|plan|target|(?:the )?level|(?:that of )?last year|"
        r"(?:the )?previous|(?:the )?prior|(?:the )?year-earlier|(?:a|one) year)")
_AFTER_NUM = r"(?=\s+(?:\d|from\b|by\b|sharply|strongly|slightly|[$€£]|eur\b|usd\b|gbp\b))"
_UP = (r"rose|rise[sn]?|rising|increased?|increases|increasing|grew|grow(?:s|n|ing)?|climbed?|climbs|jumped|"
       r"jumps?|surged?|surges|soared?|soars|gained|gains|rallied|rallies|spiked?|spikes|doubled|tripled|higher|widened|widens?|expanded|raised?|raises|"
       r"raising|lifted|lifts?|added|boosted|picked up|record|highest|more than doubled|accelerated|"
       rf"above (?={_REF})|(?:was|were|is|are) up|up{_AFTER_NUM}")
_DOWN = (r"fell|falls?|falling|decreased?|decreases|decreasing|declined?|declines|declining|dropped|drops?|"
         r"shrank|shrunk|shrinks?|slipped|slips?|slid|slides?|sank|sinks?|dipped|dips?|slumped|slumps?|plunged|"
         r"plunges?|plummeted|tumbled|tumbles?|lower|lowered|lowers?|narrowed|"
         r"narrows?|reduced|reduces?|cut|cuts|cutting|lost|loses|halved|slowed|squeezed?|lowest|eroded|"
         rf"below (?={_REF})|(?:was|were|is|are) down|down{_AFTER_NUM}")
_BETTER = (r"improved?|improves|improving|strengthened|recovered|beat|beating|topped|exceeded|"
           rf"ahead of (?=(?:the |analysts' |analyst )?(?:{_REF}|schedule|analysts?))|"
           r"better than|upgraded|upgrades")
_WORSE = (r"deteriorated|worsened|weakened|missed|fell short|short of|worse than|downgraded|downgrades|"
          r"(?:did not|didn't|failed to|does not|doesn't) (?:reach|meet|match)")
_CUE = re.compile(rf"\b(?:(?P<better>{_BETTER})|(?P<worse>{_WORSE})|(?P<up>{_UP})|(?P<down>{_DOWN}))\b")
# Verbs whose object follows ("cut its debt", "raised its guidance"): the quantity after them comes first.
_TRANSITIVE = re.compile(r"raised?|raises|raising|lifted|lifts?|boosted|cut|cuts|cutting|lowered|lowers?|reduced|"
                         r"reduces?|squeezed?|doubled|tripled|halved|added|lost|loses|trimmed|expanded|"
                         r"improved?|improves|improving|strengthened|weakened|eroded")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|n't|without)\b|n't\b")
_PCT_MORE = re.compile(r"\d%\s+(?P<more>more|higher)|\d%\s+(?P<less>less|fewer|lower)")

_GAP = r"(?:[^.;]|\.(?=\d)){0,80}?"  # within the sentence; a decimal point is no full stop
_SWING_UP = re.compile(rf"\b(?:profit|earnings|black)\b{_GAP}\b(?:from|after|compared (?:with|to)|against|"
                       r"versus|vs\.?)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}loss\b")
_SWING_DOWN = re.compile(rf"\bloss\b{_GAP}\b(?:from|after|compared (?:with|to)|against|versus|vs\.?)\s+"
                         r"(?:an?\s+)?(?:[\w-]+\s+){0,2}profit\b")

_CUR = r"(?:eur|usd|gbp|sek|nok|dkk|chf|jpy|cad|aud|us\$|\$|€|£)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"bn|billion|mn|million|mln|m|thousand|k|cents?|%|per ?cent|pct"
_AMOUNT = re.compile(
    rf"(?<![\w.])(?P<neg>[-−])?(?P<cur>{_CUR})?\s?(?P<neg2>[-−])?(?P<val>{_NUM})"
    rf"(?:\s?(?:[-–]|to)\s?(?P<val2>{_NUM})(?=\s?(?:{_SCALE})\b))?"
    rf"(?:\s?(?P<scale>{_SCALE})(?![\w]))?"
)
_SCALES = {"bn": 1e9, "billion": 1e9, "mn": 1e6, "million": 1e6, "mln": 1e6, "m": 1e6, "thousand": 1e3, "k": 1e3,
           "cent": 0.01, "cents": 0.01}
_CONNECT = re.compile(r"\b(?:compared (?:with|to)|as compared|against|vs\.?|versus|up from|down from|beating|"
                      r"topping|topped|above|below|ahead of|short of|missed|exceeded|from)\b")
_CLAUSES = re.compile(r";|,\s*(?:while|whereas|but)\b|\bbut\b")
TOLERANCE = 0.01  # figures within 1 % of each other: unchanged


def _terms(clause: str) -> list[tuple[int, int, int]]:
    """(start, end, polarity) of each quantity named in the clause."""
    spans = [m.span() for m in _WORD.finditer(clause)]
    words = [clause[a:b] for a, b in spans]
    out, i = [], 0
    while i < len(words):
        if words[i] in _FIRST:
            for n in range(min(_LONGEST, len(words) - i), 0, -1):
                polarity = _POLARITY.get(tuple(words[i : i + n]))
                if polarity is not None:
                    out.append((spans[i][0], spans[i + n - 1][1], polarity))
                    i += n - 1
                    break
        i += 1
    return out


def _nearest(terms: list[tuple[int, int, int]], start: int, end: int, after_first: bool = False) -> int | None:
    """The polarity of the quantity nearest a span: the closest before it, else after it; with `after_first`,
    one within 40 characters after it wins."""
    if after_first:
        near = [t for t in terms if end <= t[0] <= end + 40]
        if near:
            return min(near, key=lambda t: t[0])[2]
    before = [t for t in terms if t[1] <= start]
    if before:
        return max(before, key=lambda t: t[1])[2]
    later = [t for t in terms if t[0] >= end]
    return min(later, key=lambda t: t[0])[2] if later else None


def _amounts(clause: str) -> list[tuple[int, int, float, bool]]:
    """(start, end, value, is_percent) of each figure; bare years (1900-2100) are not figures."""
    out = []
    for m in _AMOUNT.finditer(clause):
        val = float(m.group("val").replace(",", ""))
        if m.group("val2"):
            val = (val + float(m.group("val2").replace(",", ""))) / 2
        scale = (m.group("scale") or "").replace(" ", "")
        cur = m.group("cur")
        if not cur and not scale and "," not in m.group("val") and 1900 <= val <= 2100 and "." not in m.group("val"):
            continue
        if not cur and not scale and clause[max(0, m.start() - 2) : m.start()].strip() in {"q", "h"}:
            continue
        val *= _SCALES.get(scale, 1.0)
        if m.group("neg") or m.group("neg2"):
            val = -val
        out.append((m.start(), m.end(), val, scale in {"%", "percent", "pct"}))
    return out


def _pairs(clause: str) -> list[tuple[int, int, float, float]]:
    """(start, end, new, old) for each comparison of two figures in the clause."""
    found = []
    amounts = _amounts(clause)
    for (s1, e1, v1, p1), (s2, e2, v2, p2) in zip(amounts, amounts[1:], strict=False):
        if p1 != p2:
            continue
        between, before = clause[e1:s2], clause[max(0, s1 - 25) : s1]
        if len(between) > 70:
            continue
        if re.fullmatch(r"\s*\(\s*", between):  # "EUR 0.88 (EUR 0.63)"
            found.append((s1, e2, v1, v2))
        elif re.search(r"\bfrom\s*$", before) and re.search(r"\bto\b", between):  # from Y to X
            found.append((s1, e2, v2, v1))
        elif _CONNECT.search(between):  # X ... from / compared with / vs / above Y
            found.append((s1, e2, v1, v2))
    return found


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _clause_signal(clause: str) -> int:
    if _SWING_UP.search(clause):
        return 1
    if _SWING_DOWN.search(clause):
        return -1
    terms = _terms(clause)
    total = 0
    pairs = _pairs(clause)
    for start, end, new, old in pairs:
        polarity = _nearest(terms, start, end)
        if not polarity:
            continue
        scale = max(abs(new), abs(old))
        if scale and abs(new - old) / scale >= TOLERANCE:
            total += _sign(new - old) * polarity
    if pairs:
        return _sign(total)
    for m in _CUE.finditer(clause):
        preceding = clause[: m.start()].split()[-6:]
        negated = bool(_NEGATION.search(" ".join(preceding)))
        if m.group("better") or m.group("worse"):
            s = 1 if m.group("better") else -1
        else:
            polarity = _nearest(terms, m.start(), m.end(), bool(_TRANSITIVE.fullmatch(m.group(0))))
            if not polarity:
                continue
            s = (1 if m.group("up") else -1) * polarity
        total += -s if negated else s
    for m in _PCT_MORE.finditer(clause):
        polarity = _nearest(terms, m.start(), m.end())
        if polarity:
            total += (1 if m.group("more") else -1) * polarity
    return _sign(total)


def direction(text: str) -> int:
    """+1 if the sentence's figures say the company did better, -1 worse, 0 none, neutral or unclear."""
    low = text.lower().replace("\u2019", "'")
    return _sign(sum(_clause_signal(c) for c in _CLAUSES.split(low) if c.strip()))


MARKERS = {1: "[figures up]", -1: "[figures down]"}


def annotate(text: str) -> str:
    """The text with a marker appended where its figures point one way: for training a model that reads the
    signal as words (the same function must then run at serving time)."""
    s = direction(text)
    return f"{text} {MARKERS[s]}" if s else text


FAVOURED = {1: "positive", -1: "negative"}


def prior_scores(scores: Mapping[str, float], signal: int, strength: float) -> dict[str, float]:
    """Label probabilities with `strength` added to the logit of `positive` (signal +1) or `negative` (-1): that
    label's probability times e^strength, renormalised. Without a signal, or without that label: unchanged."""
    favoured = FAVOURED.get(signal)
    if favoured not in scores or strength == 0:
        return dict(scores)
    boosted = {k: v * (math.exp(strength) if k == favoured else 1.0) for k, v in scores.items()}
    total = sum(boosted.values()) or 1.0
    return {k: v / total for k, v in boosted.items()}
