"""The seven models learn the effect of price from within-course changes, not from confounding."""

import copy

import numpy as np
import pandas as pd
import pytest

from analytics.pipelines.demand import fit_family
from pricing.ml.demand import LEVEL_CAP, CourseEffects, add_model_columns, naive_cross_sectional_elasticities
from pricing.ml.evaluation import (
    PairedDeviances,
    category_elasticities,
    current_rows,
    holdout_metrics,
    select_model,
    tied_ranks,
)
from pricing.ml.panel import build_weekly_panel, time_split
from tests.pricing.synthetic import synthetic_tables


@pytest.fixture(scope="module")
def world():
    courses, changes, enrollments, truth, start, end = synthetic_tables(n_courses=450, weeks=52, seed=3)
    panel = build_weekly_panel(
        courses=courses, price_changes=changes, enrollments=enrollments, start=start, end=end
    )
    train, test = time_split(panel, holdout_weeks=6)
    models, seconds = fit_family(train)
    rows = current_rows(panel, courses.set_index("course_id")["price_tokens"])
    true_by_category = truth.groupby("category")["true_elasticity"].mean()
    return panel, train, test, models, rows, true_by_category


def test_every_model_gets_negative_elasticities_near_the_truth(world):
    _panel, _train, _test, models, rows, truth = world
    for name, model in models.items():
        estimate = category_elasticities(model, rows).set_index("category")["elasticity"]
        assert (estimate < 0).all(), name
        if name in ("random_forest", "gradient_boosting"):
            # Piecewise-constant trees flatten the curve: right sign, biased toward zero.
            assert (estimate > truth.reindex(estimate.index) - 0.3).all(), estimate.to_dict()
            continue
        # Synthetic world: elasticity grows with price, so constant-shape models land near the average.
        assert np.abs(estimate - truth.reindex(estimate.index)).max() < 0.5, (name, estimate.to_dict())


def test_naive_cross_section_falls_for_the_confounding(world):
    panel, *_rest, truth = world
    naive = pd.Series(naive_cross_sectional_elasticities(panel))
    assert (naive > truth.reindex(naive.index) + 0.5).all()


def test_linear_model_intervals_cover_and_are_ordered(world):
    _panel, _train, _test, models, rows, truth = world
    table = category_elasticities(models["linear"], rows)
    assert (table["lower"] < table["elasticity"]).all()
    assert (table["elasticity"] < table["upper"]).all()
    assert table["interval"].iloc[0].startswith("delta method")


def test_demand_curves_fall_with_price_and_metrics_are_finite(world):
    _panel, _train, test, models, rows, _truth = world
    for name, model in models.items():
        low = model.predict_weekly(rows, rows["price"].to_numpy() * 0.8)
        high = model.predict_weekly(rows, rows["price"].to_numpy() * 1.2)
        assert (high <= low + 1e-9).mean() > 0.95, name
        metrics = holdout_metrics(model, test)
        assert all(np.isfinite(v) for v in metrics.values()), name


def test_selection_rule_never_picks_a_model_with_a_positive_elasticity():
    good = {
        "category_elasticities": {"a": -1.0},
        "holdout": {"poisson_deviance": 1.0},
        "course_cv": {"poisson_deviance": 1.0},
    }
    wrong_sign = {
        "category_elasticities": {"a": 0.4},
        "holdout": {"poisson_deviance": 0.5},
        "course_cv": {"poisson_deviance": 0.5},
    }
    best, rule = select_model({"linear": good, "random_forest": wrong_sign})
    assert best == "linear"
    assert "negative elasticity" in rule
    with pytest.raises(ValueError):
        select_model({"random_forest": wrong_sign})


def test_ties_go_to_the_simpler_model():
    same = {
        "category_elasticities": {"a": -1.0},
        "holdout": {"poisson_deviance": 1.0},
        "course_cv": {"poisson_deviance": 1.0},
    }
    assert select_model({"gradient_boosting": same, "poly2": same})[0] == "poly2"


def test_semilog_elasticity_grows_in_proportion_to_price(world):
    *_rest, models, rows, _truth = world
    model = models["semilog"]
    at_price = model.elasticity(rows)
    higher = model.elasticity(rows, rows["price"].to_numpy() * 1.2)
    assert (at_price < 0).all()
    assert np.allclose(higher, 1.2 * at_price)


