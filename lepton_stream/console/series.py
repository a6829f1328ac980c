"""An incident's chart data: its subject's counts per event-time bucket, read from the workers' windows in Redis.

The counted series is the one the detector watched: negative mentions of the entity for news alerts (of the
origin entity for a propagated one: the counts are its), all chats of the intent for an intent surge. Buckets
have the alert window's width, so the series lines up with the alert whatever LEPTON_WINDOW_S the console has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lepton_stream.console.model import ts
from lepton_stream.state.windows import WindowStore

BEFORE = 36  # buckets shown before the alert's window: enough to see the baseline it rose from
AFTER = 12  # ... and after it
MAX_BUCKETS = 288


def source(incident: dict[str, Any]) -> tuple[str, str, str]:
    """(worker kind, subject, label) of the buckets behind an incident: the registered kind that raises its
    alert kind (workers/, Kind.alerts), and for a propagated alert the entity it propagated from."""
    import workers

    owner = next((k for k in workers.kinds() if incident["kind"] in k.alerts), None)
    if owner is None:
        raise KeyError(f"no registered worker kind raises {incident['kind']!r} alerts")
    p = incident.get("propagated_from")
    subject = str(p["entity"]) if isinstance(p, dict) and "entity" in p else incident["subject"]
    return owner.kind, subject, owner.alerts[incident["kind"]]


def series(client: Any, prefix: str, incident: dict[str, Any]) -> dict[str, Any]:
    kind, subject, label = source(incident)
    start, end = ts(incident["window"]["start"]), ts(incident["window"]["end"])
    assert start is not None and end is not None  # ConsoleState keeps only alerts with readable windows
    width = max(1, int(end - start))
    first = int(start) - BEFORE * width
    last = int(start) + AFTER * width
    if (ended := ts(incident.get("ends_at"))) is not None:
        last = max(last, int(ended // width) * width + 2 * width)  # show the way back to baseline
    last = min(last, first + (MAX_BUCKETS - 1) * width)
    starts = list(range(first, last + 1, width))
    store = WindowStore(client, prefix, kind, width, 0)
    found = store.read({subject: starts}).get(subject, {})
    iso = lambda t: datetime.fromtimestamp(t, UTC).isoformat()  # noqa: E731
    return {
        "fingerprint": incident["fingerprint"],
        "kind": kind,
        "subject": subject,
        "label": label,
        "bucket_s": width,
        "baseline": incident.get("baseline", 0.0),
        "window": incident["window"],
        "starts_at": incident.get("starts_at"),
        "ends_at": incident.get("ends_at"),
        "points": [{"t": iso(b), "value": found.get(b, {}).get(label, 0.0), "n": found.get(b, {}).get("n", 0.0)}
                   for b in starts],  # fmt: skip
    }
