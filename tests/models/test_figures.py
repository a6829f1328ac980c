"""Number-aware reading: figure comparisons give +1 (better), -1 (worse) or 0, by direction and quantity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lepton_stream.models.figures import MARKERS, annotate, direction, prior_scores

BETTER = [
    # good quantity up, in words and in figures
    "Operating profit rose to EUR 9.2 mn from EUR 6.1 mn.",
    "Net sales increased to $812 million from $640 million a year earlier.",
    "Revenue grew 14% year on year to SEK 3.3 billion.",
    "Group EBITDA climbed to GBP 51.0m from GBP 44.2m.",
    "Quarterly turnover jumped 22%.",
    "Order intake was up 9% at EUR 140 mn.",
    "Comparable sales were up 3.1% in the period.",
    "Revenue was up $3.1 million from the prior year.",
    "Earnings per share rose from EUR 0.21 to EUR 0.35.",
    "The operating margin improved to 11.0% from 9.4%.",
    "Gross margin widened to 38.2% from 36.0%.",
    "The dividend is EUR 0.70 per share, up from EUR 0.55.",
    "The company raised its full-year sales guidance.",
    "The miner lifted its 2027 production target.",
    "Backlog reached a record EUR 1.6 billion.",
    # figures against expectations
    "EPS $3.93 vs $3.42 expected.",
    "Adjusted EPS of $1.12 compared with expectations of 94 cents.",
    "Quarterly revenue of $2.31 billion topped estimates of $2.20 billion.",
    "Net profit beat the consensus forecast.",
    "Sales came in well above expectations.",
    # figures in brackets (the previous year's)
    "Order intake EUR 78.2 mn (EUR 64.0 mn).",
    "Earnings per share EUR 1.04 (0.88).",
    # bad quantity down
    "The pre-tax loss narrowed to EUR 2.1 mn from EUR 5.4 mn.",
    "Net loss was EUR 4.0 mn (EUR 6.6 mn).",
    "Costs fell to EUR 22.4 mn from EUR 26.8 mn.",
    "The company cut its net debt by EUR 120 mn.",
    "Costs were 4% below last year's level.",
    "Loan losses decreased to SEK 310 million from SEK 590 million.",
    "Impairment charges dropped sharply.",
    "The operating loss was reduced to EUR 0.8 mn, compared with EUR 3.6 mn a year earlier.",
    # swings
    "The group swung to a net profit of EUR 2.7 mn from a net loss of EUR 1.9 mn.",
    "The company turned a profit of EUR 1.5 mn in the first quarter, after a loss of EUR 0.7 mn a year ago.",
    # ratings and evaluative words
    "The agency upgraded the bank to A- from BBB+.",
    "The analyst raised the price target to $74.",
    "Operating cash flow strengthened markedly.",
    # two clauses, one way
    "Sales rose to EUR 148.7 mn from EUR 131.2 mn, while operating profit rose to EUR 11.6 mn from EUR 8.4 mn.",
    "The company added 142,000 mobile subscribers in the quarter.",
]

WORSE = [
    "Operating profit decreased to EUR 4.6 mn from EUR 7.9 mn.",
    "Pre-tax profit fell to GBP 18.7 million from GBP 26.5 million.",
    "Net sales declined by 9.4% to EUR 73.8 mn.",
    "Revenue dropped 14% to $388 million.",
    "Turnover decreased 3.5 percent to SEK 1.2 bn.",
    "Comparable store sales fell 3.8% in the third quarter.",
    "EBIT came in at EUR 5.2m versus EUR 6.0m a year ago.",
    "Earnings per share were EUR 0.12 (EUR 0.34).",
    "Third-quarter EPS of $1.02 fell short of the $1.18 analysts had expected.",
    "Adjusted EPS of 87 cents compared with the consensus of $0.92.",
    "Quarterly sales of $2.02 billion missed the consensus estimate of $2.16 billion.",
    "Gross margin narrowed to 31.5% from 35.2%.",
    "The operating margin shrank to 5.1% from 8.9%.",
    "Sales growth slowed to 2.1% from 7.5%.",
    "The company lowered its 2026 sales forecast.",
    "The board cut the dividend to EUR 0.20 from EUR 0.45 per share.",
    "The company lost 58,000 broadband customers during the quarter.",
    "Operating cash flow was EUR -14.5 mn, compared with EUR 9.2 mn a year earlier.",
    # bad quantity up
    "The net loss widened to EUR 12.8 mn from EUR 6.3 mn.",
    "Raw material costs rose to EUR 55 mn from EUR 48 mn.",
    "Net debt increased to EUR 640 mn from EUR 480 mn.",
    "Interest expenses climbed to EUR 6.1 mn from EUR 3.9 mn.",
    "Operating costs were above plan.",
    # swings, negations, evaluative words
    "The company swung to an operating loss of EUR 3.2 mn from a profit of EUR 1.4 mn.",
    "The net loss totalled EUR 7.6 mn, compared with a net profit of EUR 2.3 mn a year earlier.",
    "The company does not expect sales to increase next year.",
    "Operating profit did not reach the level of the previous year.",
    "Operating profit for 2026 will be below last year's level.",
    "Profit before taxes was lower than a year ago.",
    "Moody's downgraded the company to Ba2 from Ba1.",
    "Higher deposit costs will squeeze the net interest margin.",
]

NONE = [
    # no comparison at all
    "The company has 1,200 employees.",
    "The annual general meeting will be held on 14 April 2026.",
    "Net sales for the period totalled EUR 212.4 mn.",
    "The company's shares closed at EUR 7.42 on Friday.",
    "The transaction is expected to close in the second quarter of 2026.",
    "The chief executive will step down at the end of the year.",
    "The contract could be worth up to EUR 200 mn over six years.",
    "The listing will move from the First North market to the main market in 2027.",
    # equal or nearly equal figures
    "Net sales were EUR 45 mn compared to EUR 45 mn a year earlier.",
    "Operating profit totalled EUR 12.0 mn, compared with EUR 11.9 mn a year earlier.",
    "Sales volume was 312,000 tonnes, compared with 311,000 tonnes.",
    # quantities that are neither good nor bad
    "The share capital increased to EUR 5,412,300 from EUR 5,100,000.",
    "The share capital was increased from EUR 2,100,000 to EUR 2,350,000.",
    "The number of employees increased to 1,320 from 1,210.",
    "Headcount rose to 2,300 from 2,050.",
    "The board was increased from five to seven members.",
    "The number of shares rose to 52,630,100.",
    # a comparison whose directions disagree
    "Sales fell 2% but operating profit rose 15%.",
    "",
]


@pytest.mark.parametrize("text", BETTER)
def test_better(text: str) -> None:
    assert direction(text) == 1


@pytest.mark.parametrize("text", WORSE)
def test_worse(text: str) -> None:
    assert direction(text) == -1


@pytest.mark.parametrize("text", NONE)
def test_none(text: str) -> None:
    assert direction(text) == 0


def test_numbers_decide_over_the_verb() -> None:
    # the figures, not the wording, say which way a compared quantity moved
    assert direction("Operating profit was EUR 9.0 mn, against EUR 7.0 mn a year ago.") == 1
    assert direction("Operating profit was EUR 7.0 mn, against EUR 9.0 mn a year ago.") == -1
    assert direction("Net loss was EUR 9.0 mn, against EUR 7.0 mn a year ago.") == -1
    # scales and currencies: 1.05 billion > 980 million; 94 cents < $1.12
    assert direction("Revenue was EUR 1.05 billion, compared with EUR 980 million.") == 1
    assert direction("EPS was 94 cents, compared with $1.12 a year earlier.") == -1


def test_annotate_and_markers() -> None:
    assert annotate("Operating profit rose to EUR 9.2 mn from EUR 6.1 mn.").endswith(MARKERS[1])
    assert annotate("Net loss widened to EUR 9 mn from EUR 3 mn.").endswith(MARKERS[-1])
    assert annotate("The company has 1,200 employees.") == "The company has 1,200 employees."


def test_the_prior_moves_only_signalled_rows() -> None:
    even = {"negative": 1 / 3, "neutral": 1 / 3, "positive": 1 / 3}
    logits = [[math.log(v) for v in prior_scores(even, s, 2.0).values()] for s in (1, -1, 0)]
    # strength 2 added to the favoured label's logit, relative to the others'
    assert np.allclose(np.array(logits) - np.array(logits)[:, 1:2], [[0, 0, 2], [2, 0, 0], [0, 0, 0]])
    assert even == {"negative": 1 / 3, "neutral": 1 / 3, "positive": 1 / 3}  # a copy
    assert prior_scores({"a": 0.5, "b": 0.5}, 1, 2.0) == {"a": 0.5, "b": 0.5}  # no positive/negative labels


def test_long_hostile_text_reads_no_direction() -> None:
    # the worker runs direction() on every news text: a long run of figures and cue words must return (no
    # catastrophic backtracking in the patterns) and, its figures all equal, read no direction
    hostile = " ".join(["profit", "EUR", "1.0", "mn", "from"] * 2000) + " " + "9" * 5000
    assert direction(hostile) == 0
    assert direction("9" * 20000) == 0
