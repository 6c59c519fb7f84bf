"""The one elastic/inelastic rule and how confident the advice is, on hand-made optimiser rows."""

import pytest

from pricing.ml.confidence import AdviceJudgement, judge_advice
from pricing.ml.elasticity import DEMAND_TYPES, demand_type


@pytest.mark.parametrize(
    ("elasticity", "expected"),
    [(-2.5, "Elastic"), (-1.01, "Elastic"), (-1.0, "Inelastic"), (-0.3, "Inelastic")],
)
def test_demand_is_elastic_below_minus_one(elasticity, expected):
    assert demand_type(elasticity) == expected
    assert expected in DEMAND_TYPES


def figures(**changes) -> dict:
    row = {
        "current_price": 100.0,
        "elasticity_current": -1.8,
        "revenue_change_pct": 6.0,
        "revenue_change_pct_low": 2.0,
        "revenue_change_pct_high": 9.0,
    }
    return {**row, **changes}


def judge(price: float, *, enrollments: float = 100, cautious: bool = True, **changes) -> AdviceJudgement:
    return judge_advice(
        figures=figures(**changes),
        price=price,
        enrollments_to_date=enrollments,
        min_enrollments_for_advice=20,
        cautious=cautious,
    )


def test_a_course_with_too_little_history_keeps_its_price_with_low_confidence():
    judgement = judge(90, enrollments=5)
    assert judgement == (judgement.confidence, judgement.reason, 100.0)
    assert judgement.confidence == "low" and "Too little history" in judgement.reason


def test_a_move_the_model_cannot_tell_from_keeping_the_price_is_not_advised():
    judgement = judge(90, revenue_change_pct_low=-3.0)
    assert (judgement.confidence, judgement.price) == ("low", 100.0)
    assert "cannot tell a move to 90 tokens" in judgement.reason


def test_without_caution_the_move_is_advised_whatever_the_history():
    judgement = judge(90, enrollments=5, revenue_change_pct_low=-3.0, cautious=False)
    assert judgement.price == 90 and judgement.confidence == "medium"


def test_a_narrow_interval_is_high_confidence_and_the_reason_names_the_demand_type():
    judgement = judge(90)
    assert (judgement.confidence, judgement.price) == ("high", 90)
    assert judgement.reason.startswith(
        "Demand is elastic at 100 tokens (elasticity -1.80). Lower the price 10%"
    )


def test_a_wide_interval_is_medium_confidence():
    assert judge(110, elasticity_current=-0.5, revenue_change_pct_high=20.0).confidence == "medium"


def test_keeping_the_best_price_says_so():
    judgement = judge(100, elasticity_current=-0.6)
    assert judgement.confidence == "high"
    assert "already the best price" in judgement.reason and "inelastic" in judgement.reason


@pytest.mark.parametrize(("enrollments", "said"), [(1, "(1 enrollment so far"), (5, "(5 enrollments so far")])
def test_too_little_history_counts_enrollments_in_words(enrollments, said):
    assert said in judge(90, enrollments=enrollments).reason
