"""Typed placeholders, their short forms for texts near their length limit, and spans of a text replaced by one."""

from __future__ import annotations

from collections.abc import Iterable

# Shorter forms of the placeholders, for texts near their length limit.
SHORT = {"[EMAIL]": "[E]", "[PHONE]": "[T]", "[CARD]": "[C]", "[IBAN]": "[I]", "[NATIONAL_ID]": "[ID]",
         "[PERSON]": "[P]", "[CVV]": "[V]"}  # fmt: skip


def short(placeholder: str, replaced: str, fit: bool) -> str:
    """The placeholder, or (fit) one no longer than the text it replaces: the short form, else stars."""
    if not fit or len(placeholder) <= len(replaced):
        return placeholder
    s = SHORT.get(placeholder, "[X]")
    return s if len(s) <= len(replaced) else "*" * len(replaced)


def replace_spans(text: str, spans: Iterable[tuple[int, int]], placeholder: str, fit: bool) -> str:
    """`text` with each (start, end) span replaced by the placeholder (see `short`). Spans come in text order;
    one that starts inside a span already replaced is skipped."""
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        out += [text[pos:start], short(placeholder, text[start:end], fit)]
        pos = end
    return "".join(out) + text[pos:] if out else text
