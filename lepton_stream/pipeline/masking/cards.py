"""Payment cards (Luhn-checked card groupings, a CVV or expiry typed after them) and CVVs after their cue."""

from __future__ import annotations

import re

from lepton_stream.pipeline.masking.checksums import ean13_ok, luhn_ok
from lepton_stream.pipeline.masking.placeholders import replace_spans, short

# Digits with spaces, dots, dashes (or "/" before an expiry, or a line break) between them; the groups are
# checked in _cards.
# Possessive: a run is taken whole (cards next to each other are split in _cards_in), and a run that fails is
# not retried shorter, nor from its inner groups, so a hostile wall of digits costs linear time.
CARD_RUN = re.compile(r"(?<![\w/])(?<!\d[.,:/ -])(?<!\d  )\+?\d(?:(?:[ .\-]{1,3}|[ ]?[/\n][ ]?)?\d){12,}+(?!\w)")
GROUP = re.compile(r"\d+")
# A card word just before a number ("card 4208/0221/5903/9433", "my visa 41136133 27139891"): then any grouping of
# 13-19 Luhn-valid digits is the card, whatever its separators and group sizes ("[CARD]" is no card word).
CARD_CUE = re.compile(
    r"(?i)(?<![a-z\[])(?:cards?|visa|master\s?card|amex|american\s+express|maestro|discover|debit|credit|tarjeta"
    r"|karte|kreditkarte|carte|cart[ãa]o|carta)(?![a-z\]])[^\w\n]{0,3}(?:(?:no|nr|number|num|is|es|ist|est)"
    r"(?![a-z])[^\w\n]{0,3}){0,2}$"
)


def _card_shape(lengths: list[int]) -> bool:
    if len(lengths) == 1:
        return 13 <= lengths[0] <= 19
    if lengths in ([4, 6, 5], [4, 6, 4]):  # Amex, Diners
        return True
    return lengths[0] == 4 and all(x == 4 for x in lengths[1:-1]) and 1 <= lengths[-1] <= 4 and 13 <= sum(lengths) <= 19


def _cards_in(s: str, fit: bool, cued: bool = False) -> str:
    groups = list(GROUP.finditer(s))
    lens = [len(g.group()) for g in groups]
    seps = [s[groups[k - 1].end() : groups[k].start()] if k else "" for k in range(len(groups))]
    spans: list[tuple[int, int]] = []
    k = 1 if s.startswith("+") else 0  # a country code starts a phone, not a card
    while k < len(groups):
        anyhow = cued and k == 0  # the number right after a card word
        if lens[k] != 4 and not 13 <= lens[k] <= 19 and not anyhow:  # every card shape starts so
            k += 1
            continue
        found = None
        digits = ""
        for j in range(k, len(groups)):  # the longest card starting at group k (19 digits at most)
            if j > k and "/" in seps[j] and not (anyhow and all("/" in x for x in seps[k + 1 : j + 1])):
                break
            digits += groups[j].group()
            if len(digits) > 19:
                break
            shaped = (anyhow and len(digits) >= 13) or _card_shape(lens[k : j + 1])
            if (shaped and digits[0] != "0" and luhn_ok(digits)
                    and not (len(digits) == 13 and digits[:3] in ("978", "979") and ean13_ok(digits))):  # fmt: skip
                found = j
        if found is None:
            k += 1
            continue
        end = found + 1
        # An expiry (MM/YY, MM/YYYY) and a CVV (3-4 digits) typed right after the number go with it.
        if end + 1 < len(groups) and "/" in seps[end + 1] and len(groups[end].group()) <= 2 and (
            len(groups[end + 1].group()) in (2, 4)
        ):
            end += 2
        if end == len(groups) - 1 and len(groups[end].group()) in (3, 4):  # the run's last group only
            end += 1
        spans.append((groups[k].start(), groups[end - 1].end()))
        k = end
    return replace_spans(s, spans, "[CARD]", fit)


def cards(text: str, fit: bool) -> str:
    return CARD_RUN.sub(
        lambda m: _cards_in(m.group(), fit, CARD_CUE.search(text, max(0, m.start() - 40), m.start()) is not None), text
    )


# Spelt from its first letter so the regex engine can skip to the c's and s's of a text (7x faster than a
# leading lookbehind, which makes it try every position).
# Between the cue and the number: punctuation and a few words of the kind people put there ("my cvv number is
# 123", "the cvv on the back is 321", "security code on the back: 654"); other words end the reach ("the
# security code was changed in 2024").
# The same in Spanish, Portuguese, French, Italian and German ("el cvv es 351", "código de seguridad: 247"); the
# number may start the next line ("cvv\n648").
_CVV_WORDS = ("number|num|no|code|value|is|on|at|the|back|of|card|my|your|first|second|other|new|old|one"
              "|es|est|c'est|c’est|ist|lautet|é|è|el|la|le|de|del|da|do|der|die|mi|meu|mon|ma|mio|su|tu"
              "|tarjeta|cartão|cartao|carte|carta|karte")  # fmt: skip
_CVV_GAP = rf"(?:[^\w\n]{{0,3}}(?i:{_CVV_WORDS})(?![a-zA-Z])){{0,6}}[^\w\n]{{0,3}}(?:\n[^\w\n]{{0,2}})?"
# Cues: cvv, cvc, cv2, csc, ccv (the usual misspelling), card verification, security code, sec code, and the
# security code's names in those languages. Spelt from the first letter (see above).
CVV = re.compile(
    r"([cCsSkK](?<![a-zA-Z\[][cCsSkK])(?i:"
    r"(?<=c)(?:vv2?|vc2?|v2|sc|cv|ard\s+verification|[oó]digo\s+de\s+segur(?:idad|an[çc]a)"
    r"|ode\s+de\s+s[ée]curit[ée]|odice\s+di\s+sicurezza|ryptogramme(?:\s+visuel)?)"
    r"|(?<=s)(?:ecurity\s+code|ec\.?\s*code|icherheitscode)|(?<=k)arten(?:prüf|pruef|pruf)nummer))"
    rf"(?![a-zA-Z])({_CVV_GAP})(\d{{3,4}})(?!\d)(?![-./]\d)"  # not "[CVV]", not a date
)


def cvvs(text: str, fit: bool) -> str:
    return CVV.sub(lambda m: m.group(1) + m.group(2) + short("[CVV]", m.group(3), fit), text)
