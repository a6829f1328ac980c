"""Liveness and readiness of one worker, fed by the poll loop.

Live: the poll loop has iterated within `stall_after_s` (a stuck loop gets the pod restarted), and its oldest
unfinished batch was polled within `stuck_batch_s` (a loop that keeps polling while one batch retries forever
is jammed, not alive).
Ready: partitions assigned, a model loaded, Redis answers PING and the loop is live. The Redis check is
cached for a moment so probes and scrapes never hammer Redis or block on a slow one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lepton_stream import metrics


def stall_limit_s(max_poll_interval_ms: int) -> float:
    """Poll-loop stall limit: twice the consumer's poll interval, never under a minute."""
    return max(60.0, 2 * max_poll_interval_ms / 1000.0)


def redis_pinger(client: Any) -> Callable[[], bool]:
    """Wrap a redis client's PING into the bool-returning check Health wants (errors mean 'down')."""

    def ping() -> bool:
        try:
            return bool(client.ping())
        except Exception:
            return False

    return ping


class Health:
    def __init__(
        self,
        stall_after_s: float,
        redis_ping: Callable[[], bool],
        *,
        redis_cache_s: float = 2.0,
        stuck_batch_s: float = float("inf"),
        worker: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall_after_s = float(stall_after_s)
        self.stuck_batch_s = float(stuck_batch_s)
        self._batch_age_s = 0.0
        self._redis_ping = redis_ping
        self._redis_cache_s = redis_cache_s
        self._worker = worker
        self._clock = clock
        self._lock = threading.Lock()
        # Start counts as a poll: the loop gets one stall period to start (model load, group join).
        self._last_poll = clock()
        self._assigned = 0
        self._model_version: str | None = None
        self._draining = False
        self._redis_ok = False
        self._redis_checked_at: float | None = None

    # ------------------------------------------------------------ fed by the worker loop

    def polled(self, oldest_batch_age_s: float = 0.0) -> None:
        self._last_poll = self._clock()
        self._batch_age_s = oldest_batch_age_s
        if self._worker:
            metrics.LAST_POLL.labels(self._worker).set(time.time())

    def set_assigned(self, n: int) -> None:
        self._assigned = max(0, int(n))
        if self._worker:
            metrics.ASSIGNED_PARTITIONS.labels(self._worker).set(self._assigned)

    def set_model_loaded(self, version: str | None) -> None:
        self._model_version = version or None

    def set_draining(self, draining: bool = True) -> None:
        """On SIGTERM: stop reporting ready while the batch in hand finishes."""
        self._draining = draining

    # ------------------------------------------------------------ read by probes

    def since_poll_s(self) -> float:
        return self._clock() - self._last_poll

    def oldest_batch_age_s(self) -> float:
        return self._batch_age_s

    def live(self) -> bool:
        return self.since_poll_s() <= self.stall_after_s and self._batch_age_s <= self.stuck_batch_s

    def _redis(self) -> bool:
        now = self._clock()
        with self._lock:  # one PING per cache period, even with concurrent probes
            fresh = self._redis_checked_at is not None and now - self._redis_checked_at < self._redis_cache_s
            if not fresh:
                try:
                    self._redis_ok = bool(self._redis_ping())
                except Exception:
                    self._redis_ok = False
                self._redis_checked_at = now
            return self._redis_ok

    def ready(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {
            "loop": {"ok": self.live(), "since_poll_s": round(self.since_poll_s(), 3),
                     "oldest_batch_age_s": round(self._batch_age_s, 3)},
            "partitions": {"ok": self._assigned > 0, "assigned": self._assigned},
            "model": {"ok": self._model_version is not None, "version": self._model_version},
            "redis": {"ok": self._redis()},
            "draining": {"ok": not self._draining},
        }
        return all(c["ok"] for c in checks.values()), checks
