"""Full-recipe training data built from the shared labelled datasets (see /work/shared/data/README.md).

news-sentiment trains on twitter_fin_news/train.csv as is. The chat bundle needs assembling:
- chat-intent: BANKING77 train plus an `oos` class made of CLINC150's out-of-scope train queries and
  its in-scope queries from non-banking intents (banking-like CLINC intents are left out: they are in
  scope for a bank). The validation file is built the same way from CLINC150's val splits, so the
  reject threshold is calibrated on out-of-scope text the model never trained on.
- chat-sentiment: UCI Sentiment Labelled Sentences (amazon, imdb, yelp), split 80/20 with a fixed seed;
  the 20% is the held-out test file, never trained on.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.tooling.training.train import split_holdout

# CLINC intents that overlap banking support; they are not out of scope for a bank's chat.
CLINC_BANKING = {
    "transfer", "transactions", "balance", "freeze_account", "pay_bill", "bill_balance", "bill_due",
    "interest_rate", "routing", "min_payment", "order_checks", "pin_change", "report_fraud",
    "account_blocked", "spending_history", "credit_score", "report_lost_card", "credit_limit",
    "rewards_balance", "new_card", "application_status", "card_declined", "international_fees", "apr",
    "redeem_rewards", "credit_limit_change", "damaged_card", "replacement_card_duration",
    "expiration_date", "improve_credit_score", "exchange_rate",
}


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def _oos(rows: list[tuple[str, str]], per_intent: int, rng: random.Random) -> list[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    for t, lab in rows:
        if lab not in CLINC_BANKING:
            by.setdefault(lab, []).append(t)
    out = []
    for lab in sorted(by):
        out += [(t, OUT_OF_SCOPE) for t in rng.sample(by[lab], min(per_intent, len(by[lab])))]
    return out


def prepare_chat(shared: Path, out: Path, seed: int = 13, oos_per_intent: int = 15) -> dict[str, Path]:
    """Write the chat recipe's CSVs into `out`; returns their paths by role."""
    rng = random.Random(seed)
    clinc = shared / "clinc150"
    bank = read_rows(shared / "banking77" / "train.csv")
    b_tr, b_trl, b_va, b_val = split_holdout([t for t, _ in bank], [lab for _, lab in bank], 0.1, seed)
    intent_train = list(zip(b_tr, b_trl, strict=True)) + _oos(read_rows(clinc / "train.csv"), oos_per_intent, rng)
    intent_train += [(t, OUT_OF_SCOPE) for t, _ in read_rows(clinc / "oos_train.csv")]
    intent_valid = list(zip(b_va, b_val, strict=True)) + _oos(read_rows(clinc / "val.csv"), 3, rng)
    intent_valid += [(t, OUT_OF_SCOPE) for t, _ in read_rows(clinc / "oos_val.csv")]
    rng.shuffle(intent_train)
    uci = []
    for part in ("amazon", "imdb", "yelp"):
        uci += read_rows(shared / "uci_sentences" / f"{part}.csv")
    s_tr, s_trl, s_te, s_tel = split_holdout([t for t, _ in uci], [lab for _, lab in uci], 0.2, seed)
    return {
        "chat_intent_train": write_rows(out / "chat_intent_train.csv", intent_train),
        "chat_intent_valid": write_rows(out / "chat_intent_valid.csv", intent_valid),
        "chat_sentiment_train": write_rows(out / "chat_sentiment_train.csv", list(zip(s_tr, s_trl, strict=True))),
        "chat_sentiment_test": write_rows(out / "chat_sentiment_test.csv", list(zip(s_te, s_tel, strict=True))),
    }
