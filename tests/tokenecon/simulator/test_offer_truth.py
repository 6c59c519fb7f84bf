"""The true response of a learner to a discount offer on a course (30 days after the run)."""

import numpy as np
import pytest

from tokenecon.models import Course, Enrollment, Learner
from tokenecon.simulator import truth_model, truth_queries

LADDER = np.array([0.0, 0.05, 0.10, 0.15, 0.20, 0.30])


def _all_pairs(t):
    """Every (alive learner, course) pair by number, with the offer probability at no discount."""
    learners = np.nonzero(t.learner_state["alive"])[0]
    courses = np.arange(len(t.course_code))
    ll, cc = np.meshgrid(learners, courses, indexing="ij")
    return ll.ravel(), cc.ravel(), t.offer_probability(ll.ravel(), cc.ravel(), 0.0)


def test_probability_rises_with_the_discount_and_is_zero_for_owned_courses(small_run):
    t = truth_model.load_simulation_truth(small_run.truth_path)
    ll, cc, p0 = _all_pairs(t)
    some = np.nonzero(p0 > 0)[0][:500]
    assert len(some) == 500
    keys = t.learner_external_id[ll[some]]
    codes = t.course_code[cc[some]]
    p = truth_queries.offer_purchase_probability(
        keys[:, None], codes[:, None], LADDER[None, :], path=small_run.truth_path
    )
    assert p.shape == (500, len(LADDER))
    assert ((p > 0) & (p < 1)).all()
    assert (np.diff(p, axis=1) > 0).all()

    owned = list(Enrollment.objects.values_list("learner__external_id", "course__code")[:200])
    assert owned
    who, what = map(np.array, zip(*owned, strict=True))
    for d in LADDER:
        assert (truth_queries.offer_purchase_probability(who, what, d, path=small_run.truth_path) == 0).all()
    gone = t.learner_external_id[~t.learner_state["alive"]][:20]
    assert (
        len(gone)
        and (
            truth_queries.offer_purchase_probability(gone, codes[0], 0.3, path=small_run.truth_path) == 0
        ).all()
    )


def test_database_ids_give_the_same_answer_and_current_prices_are_used(small_run):
    t = truth_model.load_simulation_truth(small_run.truth_path)
    ll, cc, p0 = _all_pairs(t)
    some = np.nonzero(p0 > 0)[0][:50]
    keys, codes = t.learner_external_id[ll[some]], t.course_code[cc[some]]
    by_key = truth_queries.offer_purchase_probability(keys, codes, 0.1, path=small_run.truth_path)
    learner_pk = dict(Learner.objects.values_list("external_id", "id"))
    course_pk = dict(Course.objects.values_list("code", "id"))
    by_pk = truth_queries.offer_purchase_probability(
        np.array([learner_pk[k] for k in keys]),
        np.array([course_pk[c] for c in codes]),
        0.1,
        path=small_run.truth_path,
    )
    np.testing.assert_array_equal(by_key, by_pk)
    as_float = truth_queries.offer_purchase_probability(
        np.array([learner_pk[k] for k in keys], dtype=float), codes, 0.1, path=small_run.truth_path
    )
    np.testing.assert_array_equal(by_key, as_float)
    with pytest.raises(KeyError):
        truth_queries.offer_purchase_probability(["nobody"], codes[:1], 0.1, path=small_run.truth_path)

    code = codes[0]
    course = Course.objects.get(code=code)
    before = truth_queries.offer_purchase_probability(keys[:1], [code], 0.0, path=small_run.truth_path)[0]
    Course.objects.filter(pk=course.pk).update(price_tokens=course.price_tokens * 2)
    after = truth_queries.offer_purchase_probability(keys[:1], [code], 0.0, path=small_run.truth_path)[0]
    assert after < before
    # Half off the doubled price is the old price.
    half = truth_queries.offer_purchase_probability(keys[:1], [code], 0.5, path=small_run.truth_path)[0]
    assert half == pytest.approx(before, rel=1e-9)


def test_matches_a_hand_computation(small_run):
    t = truth_model.load_simulation_truth(small_run.truth_path)
    ll, cc, p0 = _all_pairs(t)
    pick = int(np.argmax(p0))
    learner, course = int(ll[pick]), int(cc[pick])
    d = 0.15
    category = t.course_category[course]
    looks = sum(
        float(t.offer_expected_active[learner, day]) * float(t.offer_consider[course, day])
        for day in range(30)
    )
    k = float(t.learner_browse[learner]) * float(t.learner_interest[learner, category]) * looks
    price = Course.objects.get(code=t.course_code[course]).price_tokens
    u = (
        t.course_utility[course]
        - t.category_coefficient[category]
        * t.learner_sensitivity[learner]
        * price
        * (1 - d)
        / t.course_reference_price[course]
    )
    expected = 1 - np.exp(-k / (1 + np.exp(-u)))
    got = truth_queries.offer_purchase_probability(
        [t.learner_external_id[learner]], [t.course_code[course]], d, path=small_run.truth_path
    )[0]
    assert got == pytest.approx(expected, rel=1e-6)
    assert 0 < got < 1


def test_offers_agree_with_the_demand_truth(small_run):
    """Summed over learners, P(buy at no discount) stays below the course's expected enrollments
    (which add the next month's sign-ups and use K sigmoid(u) >= 1 - exp(-K sigmoid(u)))."""
    t = truth_model.load_simulation_truth(small_run.truth_path)
    ll, cc, p0 = _all_pairs(t)
    per_course = np.bincount(cc, weights=p0, minlength=len(t.course_code))
    demand = t.expected_enrollments(np.arange(len(t.course_code)), t.course_price_at_end.astype(float))
    assert (per_course <= demand * (1 + 1e-4) + 1e-9).all()
    assert per_course.sum() > 0.6 * demand.sum()


def test_revenue_falls_with_the_discount_when_inelastic_and_rises_when_elastic(small_run):
    t = truth_model.load_simulation_truth(small_run.truth_path)
    ll, cc, p0 = _all_pairs(t)
    category = t.course_category[cc]
    price = t.course_price_at_end[cc].astype(float)
    # x = b s price / ref is the price term of the utility; sigmoid-demand revenue falls with a
    # discount when x (1 - P) < 1 and rises when it is well above 1.
    x = t.category_coefficient[category] * t.learner_sensitivity[ll] * price / t.course_reference_price[cc]
    names = np.array(t.categories)[category]
    inelastic = np.nonzero((p0 > 0) & (names == "data_science") & (x < 0.5))[0]
    elastic = np.nonzero((p0 > 0) & (names == "health") & (t.learner_sensitivity[ll] > 1.4) & (x > 3))[0]
    assert len(inelastic) and len(elastic)

    def revenue(rows):
        p = t.offer_probability(ll[rows][:, None], cc[rows][:, None], LADDER[None, :])
        return p * price[rows][:, None] * (1 - LADDER[None, :])

    assert (np.diff(revenue(inelastic), axis=1) < 0).all()
    gain = revenue(elastic)
    assert (gain[:, 1] > gain[:, 0]).all()
