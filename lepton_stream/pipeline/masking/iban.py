"""IBANs: a known country, its registered length and the mod-97 check; any case and grouping."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lepton_stream.pipeline.masking.placeholders import replace_spans

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


def ibans(text: str, fit: bool) -> str:
    return replace_spans(text, _iban_spans(text), "[IBAN]", fit)


def _iban_spans(text: str) -> Iterator[tuple[int, int]]:
    n = len(text)
    for m in IBAN_START.finditer(text):
        start, country = m.start() - 2, text[m.start() - 2 : m.start()]
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
        yield start, i
