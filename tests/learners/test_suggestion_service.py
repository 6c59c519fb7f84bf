"""suggest_courses: published courses the learner does not have, a cached state that follows
purchases, cold start for learners without history, and the weights setting."""

from datetime import timedelta

import pytest
from django.utils import timezone

from learners.services import suggestions as suggestion_service
from learners.services.suggestions import CourseSuggestion, clear_suggestion_cache, suggest_courses
from tests.factories import CourseFactory, EnrollmentFactory, LearnerFactory, TeacherFactory
from tokenecon.models import Course
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_suggestion_cache()
    yield
    clear_suggestion_cache()


def enroll(learner, course, days_ago=5):
    """A bare enrollment row: suggestions read enrollments, not the ledger."""
    return EnrollmentFactory(
        learner=learner, course=course, enrolled_at=timezone.now() - timedelta(days=days_ago)
    )


@pytest.fixture
def market():
    """Music fans take music courses; two music courses are bought together a lot."""
    teacher = TeacherFactory()
    music = [CourseFactory(teacher=teacher, category="music", title=f"Music {i}") for i in range(5)]
    design = [CourseFactory(teacher=teacher, category="design", title=f"Design {i}") for i in range(5)]
    fans = [LearnerFactory() for _ in range(6)]
    for fan in fans:
        enroll(fan, music[0])
        enroll(fan, music[1])
    for fan in fans[:4]:
        enroll(fan, design[0], days_ago=60)
    return {"music": music, "design": design, "fans": fans}


def test_suggestions_are_published_courses_the_learner_does_not_have(market):
    learner = LearnerFactory()
    enroll(learner, market["music"][0])
    Course.objects.filter(pk=market["music"][2].pk).update(status=Course.Status.RETIRED)
    Course.objects.filter(pk=market["design"][1].pk).update(status=Course.Status.DRAFT)

    suggestions = suggest_courses(learner=learner, k=20)

    ids = [s.course.pk for s in suggestions]
    assert suggestions and all(isinstance(s, CourseSuggestion) for s in suggestions)
    assert market["music"][0].pk not in ids
    assert market["music"][2].pk not in ids and market["design"][1].pk not in ids
    assert len(ids) == len(set(ids)) == 7  # 10 courses - 1 owned - 2 unpublished
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    assert all(s.reason for s in suggestions)


def test_co_enrolled_course_comes_first_with_its_reason(market):
    learner = LearnerFactory()
    enroll(learner, market["music"][0])
    top = suggest_courses(learner=learner, k=3)[0]
    assert top.course == market["music"][1]
    assert "Music 0" in top.reason or "music" in top.reason.lower()


def test_learner_without_history_gets_popular_courses(market):
    newcomer = LearnerFactory()
    suggestions = suggest_courses(learner=newcomer, k=3)
    assert {s.course.pk for s in suggestions[:2]} == {market["music"][0].pk, market["music"][1].pk}
    assert suggestions[0].reason.startswith(("Popular", "Trending"))


def test_learner_who_joined_after_the_state_was_built_gets_popular_courses(market):
    suggest_courses(learner=market["fans"][0], k=3)  # builds the state
    latecomer = LearnerFactory()
    suggestions = suggest_courses(learner=latecomer, k=2)
    assert {s.course.pk for s in suggestions} == {market["music"][0].pk, market["music"][1].pk}


def test_a_purchase_refreshes_the_cache_and_removes_the_bought_course(market, monkeypatch):
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=1000, idempotency_key="rec-top")
    builds = []
    real_build = suggestion_service._build
    monkeypatch.setattr(suggestion_service, "_build", lambda fp: builds.append(fp) or real_build(fp))

    first = suggest_courses(learner=learner, k=3)[0].course
    suggest_courses(learner=learner, k=3)
    assert len(builds) == 1, "an unchanged database must not rebuild the state"

    purchase_course(learner=learner, course=first, idempotency_key="rec-buy")
    after = suggest_courses(learner=learner, k=20)
    assert len(builds) == 2
    assert first.pk not in {s.course.pk for s in after}


def test_a_new_course_refreshes_the_cache(market):
    learner = LearnerFactory()
    suggest_courses(learner=learner, k=20)
    fresh = CourseFactory(category="design", title="Brand new")
    assert fresh.pk in {s.course.pk for s in suggest_courses(learner=learner, k=20)}


def test_weights_come_from_settings_and_unknown_components_are_refused(market, settings):
    learner = LearnerFactory()
    enroll(learner, market["design"][0])
    settings.LEARNER_RECOMMENDER_WEIGHTS = {"content": 1.0}
    by_content = suggest_courses(learner=learner, k=3)
    assert all(s.course.category == "design" for s in by_content)
    assert all("interest in design" in s.reason for s in by_content)
    by_popularity = suggest_courses(learner=learner, k=2, weights={"popularity": 1.0})
    assert {s.course.pk for s in by_popularity} == {market["music"][0].pk, market["music"][1].pk}
    with pytest.raises(ValueError, match="Unknown recommender components"):
        suggest_courses(learner=learner, weights={"price": 1.0})


def test_k_limits_and_an_empty_catalog_gives_nothing(market):
    learner = LearnerFactory()
    assert len(suggest_courses(learner=learner, k=4)) == 4
    assert suggest_courses(learner=learner, k=0) == []
    Course.objects.update(status=Course.Status.RETIRED)
    clear_suggestion_cache()
    assert suggest_courses(learner=learner) == []
