"""Produce a batch's outputs and know when the broker has acknowledged every one (acks=all).

`send` hands the records to the producer's I/O thread and returns at once; `wait` blocks until they are all
acknowledged. The loop sends one batch and processes the next before waiting, so the broker round trip
overlaps useful work instead of idling the worker.

Guarantees kept here:
- a record is sent again only when its own send failed with an error a retry can clear. One still waiting
  for its acknowledgement when the flush times out (a slow broker: leader election, ISR shrink) is waited
  on again, never re-sent: re-sending the whole batch duplicated outputs and alerts;
- a record the broker can never take (too large, not authorised, invalid) is poison: it is replaced by a
  dead letter of its input record (reason `send_failed`), never retried forever. A dead letter is bounded
  (decode.dead_letter), so it always fits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from kafka import KafkaProducer
from kafka.errors import (
    AuthorizationError,
    CorruptRecordError,
    InvalidRecordError,
    InvalidTopicError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
)
from kafka.producer.future import FutureRecordMetadata

from lepton_stream import logs
from lepton_stream.pipeline.batch import Output

log = logs.get(__name__)

# What no retry of the same record can fix.
POISON_ERRORS = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidRecordError,
    CorruptRecordError,
    InvalidTopicError,
    PolicyViolationError,
    AuthorizationError,
)


class PublishError(RuntimeError):
    pass


class _Refused:
    """A send that raised before reaching the producer's buffer, shaped like a failed future."""

    is_done = True

    def __init__(self, exc: Exception):
        self.exception = exc

    def failed(self) -> bool:
        return True


def is_poison(exc: BaseException | None) -> bool:
    return isinstance(exc, POISON_ERRORS)


class Sink:
    def __init__(self, producer: KafkaProducer, flush_timeout_s: float = 30.0,
                 dead_letter: Callable[[Output, str], Output | None] | None = None):  # fmt: skip
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s
        # The dead letter that replaces a poison output (None: keep retrying it, e.g. for the DLQ itself).
        self.dead_letter = dead_letter or (lambda _o, _e: None)

    def send(self, outputs: list[Output]) -> list[FutureRecordMetadata | _Refused]:
        return [self._send(o) for o in outputs]

    def _send(self, o: Output) -> FutureRecordMetadata | _Refused:
        try:
            return self.producer.send(o.topic, key=o.key, value=o.value, headers=list(o.headers) or None)
        except Exception as exc:  # noqa: BLE001 - kafka-python raises size and buffer errors from send itself
            return _Refused(exc)

    def wait(self, outputs: list[Output], futures: list) -> None:
        """Return once every record is acknowledged. Otherwise re-send only the records whose send failed (a
        poison one as its dead letter; `outputs` and `futures` are updated in place) and raise PublishError:
        the caller backs off and calls again, waiting on the same futures."""
        if not all(f.is_done for f in futures):
            # Raises KafkaTimeoutError when records are still unacknowledged at the timeout: counted below.
            with contextlib.suppress(KafkaTimeoutError):
                self.producer.flush(timeout=self.flush_timeout_s)
        pending, failed, first = 0, 0, ""
        for i, f in enumerate(futures):
            if not f.is_done:
                pending += 1  # still in the producer's hands: it retries or fails it; never a second copy
                continue
            if not f.failed():
                continue
            failed += 1
            exc = f.exception
            first = first or f"{type(exc).__name__}: {str(exc)[:200]}"
            if is_poison(exc):
                replacement = self.dead_letter(outputs[i], f"{type(exc).__name__}: {exc}")
                if replacement is not None:
                    log.error("output_dead_lettered", topic=outputs[i].topic, error=first, to=replacement.topic)
                    outputs[i] = replacement
            futures[i] = self._send(outputs[i])
        if pending or failed:
            raise PublishError(f"{pending} records not acknowledged within {self.flush_timeout_s:.0f} s, {failed} "
                               f"failed and sent again, of {len(futures)}" + (f": {first}" if first else ""))
