"""Phone numbers: international and national forms, cue words, and the numbers that only look like phones."""

from __future__ import annotations

import re

from lepton_stream.pipeline.masking.cards import GROUP
from lepton_stream.pipeline.masking.checksums import ean13_ok
from lepton_stream.pipeline.masking.placeholders import replace_spans, short

# Digit groups joined by one separator ("-", ".", "/", each with optional spaces, or spaces), a group may be
# parenthesised, "+" may lead. Not glued to a word, not continuing a number ("1,299", "10.0.0.1:8080").
PHONE_RUN = re.compile(  # the first character first, for the same reason as CVV's
    r"[+(\d](?<![\w+][+(\d])(?<!\d[.,:/-][+(\d])(?:(?<=\+)[ \t]?(?:\(\d{1,5}\)|\d+)|(?<=\()\+?\d{1,5}\)|(?<=\d)\d*)"
    r"(?:(?:[ \t]{0,2}[-./][ \t]{0,2}|[ \t]{1,2}|(?<=\))|(?=\())(?:\(\d{1,5}\)|\d+))*+"  # possessive: taken whole
    r"(?!(?![xX]\d)\w)(?![.,:/-]\d)"  # an extension glued on ("4567x89") stays out of the run
)


def _reversed(words: str) -> str:
    """An alternation of the words spelt backwards, a space matching any run of spaces. The context before a
    number is matched backwards from the number, anchored: one attempt instead of one per position."""
    alts = sorted((w[::-1] for w in words.split("|")), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alts)


# Words that make the number after them a phone: "tel", "phone no.", "call me at", ...
PHONE_CUES = ("phone|ph|tel|telephone|mobile|mob|cell|cellphone|fax|whatsapp|whats app|sms|text|txt|call|ring"
              "|dial|reach|contact|hotline|landline|direct line|my number|my no"
              # the same in the languages customers most often write in besides English (not "número",
              # "Nummer", "numéro" alone: "número de pedido 1234567" is an order)
              "|telefon|telefono|teléfono|telefone|téléphone|tél|handy|handynummer|rufnummer|mobilnummer|festnetz"
              "|móvil|movil|celular|cellulare|portable|telemóvel|telemovel|tfno|tlfno|tlf"
              "|mi número|mi numero|meu número|meu numero|meine nummer"
              "|mon numéro|mon numero|il mio numero|llámame|llamame|llamadme|chiamami|appelez-moi|appelle-moi"
              "|appelez moi|appelle moi"
              "|ruf mich an")  # fmt: skip
# Words that make the number after them a reference, not a phone (with "no.", "#", "number", "number is" ...
# after them).
REFERENCE_WORDS = ("isbn|isbn-10|isbn-13|isbn10|isbn13|issn|order|invoice|inv|ref|reference|ticket|tracking|case"
                   "|account|acct|sku|item|part|serial|model|version|ver|build|release|booking|confirmation"
                   "|transaction|txn|policy|claim|receipt|id|ip|zip|postcode|zip code|postal code|routing|swift"
                   "|bic|iban|page|pages|pp|room|flight|patent|doi|lot|batch|ean|upc|gtin|imei|vin|ssn"
                   "|loan|customer|client|member|membership|contract|agreement|mandate"
                   # German compounds, and the same words in Spanish, French, Italian and Portuguese
                   "|kundennummer|bestellnummer|auftragsnummer|vorgangsnummer|rechnungsnummer|vertragsnummer"
                   "|aktenzeichen|bestellung|auftrag|vorgang|rechnung|vertrag|pedido|factura|expediente|contrato"
                   "|cliente|commande|facture|dossier|contrat|pratica|ordine|fattura|contratto|encomenda|fatura"
                   "|protocolo|referenz|mandatsreferenz|referenznummer|referencia|referência|référence"
                   "|riferimento|usps|fedex|dhl|dpd|colissimo|correos")  # fmt: skip
