import numpy as np
import pandas as pd

from pricing.ml.optimizer import Guardrails, optimise_prices


class ConstantElasticity:
    """Demand with elasticity -0.5 everywhere: revenue rises with price without limit."""

    def predict_weekly(self, rows: pd.DataFrame, prices) -> np.ndarray:
        return 10 * (np.asarray(prices, dtype=float) / 100) ** -0.5

    def elasticity(self, rows: pd.DataFrame, prices) -> np.ndarray:
        return np.full(len(np.atleast_1d(prices)), -0.5)


def rows(**extra) -> pd.DataFrame:
    return pd.DataFrame({"course_id": [1], "price": [100.0], **extra})


def test_without_support_an_inelastic_curve_goes_to_the_platform_maximum():
    result = optimise_prices(ConstantElasticity(), rows(), guardrails=Guardrails(10, 500, None))
    assert result["recommended_price"].iloc[0] == 500


def test_recommendations_stay_within_1_5x_of_the_prices_a_course_has_had():
    result = optimise_prices(
        ConstantElasticity(),
        rows(observed_min_price=[80.0], observed_max_price=[120.0]),
        guardrails=Guardrails(10, 500, None),
    )
    assert result["recommended_price"].iloc[0] == 180
    assert result["upper_bound"].iloc[0] == 180


def test_guardrails_limit_the_step_and_respect_the_floor():
    result = optimise_prices(
        ConstantElasticity(), rows(), guardrails=Guardrails(10, 500, 20.0), floors=np.array([110.0])
    )
    assert 110 <= result["recommended_price"].iloc[0] <= 120
