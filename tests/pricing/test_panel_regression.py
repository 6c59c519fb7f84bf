"""estimate_elasticity agrees with statsmodels on the same specification, to four decimals."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from django.core.management import call_command
from django.core.management.base import CommandError

from pricing.ml.panel_regression import PanelSpecError, estimate_elasticity


@pytest.fixture
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for unit in range(40):
        appeal = rng.normal()
        base_price = np.exp(3 + 0.5 * appeal + rng.normal(0, 0.2))  # better units charge more
        for period in range(12):
            price = base_price * np.exp(rng.normal(0, 0.15))
            promo = float(rng.random() < 0.2)
            q = np.exp(2 + appeal + 0.05 * period - 1.3 * np.log(price) + 0.2 * promo + rng.normal(0, 0.1))
            rows.append(
                {
                    "unit": f"u{unit}",
                    "week": period,
                    "price": price,
                    "qty": q,
                    "promo": promo,
                    "count": rng.poisson(np.exp(1 + appeal - 1.3 * np.log(price / base_price))),
                }
            )
    return pd.DataFrame(rows)


def statsmodels_fe(panel: pd.DataFrame, *, cluster: bool = False):
    X = pd.concat(
        [
            np.log(panel["price"]).rename("log_price"),
            panel["promo"],
            pd.get_dummies(panel["unit"], drop_first=True, dtype=float),
            pd.get_dummies(panel["week"].astype(str), prefix="w", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    model = sm.OLS(np.log(panel["qty"]), sm.add_constant(X))
    if cluster:
        groups = pd.factorize(panel["unit"])[0]
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    return model.fit()


def test_two_way_fixed_effects_match_statsmodels_to_four_decimals(panel):
    ours = estimate_elasticity(
        panel, unit="unit", period="week", price="price", quantity="qty", controls=["promo"]
    )
    theirs = statsmodels_fe(panel)
    assert ours.elasticity == pytest.approx(theirs.params["log_price"], abs=1e-4)
    assert ours.std_error == pytest.approx(theirs.bse["log_price"], abs=1e-4)
    assert ours.ci_low == pytest.approx(theirs.conf_int().loc["log_price", 0], abs=1e-4)
    assert ours.coefficients["promo"] == pytest.approx(theirs.params["promo"], abs=1e-4)
    assert ours.df_resid == int(theirs.df_resid)
    assert ours.r2 == pytest.approx(theirs.rsquared, abs=1e-4)
    assert ours.elasticity == pytest.approx(-1.3, abs=0.05)


def test_clustered_standard_errors_match_statsmodels(panel):
    ours = estimate_elasticity(
        panel,
        unit="unit",
        period="week",
        price="price",
        quantity="qty",
        controls=["promo"],
        covariance="cluster",
    )
    theirs = statsmodels_fe(panel, cluster=True)
    assert ours.std_error == pytest.approx(theirs.bse["log_price"], abs=1e-4)


def test_without_fixed_effects_the_pooled_regression_is_confounded(panel):
    pooled = estimate_elasticity(
        panel, unit="unit", period="week", price="price", quantity="qty", fixed_effects=[]
    )
    X = sm.add_constant(np.log(panel["price"]).rename("log_price"))
    theirs = sm.OLS(np.log(panel["qty"]), X).fit()
    assert pooled.elasticity == pytest.approx(theirs.params["log_price"], abs=1e-4)
    assert pooled.elasticity > -1.0  # better units charge more: the naive slope is biased toward zero


def test_poisson_with_unit_effects_matches_statsmodels_glm(panel):
    ours = estimate_elasticity(
        panel,
        unit="unit",
        period="week",
        price="price",
        quantity="count",
        model="poisson",
        fixed_effects=["unit"],
    )
    X = pd.concat(
        [np.log(panel["price"]).rename("log_price"), pd.get_dummies(panel["unit"], dtype=float)], axis=1
    )
    theirs = sm.GLM(panel["count"], X, family=sm.families.Poisson()).fit()
    assert ours.elasticity == pytest.approx(theirs.params["log_price"], abs=1e-4)


def test_command_prints_the_estimate_and_json(panel, tmp_path):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    out = io.StringIO()
    call_command(
        "estimate_elasticity",
        "--csv",
        str(path),
        "--unit",
        "unit",
        "--period",
        "week",
        "--price",
        "price",
        "--quantity",
        "qty",
        "--controls",
        "promo",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["elasticity"] == pytest.approx(statsmodels_fe(panel).params["log_price"], abs=1e-4)
    text = io.StringIO()
    call_command(
        "estimate_elasticity",
        "--csv",
        str(path),
        "--unit",
        "unit",
        "--period",
        "week",
        "--price",
        "price",
        "--quantity",
        "qty",
        stdout=text,
    )
    assert "95% interval" in text.getvalue()


def test_unknown_column_is_a_clear_error(panel, tmp_path):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    with pytest.raises(CommandError, match="Columns not in the file: cost"):
        call_command(
            "estimate_elasticity",
            "--csv",
            str(path),
            "--unit",
            "unit",
            "--period",
            "week",
            "--price",
            "cost",
            "--quantity",
            "qty",
        )
    with pytest.raises(PanelSpecError, match="fixed-effects"):
        estimate_elasticity(
            panel, unit="unit", period="week", price="price", quantity="qty", fixed_effects=["x"]
        )
