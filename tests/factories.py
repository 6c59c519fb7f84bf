"""factory-boy factories for every model the tests create; people get their token account as in
production. Rows that move tokens (purchases, top-ups) are made through the ledger services."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Teacher
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    external_id = factory.Sequence(lambda n: f"T{n:05d}")
    display_name = factory.Faker("name")
    quality_score = 70
    years_experience = 5

    @factory.post_generation
    def earnings_account(obj, create, extracted, **kwargs):
        if create:
            Account.objects.get_or_create(kind=AccountKind.TEACHER_EARNINGS, owner=obj.user)


class LearnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Learner
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    external_id = factory.Sequence(lambda n: f"L{n:05d}")
    joined_on = date(2025, 1, 1)
    country = "DE"

    @factory.post_generation
    def wallet(obj, create, extracted, **kwargs):
        if create:
            Account.objects.get_or_create(kind=AccountKind.LEARNER_WALLET, owner=obj.user)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"C{n:05d}")
    title = factory.Sequence(lambda n: f"Course {n}")
    teacher = factory.SubFactory(TeacherFactory)
    category = "programming"
    difficulty = "beginner"
    duration_hours = 10
    launch_date = date(2025, 1, 1)
    price_tokens = 100


class PriceChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceChange

    course = factory.SubFactory(CourseFactory)
    old_price_tokens = None
    new_price_tokens = 100
    effective_at = factory.Sequence(lambda n: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n))
    source = "initial"


class LearnerActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearnerActivity

    learner = factory.SubFactory(LearnerFactory)
    day = factory.Sequence(lambda n: date(2025, 2, 1) + timedelta(days=n))
    course = None
    lessons_completed = 2
    minutes = 45


def build_marketplace() -> dict:
    """A small, ledger-consistent marketplace: funded wallets, purchases (one discounted), a
    completion, a drop, a refund and a re-purchase after it, price history and activity."""
    from tokenecon.models import EnrollmentStatus
    from tokenecon.services.accounts import reward_learner, top_up_wallet
    from tokenecon.services.enrollment import purchase_course, refund_enrollment

    teachers = [TeacherFactory(joined_on=date(2024, 6, 1)), TeacherFactory(bio='Writes, "quotes"\nand lines')]
    courses = [
        CourseFactory(
            teacher=teachers[0], price_tokens=120, category="data_science", certificate_offered=True
        ),
        CourseFactory(teacher=teachers[0], price_tokens=60, difficulty="advanced", price_floor_tokens=40),
        CourseFactory(teacher=teachers[1], price_tokens=200, category="music", duration_hours="7.5"),
    ]
    learners = [
        LearnerFactory(country="FR", age_group="25_34", education="master", acquisition_channel="paid"),
        LearnerFactory(),
        LearnerFactory(country="US", education="bachelor"),
    ]
    at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    top_up_wallet(learner=learners[0], amount_tokens=300, idempotency_key="b-top-0", at=at)
    top_up_wallet(learner=learners[1], amount_tokens=150, idempotency_key="b-top-1", at=at)
    reward_learner(learner=learners[1], amount_tokens=25, idempotency_key="b-reward-1", at=at)
    top_up_wallet(learner=learners[2], amount_tokens=200, idempotency_key="b-top-2", at=at)
    e1 = purchase_course(
        learner=learners[0], course=courses[0], idempotency_key="b-p1", at=at + timedelta(hours=1)
    )
    e2 = purchase_course(
        learner=learners[0],
        course=courses[1],
        idempotency_key="b-p2",
        discount_pct=15,
        at=at + timedelta(days=1),
    )
    e3 = purchase_course(
        learner=learners[1], course=courses[1], idempotency_key="b-p3", at=at + timedelta(days=2)
    )
    e4 = purchase_course(
        learner=learners[2], course=courses[2], idempotency_key="b-p4", at=at + timedelta(days=3)
    )
    refund_enrollment(enrollment=e4, idempotency_key="b-r4")
    # Spends the refunded tokens again: the import must return them before this purchase.
    e5 = purchase_course(
        learner=learners[2],
        course=courses[2],
        idempotency_key="b-p5",
        discount_pct=10,
        at=at + timedelta(days=4),
    )
    Enrollment.objects.filter(pk=e1.pk).update(
        status=EnrollmentStatus.COMPLETED, progress_pct=100, completed_at=at + timedelta(days=20), rating=5
    )
    Enrollment.objects.filter(pk=e3.pk).update(status=EnrollmentStatus.DROPPED, progress_pct=30, rating=2)
    Enrollment.objects.filter(pk=e5.pk).update(progress_pct=55)
    PriceChangeFactory(course=courses[0], old_price_tokens=None, new_price_tokens=100, source="initial")
    PriceChangeFactory(
        course=courses[0], old_price_tokens=100, new_price_tokens=120, source="manual", note="demand is high"
    )
    LearnerActivityFactory(learner=learners[0], course=courses[0], day=date(2025, 3, 2), minutes=90)
    LearnerActivityFactory(learner=learners[0], course=None, day=date(2025, 3, 2), forum_posts=3)
    LearnerActivityFactory(learner=learners[1], course=courses[1], day=date(2025, 3, 4))
    return {
        "teachers": teachers,
        "courses": courses,
        "learners": learners,
        "enrollments": [e1, e2, e3, e4, e5],
    }


class EnrollmentFactory(factory.django.DjangoModelFactory):
    """An enrollment row written directly, for tests that read enrollments; a purchase that moves
    tokens goes through ``purchase_course`` instead."""

    class Meta:
        model = Enrollment

    learner = factory.SubFactory(LearnerFactory)
    course = factory.SubFactory(CourseFactory)
    enrolled_at = factory.Sequence(lambda n: datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=n))
    list_price_tokens = factory.LazyAttribute(lambda e: e.course.price_tokens)
    price_paid_tokens = factory.LazyAttribute(lambda e: e.list_price_tokens)


class OfferFactory(factory.django.DjangoModelFactory):
    """A usable offer on one course (``course=None, category=...`` for a category offer)."""

    class Meta:
        model = "learners.Offer"

    learner = factory.SubFactory(LearnerFactory)
    course = factory.SubFactory(CourseFactory)
    category = factory.LazyAttribute(lambda o: o.course.category if o.course is not None else "programming")
    discount_pct = Decimal("20")
    reason = "test offer"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class LearnerScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "learners.LearnerScore"

    learner = factory.SubFactory(LearnerFactory)
    scored_at = factory.LazyFunction(timezone.now)
    enroll_prob = 0.6
    churn_prob = 0.2
    complete_prob = 0.5
    upsell_prob = 0.3
    price_sensitivity = 0.5
    segment = "Warm"
    churn_risk = "Low"


class PricingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pricing.PricingSettings"


class PriceRecommendationFactory(factory.django.DjangoModelFactory):
    """Pending advice to raise a course's price by 10%, as a batch recompute would store it."""

    class Meta:
        model = "pricing.PriceRecommendation"

    course = factory.SubFactory(CourseFactory)
    model_version = 1
    model_algorithm = "linear"
    objective = "revenue"
    current_price_tokens = factory.LazyAttribute(lambda r: r.course.price_tokens)
    recommended_price_tokens = factory.LazyAttribute(lambda r: round(r.current_price_tokens * 1.1))
    model_optimal_price_tokens = factory.LazyAttribute(lambda r: r.recommended_price_tokens)
    expected_enrollments_current = 10.0
    expected_enrollments_recommended = 9.5
    expected_revenue_current = factory.LazyAttribute(lambda r: r.current_price_tokens * 10.0)
    expected_revenue_recommended = factory.LazyAttribute(lambda r: r.recommended_price_tokens * 9.5)
    teacher_earnings_current = factory.LazyAttribute(lambda r: r.expected_revenue_current * 0.8)
    teacher_earnings_recommended = factory.LazyAttribute(lambda r: r.expected_revenue_recommended * 0.8)
    elasticity_current = -0.5
    elasticity_recommended = -0.6
    confidence = "medium"
    reason = "Demand is inelastic: raise the price."


class PipelineRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "analytics.PipelineRun"

    kind = "demand"


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "analytics.ModelVersion"

    name = "demand"
    version = factory.Sequence(lambda n: n + 1)
    algorithm = "linear"
    artifact_path = factory.LazyAttribute(lambda v: f"{v.name}/v{v.version}.joblib")


class AdviceRunFactory(factory.django.DjangoModelFactory):
    """A queued recompute of the whole catalog's price advice."""

    class Meta:
        model = "pricing.AdviceRun"

    status = "queued"


class CouponFactory(factory.django.DjangoModelFactory):
    """A 20%-off coupon for one course, funded by its teacher (``scope=...`` for the others)."""

    class Meta:
        model = "tokenecon.Coupon"

    code = factory.Sequence(lambda n: f"SAVE{n:04d}")
    kind = "percent"
    percent_off = Decimal("20")
    scope = "course"
    course = factory.SubFactory(CourseFactory)
    funded_by = "teacher"


class PayoutRequestFactory(factory.django.DjangoModelFactory):
    """A payout request row written directly, for tests that read requests; one that holds tokens
    goes through the payout service instead."""

    class Meta:
        model = "tokenecon.PayoutRequest"

    teacher = factory.SubFactory(TeacherFactory)
    amount_tokens = 500
    money_amount = Decimal("50.00")
    currency = "USD"
    idempotency_key = factory.Sequence(lambda n: f"payout-{n}")
    requested_at = factory.LazyFunction(timezone.now)


class TopUpOrderFactory(factory.django.DjangoModelFactory):
    """A pending order for the starter pack; paying it goes through the payment service."""

    class Meta:
        model = "tokenecon.TopUpOrder"

    learner = factory.SubFactory(LearnerFactory)
    pack = "starter"
    tokens = 500
    money_amount = Decimal("50.00")
    currency = "USD"
    provider = "demo"
    idempotency_key = factory.Sequence(lambda n: f"order-{n}")
    created_at = factory.LazyFunction(timezone.now)


class PaymentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "tokenecon.PaymentEvent"

    provider = "stripe"
    event_id = factory.Sequence(lambda n: f"evt_{n:06d}")
    event_type = "checkout.session.completed"
