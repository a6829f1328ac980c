"""Corrected labels from the `feedback` topic, turned into `text,label` CSVs that `train --data` reads.

A correction names a message id, a task and the right label. Its text is the one the model classified, taken
from the output topic (news.enriched's masked headline, chat.routed's masked text): training data then holds
no personal data and matches what serving sees. The latest correction of an (id, task) wins (the topic is keyed
by id, so an id's corrections keep their order), so a correction can itself be corrected and a redelivered one
changes nothing. Corrections that cannot be used are counted by
reason, never dropped silently: not a valid Feedback record, a task no worker serves, a label the served
bundle does not know, or an id whose output is no longer in the topic (retention).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import ValidationError

import workers
from lepton_stream.config import Settings
from lepton_stream.contracts import Feedback
from lepton_stream.kafka.backend import read_to_end


@dataclass(frozen=True)
class Source:
    topic: str
    text_field: str
    prediction_field: str


def sources(s: Settings) -> dict[str, Source]:
    """Where each served task's classified text and prediction live: each registered kind's own output topic
    (the first it writes), its output's text field and each task's prediction field."""
    return {task: Source(k.output_topics(s)[0], k.output_text, field)
            for k in workers.kinds() for task, field in k.predictions.items()}  # fmt: skip


def export(s: Settings, out: Path, labels: dict[str, list[str]] | None = None, timeout_s: float = 120.0, *,
           by_task: dict[str, Source]) -> dict:  # fmt: skip
    """Write out/<task>.csv for every task with usable corrections; return what was read, written and skipped.

    `labels` (task -> label names, e.g. from the served bundles) rejects labels a task does not have;
    `by_task` says where each task's outputs are (`sources`: the registered kinds')."""
    skipped: Counter[str] = Counter()
    wanted: dict[tuple[str, str], str] = {}  # (task, id) -> label; later records overwrite earlier ones
    read = 0
    for rec in read_to_end(s, s.topic_feedback, timeout_s):
        read += 1
        try:
            fb = Feedback.model_validate_json(rec.value or b"")
        except ValidationError:
            skipped["invalid"] += 1
            continue
        if fb.task not in by_task:
            skipped["unknown_task"] += 1
        elif labels is not None and fb.task in labels and fb.label not in labels[fb.task]:
            skipped["unknown_label"] += 1
        else:
            wanted[(fb.task, fb.id)] = fb.label

    rows: dict[str, list[tuple[str, str]]] = {}
    changed: Counter[str] = Counter()  # corrections that differ from what the model answered
    for topic in sorted({by_task[task].topic for task, _ in wanted}):
        tasks = [t for t, src in by_task.items() if src.topic == topic]
        found: dict[str, dict] = {}
        for rec in read_to_end(s, topic, timeout_s):
            if not rec.value:
                continue
            doc = orjson.loads(rec.value)
            if any((t, doc.get("id")) in wanted for t in tasks):
                found[doc["id"]] = doc  # redeliveries of an output are identical; keep one
        for (task, id_), label in sorted(wanted.items()):
            if task not in tasks:
                continue
            doc = found.get(id_)
            if doc is None:
                skipped["no_output"] += 1
                continue
            src = by_task[task]
            rows.setdefault(task, []).append((doc[src.text_field], label))
            changed[task] += doc[src.prediction_field]["label"] != label

    out.mkdir(parents=True, exist_ok=True)
    for task, task_rows in rows.items():
        with (out / f"{task}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["text", "label"])
            w.writerows(task_rows)
    return {
        "feedback_records": read,
        "written": {t: {"file": str(out / f"{t}.csv"), "rows": len(r), "model_was_wrong": changed[t]}
                    for t, r in sorted(rows.items())},
        "skipped": dict(sorted(skipped.items())),
    }
