import numpy as np
import pandas as pd
import pytest

from pricing.services.truth import load_demand_truth
from tests.factories import CourseFactory
from tests.tokenecon.simulator.conftest import SMALL
from tokenecon.models import Course, Learner, Teacher
from tokenecon.simulator import truth_model, truth_queries


def test_truth_files_match_the_python_api(small_run, tmp_path):
    files = truth_queries.write_truth_files(tmp_path / "out", path=small_run.truth_path)
    courses = pd.read_csv(files["courses"])
    api = truth_queries.courses_truth(path=small_run.truth_path)
    assert list(courses.columns) == [
        "code",
        "category",
        "price_tokens",
        "expected_enrollments_30d",
        "elasticity",
        "optimal_price_tokens",
        "optimal_expected_enrollments_30d",
    ]
    assert len(courses) == Course.objects.count() == SMALL.courses
    np.testing.assert_allclose(courses["elasticity"], api["elasticity"], rtol=1e-5)
    np.testing.assert_allclose(
        courses["expected_enrollments_30d"], api["expected_enrollments_30d"], rtol=1e-5
    )
    for _, row in courses.head(5).iterrows():
        q = truth_queries.expected_enrollments_30d(
            row["code"], row["price_tokens"], path=small_run.truth_path
        )
        e = truth_queries.elasticity_at_price(row["code"], row["price_tokens"], path=small_run.truth_path)
        assert q[0] == pytest.approx(row["expected_enrollments_30d"], rel=1e-5)
        assert e[0] == pytest.approx(row["elasticity"], rel=1e-5)

    demand = pd.read_csv(files["demand"])
    assert demand.groupby("code")["price"].nunique().min() >= 50
    assert demand["price"].min() == 10 and demand["price"].max() == 500
    one = demand[demand["code"] == courses["code"].iloc[0]]
    curve = truth_queries.expected_enrollments_30d(
        courses["code"].iloc[0], one["price"].to_numpy(), path=small_run.truth_path
    )
    np.testing.assert_allclose(one["expected_enrollments_30d"], curve, rtol=1e-5)

    learners = pd.read_csv(files["learners"], keep_default_na=False, na_values=[""])
    assert len(learners) == Learner.objects.count()
    assert set(learners.columns) >= {
        "external_id",
        "p_enroll_30d",
        "p_churn_60d",
        "p_complete_60d",
        "price_sensitivity",
    }
    api_learners = truth_queries.learners_truth(path=small_run.truth_path)
    np.testing.assert_allclose(learners["p_churn_60d"], api_learners["p_churn_60d"], rtol=1e-5)
    for column in ("p_enroll_30d", "p_churn_60d"):
        assert learners[column].between(0, 1).all()
    assert learners["p_complete_60d"].dropna().between(0, 1).all()


def test_demand_falls_with_price_and_every_optimum_is_inside_the_bounds(small_run):
    frame = truth_queries.courses_truth(path=small_run.truth_path)
    assert (frame["elasticity"] < 0).all()
    assert frame["optimal_price_tokens"].between(10, 500).all()
    t = truth_model.load_simulation_truth(small_run.truth_path)
    courses = np.arange(len(t.course_code))
    grid = np.broadcast_to(np.arange(10, 501, dtype=float), (len(courses), 491))
    q = t.expected_enrollments(courses, grid)
    assert (np.diff(q, axis=1) < 0).all()
    revenue = q * grid
    best = grid[courses, np.argmax(revenue, axis=1)]
    stated = frame.set_index("code").loc[t.course_code, "optimal_price_tokens"].to_numpy()
    np.testing.assert_array_equal(best.astype(int), stated)


def test_elasticity_matches_the_slope_of_the_demand_curve(small_run):
    t = truth_model.load_simulation_truth(small_run.truth_path)
    courses = np.arange(len(t.course_code))
    price = t.course_price_at_end.astype(float)
    h = 1e-4
    up = t.expected_enrollments(courses, price * np.exp(h))
    down = t.expected_enrollments(courses, price * np.exp(-h))
    numeric = (np.log(up) - np.log(down)) / (2 * h)
    np.testing.assert_allclose(t.elasticity(courses, price), numeric, rtol=1e-4, atol=1e-6)


def test_truth_is_kept_after_the_run_and_follows_a_later_price_change(small_run):
    before = truth_queries.courses_truth(path=small_run.truth_path).set_index("code")
    code = before.index[0]
    Course.objects.filter(code=code).update(price_tokens=int(before.loc[code, "price_tokens"]) * 2)
    after = truth_queries.courses_truth(path=small_run.truth_path).set_index("code")
    assert after.loc[code, "expected_enrollments_30d"] < before.loc[code, "expected_enrollments_30d"]
    assert after.loc[code, "elasticity"] < before.loc[code, "elasticity"]


def test_evaluation_truth_is_none_without_a_simulation(db, tmp_path):
    assert truth_model.load_simulation_truth(tmp_path / "missing.joblib") is None
    assert load_demand_truth(path=tmp_path / "missing.joblib") is None


def test_demand_truth_is_none_when_the_catalog_is_not_the_simulators(small_run):
    CourseFactory(code="NOTSIMULATED", teacher=Teacher.objects.first())
    assert truth_model.load_simulation_truth(small_run.truth_path) is not None
    assert load_demand_truth(path=small_run.truth_path) is None


def test_evaluation_truth_uses_database_ids(small_run):
    evaluation = load_demand_truth(path=small_run.truth_path)
    ids = set(Course.objects.values_list("id", flat=True))
    assert set(evaluation.course_elasticity.index) == ids
    assert set(evaluation.curves["course_id"]) == ids
    assert set(evaluation.category_elasticity) <= set(Course.objects.values_list("category", flat=True))


def test_truth_agrees_with_the_last_month_of_the_run(small_run):
    """The forecast for the next 30 days is close to what the same learners just did.

    Not a proof of exactness (season and sign-ups move on), a guard against a truth that is off
    by a factor: expected enrollments against the last 30 days' enrollments, and the sum of the
    learners' enroll probabilities against the number of learners who bought in those days.
    """
    from tokenecon.models import Enrollment

    recent = Enrollment.objects.filter(enrolled_at__date__gt=SMALL.end_date - pd.Timedelta(days=30))
    courses = truth_queries.courses_truth(path=small_run.truth_path)
    learners = truth_queries.learners_truth(path=small_run.truth_path)
    assert 0.7 < courses["expected_enrollments_30d"].sum() / recent.count() < 1.4
    buyers = recent.values("learner").distinct().count()
    assert 0.7 < learners["p_enroll_30d"].sum() / buyers < 1.4
    assert learners["price_sensitivity"].between(0.4, 2.5).all()
