"""Routing rules over predictions, text, customer tier and conversation state (pure logic, shipped file)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lepton_stream.contracts import ChatRouted, IntentPrediction, Prediction
from lepton_stream.routing import ConversationState, Router, RoutingDecision


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


def intent(label: str, confidence: float = 0.9, oos: bool = False) -> IntentPrediction:
    return IntentPrediction(label=label, confidence=confidence, scores={label: confidence}, out_of_scope=oos)


def senti(label: str = "neutral", confidence: float = 0.9) -> Prediction:
    return Prediction(label=label, confidence=confidence, scores={label: confidence})


def conv(sentiments: list[str], intents: list[str] | None = None) -> ConversationState:
    """A conversation whose messages had these sentiments (the last one is the current message)."""
    intents = intents or ["card_arrival"] * len(sentiments)
    streak = 0
    for s in sentiments:
        streak = streak + 1 if s == "negative" else 0
    return ConversationState(
        conversation_id="c1",
        message_count=len(sentiments),
        negative_count=sentiments.count("negative"),
        negative_streak=streak,
        last_intents=tuple(intents),
        last_sentiments=tuple(sentiments),
    )


def decide(router: Router, label: str = "card_arrival", sentiment: str = "neutral", text: str = "hello",
           customer: dict | None = None, history: list[str] | None = None, intents: list[str] | None = None,
           **kw) -> RoutingDecision:
    history = history or [sentiment]
    return router.decide(intent(label, **kw), senti(sentiment), text, customer, conv(history, intents))


def test_plain_message_goes_to_its_queue_at_base_priority(router: Router) -> None:
    d = decide(router, "card_arrival")
    assert (d.queue, d.priority, d.escalate) == ("cards", 3, False)
    assert d.urgency.label == "normal" and d.urgency.score == pytest.approx(0.5)
    assert d.reasons == ["intent card_arrival -> cards"]


@pytest.mark.parametrize("kw", [{"oos": True}, {"confidence": 0.2}])
def test_out_of_scope_or_unsure_intent_goes_to_triage(router: Router, kw: dict) -> None:
    d = router.decide(intent("lost_or_stolen_card", **kw), senti(), "hi", None, conv(["neutral"]))
    assert d.queue == "triage"
    # An untrusted intent label must not bring its urgent priority along.
    assert d.priority == 3 and not d.escalate
    assert "triage" in d.reasons[0]


def test_oos_label_goes_to_triage(router: Router) -> None:
    assert decide(router, "oos").queue == "triage"


def test_unknown_intent_goes_to_default_queue_with_reason(router: Router) -> None:
    d = decide(router, "crypto_staking")
    assert d.queue == "triage"
    assert "not in routing file" in d.reasons[0]


def test_urgent_intent_is_critical(router: Router) -> None:
    d = decide(router, "lost_or_stolen_card")
    assert (d.queue, d.priority, d.urgency.label) == ("fraud", 1, "critical")
    assert "urgent intent lost_or_stolen_card" in d.reasons
    assert not d.escalate


def test_urgent_intent_from_an_angry_customer_escalates(router: Router) -> None:
    d = decide(router, "compromised_card", "negative")
    assert d.priority == 1 and d.escalate
    assert any(r.startswith("escalated") for r in d.reasons)


def test_negative_sentiment_raises_priority(router: Router) -> None:
    calm, angry = decide(router, "card_arrival"), decide(router, "card_arrival", "negative")
    assert angry.priority == calm.priority - 1
    assert angry.urgency.score > calm.urgency.score
    assert any("negative sentiment" in r for r in angry.reasons)


def test_low_confidence_negative_is_ignored(router: Router) -> None:
    d = router.decide(intent("card_arrival"), senti("negative", 0.4), "x", None, conv(["neutral"]))
    assert d.priority == 3


def test_two_negatives_in_a_row_raise_more_and_three_escalate(router: Router) -> None:
    one = decide(router, "card_arrival", "negative", history=["neutral", "negative"])
    two = decide(router, "card_arrival", "negative", history=["neutral", "negative", "negative"])
    three = decide(router, "card_arrival", "negative", history=["negative", "negative", "negative"])
    assert one.priority == 2 and two.priority == 1
    assert "2 negative messages in a row" in two.reasons
    assert not one.escalate and not two.escalate
    assert three.escalate and "escalated: 3 negative messages in a row" in three.reasons


def test_downward_trend_counts_as_worsening(router: Router) -> None:
    d = decide(router, "card_arrival", "neutral", history=["positive", "positive", "neutral", "neutral"])
    assert "sentiment worsening over the conversation" in d.reasons
    assert d.priority == 2
    steady = decide(router, "card_arrival", "neutral", history=["neutral", "neutral", "neutral"])
    assert steady.priority == 3


def test_premium_customer_raises_priority_gold_only_urgency(router: Router) -> None:
    std = decide(router, customer={"tier": "standard", "products": ["card"]})
    premium = decide(router, customer={"tier": "premium"})
    gold = decide(router, customer={"tier": "gold"})
    assert std.priority == 3 and premium.priority == 2 and "premium customer" in premium.reasons
    assert gold.priority == 3 and gold.urgency.score > std.urgency.score


def test_keywords_are_a_light_signal(router: Router) -> None:
    plain = decide(router, "card_arrival", text="where is my card")
    words = decide(router, "card_arrival", text="Someone HACKED my account, need it fixed immediately")
    assert words.priority == plain.priority  # alone they do not move the priority ...
    assert words.urgency.score > plain.urgency.score  # ... but they do count
    assert "urgency words: hacked, immediately" in words.reasons
    both = decide(router, "card_arrival", "negative", text="this is a scam", customer={"tier": "gold"})
    assert both.priority == 1  # half bumps add up: 3 - 1 - 0.5 - 0.5


def test_keywords_match_word_starts_only(router: Router) -> None:
    assert decide(router, text="unauthorised payment").urgency.score > 0.5
    assert decide(router, text="defraudation stolenish").reasons == decide(router).reasons + [
        "urgency words: stolen"
    ]


def test_repeated_contact_and_same_intent_raise_priority(router: Router) -> None:
    long = decide(router, "exchange_rate", history=["neutral"] * 5, intents=["card_arrival"] * 4 + ["exchange_rate"])
    assert long.priority == 3 and "5 messages in this conversation" in long.reasons
    again = decide(router, "exchange_rate", history=["neutral"] * 2, intents=["exchange_rate"] * 2)
    assert "intent exchange_rate seen 2 times in this conversation" in again.reasons
    stuck = decide(router, "exchange_rate", history=["neutral"] * 4, intents=["exchange_rate"] * 4)
    assert stuck.escalate


def test_priority_stays_in_range_and_fits_the_contract(router: Router) -> None:
    worst = decide(router, "lost_or_stolen_card", "negative", text="stolen! urgent!", customer={"tier": "premium"},
                   history=["negative"] * 6, intents=["lost_or_stolen_card"] * 6)
    best = decide(router, "age_limit", "positive")
    assert worst.priority == 1 and worst.urgency.score == 1.0 and worst.escalate
    assert best.priority == 5 and best.urgency.label == "low" and best.urgency.score == 0.0
    for d in (worst, best):
        routed = ChatRouted(
            id="m1", conversation_id="c1", customer_id="u1", sent_at=datetime.now(UTC), text="x",
            model_version="v1", intent=intent("age_limit"), sentiment=senti(), urgency=d.urgency,
            queue=d.queue, priority=d.priority, escalate=d.escalate, reasons=d.reasons,
        )
        assert routed.priority == d.priority


def test_decisions_are_deterministic(router: Router) -> None:
    a = decide(router, "card_not_working", "negative", text="urgent", history=["neutral", "negative"])
    b = decide(router, "card_not_working", "negative", text="urgent", history=["neutral", "negative"])
    assert a == b


def test_follow_up_without_a_clear_intent_stays_with_the_conversation(router: Router) -> None:
    first = decide(router, "lost_or_stolen_card")
    d = router.decide(intent("oos", 0.3, oos=True), senti("negative"), "Still waiting, this is ridiculous",
                      None, conv(["neutral", "negative"], ["lost_or_stolen_card", "oos"]))  # fmt: skip
    assert d.queue == first.queue != router.rules.spec.routing.triage_queue
    assert any("follow-up" in r for r in d.reasons)
    # A conversation that never had a clear intent still goes to triage.
    history = conv(["neutral", "neutral"], ["oos", "oos"])
    lone = router.decide(intent("oos", 0.3, oos=True), senti(), "hi", None, history)
    assert lone.queue == router.rules.spec.routing.triage_queue
    assert router.trusts(intent("card_arrival", 0.9)) and not router.trusts(intent("card_arrival", 0.1))
