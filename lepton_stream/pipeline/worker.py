"""A worker: one kind's spec (workers/ registers them), its back-half stages, and the life of a batch."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis

from lepton_stream import logs, metrics
from lepton_stream.config import Settings
from lepton_stream.contracts import Contract, DeadLetter
from lepton_stream.kafka import cloudevents
from lepton_stream.pipeline.batch import Item, Output, RawRecord
from lepton_stream.pipeline.cache import Lookup, PredictionCache, fill, lookup
from lepton_stream.pipeline.decode import bounded_key, decode, future_dead
from lepton_stream.pipeline.masking import Masker, pseudonym
from lepton_stream.pipeline.stage import BackHalf, BatchContext
from lepton_stream.pipeline.timing import StageTimer

log = logs.get(__name__)

# Ids that may hold an email (a customer id that is an address): hashed before outputs and Redis keys see them.
ID_FIELDS = ("id", "conversation_id", "customer_id", "source")
# Without LEPTON_ID_HASH_SECRET the hash is still stable, but anyone with this code can test guessed addresses.
DEFAULT_ID_SECRET = b"lepton-stream-id-pseudonyms"
# A masked dead letter's text ends at a token boundary: a number cut in half could escape its pattern.
_CUT_TAIL = re.compile(r"[\w@.+()/ -]{0,64}$")


@dataclass
class Staged:
    """A batch decoded, masked and looked up in the cache, its inference started: what finish() completes."""

    records: list[RawRecord]
    items: list[Item]
    dead: list
    timer: StageTimer
    model: Any  # the model that serves this batch: its predictions and its version go together
    found: Lookup
    partitions: dict[str, str]  # the input partitions' states when the batch was polled (for the watermark)
    inference: Any = None  # a Future, or the model's pending passes: result() waits
    fresh: list | None = None

    def predictions(self) -> list:
        """The misses' predictions, once; run here if not started in the background or if that failed."""
        if self.fresh is None:
            if not self.found.missing:
                self.fresh = []
            elif self.inference is not None:
                job, self.inference = self.inference, None
                self.fresh = job.result()
            else:
                self.fresh = self.model.predict(self.found.missing)
        return self.fresh


@dataclass(frozen=True)
class WorkerSpec:
    """What the engine needs of a worker kind (workers/ declares each kind, a workers.kind.Kind extends this)."""

    kind: str
    contract: type[Contract]
    input_topic: Callable[[Settings], str]
    # builds the kind's back half once per worker: its stages in order (graph → state → detect → render for
    # news), ending with the item's own output record (pipeline/stage.py)
    stages: Callable[[Worker], BackHalf]
    # a fresh per-item record for what the stages attach (Item.facts); None: the stages attach nothing
    facts: Callable[[], Any] | None = None
    # the output contract's limit on the masked text: masking never pushes a valid message over it
    max_text: int | None = None