# Matched on the reversed context (see _reversed): cue, then up to 20 characters without digits, then the number.
PHONE_CUE = re.compile(rf"(?i)[^\d\n]{{0,20}}?(?<![a-z])(?:{_reversed(PHONE_CUES)})(?![a-z])")
# Currencies written as codes or words before an amount ("EUR 123 456 789").
CURRENCY_WORDS = ("eur|euro|euros|usd|dollar|dollars|gbp|pound|pounds|chf|jpy|yen|cad|aud|cny|rmb|yuan|inr|rupee"
                  "|rupees|rs|hkd|sgd|sek|nok|dkk|zar|brl|mxn|krw|rub")  # fmt: skip
NOT_PHONE_BEFORE = re.compile(
    rf"(?i)\W{{0,3}}(?:(?:si|saw|era)\s+)?(?:(?:\.?on|\.?rn|\.n|[°º]n|\.?mún|rebmun|mun|#|di|edoc)[\s-]*)?"
    rf"(?:{_reversed(REFERENCE_WORDS)})(?![a-z])|\W{{0,3}}(?:[$€£¥₹]|(?:{_reversed(CURRENCY_WORDS)})(?![a-z]))"
)
NOT_PHONE_AFTER = re.compile(
    r"(?i)^\s?(?:%|percent|pct|bps|dollars?|usd|eur|euros?|gbp|chf|jpy|cad|aud|cny|inr|pounds?|yen|yuan|rupees?"
    r"|shares?|units?|barrels?|bbl|tonnes?|tons?|kg|km|miles?|bn|mn|million|billion|trillion|people|users"
    r"|customers|views|votes|items|pieces|pcs|times|records|rows|bytes|kb|mb|gb|tb|subscribers|followers|members"
    r"|employees|jobs|passengers|visitors|downloads|viewers|readers|accounts|devices|vehicles|homes|households"
    r"|contracts|lots|options"
    r"|[$€£¥₹])(?![a-z])"
)
DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2})")
YEAR = re.compile(r"(?:19|20)\d\d")
DECIMAL = re.compile(r"-?\d{1,3}\.\d+")
CODE_BEFORE = re.compile(r"[ -](?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]+(?!\S)")  # reversed: "AA1 " before


IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _odd_chunk(s: str) -> bool:
    """A space-separated part of the run is a date, or (in a run of several) a decimal or an IPv4 address:
    numbers of another kind, which no phone spans."""
    chunks = s.split()
    if len(chunks) == 1:
        return DATE.fullmatch(s) is not None
    return any(DATE.fullmatch(c) or DECIMAL.fullmatch(c) or IPV4.fullmatch(c) for c in chunks)


PLACEHOLDER = re.compile(r"\[[A-Z_]{1,12}\]")
PARTIAL_PLACEHOLDER = re.compile(r"^[A-Z_]{0,11}\]")  # the end of one cut by the context window


def _before(text: str, start: int) -> str:
    # Placeholders are not words of the context ("[NATIONAL_ID]" is no "id", "[PHONE]" no "phone"), and stand
    # where digits stood: "_" stops a reference word's reach, "\n" a cue's, as the digits did before masking.
    ctx = text[max(0, start - 40) : start]
    if "]" not in ctx:
        return ctx
    return PLACEHOLDER.sub(" _\n_ ", PARTIAL_PLACEHOLDER.sub(" _\n_ ", ctx))


def _date_or_times(groups: list[str], lens: list[int], kinds: set[str]) -> bool:
    """A spaced date ("02 11 2024", "2024 11 02") or a range of 24-hour times ("0930-1730")."""
    if kinds == {" "} and len(groups) == 3:
        if lens[2] == 4 and YEAR.fullmatch(groups[2]):
            day, month = int(groups[0]), int(groups[1])
        elif lens[0] == 4 and YEAR.fullmatch(groups[0]):
            day, month = int(groups[2]), int(groups[1])
        else:
            return False
        return max(lens[:2] if lens[2] == 4 else lens[1:]) <= 2 and min(day, month) >= 1 and (
            (day <= 31 and month <= 12) or (month <= 31 and day <= 12))
    if kinds == {"-"} and lens == [4, 4]:
        return all(int(g[:2]) <= 23 and int(g[2:]) <= 59 for g in groups)
    return False


