"""Realistic synthetic streams for the demo, tests and benchmarks (deterministic for a seed).

News: real financial tweets from the shipped samples as background, spread over event time, plus an
injected incident: a burst of negative headlines about one company and its supply chain.
Chat: conversations of banking77 questions with personal data sprinkled in, frustrated follow-ups,
and an incident: many customers reporting `card_not_working` at once.
Both: a share of malformed records (bad JSON, wrong types, missing fields, invalid UTF-8, oversized
text, naive timestamps), each of which must end in the dead-letter queue.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
SOURCES = ["reuters", "bloomberg", "wsj", "ft", "cnbc", "marketwatch", "seekingalpha", "benzinga"]
CHANNELS = ["web", "app", "email", "sms", "social"]

INCIDENT_COMPANY = ("TSM", "TSMC")
INCIDENT_HEADLINES = [
    "{name} halts production at its largest fab after fire, chip shipments delayed",
    "${t} plunges as {name} warns of weeks-long outage at key fab",
    "{name} fab fire disrupts supply to Apple and Nvidia, analysts cut estimates",
    "Fire at {name} plant sparks fears of global chip shortage; ${t} down sharply",
    "{name} says damaged fab will not restart this quarter, slashes revenue guidance",
    "Analysts downgrade ${t} after {name} fab fire, see lasting damage to margins",
    "{name} customers scramble for capacity as outage worsens; ${t} sinks",
    "${t} extends losses; {name} fab outage hits smartphone and GPU makers",
]
# Routine coverage of well-known companies, so their series exist before anything happens.
CHATTER_COMPANIES = [("TSM", "TSMC"), ("AAPL", "Apple"), ("NVDA", "Nvidia"), ("AMD", "AMD"), ("MSFT", "Microsoft"),
                     ("AMZN", "Amazon"), ("TSLA", "Tesla"), ("JPM", "JPMorgan"), ("ASML", "ASML"), ("INTC", "Intel")]
CHATTER = [
    "${t} shares little changed ahead of earnings",
    "{name} to present at investor conference next week",
    "{name} announces date for quarterly results; ${t}",
    "${t} trading volume in line with 30-day average",
    "{name} names new head of investor relations",
    "{name} reaffirms full-year outlook; ${t} steady",
]
INCIDENT_INTENT = "card_not_working"
INCIDENT_CHAT = [
    "My card is not working at all today",
    "card declined everywhere since this morning, what is going on?",
    "Is there an outage? My card doesn't work in any shop",
    "my card keeps getting rejected, it worked yesterday",
    "Why is my card not working?? I can't pay for anything",
    "Card stopped working, tried three terminals",
]
FOLLOW_UPS = [
    "Still waiting for an answer, this is ridiculous.",
    "This is the third time I'm asking. Nobody helps!",
    "Hello? I need this fixed now, I am really frustrated.",
    "Thanks, that helped a lot!",
    "Ok, I'll wait. Please hurry.",
]
PII = [
    " You can reach me at {first}.{last}@example.com",
    " My number is +44 7700 900{n:03d}",
    " Card number 4111 1111 1111 1111 if you need it",
    " My IBAN is GB82 WEST 1234 5698 7654 32",
    " call me on (555) 201-{n:04d}",
]
FIRST = ["jane", "omar", "li", "maria", "sam", "ana", "john", "priya"]
LAST = ["doe", "khan", "wei", "garcia", "smith", "silva", "brown", "patel"]


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    id: str | None  # the message id when valid; None for malformed records
    label: str = ""  # ground truth where known (sentiment or intent), for evaluation


def _read(name: str) -> list[tuple[str, str]]:
    with (SAMPLES / name).open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _valid(key: str, msg: dict, label: str = "") -> Record:
    return Record(key.encode(), json.dumps(msg, ensure_ascii=False).encode(), msg["id"], label)


def _malformed(rng: random.Random, good: dict, key_field: str, text_field: str, i: int) -> Record:
    kind = i % 6
    key = str(good.get(key_field, "")).encode() or None
    if kind == 0:
        value = json.dumps(good)[:-7].encode()  # truncated JSON
    elif kind == 1:
        value = json.dumps({**good, "id": 12345}).encode()  # wrong type
    elif kind == 2:
        value = json.dumps({k: v for k, v in good.items() if k != text_field}).encode()  # missing field
    elif kind == 3:
        value = b'{"id": "bad-utf8", "text": "caf\xe9 \xff\xfe"}'  # invalid UTF-8
    elif kind == 4:
        value = json.dumps({**good, text_field: "spam " * 60_000}).encode()  # oversized
    else:
        value = json.dumps({**good, next(k for k in good if k.endswith("_at")): "2026-11-02T10:00:00"}).encode()
    return Record(key, value, None)


def news_stream(n: int = 2000, seed: int = 1, malformed: float = 0.05, hours: float = 8.0,
                incident: bool = True) -> list[Record]:  # fmt: skip
    """n records in event-time order (with a little lateness), an incident about 70% of the way in."""
    rng = random.Random(seed)
    samples = _read("news_sentiment.csv")
    n_incident = max(24, n // 25) if incident else 0
    n_bad = int(n * malformed)
    span = timedelta(hours=hours)
    msgs: list[tuple[datetime, Record]] = []
    every = timedelta(minutes=45)
    k = 0
    for tick, name in CHATTER_COMPANIES:
        t = START + every * rng.random()
        while t < START + span and k < n // 10:
            msg = {"id": f"news-{seed}-c{k:05d}", "source": rng.choice(SOURCES), "published_at": _iso(t),
                   "headline": rng.choice(CHATTER).format(t=tick, name=name)}  # fmt: skip
            msgs.append((t, _valid(msg["source"], msg, "neutral")))
            t += every * rng.uniform(0.6, 1.4)
            k += 1
    n_bg = n - n_incident - n_bad - len(msgs)
    times = sorted(START + span * rng.random() for _ in range(n_bg))
    for i, t in enumerate(times):
        text, label = rng.choice(samples)
        src = rng.choice(SOURCES)
        msg = {"id": f"news-{seed}-{i:06d}", "source": src, "published_at": _iso(t), "headline": text[:1000],
               "lang": "en"}  # fmt: skip
        msgs.append((t, _valid(src, msg, label)))
    t0 = START + span * 0.7
    tick, name = INCIDENT_COMPANY
    for j in range(n_incident):
        t = t0 + timedelta(minutes=25) * (j / max(1, n_incident))
        text = rng.choice(INCIDENT_HEADLINES).format(t=tick, name=name)
        src = rng.choice(SOURCES)
        msg = {"id": f"news-{seed}-inc{j:05d}", "source": src, "published_at": _iso(t), "headline": text,
               "tickers": [tick]}  # fmt: skip
        msgs.append((t, _valid(src, msg, "negative")))
    msgs.sort(key=lambda m: m[0])
    # Up to 3 minutes of producer-side reordering: late events the windows must still place correctly.
    for _ in range(len(msgs) // 50):
        a = rng.randrange(len(msgs) - 1)
        b = min(len(msgs) - 1, a + rng.randint(1, 5))
        msgs[a], msgs[b] = msgs[b], msgs[a]
    out = [r for _, r in msgs]
    valid = list(out)
    for i in range(n_bad):
        good = json.loads(rng.choice(valid).value)
        out.insert(rng.randrange(len(out) + 1), _malformed(rng, {**good, "id": f"bad-{i}"}, "source", "headline", i))
    return out


def chat_stream(n: int = 2000, seed: int = 2, malformed: float = 0.05, hours: float = 8.0,
                incident: bool = True, customers: int = 200) -> list[Record]:  # fmt: skip
    """Conversations of 1-4 messages; an incident of card_not_working reports about 60% of the way in."""
    rng = random.Random(seed)
    samples = [s for s in _read("chat_intent.csv") if s[1] != "oos" or rng.random() < 0.3]
    n_incident = max(30, n // 25) if incident else 0
    n_bad = int(n * malformed)
    n_bg = n - n_incident - n_bad
    span = timedelta(hours=hours)
    events: list[tuple[datetime, dict, str]] = []
    conv = 0
    while len(events) < n_bg:
        conv += 1
        cust = f"cust-{rng.randint(1, customers):04d}"
        t = START + span * rng.random()
        text, intent = rng.choice(samples)
        turns = rng.choice([1, 1, 2, 2, 3, 4])
        for k in range(min(turns, n_bg - len(events))):
            body, label = (text, intent) if k == 0 else (rng.choice(FOLLOW_UPS), intent)
            if rng.random() < 0.12:
                body += rng.choice(PII).format(first=rng.choice(FIRST), last=rng.choice(LAST), n=rng.randrange(1000))
            events.append((t, {"conversation_id": f"conv-{seed}-{conv:05d}", "customer_id": cust,
                               "channel": rng.choice(CHANNELS), "text": body[:4000]}, label))  # fmt: skip
            t += timedelta(minutes=rng.uniform(1, 20))
    t0 = START + span * 0.6
    for j in range(n_incident):
        conv += 1
        t = t0 + timedelta(minutes=20) * (j / max(1, n_incident))
        events.append((t, {"conversation_id": f"conv-{seed}-{conv:05d}",
                           "customer_id": f"cust-{rng.randint(1, customers):04d}", "channel": rng.choice(CHANNELS),
                           "text": rng.choice(INCIDENT_CHAT)}, INCIDENT_INTENT))  # fmt: skip
    events.sort(key=lambda e: e[0])
    out = []
    for i, (t, msg, label) in enumerate(events):
        full = {"id": f"chat-{seed}-{i:06d}", **msg, "sent_at": _iso(t)}
        out.append(_valid(full["conversation_id"], full, label))
    valid = list(out)
    for i in range(n_bad):
        good = json.loads(rng.choice(valid).value)
        bad = {**good, "id": f"bad-{i}"}
        out.insert(rng.randrange(len(out) + 1), _malformed(rng, bad, "conversation_id", "text", i))
    return out


def write_jsonl(records: list[Record], path: Path) -> None:
    """One record per line, as the raw bytes a producer would send (malformed ones included)."""
    with path.open("wb") as f:
        for r in records:
            f.write(r.value.replace(b"\n", b" ") + b"\n")
