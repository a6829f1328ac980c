"""Posting one alert to one webhook target: signed, rate-limited, retried within the target's budget.

A target whose last alert used up its whole retry budget is marked down: the alerts after it get one try each
(still rate-limited) until one is delivered, and the relay tries at most one per batch while the target stays
down (worker.py), so a dead receiver costs one budget, then one timeout a batch, and never holds the other
targets' alerts back for long. Everything that stays undeliverable comes back as an outcome the caller
dead-letters.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from lepton_stream import logs, metrics
from lepton_stream.relay import payload, signing
from lepton_stream.relay.policy import RETRYABLE_STATUS, TokenBucket, backoff_delay, retry_after_s
from lepton_stream.relay.targets import Target

log = logs.get(__name__)
USER_AGENT = "lepton-stream-relay/1"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    elapsed_s: float
    error: str = ""  # why it was given up ("" when delivered)
    status: int | None = None  # the last HTTP status, None when no answer came


class TargetClient:
    """One target's HTTP connection pool, token bucket and up/down state; used from one thread at a time."""

    def __init__(self, target: Target, key: bytes, url: str | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 rand: Callable[[], float] | None = None):  # fmt: skip
        self.target, self.key = target, key
        self.url = url or target.endpoint()
        self.clock, self.sleep = clock, sleep
        self.rand = rand or random.random
        self.bucket = TokenBucket(target.rate_per_s, target.burst)
        self.down = False
        # No redirects: a signed alert must not be re-sent to wherever a receiver points.
        self.http = httpx2.Client(timeout=target.timeout_s, follow_redirects=False,
                                  headers={"user-agent": USER_AGENT, **target.headers})  # fmt: skip

    def close(self) -> None:
        self.http.close()

    def body(self, alert: dict[str, Any], raw: bytes) -> bytes:
        t = self.target
        if t.format == "alertmanager":
            return payload.alertmanager(alert, t.name, t.external_url, t.generator_url)
        return payload.lepton(raw)

    def deliver(self, alert: dict[str, Any], raw: bytes) -> Outcome:
        t = self.target
        body = self.body(alert, raw)
        msg_id = signing.webhook_id(alert)
        max_attempts = 1 if self.down else t.max_attempts
        attempts, start = 0, None
        while True:
            self.bucket.take()
            attempts += 1
            start = self.clock() if start is None else start  # the budget starts with the first post
            status, error, retryable, hint = self._post(msg_id, body)
            if status is not None and 200 <= status < 300:
                self.down = False
                return self._done(Outcome(True, attempts, self.clock() - start, status=status), msg_id)
            reason = str(status) if status is not None else error.split(":", 1)[0]
            elapsed = self.clock() - start
            if not retryable:
                self.down = False  # it answered: the request is what it refuses, not the alert stream
                return self._done(Outcome(False, attempts, elapsed, f"{error} (not retried)", status), msg_id)
            delay = backoff_delay(attempts, t.backoff_initial_s, t.backoff_max_s, self.rand)
            if hint is not None:
                delay = max(delay, hint)
            left = t.max_elapsed_s - elapsed
            if attempts >= max_attempts or delay > left:
                was_down, self.down = self.down, True
                if was_down:
                    why = "target down: one try a batch until one is delivered"
                elif attempts >= max_attempts:
                    why = f"gave up after {attempts} attempts"
                else:
                    why = f"retry budget of {t.max_elapsed_s:g} s used up"
                return self._done(Outcome(False, attempts, elapsed, f"{error} ({why})", status), msg_id)
            metrics.RELAY_RETRIES.labels(t.name, reason).inc()
            log.info("relay_retry", target=t.name, webhook_id=msg_id, attempt=attempts, error=error[:200],
                     delay_s=round(delay, 3))  # fmt: skip
            self.sleep(delay)

    def not_tried(self, alert: dict[str, Any], why: str) -> Outcome:
        """An alert given up without a post (the target is down), counted and logged like one that was tried."""
        return self._done(Outcome(False, 0, 0.0, why), signing.webhook_id(alert))

    def _post(self, msg_id: str, body: bytes) -> tuple[int | None, str, bool, float | None]:
        """One POST: (status, error, retryable, Retry-After seconds)."""
        headers = {"content-type": "application/json", **signing.headers(self.key, msg_id, body)}
        try:
            r = self.http.post(self.url, content=body, headers=headers)
        except httpx2.TimeoutException as exc:
            return None, f"timeout: {type(exc).__name__} after {self.target.timeout_s:g} s", True, None
        except httpx2.HTTPError as exc:  # refused, reset, DNS: the receiver may be back on the next try
            return None, f"connect: {type(exc).__name__}: {str(exc)[:200]}", True, None
        hint = retry_after_s(r.headers.get("retry-after")) if r.status_code in (429, 503) else None
        return r.status_code, f"HTTP {r.status_code}", r.status_code in RETRYABLE_STATUS, hint

    def _done(self, o: Outcome, msg_id: str) -> Outcome:
        t = self.target
        metrics.RELAY_DELIVERIES.labels(t.name, "delivered" if o.delivered else "dead_lettered").inc()
        if o.attempts:  # an alert not tried took no time: it would only pull the quantiles down
            metrics.RELAY_DELIVERY_SECONDS.labels(t.name).observe(o.elapsed_s)
        if o.delivered:
            log.info("relay_delivered", target=t.name, webhook_id=msg_id, attempts=o.attempts,
                     ms=round(o.elapsed_s * 1000, 1))  # fmt: skip
        else:
            log.warning("relay_undeliverable", target=t.name, webhook_id=msg_id, attempts=o.attempts,
                        error=o.error[:300])  # fmt: skip
        return o
