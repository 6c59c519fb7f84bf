"""Shared reads about learners: their offers and prices on courses, the courses they may see and
own (for the portal, the API and the purchase), and learner data as DataFrames for snapshots,
scoring and course suggestions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from django.db.models import Avg, Count, F, Max, Q, QuerySet
from django.utils import timezone

from learners.models import Offer
from tokenecon.errors import CouponRefused
from tokenecon.models import (
    AccountKind,
    Course,
    CourseCategory,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Learner,
    LearnerActivity,
)
from tokenecon.selectors import catalog_courses
from tokenecon.services.coupons import CouponQuote, normalise_code, quote_coupon
from tokenecon.services.rates import discounted_price_tokens

# --- offers and the learner's price ----------------------------------------------------------------


def usable_offers(*, learner: Learner) -> QuerySet[Offer]:
    """The learner's offers that can still be redeemed: shown and not expired."""
    return Offer.objects.filter(learner=learner, status=Offer.Status.SHOWN, expires_at__gt=timezone.now())


def best_offers_for(*, learner: Learner, courses: Iterable[Course]) -> dict[int, Offer]:
    """The learner's deepest usable offer on each course that has one, by course id, in one query.

    An offer counts for a course when it names the course, or names no course and the course's
    category. Among equal discounts the oldest offer wins.
    """
    courses = list(courses)
    if not courses:
        return {}
    candidates = usable_offers(learner=learner).filter(
        Q(course__in=[c.pk for c in courses])
        | Q(course__isnull=True, category__in={c.category for c in courses})
    )
    offers = list(candidates.order_by("-discount_pct", "pk"))
    best = {}
    for course in courses:
        offer = next(
            (
                o
                for o in offers
                if o.course_id == course.pk or (o.course_id is None and o.category == course.category)
            ),
            None,
        )
        if offer is not None:
            best[course.pk] = offer
    return best


def best_offer_for(*, learner: Learner, course: Course) -> Offer | None:
    """The learner's usable offer with the deepest discount on this course (or its category)."""
    return best_offers_for(learner=learner, courses=[course]).get(course.pk)


def price_with_offer(*, course: Course, offer: Offer | None) -> int:
    """What the learner pays for the course: the list price, discounted by the offer if any."""
    if offer is None:
        return course.price_tokens
    return discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=offer.discount_pct)


@dataclass(frozen=True)
class PriceChoice:
    """The learner's price on a course with a code they typed and their best offer: the two are
    not stacked, the lower price wins (the offer on a tie: it uses no coupon), and ``message``
    says which was applied. ``refusal`` is why the code cannot be used (then the offer or the
    list price applies)."""

    course: Course
    code: str
    offer: Offer | None
    offer_price: int | None
    quote: CouponQuote | None
    refusal: str
    applied: str  # "coupon", "offer" or "list"

    @property
    def price(self) -> int:
        if self.applied == "coupon":
            return self.quote.price_tokens
        if self.applied == "offer":
            return self.offer_price
        return self.course.price_tokens

    @property
    def applied_offer(self) -> Offer | None:
        return self.offer if self.applied == "offer" else None

    @property
    def applied_code(self) -> str:
        return self.quote.code if self.applied == "coupon" else ""

    @property
    def message(self) -> str:
        if self.quote is None:
            return ""
        code, coupon_price = self.quote.code, self.quote.price_tokens
        if self.offer is not None:
            which = "the code" if self.applied == "coupon" else "the offer"
            return (
                f"Your code {code} gives {coupon_price:,} tokens; your personal offer gives"
                f" {self.offer_price:,}: we applied {which}."
            )
        return (
            f"Code {code}: {self.quote.label}, you pay {coupon_price:,} tokens"
            f" instead of {self.quote.list_price_tokens:,}."
        )