def _nearby_list(groups: list[str], lens: list[int]) -> bool:
    """Rising numbers of one size close together: price levels or strikes ("245 250 255", "512/518/525")."""
    if len(groups) < 3 or min(lens) < 3 or len(set(lens)) > 1:
        return False
    values = [int(g) for g in groups]
    return all(b > a for a, b in zip(values, values[1:], strict=False)) and values[-1] - values[0] <= values[0] // 4


def _is_phone(s: str, before: str, after: str) -> bool:
    groups = GROUP.findall(s)
    nd = sum(map(len, groups))
    rev = before[::-1]
    if not 7 <= nd <= 15 or NOT_PHONE_BEFORE.match(rev) or NOT_PHONE_AFTER.match(after):
        return False
    plus, paren = s.startswith("+"), "(" in s
    intl = plus or (groups[0].startswith("00") and 3 <= len(groups[0]) <= 5 and len(groups) > 1)  # "0033 6 98 ..."
    lens = [len(g) for g in groups]
    kinds = {x.strip() or " " for x in re.findall(r"[^\d()+]+", s)}
    if _odd_chunk(s) or (len(groups) > 1 and all(len(g) == 4 and YEAR.fullmatch(g) for g in groups)):
        return False  # a date, "2019-2024", "2022 2023 2024", decimals in a row (prices, "40.7128 -74.0060")
    if _date_or_times(groups, lens, kinds) or _nearby_list(groups, lens):
        return False
    # Thousands with a round group or a one-digit head ("300 000 000", "1.000.000", "1 234 567") are amounts,
    # cue word ("call volume", "reach") or not.
    if len(groups) > 1 and len(kinds) == 1 and kinds <= {" ", "."} and all(x == 3 for x in lens[1:]) and (
        lens[0] == 1 or "000" in groups[1:]
    ):
        return False
    cue = PHONE_CUE.match(rev) is not None
    if kinds == {"."} and not plus and ((len(groups) == 2 and not (cue and lens == [3, 4])) or (
            len(groups) == 4 and all(x <= 3 for x in lens) and all(int(g) <= 255 for g in groups))):  # fmt: skip
        return False  # a decimal number ("phone: 555.1234" is not), an IPv4 address
    if cue and len(groups) == nd and kinds == {" "}:
        return True  # typed (or transcribed) one digit at a time after its cue: "my number is 0 7 9 1 1 ..."
    # A one-digit group is a country code, a trunk "(0)" or a leading "1"; elsewhere it is a version number,
    # an ISBN ("0-306-40615-2", "978-3-16-148410-0") or a list.
    for k, g in enumerate(groups):
        if (len(g) == 1 and k > 0 and not (k == 1 and (intl or s.startswith("("))) and f"({g})" not in s
                and not (groups[k - 1] == "0" and "(0)" in s)):  # "+33 (0)6 12 34 56 78"
            return False
    if len(groups) == 1 and nd == 13 and groups[0][:3] in ("978", "979") and ean13_ok(groups[0]):
        return False  # an ISBN-13 / EAN
    if cue:
        return True
    if plus:
        return nd >= 8
    if CODE_BEFORE.match(rev) and not paren and lens not in ([3, 3, 4], [1, 3, 3, 4]):
        return False  # the tail of a code ("1Z 999 AA1 01 2345 6784"); a NANP number stays a phone
    # Thousands ("1 234 567", "100.000.000") are amounts; "612 345 678" is a phone.
    if len(groups) > 1 and len(kinds) == 1 and kinds <= {" ", "."} and all(x == 3 for x in lens[1:]) and (
        lens[0] < 3 or "000" in groups[1:]
    ):
        return False
    if groups[0].startswith("00") and nd >= 10:
        return True  # 0049 30 1234567
    if paren:
        return True
    if len(groups) == 1:  # shorter unseparated numbers are amounts, order numbers, dates
        return nd >= 10 and not groups[0].endswith("000")  # 2500000000 is an amount
    if len(groups) >= 3 and all(g.endswith("0") for g in groups):
        return False  # "100 200 300 400": a list of round numbers
    if len(groups) >= 3 and all(int(b) - int(a) == 1 for a, b in zip(groups, groups[1:], strict=False)):
        return False  # "10 11 12 13": counting
    if nd >= 10:
        return True
    # 7-9 digits: phone groupings with one kind of separator ("10.30-11.45" is a time range).
    return len(kinds) == 1 and (lens in ([3, 3, 3], [3, 2, 2, 2], [2, 3, 2, 2], [2, 2, 2, 2], [2, 3, 4]) or (
        kinds == {"-"} and lens in ([3, 4], [4, 4], [3, 2, 2])))  # fmt: skip


