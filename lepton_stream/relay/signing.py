"""Standard Webhooks signatures (https://www.standardwebhooks.com) and the message id receivers de-duplicate by.

    webhook-id:        msg_<alert_id>[_<status>][_<sequence>]   the same for every post of one alert state
    webhook-timestamp: Unix seconds of this post
    webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>

The timestamp is that of each post, so a retry minutes later still passes a receiver's freshness check (five
minutes in the reference libraries); the id is not, so a retry, a redelivery after a relay restart and a second
relay pod all send the same id for the same alert state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def webhook_id(alert: dict[str, Any]) -> str:
    """Stable per alert state: the alert's id, plus its lifecycle status and sequence number when it has them
    (an incident's updates are different messages; a redelivered update is the same one)."""
    parts = [str(alert["alert_id"])]
    for field in ("status", "sequence"):
        value = alert.get(field)
        if value is not None and value != "":
            parts.append(_UNSAFE.sub("-", str(value))[:32])
    return "msg_" + "_".join(parts)


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(key: bytes, msg_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers of one post."""
    ts = int(time.time() if now is None else now)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature(key, msg_id, ts, body)}
