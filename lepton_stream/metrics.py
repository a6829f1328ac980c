"""Every Prometheus metric the service exports, defined in this one module."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

# The `stage` label's values: the engine's front half, the kinds' back-half stages (pipeline/stage.py), the loop's.
STAGES = ("decode", "mask", "cache", "inference", "figures", "graph", "conversations", "route", "state", "detect",
          "replicate", "render", "produce", "commit")

CONSUMED = Counter("lepton_messages_consumed_total", "Records polled from Kafka", ["topic"])
PROCESSED = Counter("lepton_messages_processed_total", "Records that produced an output", ["topic"])
DEAD_LETTERED = Counter("lepton_messages_dead_lettered_total", "Records sent to a DLQ", ["topic", "reason"])
BATCH_SIZE = Histogram(
    "lepton_batch_size", "Records per micro-batch", ["worker"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
)
STAGE_SECONDS = Histogram(
    "lepton_stage_seconds",
    "Time spent per stage per micro-batch",
    ["worker", "stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_HITS = Counter("lepton_cache_hits_total", "Prediction cache hits", ["worker"])
CACHE_MISSES = Counter("lepton_cache_misses_total", "Prediction cache misses", ["worker"])
CACHE_ERRORS = Counter("lepton_cache_errors_total", "Redis errors in the cache stage (served uncached)", ["worker"])
REDIS_ERRORS = Counter("lepton_redis_errors_total", "Redis errors by stage", ["worker", "stage"])
OLDEST_BATCH_AGE = Gauge(
    "lepton_oldest_batch_age_seconds",
    "Seconds since the oldest batch still in hand (polled, not yet committed) was polled; 0 when none",
    ["worker"],
)
REDIS_EVICTION_SAFE = Gauge(
    "lepton_redis_eviction_policy_ok",
    "1: Redis will not evict this service's keys (noeviction or no maxmemory); 0: it may; -1: unknown",
    ["worker"],
)
STAGE_RETRIES = Counter("lepton_stage_retries_total", "Retries of a failing batch stage", ["worker", "stage"])
CONSUMER_LAG = Gauge("lepton_consumer_lag", "High-water mark minus position", ["topic", "partition"])
ALERTS = Counter("lepton_alerts_total", "Alerts published", ["kind", "severity"])
ALERTS_SUPPRESSED = Counter("lepton_alerts_suppressed_total", "Alerts not re-published", ["reason"])
DETECTOR_RESETS = Counter(
    "lepton_detector_resets_total",
    "Detector states restarted: a number in them not finite, or the state unreadable",
    ["kind"],
)
LATE_EVENTS_DROPPED = Counter("lepton_late_events_dropped_total", "Events older than the allowed lateness")
ROUTED = Counter("lepton_chat_routed_total", "Routing decisions", ["queue", "escalate"])
BROKER_ERRORS = Counter(
    "lepton_broker_errors_total",
    "Broker errors ridden out: a poll retried, a commit deferred (not for a rebalance)",
    ["worker", "op"],
)
REBALANCES = Counter("lepton_rebalances_total", "Partition assignments and revocations", ["worker", "event"])
MODEL_INFO = Info("lepton_model", "Model bundle being served")
MODEL_RELOADS = Counter("lepton_model_reloads_total", "Model bundle hot reloads", ["worker", "result"])
LAST_POLL = Gauge("lepton_last_poll_timestamp_seconds", "Unix time of the last poll loop iteration", ["worker"])
ASSIGNED_PARTITIONS = Gauge("lepton_assigned_partitions", "Partitions assigned to this worker", ["worker"])
RELAY_DELIVERIES = Counter(
    "lepton_relay_deliveries_total",
    "Alerts the relay finished with, per webhook target: delivered (2xx), dead_lettered (undeliverable) or "
    "expired (published before LEPTON_RELAY_MAX_AGE_S: not posted)",
    ["target", "outcome"],
)
RELAY_RETRIES = Counter(
    "lepton_relay_retries_total", "Webhook posts retried, by target and why (HTTP status, timeout, connect)",
    ["target", "reason"],
)
RELAY_DELIVERY_SECONDS = Histogram(
    "lepton_relay_delivery_seconds",
    "From an alert's first post to a target until it was delivered or given up, retries included",
    ["target"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
