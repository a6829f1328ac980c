"""Typed placeholders, and their short forms for texts near their length limit."""

from __future__ import annotations

# Shorter forms of the placeholders, for texts near their length limit.
SHORT = {"[EMAIL]": "[E]", "[PHONE]": "[T]", "[CARD]": "[C]", "[IBAN]": "[I]", "[NATIONAL_ID]": "[ID]",
         "[PERSON]": "[P]", "[CVV]": "[V]"}  # fmt: skip


def short(placeholder: str, replaced: str, fit: bool) -> str:
    """The placeholder, or (fit) one no longer than the text it replaces: the short form, else stars."""
    if not fit or len(placeholder) <= len(replaced):
        return placeholder
    s = SHORT.get(placeholder, "[X]")
    return s if len(s) <= len(replaced) else "*" * len(replaced)
