"""Retry and rate policy of one webhook target: exponential backoff with full jitter, Retry-After, a token bucket.

Full jitter (a delay drawn uniformly from 0 to the exponential cap) spreads the retries of many relays hitting
one receiver that just came back, instead of having them retry in lock-step. A receiver's Retry-After (429, 503)
is honoured as the least delay, still within the alert's retry budget.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses a later try may turn into a success; any other non-2xx answer is final (the request is wrong).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def backoff_delay(attempt: int, initial_s: float, max_s: float, rand: Callable[[], float] = random.random) -> float:
    """Delay before retry number `attempt` (1 = the first retry): uniform in [0, min(max_s, initial_s * 2^(n-1)))."""
    cap = min(max_s, initial_s * 2 ** min(attempt - 1, 30))
    return rand() * cap


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_dt = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return max(0.0, (when - now_dt).total_seconds())


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; `take` waits for one. Thread-safe (one per target; the
    target's posts come from one thread, the lock is for the metrics and tests that share it)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):  # fmt: skip
        self.rate, self.burst = float(rate), float(burst)
        self.clock, self.sleep = clock, sleep
        self.tokens = float(burst)
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is free (0: one is free now)."""
        with self.lock:
            self._refill()
            return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def try_take(self) -> bool:
        with self.lock:
            self._refill()
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False

    def take(self, stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a token and take it; False if `stop()` turned true while waiting."""
        while not self.try_take():
            if stop():
                return False
            self.sleep(min(self.wait_time(), 0.5))
        return True