# Classifications spent splitting runs of numbers into phones, per text; past it a run is masked whole (a wall of
# digit groups is a hostile input or a table of numbers: masking it costs tens of ms at most, and leaks nothing).
SPLIT_BUDGET = 512


def _phones_in(text: str, m: re.Match[str], fit: bool, budget: list[int]) -> str | None:
    """The run masked, or None when it holds no phone."""
    s = m.group()
    nd = sum(c.isdigit() for c in s)
    if nd < 7:  # most runs: a year, a price, a count
        return None
    if m.start() and text[m.start() - 1] == "/" and text[max(0, m.start() - 6) : m.start()].lower() != "wa.me/":
        return None  # an id in a URL's path ("/article/4815162342"); a WhatsApp link's number is a phone
    if m.start() >= 2 and text[m.start() - 1] == "-" and text[m.start() - 2].isalpha():
        return None  # an id with a prefix of letters ("CS-2024-004187", "INC-20240312-0042")
    before, after = _before(text, m.start()), text[m.end() : m.end() + 16]
    if NOT_PHONE_BEFORE.match(before[::-1]):
        return None  # a reference word covers the whole run ("tracking number 9400 1000 0000 0000 0000 00")
    if _is_phone(s, before, after):
        return short("[PHONE]", s, fit)
    chunks = [c for c in re.finditer(r"\S+", s)]
    if len(chunks) < 2 or not (nd > 15 or _odd_chunk(s)):
        return None
    # Several numbers in a row ("555-123-4567 555-987-6543", "2024-11-02 555-1234", "555 123 456 10.0.0.1"):
    # the split into phones that covers the most digits (ties: fewer, longer phones).
    n = len(chunks)
    upto = [0]  # digits in chunks[:k]
    for c in chunks:
        upto.append(upto[-1] + sum(ch.isdigit() for ch in c.group()))
    # A one-digit group past a phone's second place ends it (see _is_phone): pieces spanning one are skipped
    # without a classification.
    one = [c.group().isdigit() and len(c.group()) == 1 for c in chunks]
    best: list[tuple[int, int, list[tuple[int, int]]]] = [(0, 0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = best[i + 1]
        for j in range(min(n, i + 7), i, -1):  # a phone spans at most 7 space-separated groups
            a, b = chunks[i].start(), chunks[j - 1].end()
            piece = s[a:b]
            if not 7 <= upto[j] - upto[i] <= 15 or piece[0] not in "+(0123456789" or piece[-1] not in ")0123456789":
                continue
            if any(one[i + 2 : j]) or (j > i + 1 and one[i + 1] and piece[0] not in "+("):
                continue
            budget[0] -= 1
            if budget[0] < 0:
                return short("[PHONE]", s, fit)
            ctx_before = _before(text, m.start() + a)
            ctx_after = text[m.start() + b : m.start() + b + 16]
            if _is_phone(piece, ctx_before, ctx_after):
                covered = sum(ch.isdigit() for ch in piece) + best[j][0]
                cand = (covered, best[j][1] - 1, [(a, b), *best[j][2]])
                if cand[:2] > best[i][:2]:
                    best[i] = cand
    return replace_spans(s, best[0][2], "[PHONE]", fit) if best[0][2] else None


def phones(text: str, fit: bool) -> str:
    out: list[str] = []
    pos = 0
    budget = [SPLIT_BUDGET]
    for m in PHONE_RUN.finditer(text):
        masked = _phones_in(text, m, fit, budget)
        if masked is not None:
            out += [text[pos : m.start()], masked]
            pos = m.end()
    return "".join(out) + text[pos:] if out else text
