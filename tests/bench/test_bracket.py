"""The bench's combined model-only figure lies between the two phases it joins (pure logic, no broker)."""

from __future__ import annotations

from lepton_stream.tooling.bench.pipeline import _bracket


def phase(messages: int, seconds: float) -> dict:
    # As `_model_only` reports a phase: seconds to the millisecond, the rate to a tenth.
    return {"messages": messages, "seconds": round(seconds, 3), "msgs_per_s": round(messages / seconds, 1)}


def test_the_joined_rate_stays_between_the_two_phases_rates() -> None:
    # Two phases at 224.17 msg/s: their seconds round down to 0.428, which alone would give 224.3 for both.
    before, after = phase(96, 0.42825), phase(96, 0.42825)
    joined = _bracket(before, after)
    assert joined["messages"] == 192 and joined["seconds"] == 0.856
    assert joined["msgs_per_s"] == 224.2
    slow, fast = phase(96, 0.96), phase(96, 0.32)  # 100 and 300 msg/s: the same messages, so 150 overall
    assert _bracket(slow, fast)["msgs_per_s"] == 150.0
    assert _bracket(phase(0, 0.001), phase(0, 0.001))["msgs_per_s"] == 0.0  # nothing measured