def test_semilog_fits_a_world_whose_demand_is_semilog_better_than_log_log(world):
    # The synthetic world's demand is exp(appeal - b price / ref): the semi-log form.
    *_rest, models, rows, truth = world
    errors = {}
    for name in ("semilog", "linear"):
        estimate = category_elasticities(models[name], rows).set_index("category")["elasticity"]
        errors[name] = (estimate - truth.reindex(estimate.index)).abs()
    assert errors["semilog"].max() < 0.25, errors["semilog"].to_dict()
    assert errors["semilog"].mean() < errors["linear"].mean()


def test_level_scale_is_bounded_for_courses_that_hardly_sell_and_for_the_biggest():
    # A log-level scale stretched courses with almost no sales without bound (z of -3 and
    # below), so a fitted gamma inflated their elasticities and the category averages with them.
    levels = {i: 1.0 for i in range(100)} | {100: 0.0, 101: 0.001, 102: 10.0, 103: 50.0}
    effects = CourseEffects(level=levels, categories=["a"], gamma=-0.1)
    frame = pd.DataFrame({"course_id": list(levels)})
    z = effects.level_z(frame)
    assert z.min() >= -1.0
    assert z.max() == LEVEL_CAP - 1
    assert z[100] == pytest.approx(-1.0)
    assert z[102] == z[103] == LEVEL_CAP - 1
    scale = effects.slope_scale(frame)
    assert scale.max() <= 1 + 0.1 + 1e-12
    assert scale.min() > 0


def test_elasticity_intervals_count_the_uncertainty_of_the_shared_gamma(world):
    *_rest, models, rows, _truth = world
    model = copy.deepcopy(models["semilog"])
    assert model.effects.gamma != 0
    frame = add_model_columns(rows, model.categories)
    gradient, covariance = model.elasticity_uncertainty(frame, frame["log_price"].to_numpy())
    assert gradient.shape[1] == len(model.coef_) + 1 == covariance.shape[0]
    before = model.elasticity(rows)
    model.effects.gamma += 1e-4
    numeric = (model.elasticity(rows) - before) / 1e-4
    assert np.allclose(gradient[:, -1], numeric, rtol=1e-3, atol=1e-6)
    assert covariance[-1, -1] > 0  # gamma is estimated, so it is uncertain too


def test_boosting_bootstrap_refits_keep_the_number_of_trees_early_stopping_chose(world):
    # On a bootstrap sample a course sits on both sides of the validation split, so early
    # stopping never stopped: refits grew 300 trees where the model had stopped at about 80.
    _panel, train, _test, models, *_rest = world
    model = models["gradient_boosting"]
    ids = train["course_id"].unique()
    chosen = np.random.default_rng(1).choice(ids, size=len(ids), replace=True)
    sample = train.set_index("course_id").loc[chosen].reset_index()
    refit = model.bootstrap_copy(1).fit(sample, effects=model.effects)
    assert refit.estimator.n_iter_ == model.estimator.n_iter_ < 300


def _candidate(deviance: float) -> dict:
    return {
        "category_elasticities": {"a": -1.0},
        "holdout": {"poisson_deviance": deviance, "price_move_deviance": deviance},
        "course_cv": {"poisson_deviance": deviance},
    }


def test_deviances_within_noise_are_ties_that_go_to_the_semilog_model():
    rng = np.random.default_rng(0)
    courses = np.repeat(np.arange(200), 10)
    base = rng.gamma(2.0, 0.5, size=len(courses))
    noisy = base + rng.normal(0, 0.05, size=len(courses))  # a shade better or worse, by chance
    better = base - 0.3  # clearly better on every row
    for winner_values, expected in ((noisy, "semilog"), (better, "poly3")):
        values = {
            "linear": base,
            "semilog": base + rng.normal(0, 0.05, size=len(base)),
            "poly3": winner_values,
        }
        paired = {
            key: PairedDeviances(values=values, courses=courses)
            for key in ("holdout", "price_move", "course_cv")
        }
        means = {n: float(v.mean()) for n, v in values.items()}
        candidates = {n: _candidate(means[n]) for n in values}
        assert select_model(candidates, paired=paired)[0] == expected
    # A constant difference, however small, is a real one.
    ranks = tied_ranks(PairedDeviances(values={"a": base, "b": base + 0.001}, courses=courses), ["a", "b"])
    assert ranks.to_dict() == {"a": 1.0, "b": 2.0}
