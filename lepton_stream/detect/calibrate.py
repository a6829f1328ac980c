"""Turning a standardised residual into a [0,1] score, and parsing timestamps for the offline tools."""

from __future__ import annotations

import math
from datetime import UTC, datetime

# log10 of the smallest tail probability we distinguish; keeps scores finite and JSON-clean
_MIN_LOG10_P = -300.0


def log10_tail(z: float) -> float:
    """log10 of the one-sided normal tail P(Z >= |z|), accurate far into the tail."""
    a = abs(z)
    if a < 8.0:
        return max(math.log10(max(0.5 * math.erfc(a / math.sqrt(2.0)), 1e-300)), _MIN_LOG10_P)
    # Mills-ratio asymptote: phi(a)/a * (1 - 1/a^2)
    ln_p = -0.5 * a * a - math.log(a * math.sqrt(2.0 * math.pi)) + math.log1p(-1.0 / (a * a))
    return max(ln_p / math.log(10.0), _MIN_LOG10_P)


def score_from_log10_p(log10_p: float, alert_log10_p: float) -> float:
    """Score in [0,1]: 0.5 exactly at the alert tail probability, 1.0 at its square, linear in -log10 p."""
    if alert_log10_p >= 0:
        raise ValueError("alert_log10_p must be negative")
    return min(1.0, max(0.0, 0.5 * log10_p / alert_log10_p))


def parse_timestamp(text: str) -> float:
    """Epoch seconds (int/float text, or milliseconds when implausibly large) or ISO-8601 (naive = UTC)."""
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        return v / 1000.0 if abs(v) > 1e11 else v
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
