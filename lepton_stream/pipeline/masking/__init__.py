"""Personal-data masking, applied before cache keys, log lines and outputs.

Each kind of personal data is replaced by a typed placeholder ("[EMAIL]", "[PHONE]", ...), so masked
texts stay readable and identical inputs mask identically (stable cache keys). Kinds and how they are found:

- emails, in any script, and spelt out ("jane.doe(at)gmail.com", "jane [at] example [dot] org", "jane at gmail
  dot com", "jane.doe @ gmail.com", "maria punto lopez arroba gmail punto com"; in prose a bare " at " needs a cue
  word, a spelt "dot" or a dotted local part, so "details at apple.com" stays), and percent-encoded in a link;
- IBANs: a known country code, its registered length, any case, grouped with spaces or dashes, mod-97 checked;
- payment cards: 13-19 digits unseparated or in card groupings (4-4-4-4, 4-6-5, ...) with spaces, dashes, dots
  or a line break, or in any grouping right after a card word ("visa 41136133 27139891"), Luhn-checked; a CVV
  or expiry right after the number goes with it; a CVV after "cvv", "cvc", "security code" and their names in
  other languages ("código de seguridad", "Kartenprüfnummer", ...) is masked too;
- US social security numbers: 3-2-4 dashed or spaced, or any 9 digits after a cue ("ssn", "social security",
  "my social is");
- UK National Insurance numbers (spaced as printed, or after their cue) and Spanish DNI / NIE numbers (the
  check letter must hold);
- phone numbers: international (+ or 00) and national forms with any mix of spaces, dots, dashes, slashes and
  a parenthesised area code or "(0)" trunk (an extension glued on, "4567x89", is left after the placeholder);
  7-9 digit numbers only in phone-shaped groups or after a cue ("tel", "phone no.", "call me at"). Dates,
  times, IPv4 addresses, ISBNs, version numbers, amounts, year lists and numbers after a reference word
  ("order", "invoice", "ticket", ...) are not phones.

No-break and thin spaces and Unicode dashes between digits are read as spaces and hyphens, fullwidth forms as
ASCII (and written so only in a text where something was masked: a text with no personal data comes back byte
for byte).

A message's text has a length limit in its contract; masking must never turn a valid message into an
invalid one. With `max_len`, a text whose masked form would pass the limit is masked again with every
placeholder no longer than what it replaces (see `placeholders.short`), so the result is never longer than the
input.

One module per kind (emails, iban, cards, national_ids, phones); `masker` holds the rules in the order
they run and the `Masker` that applies them.
"""

from __future__ import annotations

from lepton_stream.pipeline.masking.checksums import ean13_ok, luhn_ok
from lepton_stream.pipeline.masking.emails import pseudonym
from lepton_stream.pipeline.masking.iban import iban_ok
from lepton_stream.pipeline.masking.masker import Masker, mask

__all__ = ["Masker", "ean13_ok", "iban_ok", "luhn_ok", "mask", "pseudonym"]