class Worker:
    def __init__(
        self,
        spec: WorkerSpec,
        settings: Settings,
        model: Any,
        redis_client: redis.Redis | None,
        masker: Masker | None = None,
    ):
        self.spec, self.settings, self.model = spec, settings, model
        self.id = f"{spec.kind}-{socket.gethostname()}-{os.getpid()}"
        self.redis = redis_client
        self.cache = (
            PredictionCache(redis_client, settings.redis_key_prefix, settings.cache_ttl_s, spec.kind)
            if redis_client is not None
            else None
        )
        self.masker = masker or Masker(max_len=spec.max_text)
        if isinstance(self.masker, Masker) and self.masker.max_len is None:
            self.masker = self.masker.limited(spec.max_text)  # a copy: the masker passed in may be shared
        secret = settings.id_hash_secret
        self.id_secret = secret.get_secret_value().encode() if secret is not None else DEFAULT_ID_SECRET
        self._after_flush: list[Callable[[], None]] = []
        # "<topic>:<partition>" -> "behind" | "idle" (caught up) | "unknown", kept by the Kafka loop: event
        # time (the watermark) advances with the partitions that have data to deliver.
        self.partitions: dict[str, str] = {}
        self.version = model.version  # of the batch being finished: outputs and alerts carry it
        self._infer = ThreadPoolExecutor(1, f"infer-{spec.kind}")  # onnxruntime releases the GIL
        self.input_topic = spec.input_topic(settings)
        self.dlq_topic = settings.dlq_topic(self.input_topic)
        self.back_half: BackHalf = spec.stages(self)

    def process(self, records: list[RawRecord]) -> list[Output]:
        """decode → mask → cache/infer → the kind's stages (e.g. graph → state → detect → render). Pure of Kafka:
        returns the outputs."""
        return self.finish(self.stage(records, background=False))

    def stage(self, records: list[RawRecord], background: bool = True) -> Staged:
        """decode → mask → cache lookup, and start inference of the misses (in the background: the loop
        finishes the previous batch meanwhile). Reads only, so a batch may be staged again."""
        t = StageTimer(self.spec.kind)
        with t("decode"):
            s = self.settings
            items, dead = decode(records, self.spec.contract, s.max_message_bytes, self.id, s.dlq_max_original_bytes)
            items, future = future_dead(items, s.max_future_skew_s, self.id, s.dlq_max_original_bytes)
            dead += future
            if self.spec.facts is not None:
                for it in items:
                    it.facts = self.spec.facts()
        with t("mask"):
            for it in items:
                it.text = self.masker(it.message.text)
                self._pseudonymise(it)
        # One model serves the whole batch even if a hot reload swaps the holder's in between.
        model = self.model.current() if hasattr(self.model, "current") else self.model
        found = lookup(model.version, self.cache, [it.text for it in items], t)
        st = Staged(records, items, dead, t, model, found, dict(self.partitions))
        if found.missing and background:
            # A model that queues its own passes (onnx) keeps its threads busy across batches; others run
            # in the worker's inference thread.
            submit = getattr(model, "submit", None)
            st.inference = submit(found.missing) if submit else self._infer.submit(model.predict, found.missing)
        return st

    def finish(self, st: Staged) -> list[Output]:
        """Wait for the batch's inference → the kind's stages in order: the outputs to publish."""
        t, items = st.timer, st.items
        with t("inference"):  # what is left of it by now, or all of it when run here
            fresh = st.predictions()
        self.version, self.partitions = st.model.version, st.partitions
        for it, p in zip(items, fill(self.version, self.cache, st.found, fresh, t), strict=True):
            it.preds = p
        batch = BatchContext(self.spec.kind, self.version, self.partitions, self.after_flush)
        outputs = self.back_half.run(items, batch, t)
        outputs += [self.dead_letter_output(rec, d) for rec, d in st.dead]
        self._account(uuid.uuid4().hex[:12], st.records, items, st.dead, st.found.hits, len(outputs), t)
        return outputs

    def _pseudonymise(self, it: Item) -> None:
        """Ids holding an email are replaced by their keyed hash from here on (outputs, Redis keys, alerts); the
        clear ids stay in memory, in it.clear_ids, for lookups such as the graph's customer."""
        msg = it.message
        clear = {f: v for f in ID_FIELDS if isinstance(v := getattr(msg, f, None), str) and "@" in v}
        update = {f: p for f, v in clear.items() if (p := pseudonym(v, self.id_secret)) != v}
        if update:
            it.clear_ids = {f: clear[f] for f in update}
            it.message = msg.model_copy(update=update)

    def dead_letter_output(self, rec: RawRecord, d: DeadLetter) -> Output:
        """The DLQ record for a dead letter: as built (the original bytes), or with LEPTON_DLQ_PAYLOAD=masked
        only the masked text and the sha256 of the bytes; the error and a key holding an email are masked too."""
        # Identified by the record it stands for (before masking): dead-lettered again, it keeps its event id.
        event = cloudevents.dead_letter(self.spec.kind, d, rec.timestamp_ms)
        if self.settings.dlq_payload == "original":
            return Output.of(self.dlq_topic, bounded_key(rec.key), d, event)
        raw = rec.value or b""
        text = raw.decode("utf-8", errors="replace")
        limit = self.settings.max_message_bytes
        if len(text) > limit:  # an oversized record: its head
            text = text[:limit]
            cut = _CUT_TAIL.search(text, max(0, limit - 64))
            text = text[: cut.start()] if cut else text
        mask = self.masker.mask if isinstance(self.masker, Masker) else self.masker
        try:
            masked, error = mask(text), mask(d.error)
        except Exception:  # noqa: BLE001 - the record that broke the masker: keep its hash only
            masked, error = None, "masking failed; " + d.reason
        key = rec.key
        if key is not None and b"@" in key:
            key = pseudonym(key.decode("utf-8", errors="replace"), self.id_secret).encode()
        update = {"original_b64": "", "original_key_b64": None, "payload": "masked", "masked_text": masked,
                  "original_sha256": hashlib.sha256(raw).hexdigest(), "error": error[:2000]}  # fmt: skip
        return Output.of(self.dlq_topic, key, d.model_copy(update=update), event)

    def after_flush(self, fn: Callable[[], None]) -> None:
        """Run fn once this batch's outputs are acknowledged by the broker (e.g. confirm outbox entries)."""
        self._after_flush.append(fn)

    def discard_after_flush(self) -> None:
        """Before a (re)try of a batch: callbacks of an attempt that failed belong to outputs never sent."""
        self._after_flush.clear()

    def take_after_flush(self) -> list[Callable[[], None]]:
        """The processed batch's callbacks, for the loop to run once its outputs are acknowledged."""
        taken, self._after_flush = self._after_flush, []
        return taken

    def flushed(self) -> None:
        """Run the callbacks now (callers that publish synchronously, e.g. tests)."""
        for fn in self.take_after_flush():
            fn()

    def _account(self, batch_id, records, items, dead, hits, outputs: int, t: StageTimer) -> None:
        metrics.BATCH_SIZE.labels(self.spec.kind).observe(len(records))
        metrics.CONSUMED.labels(self.input_topic).inc(len(records))
        metrics.PROCESSED.labels(self.input_topic).inc(len(items))
        metrics.CACHE_HITS.labels(self.spec.kind).inc(hits)
        metrics.CACHE_MISSES.labels(self.spec.kind).inc(len(items) - hits)
        for _, d in dead:
            metrics.DEAD_LETTERED.labels(self.input_topic, d.reason).inc()
            # Never the payload: its reason and where it came from.
            log.warning("dead_letter", batch_id=batch_id, reason=d.reason, error=d.error[:200],
                        topic=d.source_topic, partition=d.partition, offset=d.offset)  # fmt: skip
        log.info(
            "batch",
            batch_id=batch_id,
            worker=self.id,
            records=len(records),
            valid=len(items),
            dead=len(dead),
            cache_hits=hits,
            outputs=outputs,
            model_version=self.version,
            ms=t.ms,
        )