def price_choice(*, learner: Learner, course: Course, code: str = "") -> PriceChoice:
    """What the learner pays for the course with ``code`` (may be empty) and their best offer."""
    offer = best_offer_for(learner=learner, course=course)
    offer_price = price_with_offer(course=course, offer=offer) if offer is not None else None
    quote, refusal = None, ""
    if normalise_code(code):
        try:
            quote = quote_coupon(code=code, course=course, learner=learner)
        except CouponRefused as exc:
            refusal = str(exc)
    if quote is not None and (offer_price is None or quote.price_tokens < offer_price):
        applied = "coupon"
    else:
        applied = "offer" if offer is not None else "list"
    return PriceChoice(
        course=course,
        code=normalise_code(code),
        offer=offer,
        offer_price=offer_price,
        quote=quote,
        refusal=refusal,
        applied=applied,
    )


def owned_course_ids(*, learner: Learner, courses: Iterable[Course] | None = None) -> set[int]:
    """Ids of the courses the learner is enrolled in (a refunded enrollment does not count)."""
    enrollments = live_enrollments(learner=learner)
    if courses is not None:
        enrollments = enrollments.filter(course__in=[c.pk for c in courses])
    return set(enrollments.values_list("course_id", flat=True))


def priced_courses(*, learner: Learner, courses: Iterable[Course]) -> list[Course]:
    """The courses with the learner's price attached: ``offer`` (their best usable offer or None),
    ``my_price`` and ``owned``. Two queries whatever the number of courses."""
    courses = list(courses)
    offers = best_offers_for(learner=learner, courses=courses)
    owned = owned_course_ids(learner=learner, courses=courses)
    for course in courses:
        course.offer = offers.get(course.pk)
        course.my_price = price_with_offer(course=course, offer=course.offer)
        course.owned = course.pk in owned
    return courses


def offers_of_learner(*, learner: Learner, past_limit: int) -> tuple[list[Offer], list[Offer]]:
    """The learner's usable offers (soonest to expire first) and up to ``past_limit`` used or
    expired ones (newest first), each with ``category_label``; usable ones on a course carry
    ``my_price``, past ones ``state`` (redeemed or expired)."""
    offers = Offer.objects.filter(learner=learner).select_related("course")
    usable = list(usable_offers(learner=learner).select_related("course").order_by("expires_at"))
    past = list(offers.exclude(pk__in=[o.pk for o in usable]).order_by("-expires_at")[:past_limit])
    categories = dict(CourseCategory.choices)
    for offer in [*usable, *past]:
        offer.category_label = categories.get(offer.category, offer.category)
    for offer in usable:
        if offer.course is not None:
            offer.my_price = price_with_offer(course=offer.course, offer=offer)
    for offer in past:
        offer.state = "redeemed" if offer.status == Offer.Status.REDEEMED else "expired"
    return usable, past


# --- courses the learner sees and owns -------------------------------------------------------------


def live_enrollments(*, learner: Learner) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(learner=learner).exclude(status=EnrollmentStatus.REFUNDED)


def enrollments_of_learner(*, learner: Learner) -> tuple[QuerySet[Enrollment], dict[str, int]]:
    """Every enrollment of the learner (refunded ones too) with course and teacher, and how many
    are ``live`` (not refunded) and ``completed``."""
    enrollments = Enrollment.objects.filter(learner=learner).select_related("course__teacher")
    counts = enrollments.aggregate(
        live=Count("id", filter=~Q(status=EnrollmentStatus.REFUNDED)),
        completed=Count("id", filter=Q(status=EnrollmentStatus.COMPLETED)),
    )
    return enrollments, counts


def live_enrollment(*, learner: Learner, course: Course) -> Enrollment | None:
    return live_enrollments(learner=learner).filter(course=course).first()


def courses_on_sale() -> QuerySet[Course]:
    return catalog_courses().filter(status=Course.Status.PUBLISHED)


def courses_visible_to_learner(*, learner: Learner) -> QuerySet[Course]:
    """Published courses, and any the learner has (a retired course stays visible to its learners)."""
    owned = Enrollment.objects.filter(learner=learner).values("course_id")
    return catalog_courses().filter(Q(status=Course.Status.PUBLISHED) | Q(pk__in=owned))


