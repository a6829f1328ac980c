"""National ids: US social security numbers, UK National Insurance numbers, Spanish DNI / NIE numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lepton_stream.pipeline.masking.placeholders import replace_spans, short

SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
SSN_SPACED = re.compile(r"(?<![\w-])(\d{3}) (\d{2}) (\d{4})(?![\w-])")
_NINE_DIGITS = r"(\d(?:(?:[ \t]?[.\-][ \t]?|\s)?\d){8})"  # one separator at most between digits ("159 - 10 ...")
SSN_CUE = re.compile(
    r"(?i)(?<![a-z])(ssn|s\.s\.n\.?|ss\s?#|ss\s?no\.?|ss\s?number|social[\s-]+sec(?:urity)?(?:[\s-]+(?:number|num|no\.?|#))?"
    r"|soc\.?\s?sec\.?|social(?=\s*(?:is\s|[:#])))"  # "my social is ..."
    rf"(?![a-z])([^\d\n\[]{{0,30}}?){_NINE_DIGITS}(?![\d\w])"  # no placeholder between cue and number
)
# ... and a cue right after the number ("078051120 is my SSN").
SSN_CUE_AFTER = re.compile(
    rf"(?i)(?<![\d\w]){_NINE_DIGITS}(?![\d\w])"
    r"([^\d\n\[]{0,12}?(?<![a-z])(?:ssn|social[\s-]+security)(?![a-z]))"
)


def ssns(text: str, fit: bool) -> str:
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


def ninos(text: str, fit: bool) -> str:
    return replace_spans(text, _nino_spans(text), "[NATIONAL_ID]", fit)


def _nino_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in NINO_DIGITS.finditer(text):
        sep = text[m.start() - 1 : m.start()] if text[m.start() - 1 : m.start()] in (" ", "-") else ""
        start = m.start() - 2 - len(sep)  # the letters, then a space or dash or nothing
        if start < 0 or NINO_PREFIX.search(text, max(0, start - 1), start + 2) is None:
            continue
        if not (sep or m.group(1) or m.group(2)) and NINO_CUE.search(text, max(0, start - 40), start) is None:
            continue
        yield start, m.end()


def dnis(text: str, fit: bool) -> str:
    return replace_spans(text, _dni_spans(text), "[NATIONAL_ID]", fit)


def _dni_spans(text: str) -> Iterator[tuple[int, int]]:
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
        if start and (text[start - 1].isalnum() or text[start - 1] in "_-"):
            continue
        if len(digits) != (7 if prefix else 8):
            continue
        number = int(str("XYZ".index(prefix)) + digits) if prefix else int(digits)
        if DNI_LETTERS[number % 23] == m.group(2).upper():
            yield start, m.end()
