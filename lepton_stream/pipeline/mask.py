"""Personal-data masking, applied before cache keys, log lines and outputs.

Each kind of personal data is replaced by a typed placeholder ("[EMAIL]", "[PHONE]", ...), so masked
texts stay readable and identical inputs mask identically (stable cache keys). Kinds and how they are found:

- emails, in any script, and spelt out ("jane.doe(at)gmail.com", "jane [at] example [dot] org", "jane at gmail
  dot com", "jane.doe @ gmail.com"; in prose a bare " at " needs a cue word, a spelt "dot" or a dotted local
  part, so "details at apple.com" stays);
- IBANs: a known country code, its registered length, any case, grouped with spaces or dashes, mod-97 checked;
- payment cards: 13-19 digits unseparated or in card groupings (4-4-4-4, 4-6-5, ...) with spaces, dashes or
  dots, Luhn-checked; a CVV or expiry right after the number goes with it; a CVV after "cvv", "cvc",
  "security code" is masked too;
- US social security numbers: 3-2-4 dashed or spaced, or any 9 digits after a cue ("ssn", "social security",
  "my social is");
- UK National Insurance numbers (spaced as printed, or after their cue) and Spanish DNI / NIE numbers (the
  check letter must hold);
- phone numbers: international (+ or 00) and national forms with any mix of spaces, dots, dashes, slashes and
  a parenthesised area code or "(0)" trunk (an extension glued on, "4567x89", is left after the placeholder);
  7-9 digit numbers only in phone-shaped groups or after a cue ("tel", "phone no.", "call me at"). Dates,
  times, IPv4 addresses, ISBNs, version numbers, amounts, year lists and numbers after a reference word
  ("order", "invoice", "ticket", ...) are not phones.

No-break and thin spaces and Unicode dashes between digits are read as spaces and hyphens (and written so
only in a text where something was masked: a text with no personal data comes back byte for byte).

A message's text has a length limit in its contract; masking must never turn a valid message into an
invalid one. With `max_len`, a text whose masked form would pass the limit is masked again with every
placeholder no longer than what it replaces (see `short`), so the result is never longer than the input.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Any script on either side of the "@" (internationalised addresses: "josé@exämple.es"); the top-level domain
# is letters.
EMAIL = re.compile(
    r"(?<![\w.+'-])[\w.+-]{1,64}(?:'[\w.+-]{1,64})*@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[^\W\d_]{2,24}\b"  # "o'brien@"
)

# Shorter forms of the placeholders, for texts near their length limit.
SHORT = {"[EMAIL]": "[E]", "[PHONE]": "[T]", "[CARD]": "[C]", "[IBAN]": "[I]", "[NATIONAL_ID]": "[ID]",
         "[PERSON]": "[P]", "[CVV]": "[V]"}  # fmt: skip


def short(placeholder: str, replaced: str, fit: bool) -> str:
    """The placeholder, or (fit) one no longer than the text it replaces: the short form, else stars."""
    if not fit or len(placeholder) <= len(replaced):
        return placeholder
    s = SHORT.get(placeholder, "[X]")
    return s if len(s) <= len(replaced) else "*" * len(replaced)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def ean13_ok(digits: str) -> bool:
    """The EAN-13 check digit: ISBN-13s (978/979...) are EANs."""
    if len(digits) != 13:
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


# ---------------------------------------------------------------- emails spelt out

# Addresses typed to dodge spam filters or by hand: "jane.doe(at)gmail.com", "jane [at] example [dot] org",
# "jane dot doe at gmail dot com", "jane.doe @ gmail.com", "jane.doe@gmail .com". A text is looked at only if it
# has an "@", or a domain-like ".xx" or a "dot" and a spelt "at"; then each "at" is found, the local part matched
# backwards from it and the domain forwards.
SPELT_AT = re.compile(r"(?i)[\[({<][ \t]*at[ \t]*[\])}>]|(?<= )at(?= )|[@\uff20]")
_BRACKET_DOT = r"[ \t]*[\[({<][ \t]*(?:dot|\.)[ \t]*[\])}>][ \t]*"
SPELT_DOT = rf"(?:{_BRACKET_DOT}|[ \t]+dot[ \t]+|[ \t]\.[ \t]?|\.)"
_LOCAL_WORD = r"[\w+-]{1,64}(?:'[\w+-]{1,64})*"  # "o'brien"
# Matched on the reversed text before the "at": words joined by ".", "(dot)", " dot ", spelt backwards.
_REVERSED_DOT = r"(?:[ \t]*[\])}>][ \t]*(?:tod|\.)[ \t]*[\[({<][ \t]*|[ \t]+tod[ \t]+|\.)"
SPELT_LOCAL = re.compile(rf"(?i){_LOCAL_WORD}(?:{_REVERSED_DOT}{_LOCAL_WORD}){{0,4}}")
SPELT_DOMAIN = re.compile(rf"(?i)[^\W_][\w-]{{0,62}}(?:{SPELT_DOT}[^\W_][\w-]{{0,62}}){{1,4}}(?![\w-])")
SPELT_SPLIT = re.compile(rf"(?i){SPELT_DOT}")
TLD = re.compile(r"[^\W\d_]{2,24}")
DOMAIN_HINT = re.compile(r"\.[^\W\d_]{2}")  # ".com", ".co": found by scanning for the dot
# A bare " at " or a spaced "@" is in much prose ("details at apple.com", "Outage at Outlook.com", "quotes @
# yahoo.com/finance", "look at the dot com bubble"). There an address needs more: a word that announces one
# just before it, a spelt "dot", or a local part of dotted or underscored words ("jane.doe", "first_last")
# that is not itself a domain ("Overstock.com at ..."); and never a URL or a domain starting with "the".
# Not "reach" or "at": headlines "reach record at nasdaq.com".
EMAIL_CUE = re.compile(r"(?i)(?<![a-z])(?:e-?mail|mail|contact|write|send|address|correo|courriel)(?![a-z])")
LOCAL_WORDS = re.compile(r"[\w'-]*[^\W\d_][\w'-]*(?:[._+][\w'-]*[^\W\d_][\w'-]*)+")
COMMON_TLDS = frozenset({"com", "net", "org", "io", "co", "ai", "app", "biz", "info", "us", "uk", "de", "fr", "es",
                         "it", "nl", "eu", "ca", "au", "in", "cn", "jp", "ru", "br"})  # fmt: skip
NOT_A_DOMAIN = frozenset({"the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "our",
                          "their", "its"})  # fmt: skip


def _spelt_emails(text: str, fit: bool) -> str:
    if "@" not in text and "\uff20" not in text:
        # Cheap tests first (this rule must cost next to nothing on the texts without an address): a domain
        # ending in letters or a spelt "dot", and a spelt "at".
        if DOMAIN_HINT.search(text) is None and "dot" not in text and "DOT" not in text and "Dot" not in text:
            return text
        low = text.lower()
        if not (" at " in low or "at)" in low or "at]" in low or "at}" in low or "at>" in low):
            return text
    out: list[str] = []
    pos = 0
    for m in SPELT_AT.finditer(text):
        at = m.group()
        a, b = m.start(), m.end()
        if a < pos:
            continue
        while a > pos and text[a - 1] in " \t":
            a -= 1
        while b < len(text) and text[b] in " \t":
            b += 1
        local_m = SPELT_LOCAL.match(text[max(pos, a - 400) : a][::-1])
        domain_m = SPELT_DOMAIN.match(text, b)
        if local_m is None or domain_m is None:
            continue
        start = a - local_m.end()
        if start > 0 and text[start - 1] in "@\uff20.+-":  # a handle ("@user at ..."), not a local part
            continue
        local, domain = text[start:a], domain_m.group()
        labels = SPELT_SPLIT.split(domain)
        if TLD.fullmatch(labels[-1]) is None:
            continue
        spelt = SPELT_SPLIT.search(local.lower().replace(".", "")) is not None or "dot" in domain.lower()
        bracketed = at[0] in "[({<" or any(c in domain or c in local for c in "[({<")
        if not bracketed and not (at in "@\uff20" and (a, b) == m.span()):  # a bare " at " or a spaced "@"
            if text[domain_m.end() : domain_m.end() + 1] == "/" or labels[0].lower() in NOT_A_DOMAIN:
                continue
            plain = LOCAL_WORDS.fullmatch(local) is not None and local.rsplit(".", 1)[-1].lower() not in COMMON_TLDS
            if not (spelt or plain or EMAIL_CUE.search(text, max(0, start - 40), start)):
                continue
        out += [text[pos:start], short("[EMAIL]", text[start : domain_m.end()], fit)]
        pos = domain_m.end()
    return "".join(out) + text[pos:] if out else text


# ---------------------------------------------------------------- IBAN

# IBAN length by country (the SWIFT IBAN registry): a candidate must have exactly its country's length, which
# with the checksum keeps words like "FY24 results are in" from ever being taken for one.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
# The check digits, found first (digits are rarer than letters: the engine skips to them), then the country.
IBAN_START = re.compile(r"\d\d(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d\d)")


def iban_ok(candidate: str) -> bool:
    s = re.sub(r"[\s-]", "", candidate).upper()
    if not 15 <= len(s) <= 34 or not s.isascii() or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def _ibans(text: str, fit: bool) -> str:
    out: list[str] = []
    pos = 0
    n = len(text)
    for m in IBAN_START.finditer(text):
        start, country = m.start() - 2, text[m.start() - 2 : m.start()]
        if start < pos:
            continue
        length = IBAN_LENGTHS.get(country.upper())
        if length is None:
            continue
        # The rest: alphanumerics, single spaces or dashes between them (groups of four, or none).
        chars: list[str] = []
        i = m.end()
        while len(chars) < length - 4 and i < n:
            c = text[i]
            if c.isascii() and c.isalnum():
                chars.append(c)
                i += 1
            elif c in " -" and i + 1 < n and text[i + 1].isascii() and text[i + 1].isalnum():
                i += 1
            else:
                break
        if len(chars) != length - 4 or (i < n and text[i].isalnum()):
            continue
        bban = "".join(chars)
        # Account numbers are mostly digits; a run of words never is.
        if 2 * sum(c.isdigit() for c in bban) < len(bban) or not iban_ok(country + m.group() + bban):
            continue
        out += [text[pos:start], short("[IBAN]", text[start:i], fit)]
        pos = i
    return "".join(out) + text[pos:] if out else text


# ---------------------------------------------------------------- payment cards

# Digits with spaces, dots, dashes (or "/" before an expiry) between them; the groups are checked in _cards.
# Possessive: a run is taken whole (cards next to each other are split in _cards_in), and a run that fails is
# not retried shorter, nor from its inner groups, so a hostile wall of digits costs linear time.
CARD_RUN = re.compile(r"(?<![\w/])(?<!\d[.,:/ -])(?<!\d  )\+?\d(?:(?:[ .\-]{1,3}|[ ]?/[ ]?)?\d){12,}+(?!\w)")
GROUP = re.compile(r"\d+")


def _card_shape(lengths: list[int]) -> bool:
    if len(lengths) == 1:
        return 13 <= lengths[0] <= 19
    if lengths in ([4, 6, 5], [4, 6, 4]):  # Amex, Diners
        return True
    return lengths[0] == 4 and all(x == 4 for x in lengths[1:-1]) and 1 <= lengths[-1] <= 4 and 13 <= sum(lengths) <= 19


def _cards_in(s: str, fit: bool) -> str:
    groups = list(GROUP.finditer(s))
    lens = [len(g.group()) for g in groups]
    seps = [s[groups[k - 1].end() : groups[k].start()] if k else "" for k in range(len(groups))]
    out: list[str] = []
    pos = 0
    k = 1 if s.startswith("+") else 0  # a country code starts a phone, not a card
    while k < len(groups):
        if lens[k] != 4 and not 13 <= lens[k] <= 19:  # every card shape starts so
            k += 1
            continue
        found = None
        digits = ""
        for j in range(k, len(groups)):  # the longest card starting at group k (19 digits at most)
            if j > k and "/" in seps[j]:
                break
            digits += groups[j].group()
            if len(digits) > 19:
                break
            if (_card_shape(lens[k : j + 1]) and digits[0] != "0" and luhn_ok(digits)
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
        start, stop = groups[k].start(), groups[end - 1].end()
        out += [s[pos:start], short("[CARD]", s[start:stop], fit)]
        pos, k = stop, end
    return "".join(out) + s[pos:] if out else s


def _cards(text: str, fit: bool) -> str:
    return CARD_RUN.sub(lambda m: _cards_in(m.group(), fit), text)


# Spelt from its first letter so the regex engine can skip to the c's and s's of a text (7x faster than a
# leading lookbehind, which makes it try every position).
# Between the cue and the number: punctuation and a few words of the kind people put there ("my cvv number is
# 123", "the cvv on the back is 321", "security code on the back: 654"); other words end the reach ("the
# security code was changed in 2024").
_CVV_GAP = r"(?:[^\w\n]{0,3}(?i:number|num|no|code|value|is|on|at|the|back|of|card)(?![a-zA-Z])){0,6}[^\w\n]{0,3}"
CVV = re.compile(r"([cCsS](?<![a-zA-Z\[][cCsS])(?i:(?<=c)(?:vv2?|vc2?|v2|sc|ard\s+verification)|(?<=s)ecurity\s+code))"
                 rf"(?![a-zA-Z])({_CVV_GAP})(\d{{3,4}})(?!\d)(?![-./]\d)")  # not "[CVV]", not a date


def _cvv(text: str, fit: bool) -> str:
    return CVV.sub(lambda m: m.group(1) + m.group(2) + short("[CVV]", m.group(3), fit), text)


# ---------------------------------------------------------------- social security numbers

SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
SSN_SPACED = re.compile(r"(?<![\w-])(\d{3}) (\d{2}) (\d{4})(?![\w-])")
SSN_CUE = re.compile(
    r"(?i)(?<![a-z])(ssn|s\.s\.n\.?|ss\s?#|ss\s?no\.?|ss\s?number|social[\s-]+sec(?:urity)?(?:[\s-]+(?:number|num|no\.?|#))?"
    r"|soc\.?\s?sec\.?|social(?=\s*(?:is\s|[:#])))"  # "my social is ..."
    r"(?![a-z])([^\d\n\[]{0,30}?)(\d(?:[\s.\-]?\d){8})(?![\d\w])"  # no placeholder between cue and number
)
# ... and a cue right after the number ("078051120 is my SSN").
SSN_CUE_AFTER = re.compile(
    r"(?i)(?<![\d\w])(\d(?:[\s.\-]?\d){8})(?![\d\w])([^\d\n\[]{0,12}?(?<![a-z])(?:ssn|social[\s-]+security)(?![a-z]))"
)


def _ssn(text: str, fit: bool) -> str:
    text = SSN_CUE.sub(lambda m: m.group(1) + m.group(2) + short("[NATIONAL_ID]", m.group(3), fit), text)
    low = text.lower()
    if "ssn" in low or "social" in low:
        text = SSN_CUE_AFTER.sub(lambda m: short("[NATIONAL_ID]", m.group(1), fit) + m.group(2), text)
    text = SSN.sub(lambda m: short("[NATIONAL_ID]", m.group(), fit), text)

    def spaced(m: re.Match[str]) -> str:
        # Without a cue, a spaced 3-2-4 must be a number the SSA could have issued.
        area, group, serial = m.groups()
        ok = area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
        return short("[NATIONAL_ID]", m.group(), fit) if ok else m.group()

    return SSN_SPACED.sub(spaced, text)


# ---------------------------------------------------------------- other national ids

# UK National Insurance numbers: two letters (a prefix HMRC issues), six digits, A-D. Spaced or dashed as printed
# or typed ("AB 12 34 56 C", "ST 456789 B", "AB-12-34-56-C") it is masked anywhere; unspaced ("JG103759A", the
# shape of many part numbers) only after its cue. Found from its digits (the engine skips to them), then the
# letters before them are checked.
NINO_DIGITS = re.compile(r"\d\d([ -]?)\d\d\1\d\d([ -]?)[A-Da-d](?![A-Za-z0-9])")
NINO_PREFIX = re.compile(r"(?i)(?<![a-z0-9])(?!bg|gb|nk|kn|tn|nt|zz)[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z]$")
NINO_CUE = re.compile(r"(?i)(?<![a-z])(?:national\s+ins(?:urance)?|nino|n\.i\.?|ni)(?![a-z])[^\n\d]{0,25}$")
# Spanish DNI (8 digits and a check letter) and NIE (X, Y or Z, 7 digits, a check letter): the letter is the
# number mod 23, so one in 23 look-alikes passes, and anything of that shape is rare in prose.
DNI_DIGITS = re.compile(r"(\d{7,8}+|\d\d?\.\d{3}\.\d{3})[ -]?([A-Za-z])(?![\w-])")  # "48.392.017-V" too
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _ninos(text: str, fit: bool) -> str:
    out: list[str] = []
    pos = 0
    for m in NINO_DIGITS.finditer(text):
        sep = text[m.start() - 1 : m.start()] if text[m.start() - 1 : m.start()] in (" ", "-") else ""
        start = m.start() - 2 - len(sep)  # the letters, then a space or dash or nothing
        if start < pos or NINO_PREFIX.search(text, max(0, start - 1), start + 2) is None:
            continue
        if not (sep or m.group(1) or m.group(2)) and NINO_CUE.search(text, max(0, start - 40), start) is None:
            continue
        out += [text[pos:start], short("[NATIONAL_ID]", text[start : m.end()], fit)]
        pos = m.end()
    return "".join(out) + text[pos:] if out else text


def _dnis(text: str, fit: bool) -> str:
    out: list[str] = []
    pos = 0
    for m in DNI_DIGITS.finditer(text):
        a = m.start()
        digits = m.group(1).replace(".", "")
        # An NIE's letter right before its digits, or before a space or dash ("X1234567L", "X-1234567-L").
        at = a - 1 if text[a - 1 : a] in ("X", "Y", "Z", "x", "y", "z") else None
        if at is None and a >= 2 and text[a - 1] in " -" and text[a - 2] in "XYZxyz":
            at = a - 2
        if len(digits) == 8:
            at = None  # a DNI, whatever stands before it
        prefix = text[at].upper() if at is not None else ""
        start = a if at is None else at
        if start < pos or (start and (text[start - 1].isalnum() or text[start - 1] in "_-")):
            continue
        if len(digits) != (7 if prefix else 8):
            continue
        number = int(str("XYZ".index(prefix)) + digits) if prefix else int(digits)
        if DNI_LETTERS[number % 23] != m.group(2).upper():
            continue
        out += [text[pos:start], short("[NATIONAL_ID]", text[start : m.end()], fit)]
        pos = m.end()
    return "".join(out) + text[pos:] if out else text


# ---------------------------------------------------------------- phone numbers

# Digit groups joined by one separator ("-", ".", "/", each with optional spaces, or spaces), a group may be
# parenthesised, "+" may lead. Not glued to a word, not continuing a number ("1,299", "10.0.0.1:8080").
PHONE_RUN = re.compile(  # the first character first, for the same reason as CVV's
    r"[+(\d](?<![\w+][+(\d])(?<!\d[.,:/-][+(\d])(?:(?<=\+)[ \t]?(?:\(\d{1,5}\)|\d+)|(?<=\()\d{1,5}\)|(?<=\d)\d*)"
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
              "|móvil|movil|celular|cellulare|portable|mi número|mi numero|meu número|meu numero|meine nummer"
              "|mon numéro|mon numero|il mio numero|llámame|llamame|llamadme|chiamami|appelez-moi|appelle-moi"
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
                   "|protocolo")  # fmt: skip
# Matched on the reversed context (see _reversed): cue, then up to 20 characters without digits, then the number.
PHONE_CUE = re.compile(rf"(?i)[^\d\n]{{0,20}}?(?<![a-z])(?:{_reversed(PHONE_CUES)})(?![a-z])")
# Currencies written as codes or words before an amount ("EUR 123 456 789").
CURRENCY_WORDS = ("eur|euro|euros|usd|dollar|dollars|gbp|pound|pounds|chf|jpy|yen|cad|aud|cny|rmb|yuan|inr|rupee"
                  "|rupees|rs|hkd|sgd|sek|nok|dkk|zar|brl|mxn|krw|rub")  # fmt: skip
NOT_PHONE_BEFORE = re.compile(
    rf"(?i)\W{{0,3}}(?:(?:si|saw|era)\s+)?(?:(?:\.?on|\.?rn|\.n|rebmun|mun|#|di|edoc)\s*)?"
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
    # A one-digit group is a country code, a trunk "(0)" or a leading "1"; elsewhere it is a version number,
    # an ISBN ("0-306-40615-2", "978-3-16-148410-0") or a list.
    for k, g in enumerate(groups):
        if (len(g) == 1 and k > 0 and not (k == 1 and (plus or s.startswith("("))) and f"({g})" not in s
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
    if not best[0][2]:
        return None
    out, pos = [], 0
    for a, b in best[0][2]:
        out += [s[pos:a], short("[PHONE]", s[a:b], fit)]
        pos = b
    return "".join(out) + s[pos:]


def _phones(text: str, fit: bool) -> str:
    out: list[str] = []
    pos = 0
    budget = [SPLIT_BUDGET]
    for m in PHONE_RUN.finditer(text):
        masked = _phones_in(text, m, fit, budget)
        if masked is not None:
            out += [text[pos : m.start()], masked]
            pos = m.end()
    return "".join(out) + text[pos:] if out else text


# ---------------------------------------------------------------- separators

# No-break, narrow and thin spaces and Unicode dashes between digits ("06\u00a012 34", "555\u2013123") are
# typed as spaces and hyphens: the patterns above see them as such.
UNICODE_SEPARATOR = re.compile(r"(?<=[\d)])[\u00a0\u202f\u2009\u2007\u2010-\u2014\u2212](?=[\d(])")


def _separators(text: str, fit: bool) -> str:
    if text.isascii():
        return text
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
    Rule(_separators, min_digits=2),
    pattern_rule(EMAIL, "[EMAIL]", needs="@"),
    Rule(_spelt_emails),
    Rule(_ibans, min_digits=7),  # check digits + an account number that is at least half digits
    Rule(_cards, min_digits=13),
    Rule(_cvv, min_digits=3),
    Rule(_ssn, min_digits=9),
    Rule(_ninos, min_digits=6),
    Rule(_dnis, min_digits=7),
    Rule(_phones, min_digits=7),
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
        original, read = text, None
        for r in self.rules:
            if digits >= r.min_digits and (not r.needs or r.needs in text):
                text = r.apply(text, fit)
                if r.apply is _separators:
                    read = text
        # Unicode dashes and spaces between digits are read as plain ones; a text with nothing masked comes back
        # as it was ("9:00–18:00" stays).
        return original if text == read else text


mask = Masker()


# ---------------------------------------------------------------- ids


def pseudonym(value: str, secret: bytes) -> str:
    """An id that holds an email, replaced by a keyed hash of it (lowercased: one address, one pseudonym), so
    a customer's messages still share a conversation without the address reaching outputs or Redis keys.
    Other ids are returned as they are."""
    if "@" not in value or not EMAIL.search(value):
        return value
    return "anon-" + hmac.new(secret, value.lower().encode(), hashlib.sha256).hexdigest()[:32]