def with_ratings(courses: list[Course]) -> list[Course]:
    """Average rating, how many ratings it averages, and how many learners hold the course
    (refunds excluded), for a page of courses in one grouped query."""
    stats = {
        row["pk"]: row
        for row in Course.objects.filter(pk__in=[c.pk for c in courses])
        .annotate(
            rating_avg=Avg("enrollments__rating"),
            rating_count=Count("enrollments__rating"),
            learner_count=Count(
                "enrollments__learner",
                filter=~Q(enrollments__status=EnrollmentStatus.REFUNDED),
                distinct=True,
            ),
        )
        .values("pk", "rating_avg", "rating_count", "learner_count")
    }
    for course in courses:
        course.rating_avg = stats.get(course.pk, {}).get("rating_avg")
        course.rating_count = stats.get(course.pk, {}).get("rating_count", 0)
        course.learner_count = stats.get(course.pk, {}).get("learner_count", 0)
    return courses


# --- learner data as DataFrames --------------------------------------------------------------------


def learner_frame() -> pd.DataFrame:
    rows = Learner.objects.values("joined_on", "user_id", learner_id=F("id"))
    return pd.DataFrame.from_records(list(rows), columns=["joined_on", "learner_id", "user_id"])


ENROLLMENT_COLUMNS = [
    "learner_id",
    "course_id",
    "enrolled_at",
    "list_price_tokens",
    "price_paid_tokens",
    "discount_pct",
    "completed_at",
    "rating",
    "status",
]


def enrollment_frame(*, learner_ids: list[int] | None = None, since=None) -> pd.DataFrame:
    query = Enrollment.objects.all()
    if learner_ids is not None:
        query = query.filter(learner_id__in=learner_ids)
    if since is not None:
        query = query.filter(enrolled_at__gte=since)
    rows = query.values(*ENROLLMENT_COLUMNS, category=F("course__category"))
    frame = pd.DataFrame.from_records(list(rows), columns=[*ENROLLMENT_COLUMNS, "category"])
    frame["discount_pct"] = frame["discount_pct"].astype(float)
    frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True)
    frame["enrolled_at"] = pd.to_datetime(frame["enrolled_at"], utc=True)
    return frame


def activity_frame() -> pd.DataFrame:
    rows = LearnerActivity.objects.values_list(
        "learner_id", "day", "lessons_completed", "minutes", "forum_posts", "assignments_submitted"
    )
    return pd.DataFrame.from_records(
        list(rows),
        columns=[
            "learner_id",
            "day",
            "lessons_completed",
            "minutes",
            "forum_posts",
            "assignments_submitted",
        ],
    )


def wallet_frame() -> pd.DataFrame:
    """Every wallet entry, with the learner it belongs to."""
    rows = Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET).values_list(
        "account__owner__learner__id", "transfer__created_at", "amount_tokens", "transfer__kind"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["learner_id", "created_at", "amount_tokens", "kind"]
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def course_frame(*, only_published: bool = False) -> pd.DataFrame:
    query = Course.objects.filter(status=Course.Status.PUBLISHED) if only_published else Course.objects.all()
    rows = query.values("category", "difficulty", "title", "price_tokens", course_id=F("id"))
    return pd.DataFrame.from_records(
        list(rows), columns=["category", "difficulty", "title", "price_tokens", "course_id"]
    )


def data_signature() -> dict:
    """What identifies the learner training data: counts and newest rows (for idempotent training)."""
    return {
        "learners": Learner.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "last_enrollment": str(Enrollment.objects.aggregate(m=Max("id"))["m"]),
        "activity": LearnerActivity.objects.count(),
        "last_activity": str(LearnerActivity.objects.aggregate(m=Max("id"))["m"]),
        "wallet_entries": Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET).count(),
    }
