"""Emails: as written (in any script), spelt out ("jane.doe(at)gmail.com", "jane at gmail dot com"), and ids
that hold one (pseudonymised)."""

from __future__ import annotations

import hashlib
import hmac
import re

from lepton_stream.pipeline.masking.placeholders import short

# Any script on either side of the "@" (internationalised addresses: "josé@exämple.es"); the top-level domain
# is letters.
EMAIL = re.compile(
    r"(?<![\w.+'-])[\w.+-]{1,64}(?:'[\w.+-]{1,64})*@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[^\W\d_]{2,24}\b"  # "o'brien@"
)
# ... and in a pasted link, its "@" percent-encoded ("?email=tom.reed%40gmail.com&ref=ad").
EMAIL_IN_URL = re.compile(EMAIL.pattern.replace("@", "%40"))


# Addresses typed to dodge spam filters or by hand: "jane.doe(at)gmail.com", "jane [at] example [dot] org",
# "jane dot doe at gmail dot com", "jane.doe @ gmail.com", "jane.doe@gmail .com". A text is looked at only if it
# has an "@", or a domain-like ".xx" or a "dot" and a spelt "at"; then each "at" is found, the local part matched
# backwards from it and the domain forwards.
# "at" and "dot" are also spelt in Spanish and Portuguese (arroba, punto, ponto), French (arobase, point), Italian
# (chiocciola, punto) and German (punkt).
_AT_WORD = r"(?:at|arroba|arobase|chiocciola)"
_DOT_WORD = r"(?:dot|punto|point|ponto|punkt)"
SPELT_AT = re.compile(rf"(?i)[\[({{<][ \t]*{_AT_WORD}[ \t]*[\])}}>]|(?<= ){_AT_WORD}(?= )|[@\uff20]")
_BRACKET_DOT = rf"[ \t]*[\[({{<][ \t]*(?:{_DOT_WORD}|\.)[ \t]*[\])}}>][ \t]*"
SPELT_DOT = rf"(?:{_BRACKET_DOT}|[ \t]+{_DOT_WORD}[ \t]+|[ \t]\.[ \t]?|\.)"
_LOCAL_WORD = r"[\w+-]{1,64}(?:'[\w+-]{1,64})*"  # "o'brien"
# Matched on the reversed text before the "at": words joined by ".", "(dot)", " dot ", spelt backwards.
_REVERSED_DOT_WORD = r"(?:tod|otnup|tniop|otnop|tknup)"
_REVERSED_DOT = (rf"(?:[ \t]*[\])}}>][ \t]*(?:{_REVERSED_DOT_WORD}|\.)[ \t]*[\[({{<][ \t]*"
                 rf"|[ \t]+{_REVERSED_DOT_WORD}[ \t]+|\.)")
SPELT_LOCAL = re.compile(rf"(?i){_LOCAL_WORD}(?:{_REVERSED_DOT}{_LOCAL_WORD}){{0,4}}")
SPELT_DOMAIN = re.compile(rf"(?i)[^\W_][\w-]{{0,62}}(?:{SPELT_DOT}[^\W_][\w-]{{0,62}}){{1,4}}(?![\w-])")
SPELT_SPLIT = re.compile(rf"(?i){SPELT_DOT}")
TLD = re.compile(r"[^\W\d_]{2,24}")
# "punto", "point", "ponto", "punkt" are also words of prose ("analysts at Goldman point out"): spelt so, a dot
# counts only before a top-level domain customers' addresses end in.
WORD_DOT = re.compile(r"(?i)[ \t\[({<](?:punto|point|ponto|punkt)[ \t\])}>]")
KNOWN_TLDS = frozenset({"com", "net", "org", "edu", "gov", "io", "co", "info", "biz", "es", "mx", "ar", "cl", "pe",
                        "uy", "ve", "br", "pt", "fr", "be", "ch", "lu", "ca", "it", "de", "at", "nl", "eu", "uk",
                        "ie", "us"})  # fmt: skip
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


def spelt_emails(text: str, fit: bool) -> str:
    if "@" not in text and "\uff20" not in text:
        # Cheap tests first (this rule must cost next to nothing on the texts without an address): a domain
        # ending in letters or a spelt "dot", and a spelt "at".
        # The other languages' dot words ("punto", "point", ...) are words of prose too: only with their "at".
        if (DOMAIN_HINT.search(text) is None and not ("dot" in text or "DOT" in text or "Dot" in text)
                and not ("arrob" in text or "robase" in text or "hiocciol" in text)):  # fmt: skip
            return text
        low = text.lower()
        if not (" at " in low or "at)" in low or "at]" in low or "at}" in low or "at>" in low or "arroba" in low
                or "arobase" in low or "chiocciola" in low):  # fmt: skip
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
        word_dot = WORD_DOT.search(domain) is not None
        if word_dot and labels[-1].lower() not in KNOWN_TLDS:
            continue
        spelt = SPELT_SPLIT.search(local.lower().replace(".", "")) is not None or "dot" in domain.lower() or word_dot
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


def pseudonym(value: str, secret: bytes) -> str:
    """An id that holds an email, replaced by a keyed hash of it (lowercased: one address, one pseudonym), so
    a customer's messages still share a conversation without the address reaching outputs or Redis keys.
    Other ids are returned as they are."""
    if "@" not in value or not EMAIL.search(value):
        return value
    return "anon-" + hmac.new(secret, value.lower().encode(), hashlib.sha256).hexdigest()[:32]
