"""The docs describe the product: their links resolve, and no development chronology is narrated anywhere.

History goes in CHANGELOG.md; a dated figure names its date and commit, never a development round or session.
"Session" stays allowed where it is Kafka's (session timeouts), onnxruntime's (InferenceSession) or pytest's
(session-scoped fixtures, the test session).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = sorted(
    p for d in ("lepton_stream", "workers", "tests") for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md")
)

_ORD = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\d+(?:st|nd|rd|th))"
_NOT_ALLOWED_USE = r"(?![- ]trips?)(?![ _.-]*timeout)"  # a round trip; a Kafka session timeout
CHRONOLOGY = re.compile("|".join([
    rf"\b{_ORD}[- ](?:development[- ])?(?:session|round)s?\b{_NOT_ALLOWED_USE}",
    rf"\b(?:this|that|earlier|previous|prior|last|next|later|past|each|every|one|same) (?:development )?"
    rf"(?:session|round)s?\b{_NOT_ALLOWED_USE}",
    r"\b(?:session|round) \d+\b",
    r"\bdevelopment (?:session|round)s?\b",
    r"\b(?:start|end|beginning|last run|first run) of the (?:session|round)\b",
    r"\bthe (?:session|round)'s (?:changes|starting|first|last|final|code|runs?|fixes)\b",
    r"\bsession (?:by|to) (?:the next )?session\b|\bone session to the next\b",
    r"\b(?:third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)'s\b",
]), re.IGNORECASE)


def chronology(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        if path == Path(__file__).resolve():
            continue
        for no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if m := CHRONOLOGY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{no}: {m.group(0)!r}")
    return found


@pytest.mark.parametrize("text", [
    "the eighth session's runs", "Seventh session, a sweep", "a second-session run", "round 9 of the work",
    "measured this session", "Earlier sessions' runs", "session 12", "the code at the start of the session",
    "the ninth round", "the figures are the eighth's", "from one session to the next", "the session's changes",
])
def test_chronology_is_recognised(text):
    assert CHRONOLOGY.search(text)


@pytest.mark.parametrize("text", [
    "LEPTON_SESSION_TIMEOUT_MS", "the consumer's session timeout", "session_timeout_ms 6000", "session.timeout.ms",
    "ort.InferenceSession(path)", '@pytest.fixture(scope="session")', "a private tansu per test session",
    "one round trip per batch", "it rebalances in two rounds", "round(x, 3)", "the first record of a batch",
    "measured 2026-12-01 at commit dcd22c5", "Markets quiet in session {i}",
])
def test_allowed_uses_are_not_chronology(text):
    assert not CHRONOLOGY.search(text)


def test_no_development_chronology_in_the_docs():
    assert not chronology(DOCS)


def test_no_development_chronology_in_the_code():
    assert not chronology(CODE)


_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(path.read_text()):
        if m := _HEADING.match(line):
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for line in _prose(path.read_text()):
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                broken.append(f"{path.relative_to(root)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{path.relative_to(root)}: {target} (no such heading)")
    return broken


def test_relative_links_resolve():
    assert not [b for path in DOCS for b in broken_links(path)]


def test_the_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n[ok](#a-title) [gone](missing.md) [bad](#nowhere)\n")
    assert broken_links(page, tmp_path) == ["page.md: missing.md (no such file)", "page.md: #nowhere (no such heading)"]
